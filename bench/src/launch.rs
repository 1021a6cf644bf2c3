//! Starting the measured processes: a service binary or a peer (this binary's `peer` command), on
//! free ports, optionally pinned to CPUs with `taskset`, logging to a file, until it answers.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::process::{Child, Command};

/// A cold debug binary connects, migrates and creates its stream well within this.
const READY_TIMEOUT: Duration = Duration::from_secs(90);
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug, Clone)]
pub struct Launcher {
    /// Where the service binaries are (`target/release` for measurements).
    pub bin_dir: PathBuf,
    /// This benchmark's own binary, which serves the peers.
    pub bench_exe: PathBuf,
    /// `taskset -c` list for the measured processes; `None` leaves them unpinned.
    pub service_cpus: Option<String>,
    pub log_dir: PathBuf,
    /// A command the measured process runs under, e.g. `valgrind --tool=callgrind`, for
    /// profiling; applied to the processes named in `wrap_only` (all when empty).
    pub wrap: Vec<String>,
    pub wrap_only: Vec<String>,
}

/// A running process under measurement; killed when dropped.
pub struct Spawned {
    pub name: String,
    pub pid: u32,
    pub api: SocketAddr,
    pub metrics: SocketAddr,
    child: Child,
    log: PathBuf,
}

pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

impl Launcher {
    fn command(&self, name: &str, program: &Path) -> Command {
        let mut argv: Vec<std::ffi::OsString> = Vec::new();
        if let Some(cpus) = &self.service_cpus {
            argv.extend(["taskset".into(), "-c".into(), cpus.into()]);
        }
        if self.wrap_only.is_empty() || self.wrap_only.iter().any(|only| only == name) {
            argv.extend(self.wrap.iter().map(Into::into));
        }
        argv.push(program.into());
        let mut command = Command::new(&argv[0]);
        command.args(&argv[1..]);
        command
    }

    async fn spawn(
        &self,
        name: &str,
        mut command: Command,
        ready_path: &str,
        api: SocketAddr,
        metrics: SocketAddr,
    ) -> anyhow::Result<Spawned> {
        let log = self.log_dir.join(format!("{name}.log"));
        let file = std::fs::File::create(&log).with_context(|| format!("{}", log.display()))?;
        let child = command
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {name}"))?;
        let pid = child.id().context("the child has no pid")?;
        let mut spawned = Spawned {
            name: name.to_owned(),
            pid,
            api,
            metrics,
            child,
            log,
        };
        spawned.wait_ready(ready_path).await?;
        Ok(spawned)
    }

    /// Starts a service binary with `{PREFIX}_*` settings on free ports and waits for `/ready`.
    pub async fn service(
        &self,
        binary: &str,
        prefix: &str,
        settings: &[(&str, String)],
    ) -> anyhow::Result<Spawned> {
        let program = self.bin_dir.join(binary);
        if !program.exists() {
            bail!(
                "{} is missing: build the services first (cargo build --release)",
                program.display()
            );
        }
        let api = SocketAddr::from(([127, 0, 0, 1], free_port()?));
        let metrics = SocketAddr::from(([127, 0, 0, 1], free_port()?));
        let mut command = self.command(binary, &program);
        command.env_clear();
        let base = [
            ("HOST", "127.0.0.1".to_owned()),
            ("PORT", api.port().to_string()),
            ("METRICS_PORT", metrics.port().to_string()),
            ("LOG_FORMAT", "json".to_owned()),
            ("LOG", "info".to_owned()),
        ];
        for (key, value) in base.iter().chain(settings) {
            command.env(format!("{prefix}_{key}"), value);
        }
        self.spawn(binary, command, "/ready", api, metrics).await
    }

    /// Starts `bench peer <args>` on free ports and waits until it answers `/live`.
    pub async fn peer(&self, name: &str, args: &[&str]) -> anyhow::Result<Spawned> {
        let api = SocketAddr::from(([127, 0, 0, 1], free_port()?));
        let metrics = SocketAddr::from(([127, 0, 0, 1], free_port()?));
        let mut command = self.command(name, &self.bench_exe);
        command
            .arg("peer")
            .args(args)
            .arg("--port")
            .arg(api.port().to_string())
            .arg("--metrics-port")
            .arg(metrics.port().to_string());
        self.spawn(name, command, "/live", api, metrics).await
    }
}

impl Spawned {
    async fn wait_ready(&mut self, path: &str) -> anyhow::Result<()> {
        let url = format!("http://{}{path}", self.api);
        let client = reqwest::Client::new();
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("{} exited with {status}:\n{}", self.name, tail(&self.log));
            }
            if client
                .get(&url)
                .timeout(Duration::from_secs(2))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "{} was not ready within {READY_TIMEOUT:?}:\n{}",
                    self.name,
                    tail(&self.log)
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.api)
    }

    /// SIGKILL, like a crash; waits until it is gone.
    pub async fn kill(mut self) -> anyhow::Result<()> {
        self.child.kill().await?;
        Ok(())
    }

    /// SIGTERM, then SIGKILL if it has not exited in time.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        let pid = Pid::from_raw(i32::try_from(self.pid)?);
        let _ = kill(pid, Signal::SIGTERM);
        if tokio::time::timeout(STOP_TIMEOUT, self.child.wait())
            .await
            .is_err()
        {
            self.child.kill().await?;
        }
        Ok(())
    }
}
