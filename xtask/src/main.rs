//! `cargo run -p xtask -- metrics-doc [--check]`, `api-doc [--check]`, `env-doc [--check]`,
//! `runbook-links [--check]`

use std::path::PathBuf;
use std::process::ExitCode;

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default()
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("metrics-doc") => {
            let path = workspace_root().join(xtask::METRICS_DOC);
            let rendered = xtask::render_metrics_doc();
            if args.iter().any(|a| a == "--check") {
                let current = std::fs::read_to_string(&path).unwrap_or_default();
                if current != rendered {
                    eprintln!(
                        "{} is stale: run `cargo run -p xtask -- metrics-doc`",
                        path.display()
                    );
                    return ExitCode::FAILURE;
                }
                return ExitCode::SUCCESS;
            }
            let problems = xtask::all_violations();
            if !problems.is_empty() {
                eprintln!("metric naming violations:\n{}", problems.join("\n"));
                return ExitCode::FAILURE;
            }
            if let Err(err) = std::fs::write(&path, rendered) {
                eprintln!("cannot write {}: {err}", path.display());
                return ExitCode::FAILURE;
            }
            eprintln!("wrote {}", path.display());
            ExitCode::SUCCESS
        }
        Some("api-doc") => write_or_check(
            &workspace_root().join(xtask::API_DOC),
            &xtask::render_api_doc(),
            args.iter().any(|a| a == "--check"),
            "api-doc",
        ),
        Some("runbook-links") => runbook_links(args.iter().any(|a| a == "--check")),
        Some("env-doc") => env_doc(args.iter().any(|a| a == "--check")),
        _ => {
            eprintln!(
                "usage: cargo run -p xtask -- metrics-doc|api-doc|env-doc|runbook-links [--check]"
            );
            ExitCode::from(2)
        }
    }
}

/// Writes `rendered` to `path`, or with `check` only says whether the file is current.
fn write_or_check(path: &std::path::Path, rendered: &str, check: bool, command: &str) -> ExitCode {
    if check {
        if std::fs::read_to_string(path).unwrap_or_default() != rendered {
            eprintln!(
                "{} is stale: run `cargo run -p xtask -- {command}`",
                path.display()
            );
            return ExitCode::FAILURE;
        }
        return ExitCode::SUCCESS;
    }
    if let Err(err) = std::fs::write(path, rendered) {
        eprintln!("cannot write {}: {err}", path.display());
        return ExitCode::FAILURE;
    }
    eprintln!("wrote {}", path.display());
    ExitCode::SUCCESS
}

/// Points every runbook link at the base of `docs/runbook-url.txt` (or, with `--check`, fails when
/// one does not).
fn runbook_links(check: bool) -> ExitCode {
    let root = workspace_root();
    if check {
        return match xtask::runbook_links::stale(&root) {
            Ok(stale) if stale.is_empty() => ExitCode::SUCCESS,
            Ok(stale) => {
                for path in stale {
                    eprintln!(
                        "{} has stale runbook links: run `cargo run -p xtask -- runbook-links`",
                        path.display()
                    );
                }
                ExitCode::FAILURE
            }
            Err(err) => {
                eprintln!("{err}");
                ExitCode::FAILURE
            }
        };
    }
    let rendered = match xtask::runbook_links::render(&root) {
        Ok(rendered) => rendered,
        Err(err) => {
            eprintln!("{err}");
            return ExitCode::FAILURE;
        }
    };
    for (path, text) in rendered {
        if std::fs::read_to_string(&path).ok().as_ref() == Some(&text) {
            continue;
        }
        if let Err(err) = std::fs::write(&path, text) {
            eprintln!("cannot write {}: {err}", path.display());
            return ExitCode::FAILURE;
        }
        eprintln!("wrote {}", path.display());
    }
    ExitCode::SUCCESS
}

/// Renders the environment table of `docs/development.md` (or, with `--check`, fails when it is
/// stale or a variable has no note).
fn env_doc(check: bool) -> ExitCode {
    let problems = xtask::env_doc::problems();
    if !problems.is_empty() {
        eprintln!("environment notes:\n{}", problems.join("\n"));
        return ExitCode::FAILURE;
    }
    let path = workspace_root().join(xtask::env_doc::DEVELOPMENT_DOC);
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    let Some(rendered) = xtask::env_doc::render_development_doc(&current) else {
        eprintln!("{} has no environment-table markers", path.display());
        return ExitCode::FAILURE;
    };
    write_or_check(&path, &rendered, check, "env-doc")
}
