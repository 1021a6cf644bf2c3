//! The four services as real child processes, started from their built binaries and configured only
//! through environment variables, as in production.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};

use crate::ops::repo_root;
use crate::ops::topology::{SERVICES, Service};

/// The directory holding the four binaries, built (once per process, a no-op when they are fresh)
/// with the profile and target directory of the running test binary.
pub fn binaries_dir() -> anyhow::Result<PathBuf> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT
        .get_or_init(|| build().map_err(|err| format!("{err:#}")))
        .clone()
        .map_err(|err| anyhow!(err))
}

fn build() -> anyhow::Result<PathBuf> {
    // A test binary lives in `<target>/<profile dir>/deps/`.
    let exe = std::env::current_exe()?;
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or_else(|| anyhow!("unexpected test binary path {}", exe.display()))?
        .to_path_buf();
    let target_dir = profile_dir
        .parent()
        .ok_or_else(|| anyhow!("no target directory above {}", profile_dir.display()))?;
    let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => "dev".to_owned(),
        Some(other) => other.to_owned(),
    };
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut command = Command::new(cargo);
    command
        .current_dir(repo_root())
        .args(["build", "--locked", "--profile", &profile, "--target-dir"])
        .arg(target_dir);
    for service in SERVICES {
        command.args(["--bin", service.name]);
    }
    let output = command.output().context("running cargo build")?;
    if !output.status.success() {
        bail!(
            "cargo build of the services failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(profile_dir)
}

/// A running service; killed when dropped.
pub struct ServiceProcess {
    pub service: &'static Service,
    pub port: u16,
    pub metrics_port: u16,
    child: Child,
    log: PathBuf,
}

impl ServiceProcess {
    /// Starts `service` on free ports with `env` (full variable names) on top of `{PREFIX}_HOST`,
    /// `_PORT`, `_METRICS_PORT` and JSON logs; nothing else of the test's environment leaks in.
    /// Output goes to `log_dir/<service>.log`.
    pub fn spawn(
        service: &'static Service,
        env: &BTreeMap<String, String>,
        log_dir: &Path,
    ) -> anyhow::Result<Self> {
        let binary = binaries_dir()?.join(service.name);
        let port = test_support::free_port();
        let metrics_port = test_support::free_port();
        let log = log_dir.join(format!("{}.log", service.name));
        let out = File::create(&log)?;
        let prefix = service.env_prefix;
        let child = Command::new(&binary)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env(format!("{prefix}_HOST"), "127.0.0.1")
            .env(format!("{prefix}_PORT"), port.to_string())
            .env(format!("{prefix}_METRICS_PORT"), metrics_port.to_string())
            .env(format!("{prefix}_LOG_FORMAT"), "json")
            .envs(env)
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        Ok(Self {
            service,
            port,
            metrics_port,
            child,
            log,
        })
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `127.0.0.1:METRICS_PORT`, for a Prometheus scrape target.
    pub fn metrics_target(&self) -> String {
        format!("127.0.0.1:{}", self.metrics_port)
    }

    /// Polls `path` (`/live`, `/ready`, …) until it answers 2xx; fails early when the process exits.
    pub async fn wait_until_ok(&mut self, path: &str, timeout: Duration) -> anyhow::Result<()> {
        let client = reqwest::Client::new();
        let url = format!("{}{path}", self.url());
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "{} exited with {status}:\n{}",
                    self.service.name,
                    self.log_tail()
                );
            }
            let ready = client
                .get(&url)
                .timeout(Duration::from_secs(1))
                .send()
                .await
                .is_ok_and(|response| response.status().is_success());
            if ready {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                bail!(
                    "{} did not answer {path} after {timeout:?}:\n{}",
                    self.service.name,
                    self.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The last lines of the service's output.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
