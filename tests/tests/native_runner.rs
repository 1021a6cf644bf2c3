//! `./scripts/up` brings the whole topology up natively on the ports of `docs/design/topology.md` and supervises
//! it: `--smoke` checks every `/health` and Prometheus' `up` for the four jobs and stops; a running
//! stack restarts a killed service by itself and obeys `stop`/`start`/`restart` from another
//! terminal. Both tests use the fixed ports, so they run one at a time (`.config/nextest.toml`).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use test_support::{eventually, wait_until};
use tokio::io::{AsyncBufReadExt, BufReader};

/// A cold start on a busy 2-core machine: Postgres' initdb, ClickHouse, four debug binaries.
const START: Duration = Duration::from_secs(240);
/// A service's restart: the backoff's first second plus its start-up.
const RESTART: Duration = Duration::from_secs(60);

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

/// A state directory the runner can use; Postgres runs as the postgres user when the runner is root,
/// so it must reach its data directory.
fn state_dir() -> tempfile::TempDir {
    let state = tempfile::tempdir().expect("state dir");
    std::fs::set_permissions(state.path(), std::fs::Permissions::from_mode(0o755))
        .expect("open the state dir");
    state
}

/// `./scripts/up ARGS` on `state`, with the binaries of this test run and no build.
fn runner(state: &Path, args: &[&str]) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(repository_root().join("scripts/up"));
    command
        .args(args)
        .env("FECHATTER_STATE_DIR", state)
        .env("FECHATTER_UP_SKIP_BUILD", "1")
        .env("FECHATTER_UP_BIN_DIR", bin_dir())
        .kill_on_drop(true);
    command
}

#[tokio::test]
async fn the_native_runner_starts_the_whole_topology_and_prometheus_sees_every_job() {
    let state = state_dir();
    let output = tokio::time::timeout(START, runner(state.path(), &["--smoke"]).output())
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
    for phase in ["install: ", "postgres ready in", "bot_server ready in"] {
        assert!(stderr.contains(phase), "no phase line {phase:?}:\n{stderr}");
    }
}

/// The runner in the foreground of its own process group, as in a terminal; what it says is
/// collected. Dropping it is Ctrl-C, then SIGKILL for anything left after 20 s.
struct RunningStack {
    child: tokio::process::Child,
    group: Pid,
    said: Arc<Mutex<String>>,
    state: tempfile::TempDir,
}

impl RunningStack {
    async fn start() -> RunningStack {
        let state = state_dir();
        let mut child = runner(state.path(), &[])
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the native runner starts");
        let group = Pid::from_raw(
            child
                .id()
                .and_then(|id| i32::try_from(id).ok())
                .expect("a pid"),
        );
        let said = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().expect("piped stderr");
        let collected = said.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let mut said = collected.lock().unwrap_or_else(PoisonError::into_inner);
                said.push_str(&line);
                said.push('\n');
            }
        });
        let stack = RunningStack {
            child,
            group,
            said,
            state,
        };
        stack.wait_to_say("running; every process", START).await;
        stack
    }

    fn said(&self) -> String {
        self.said
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    async fn wait_to_say(&self, words: &str, timeout: Duration) {
        let waited = test_support::wait::try_eventually(timeout, || async {
            self.said().contains(words).then_some(())
        })
        .await;
        assert!(
            waited.is_some(),
            "the runner did not say {words:?} within {timeout:?}:\n{}",
            self.said()
        );
    }

    /// `./scripts/up ARGS` from "another terminal": its exit status and stdout.
    async fn control(&self, args: &[&str]) -> String {
        let output = tokio::time::timeout(RESTART, runner(self.state.path(), args).output())
            .await
            .unwrap_or_else(|_| panic!("./scripts/up {args:?} did not finish in time"))
            .expect("./scripts/up runs");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "./scripts/up {args:?} failed: {}\n{stdout}\nthe runner said:\n{}",
            String::from_utf8_lossy(&output.stderr),
            self.said()
        );
        stdout
    }

    /// `NAME`'s state and pid from `./scripts/up status`.
    async fn status_of(&self, name: &str) -> (String, Option<i32>) {
        let status = self.control(&["status"]).await;
        let line = status
            .lines()
            .find(|line| line.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("{name} is not in the status:\n{status}"));
        let mut columns = line.split_whitespace().skip(1);
        let state = columns.next().unwrap_or_default().to_owned();
        (state, columns.next().and_then(|pid| pid.parse().ok()))
    }
}

