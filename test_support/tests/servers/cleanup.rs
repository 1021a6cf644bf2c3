//! Servers must die with their owner even when it cannot run destructors.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use test_support::wait_until;

/// Live (non-zombie) processes whose working directory is under `dir`: every server runs in its
/// own directory below the scope directory.
fn processes_under(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("read /proc").flatten() {
        let Ok(cwd) = std::fs::read_link(entry.path().join("cwd")) else {
            continue;
        };
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        let zombie = stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z'));
        if cwd.starts_with(dir) && !zombie {
            found.push(format!("{} {}", entry.file_name().to_string_lossy(), stat));
        }
    }
    found
}

#[tokio::test]
async fn servers_are_killed_and_deleted_after_their_owner_aborts() {
    let report =
        test_support::run_dir().join(format!("cleanup-report-{}", test_support::unique_name("r")));
    let status = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::process::Command::new(env!("CARGO_BIN_EXE_aborting_owner"))
            .arg(&report)
            // Outside nextest the owner of shared servers is the process itself: it must clean up too.
            .env_remove("NEXTEST_RUN_ID")
            .stdout(Stdio::null())
            .status(),
    )
    .await
    .expect("the aborting owner finishes")
    .expect("run the aborting owner");
    assert!(!status.success(), "the owner should have aborted");
    let text = std::fs::read_to_string(&report).expect("the owner wrote its report");
    let mut lines = text.lines();
    let dir = PathBuf::from(lines.next().expect("dir line"));
    let ports: Vec<u16> = lines.map(|l| l.parse().expect("a port")).collect();
    assert_eq!(ports.len(), 2);

    wait_until(
        "the aborted owner's servers to be gone",
        Duration::from_secs(20),
        || async {
            !dir.exists()
                && processes_under(&dir).is_empty()
                && ports
                    .iter()
                    .all(|p| std::net::TcpStream::connect(("127.0.0.1", *p)).is_err())
        },
    )
    .await;
}
