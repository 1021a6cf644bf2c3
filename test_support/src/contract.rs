//! Checks against the design contract's own tools.

use std::path::PathBuf;
use std::process::Command;

/// The contract's metric checker: `$FECHATTER_CHECK_METRICS`, else `../shared/tools/check-metrics`
/// beside the repository, else the copy in `tools/`.
pub fn check_metrics_script() -> PathBuf {
    if let Some(path) = std::env::var_os("FECHATTER_CHECK_METRICS") {
        return PathBuf::from(path);
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let shared = root.join("../shared/tools/check-metrics");
    if shared.exists() {
        shared
    } else {
        root.join("tools/check-metrics")
    }
}

/// Runs `check-metrics SERVICE URL` on a live `/metrics` endpoint and panics with its findings
/// when the scrape breaks the metric contract. `required` families must be present.
pub fn assert_metrics_conform(service: &str, url: &str, required: &[&str]) {
    let script = check_metrics_script();
    let mut command = Command::new("python3");
    command.arg(&script).arg(service).arg(url);
    for name in required {
        command.arg("--require").arg(name);
    }
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    assert!(
        output.status.success(),
        "{service} metrics at {url} break the contract:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
