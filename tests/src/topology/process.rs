//! One service binary run as a child process with its own ports, environment and log file: the
//! unit both the single topology and the scaled-out [`Cluster`](super::cluster::Cluster) are made of.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use test_support::wait_until;
use tokio::process::{Child, Command};
use tokio::sync::Mutex;

use super::{FAST_SETTINGS, READY_TIMEOUT, Service};

pub(crate) struct Process {
    pub(crate) service: Service,
    pub(crate) port: u16,
    pub(crate) metrics_port: u16,
    env: Vec<(String, String)>,
    log: PathBuf,
    child: Mutex<Option<Child>>,
}

impl Process {
    /// A service logging to `log`, configured by `settings` (names without the service's prefix,
    /// such as `PORT`), then the fast settings and `overrides` (full names) of its own prefix.
    pub(crate) fn new(
        service: Service,
        (port, metrics_port): (u16, u16),
        settings: Vec<(&str, String)>,
        overrides: &[(&str, &str)],
        log: PathBuf,
    ) -> Process {
        let prefix = service.env_prefix();
        let mut env: Vec<(String, String)> = [
            ("HOST", "127.0.0.1".to_owned()),
            ("PORT", port.to_string()),
            ("METRICS_PORT", metrics_port.to_string()),
        ]
        .into_iter()
        .chain(settings)
        .map(|(k, v)| (format!("{prefix}_{k}"), v))
        .collect();
        let own = format!("{prefix}_");
        for (name, value) in FAST_SETTINGS.iter().chain(overrides) {
            if name.starts_with(&own) {
                env.retain(|(k, _)| k != name);
                env.push(((*name).to_owned(), (*value).to_owned()));
            }
        }
        Process {
            service,
            port,
            metrics_port,
            env,
            log,
            child: Mutex::new(None),
        }
    }

    /// `http://127.0.0.1:PORT` of the API (bot: its health port).
    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub(crate) fn metrics_url(&self) -> String {
        format!("http://127.0.0.1:{}/metrics", self.metrics_port)
    }

    pub(crate) fn log(&self) -> &Path {
        &self.log
    }

    /// Starts (or restarts) the binary with its ports and environment, appending to its log.
    pub(crate) async fn start(&self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap_or_else(|e| panic!("open {}: {e}", self.log.display()));
        let stderr = log
            .try_clone()
            .unwrap_or_else(|e| panic!("clone log handle: {e}"));
        let binary = super::bin_dir().join(self.service.name());
        assert!(
            binary.exists(),
            "{} is missing: build the services first (cargo build --workspace --bins)",
            binary.display()
        );
        let child = Command::new(&binary)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(stderr)
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", binary.display()));
        *self.child.lock().await = Some(child);
    }

    /// Waits until `/ready` answers 200.
    pub(crate) async fn wait_ready(&self) {
        let url = format!("{}/ready", self.url());
        let what = format!("{} on port {} to be ready", self.service.name(), self.port);
        let client = reqwest::Client::new();
        wait_until(&what, READY_TIMEOUT, || async {
            client
                .get(&url)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        })
        .await;
    }

    /// Sends `signal` and waits for the process to exit; nothing when it is not running.
    pub(crate) async fn signal(&self, signal: Signal) {
        let mut guard = self.child.lock().await;
        let Some(mut child) = guard.take() else {
            return;
        };
        if let Some(pid) = child.id() {
            let _ = kill(Pid::from_raw(pid as i32), signal);
        }
        let name = self.service.name();
        tokio::time::timeout(Duration::from_secs(30), child.wait())
            .await
            .unwrap_or_else(|_| panic!("{name} did not exit after {signal}"))
            .unwrap_or_else(|e| panic!("wait for {name}: {e}"));
    }
}
