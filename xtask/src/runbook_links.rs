//! Absolute runbook links from one configured base: `docs/runbook-url.txt` holds the URL where
//! `docs/runbook.md` is browsed, and every runbook link — the `runbook_url` of each alert rule and
//! rule test, and the "Runbook" links of the dashboards — is that base plus the section's anchor.
//! `cargo run -p xtask -- runbook-links` rewrites them after the base changes; a test fails while
//! one is stale.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;

/// The file holding the base, relative to the workspace root.
pub const RUNBOOK_URL_FILE: &str = "docs/runbook-url.txt";

/// Where runbook links live: (directory, file extension).
const LINKED: &[(&str, &str)] = &[
    ("prometheus/rules", "yml"),
    ("prometheus/tests", "yml"),
    ("grafana/dashboards", "json"),
];

/// `runbook_url: <url>[#anchor]` in a rule or a rule test.
static RULE_LINK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?m)^(\s*runbook_url:\s*)"?([^"\s#]*)(#[A-Za-z0-9_-]+)?"?[ \t]*$"#)
        .unwrap_or_else(|err| panic!("static regex: {err}"))
});

/// A dashboard link titled "Runbook…" and its `url`, maybe after other scalar fields (`"type"`).
static DASHBOARD_LINK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r##"("title":\s*"Runbook[^"]*",(?:\s*"[A-Za-z]+":\s*(?:"[^"]*"|true|false|[0-9]+),)*\s*"url":\s*")([^"#]*)(#[A-Za-z0-9_-]+)?""##,
    )
        .unwrap_or_else(|err| panic!("static regex: {err}"))
});

/// The configured base, from `docs/runbook-url.txt` (its first non-comment line).
pub fn base(root: &Path) -> Result<String, String> {
    let path = root.join(RUNBOOK_URL_FILE);
    let text = std::fs::read_to_string(&path)
        .map_err(|err| format!("cannot read {}: {err}", path.display()))?;
    let base = text
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty() && !line.starts_with('#'))
        .ok_or_else(|| format!("{} names no URL", path.display()))?;
    if !(base.starts_with("https://") || base.starts_with("http://")) || base.contains('#') {
        return Err(format!(
            "{}: {base:?} is not an absolute http(s) URL without a fragment",
            path.display()
        ));
    }
    Ok(base.to_owned())
}

/// `text` with every runbook link of a rule file or rule test pointing at `base`.
pub fn rewrite_rules(text: &str, base: &str) -> String {
    RULE_LINK
        .replace_all(text, |c: &regex::Captures<'_>| {
            format!("{}{base}{}", &c[1], c.get(3).map_or("", |m| m.as_str()))
        })
        .into_owned()
}

/// `text` with every "Runbook" link of a dashboard pointing at `base`.
pub fn rewrite_dashboard(text: &str, base: &str) -> String {
    DASHBOARD_LINK
        .replace_all(text, |c: &regex::Captures<'_>| {
            format!("{}{base}{}\"", &c[1], c.get(3).map_or("", |m| m.as_str()))
        })
        .into_owned()
}

/// Every file holding runbook links, with its content as it should be.
pub fn render(root: &Path) -> Result<Vec<(PathBuf, String)>, String> {
    let base = base(root)?;
    let mut out = Vec::new();
    for (dir, extension) in LINKED {
        let dir = root.join(dir);
        let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map_err(|err| format!("cannot list {}: {err}", dir.display()))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| path.extension().is_some_and(|ext| ext == *extension))
            .collect();
        paths.sort();
        for path in paths {
            let text = std::fs::read_to_string(&path)
                .map_err(|err| format!("cannot read {}: {err}", path.display()))?;
            let rendered = if *extension == "json" {
                rewrite_dashboard(&text, &base)
            } else {
                rewrite_rules(&text, &base)
            };
            out.push((path, rendered));
        }
    }
    Ok(out)
}

/// The files whose runbook links do not point at the configured base.
pub fn stale(root: &Path) -> Result<Vec<PathBuf>, String> {
    Ok(render(root)?
        .into_iter()
        .filter(|(path, rendered)| std::fs::read_to_string(path).ok().as_ref() != Some(rendered))
        .map(|(path, _)| path)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_links_keep_their_anchor_and_take_the_base() {
        let text = "      runbook_url: docs/runbook.md#servicedown\n    runbook_url: \"https://old/x.md\"\nrunbook_url_not: x\n";
        assert_eq!(
            rewrite_rules(text, "https://wiki/runbook"),
            "      runbook_url: https://wiki/runbook#servicedown\n    runbook_url: https://wiki/runbook\nrunbook_url_not: x\n"
        );
    }

    #[test]
    fn only_links_titled_runbook_change_in_dashboards() {
        let text = r#"{"title": "Runbook: ServiceDown",
          "url": "docs/runbook.md#servicedown", "x": 1}, {"title": "Grafana", "url": "https://g"},
          {"title": "Runbook", "type": "link", "url": "docs/runbook.md"}"#;
        assert_eq!(
            rewrite_dashboard(text, "https://wiki/rb"),
            r#"{"title": "Runbook: ServiceDown",
          "url": "https://wiki/rb#servicedown", "x": 1}, {"title": "Grafana", "url": "https://g"},
          {"title": "Runbook", "type": "link", "url": "https://wiki/rb"}"#
        );
    }
}
