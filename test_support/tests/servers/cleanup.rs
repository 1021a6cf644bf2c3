//! Servers must die with their owner even when it cannot run destructors.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use test_support::{Nats, Postgres, wait_until};

const REPORT: &str = "FECHATTER_CLEANUP_REPORT";

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
    let exe = std::env::current_exe().expect("current exe");
    let mut child = Command::new(exe)
        .args([
            "--exact",
            "cleanup::an_owner_that_aborts",
            "--ignored",
            "--nocapture",
        ])
        .env(REPORT, &report)
        // Outside nextest the owner of shared servers is the process itself: it must clean up too.
        .env_remove("NEXTEST_RUN_ID")
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn the aborting test");
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the child") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the aborting test did not finish"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(!status.success(), "the child should have aborted");
    let text = std::fs::read_to_string(&report).expect("the child wrote its report");
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

/// Run only by the test above, in a child process.
#[tokio::test]
#[ignore = "helper of servers_are_killed_and_deleted_after_their_owner_aborts"]
async fn an_owner_that_aborts() {
    let Ok(report) = std::env::var(REPORT) else {
        return;
    };
    let postgres = Postgres::shared().await;
    let nats = Nats::dedicated().await;
    let lines = format!(
        "{}\n{}\n{}\n",
        test_support::run_dir().display(),
        postgres.port(),
        nats.port()
    );
    std::fs::write(report, lines).expect("write the report");
    // No unwinding, no destructors: only the watchdog can clean up now.
    std::process::abort();
}
