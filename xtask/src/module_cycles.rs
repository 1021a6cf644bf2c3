//! Import cycles between the top-level modules of a crate (`state` uses `rate_limit`, which uses
//! `state`): found from the `crate::<module>` paths each module's files name. A cycle means the
//! modules cannot be understood (or moved) one without the other.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;

static CRATE_PATH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\bcrate::([a-z_][a-z0-9_]*)").unwrap_or_else(|err| panic!("static regex: {err}"))
});
static USE_GROUP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\buse crate::\{([^}]*)\}").unwrap_or_else(|err| panic!("static regex: {err}"))
});

/// The crates checked, by their directory.
pub const CRATES: &[&str] = &[
    "service_kit",
    "env_config",
    "postgres_kit",
    "fechatter_events",
    "fechatter_auth",
    "fechatter_http",
    "fechatter_search",
    "fechatter_push",
    "fechatter_server",
    "notify_server",
    "bot_server",
    "analytics_server",
    "test_support",
    "xtask",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file of `src` belongs to (`state` for `src/state.rs` and
/// `src/state/x.rs`); `None` for the crate root and binaries.
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let relative = file.strip_prefix(src).ok()?;
    let first = relative.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (!matches!(name, "lib" | "main" | "bin")).then(|| name.to_owned())
}

/// Text without `#[cfg(test)]` modules at the end of a file, where tests may reach anywhere.
fn without_tests(text: &str) -> &str {
    text.find("#[cfg(test)]\nmod tests")
        .map_or(text, |at| &text[..at])
}

/// Each top-level module of the crate in `crate_dir` with the modules it names.
pub fn graph(crate_dir: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let src = crate_dir.join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let Some(module) = module_of(&src, &file) else {
            continue;
        };
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        // Comments (doc links such as [`crate::query`]) are not imports.
        let code: String = without_tests(&text)
            .lines()
            .filter(|line| !line.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let text = code.as_str();
        let mut named: BTreeSet<String> = CRATE_PATH
            .captures_iter(text)
            .map(|capture| capture[1].to_owned())
            .collect();
        for group in USE_GROUP.captures_iter(text) {
            named.extend(
                group[1]
                    .split(',')
                    .filter_map(|item| item.trim().split("::").next())
                    .filter(|name| !name.is_empty())
                    .map(str::to_owned),
            );
        }
        named.remove(&module);
        graph.entry(module).or_default().extend(named);
    }
    let modules: BTreeSet<String> = graph.keys().cloned().collect();
    for targets in graph.values_mut() {
        targets.retain(|target| modules.contains(target));
    }
    graph
}

/// The groups of modules that import each other in a circle (strongly connected components of
/// more than one module), each sorted.
pub fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    let reaches = |from: &str| {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.to_owned()];
        while let Some(module) = stack.pop() {
            for next in graph.get(&module).into_iter().flatten() {
                if seen.insert(next.clone()) {
                    stack.push(next.clone());
                }
            }
        }
        seen
    };
    let reach: BTreeMap<&String, BTreeSet<String>> = graph
        .keys()
        .map(|module| (module, reaches(module)))
        .collect();
    let mut groups: Vec<Vec<String>> = Vec::new();
    let mut placed = BTreeSet::new();
    for module in graph.keys() {
        if placed.contains(module) || !reach[module].contains(module) {
            continue;
        }
        let group: Vec<String> = graph
            .keys()
            .filter(|other| reach[module].contains(*other) && reach[*other].contains(module))
            .cloned()
            .collect();
        placed.extend(group.iter().cloned());
        groups.push(group);
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph_of(edges: &[(&str, &str)]) -> BTreeMap<String, BTreeSet<String>> {
        let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (from, to) in edges {
            graph
                .entry((*from).to_owned())
                .or_default()
                .insert((*to).to_owned());
            graph.entry((*to).to_owned()).or_default();
        }
        graph
    }

    #[test]
    fn a_circle_is_one_group_and_a_chain_is_none() {
        let graph = graph_of(&[("a", "b"), ("b", "c"), ("c", "a"), ("c", "d"), ("e", "d")]);
        assert_eq!(cycles(&graph), vec![vec!["a", "b", "c"]]);
        assert!(cycles(&graph_of(&[("a", "b"), ("b", "c")])).is_empty());
    }
}