impl Drop for RunningStack {
    fn drop(&mut self) {
        let _ = killpg(self.group, Signal::SIGINT);
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline && matches!(self.child.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = killpg(self.group, Signal::SIGKILL);
    }
}

async fn answers(url: &str) -> bool {
    reqwest::get(url)
        .await
        .is_ok_and(|response| response.status().is_success())
}

async fn refused(port: u16) -> bool {
    tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
}

#[tokio::test]
async fn the_runner_restarts_a_killed_service_and_obeys_stop_start_and_restart_from_another_terminal()
 {
    let mut stack = RunningStack::start().await;
    let (state, Some(first)) = stack.status_of("notify_server").await else {
        panic!("notify_server has no pid:\n{}", stack.said());
    };
    assert_eq!(state, "ready");

    kill(Pid::from_raw(first), Signal::SIGKILL).expect("kill notify_server");
    let second = eventually("notify_server to come back by itself", RESTART, || async {
        match stack.status_of("notify_server").await {
            (state, Some(pid)) if state == "ready" && pid != first => Some(pid),
            _ => None,
        }
    })
    .await;
    assert!(answers("http://127.0.0.1:6689/ready").await);
    assert!(
        stack
            .said()
            .contains("notify_server exited (killed by SIGKILL)"),
        "{}",
        stack.said()
    );

    let stopped = stack.control(&["stop", "notify_server"]).await;
    assert!(stopped.contains("notify_server stopped"), "{stopped}");
    assert!(
        refused(6689).await,
        "notify_server still listens after stop"
    );
    assert_eq!(
        stack.status_of("notify_server").await,
        ("stopped".into(), None)
    );
    // A stop is not an exit: the supervisor must not bring it back.
    let restarted_anyway = tokio::time::timeout(Duration::from_secs(3), async {
        while refused(6689).await {
            tokio::time::sleep(test_support::wait::POLL_INTERVAL).await;
        }
    })
    .await;
    assert!(restarted_anyway.is_err(), "a stopped service came back");

    let started = stack.control(&["start", "notify_server"]).await;
    assert!(started.contains("notify_server ready"), "{started}");
    assert!(answers("http://127.0.0.1:6689/ready").await);
    let (_, third) = stack.status_of("notify_server").await;
    assert!(third.is_some_and(|pid| pid != second));

    let (_, Some(before)) = stack.status_of("bot_server").await else {
        panic!("bot_server has no pid");
    };
    stack.control(&["restart", "bot_server"]).await;
    let (state, after) = stack.status_of("bot_server").await;
    assert_eq!(state, "ready");
    assert!(
        after.is_some_and(|pid| pid != before),
        "bot_server kept pid {before}"
    );

    // Ctrl-C stops everything.
    killpg(stack.group, Signal::SIGINT).expect("Ctrl-C");
    let exited = tokio::time::timeout(RESTART, stack.child.wait()).await;
    assert!(
        exited.is_ok(),
        "the runner did not stop on Ctrl-C:\n{}",
        stack.said()
    );
    stack.wait_to_say("stopped everything", RESTART).await;
    for port in [5432, 4222, 9099, 6688, 6689, 6686, 7777] {
        wait_until("the port to be released", Duration::from_secs(10), || {
            refused(port)
        })
        .await;
    }
}
