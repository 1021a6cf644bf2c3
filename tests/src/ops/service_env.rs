//! The environment variables a service really reads, found in its configuration sources
//! (`src/config.rs` and `src/config/**.rs`, plus the shared readers those call:
//! `service_kit::RuntimeConfig::from_env`, `fechatter_events::EventBus::from_env` and
//! `fechatter_events::nats::url_from_env` (or `NatsSettings::from_env`),
//! `postgres_kit::PostgresSettings::from_env`, `fechatter_http::AllowedOrigins::from_env` and the
//! token keys of `fechatter_auth`), where every setting is read as `env.<kind>("NAME", …)` from an
//! `env_config::Env` with the service's prefix. A secret read with
//! `env.secret_or_file("NAME", …)` is also read as `NAME_FILE`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use anyhow::Context;
use regex::Regex;

static READ: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"\benv\s*\.\s*([a-z_]+)\s*\(\s*"([A-Z][A-Z0-9_]*)""#)
        .unwrap_or_else(|err| panic!("static regex: {err}"))
});

/// `{PREFIX}_{NAME}` for every `env.<kind>("NAME", …)` call in the crate's configuration sources.
pub fn variables_read(crate_dir: &Path, env_prefix: &str) -> anyhow::Result<BTreeSet<String>> {
    let mut names = BTreeSet::new();
    for file in config_sources(crate_dir)? {
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("reading {}", file.display()))?;
        for capture in READ.captures_iter(&text) {
            names.insert(format!("{env_prefix}_{}", &capture[2]));
            if capture[1].ends_with("secret_or_file") {
                names.insert(format!("{env_prefix}_{}_FILE", &capture[2]));
            }
        }
    }
    Ok(names)
}

/// Shared readers, by the call that reaches them from a service's configuration.
const SHARED_READERS: &[(&str, &str)] = &[
    ("RuntimeConfig::from_env", "service_kit/src/config.rs"),
    ("EventBus::from_env", "fechatter_events/src/stream.rs"),
    ("nats::url_from_env", "fechatter_events/src/nats.rs"),
    ("NatsSettings::from_env", "fechatter_events/src/nats.rs"),
    ("PostgresSettings::from_env", "postgres_kit/src/lib.rs"),
    ("AllowedOrigins::from_env", "fechatter_http/src/cors.rs"),
    (
        "fechatter_auth::signer_from_env",
        "fechatter_auth/src/env.rs",
    ),
    (
        "fechatter_auth::verifier_from_env",
        "fechatter_auth/src/env.rs",
    ),
];

fn config_sources(crate_dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let own = own_config_sources(crate_dir)?;
    let mut files = own.clone();
    let workspace = crate_dir.parent().unwrap_or(crate_dir);
    for (call, reader) in SHARED_READERS {
        for file in &own {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("reading {}", file.display()))?;
            if text.contains(call) {
                files.push(workspace.join(reader));
                break;
            }
        }
    }
    Ok(files)
}

fn own_config_sources(crate_dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let src = crate_dir.join("src");
    let mut files = Vec::new();
    let single = src.join("config.rs");
    if single.is_file() {
        files.push(single);
    }
    let mut dirs = vec![src.join("config")];
    while let Some(dir) = dirs.pop() {
        if !dir.is_dir() {
            continue;
        }
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                files.push(path);
            }
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_spread_over_lines_are_found() {
        let dir = tempfile::tempdir().unwrap_or_else(|err| panic!("{err}"));
        let src = dir.path().join("src");
        std::fs::create_dir_all(src.join("config")).unwrap_or_else(|err| panic!("{err}"));
        std::fs::write(
            src.join("config.rs"),
            "let a = env.port(\"PORT\", 1)?;\nlet b = env.url(\n    \"DATABASE_URL\",\n    \"x\")?;\nlet c = other(\"NOT_ME\");",
        )
        .unwrap_or_else(|err| panic!("{err}"));
        std::fs::write(
            src.join("config/llm.rs"),
            "env.secret(\"LLM_API_KEY\", None, 0); env.secret_or_file(\"API_KEY\", 32)",
        )
        .unwrap_or_else(|err| panic!("{err}"));
        let names = variables_read(dir.path(), "BOT").unwrap_or_default();
        assert_eq!(
            names.into_iter().collect::<Vec<_>>(),
            [
                "BOT_API_KEY",
                "BOT_API_KEY_FILE",
                "BOT_DATABASE_URL",
                "BOT_LLM_API_KEY",
                "BOT_PORT"
            ]
        );
    }
}
