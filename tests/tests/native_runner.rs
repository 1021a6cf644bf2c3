//! `./scripts/up --smoke` brings the whole topology up natively on the ports of `topology.md`, checks
//! every `/health` and Prometheus' `up` for the four jobs, and stops everything again.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn repository_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .expect("the e2e package sits in the repository")
}

/// The directory holding the service binaries built for this test run.
fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    exe.parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .expect("target directory")
}

#[tokio::test]
async fn the_native_runner_starts_the_whole_topology_and_prometheus_sees_every_job() {
    let state = tempfile::tempdir().expect("state dir");
    // Postgres runs as the postgres user when the runner is root: it must reach its data directory.
    std::fs::set_permissions(state.path(), std::fs::Permissions::from_mode(0o755))
        .expect("open the state dir");
    let output = tokio::time::timeout(
        Duration::from_secs(300),
        tokio::process::Command::new(repository_root().join("scripts/up"))
            .arg("--smoke")
            .env("FECHATTER_STATE_DIR", state.path())
            .env("FECHATTER_UP_SKIP_BUILD", "1")
            .env("FECHATTER_UP_BIN_DIR", bin_dir())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the native runner finishes its smoke check in time")
    .expect("the native runner starts");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "scripts/up --smoke failed:\n{stderr}\n{}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert!(stderr.contains("smoke check passed"), "{stderr}");
}
