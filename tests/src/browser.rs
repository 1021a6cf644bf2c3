//! A real browser against the topology: the built web client (`web/dist`), a Node.js scenario
//! driving Debian's chromium through `playwright-core` (`web/node_modules`), and a line protocol
//! by which the scenario asks the test to act on the topology (stop or start a service).
//!
//! `./scripts/test` installs chromium and builds the client before the tests; a test that cannot
//! find one of them fails and says how to get it, it never skips.

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::SystemTime;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::task::JoinHandle;

pub const CHROMIUM: &str = "/usr/bin/chromium";

/// The web client's directory with its build and its test tools, checked to be usable.
pub struct WebClient {
    pub root: PathBuf,
    pub dist: PathBuf,
}

fn newest_change(dir: &Path) -> SystemTime {
    let mut newest = SystemTime::UNIX_EPOCH;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return newest;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let changed = if path.is_dir() {
            newest_change(&path)
        } else {
            entry
                .metadata()
                .and_then(|m| m.modified())
                .unwrap_or(SystemTime::UNIX_EPOCH)
        };
        newest = newest.max(changed);
    }
    newest
}

impl WebClient {
    /// `web/` of this repository, built and with its npm packages; panics naming what is missing.
    pub fn locate() -> WebClient {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../web");
        let root = root.canonicalize().unwrap_or(root);
        let dist = root.join("dist");
        let how = "./scripts/test does this; by hand: (cd web && npm ci && npm run build)";
        assert!(
            root.join("node_modules/playwright-core/package.json")
                .is_file(),
            "web/node_modules has no playwright-core: {how}"
        );
        let index = dist.join("index.html");
        let built = std::fs::metadata(&index)
            .and_then(|m| m.modified())
            .unwrap_or_else(|_| {
                panic!(
                    "{} is missing: build the web client; {how}",
                    index.display()
                )
            });
        assert!(
            newest_change(&root.join("src")) <= built,
            "web/dist is older than web/src: rebuild the web client; {how}"
        );
        assert!(
            Path::new(CHROMIUM).is_file(),
            "{CHROMIUM} is missing: install Debian's chromium \
             (apt-get install --no-install-recommends chromium; ./scripts/test does)"
        );
        WebClient { root, dist }
    }

    /// Starts `node <script>` (relative to `web/`) with `env`, in a process group of its own so
    /// the browser it launches goes with it.
    pub fn start(&self, script: &str, env: &[(&str, &str)]) -> Scenario {
        let mut child = Command::new("node")
            .arg(script)
            .current_dir(&self.root)
            .envs(env.iter().copied())
            .env("FECHATTER_CHROMIUM", CHROMIUM)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|err| panic!("cannot run node (Node.js ≥ 20 is required): {err}"));
        let group = child.id().map(|pid| pid as i32);
        let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
        let stdin = child.stdin.take().unwrap_or_else(|| panic!("no stdin"));
        let mut stderr = child.stderr.take().unwrap_or_else(|| panic!("no stderr"));
        let stderr = tokio::spawn(async move {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text).await;
            text
        });
        Scenario {
            child,
            group,
            stdout: BufReader::new(stdout).lines(),
            stdin,
            stderr: Some(stderr),
        }
    }
}

/// A running scenario.
pub struct Scenario {
    child: Child,
    /// The process group node leads (its chromium is in it).
    group: Option<i32>,
    stdout: Lines<BufReader<ChildStdout>>,
    stdin: ChildStdin,
    stderr: Option<JoinHandle<String>>,
}

/// What the scenario said.
#[derive(Debug)]
pub enum Said {
    /// It started a step (for the log and for failure messages).
    Step(String),
    /// It asks the test to act (`stop-notify`, …) and waits for [`Scenario::answer`].
    Control(String),
    /// Its findings, as JSON.
    Result(serde_json::Value),
    /// It exited; with what it wrote to stderr.
    Finished(ExitStatus, String),
}

impl Scenario {
    /// The next thing the scenario says; lines outside the protocol are passed to stderr.
    pub async fn next(&mut self) -> Said {
        loop {
            match self.stdout.next_line().await {
                Ok(Some(line)) => {
                    if let Some(step) = line.strip_prefix("@@step ") {
                        return Said::Step(step.to_owned());
                    }
                    if let Some(command) = line.strip_prefix("@@control ") {
                        return Said::Control(command.to_owned());
                    }
                    if let Some(json) = line.strip_prefix("@@result ") {
                        let value = serde_json::from_str(json)
                            .unwrap_or_else(|err| panic!("unreadable result {json}: {err}"));
                        return Said::Result(value);
                    }
                    eprintln!("browser: {line}");
                }
                Ok(None) | Err(_) => {
                    let status = self
                        .child
                        .wait()
                        .await
                        .unwrap_or_else(|err| panic!("waiting for node: {err}"));
                    let stderr = match self.stderr.take() {
                        Some(task) => task.await.unwrap_or_default(),
                        None => String::new(),
                    };
                    return Said::Finished(status, stderr);
                }
            }
        }
    }

    pub async fn answer(&mut self, text: &str) {
        self.stdin
            .write_all(format!("{text}\n").as_bytes())
            .await
            .unwrap_or_else(|err| panic!("answering the scenario: {err}"));
        self.stdin
            .flush()
            .await
            .unwrap_or_else(|err| panic!("answering the scenario: {err}"));
    }
}

impl Drop for Scenario {
    fn drop(&mut self) {
        // node and the chromium it launched: whatever is left of the group.
        if let Some(group) = self.group {
            let _ = killpg(Pid::from_raw(group), Signal::SIGKILL);
        }
    }
}
