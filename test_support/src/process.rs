//! Starting, stopping and killing one server process, the same way for every kind of server.

use std::fs::{self, OpenOptions};
use std::future::Future;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::commands::{tail, terminate};
use crate::scope::{self, Scope};

/// How to run one kind of server from a directory and a set of ports.
pub(crate) trait Launch: Send + Sync + Sized + 'static {
    const NAME: &'static str;
    const PORTS: usize;
    type Config: Send + Sync;

    fn new(dir: PathBuf, ports: &[u16], config: &Self::Config) -> Self;
    /// Config files and data the server needs; runs before every start, so it must keep data.
    fn prepare(&self) -> impl Future<Output = ()> + Send;
    fn command(&self) -> Command;
    /// One quick probe; polled until it answers `true`.
    fn ready(&self) -> impl Future<Output = bool> + Send;
    /// Logs the server writes itself, besides its stdout and stderr.
    fn extra_logs(&self) -> Vec<PathBuf> {
        Vec::new()
    }
    /// Whether a dropped dedicated server may simply be SIGKILLed (its directory is deleted
    /// anyway); not Postgres, which would leave its SysV shared memory segment behind.
    const KILL_ON_DROP: bool = true;
}

const START_TIMEOUT: Duration = Duration::from_secs(60);

pub(crate) struct Running {
    pub(crate) pgid: i32,
    /// `None` for a shared server that another test process started: not ours to stop.
    pub(crate) child: Option<Child>,
}

pub(crate) struct Instance<L> {
    pub(crate) launch: L,
    pub(crate) dir: PathBuf,
    pub(crate) ports: Vec<u16>,
    pub(crate) scope: &'static Scope,
    dedicated: bool,
    kill_on_drop: bool,
    running: Mutex<Option<Running>>,
}

impl<L: Launch> Instance<L> {
    pub(crate) async fn dedicated(config: &L::Config) -> Self {
        let scope = scope::process();
        let unique = &uuid::Uuid::new_v4().simple().to_string()[..8];
        Self::boot(
            scope,
            scope.dir.join(format!("{}-{unique}", L::NAME)),
            true,
            config,
        )
        .await
    }

    /// A dedicated server on ports chosen by the caller (a cluster node must know its peers'
    /// ports before any of them starts), in `dir`.
    pub(crate) async fn dedicated_on(dir: PathBuf, ports: Vec<u16>, config: &L::Config) -> Self {
        let scope = scope::process();
        let launch = L::new(dir.clone(), &ports, config);
        let instance = Self::assemble(scope, launch, dir, ports, true, None);
        match instance.spawn_until_ready().await {
            Ok(running) => *instance.lock() = Some(running),
            Err(failure) => panic!("{} did not start: {failure}", L::NAME),
        }
        instance
    }

    /// The directory for a new dedicated server of this kind.
    pub(crate) fn dedicated_dir() -> PathBuf {
        let unique = &uuid::Uuid::new_v4().simple().to_string()[..8];
        scope::process().dir.join(format!("{}-{unique}", L::NAME))
    }

    pub(crate) fn assemble(
        scope: &'static Scope,
        launch: L,
        dir: PathBuf,
        ports: Vec<u16>,
        dedicated: bool,
        running: Option<Running>,
    ) -> Self {
        Self {
            launch,
            dir,
            ports,
            scope,
            dedicated,
            kill_on_drop: L::KILL_ON_DROP,
            running: Mutex::new(running),
        }
    }

    pub(crate) async fn boot(
        scope: &'static Scope,
        dir: PathBuf,
        dedicated: bool,
        config: &L::Config,
    ) -> Self {
        let mut failures = Vec::new();
        // A server that exits during start-up most likely lost a race for a free port.
        for _ in 0..3 {
            let ports: Vec<u16> = (0..L::PORTS).map(|_| crate::free_port()).collect();
            let launch = L::new(dir.clone(), &ports, config);
            let instance = Self::assemble(scope, launch, dir.clone(), ports, dedicated, None);
            // Each attempt's panic message should show only its own log.
            let _ = fs::remove_file(instance.stdio_log());
            match instance.spawn_until_ready().await {
                Ok(running) => {
                    *instance.lock() = Some(running);
                    return instance;
                }
                Err(failure) => failures.push(failure),
            }
        }
        panic!(
            "{} did not start in 3 attempts:\n{}",
            L::NAME,
            failures.join("\n")
        )
    }

    async fn spawn_until_ready(&self) -> Result<Running, String> {
        scope::create_dir(&self.dir);
        self.launch.prepare().await;
        let log = self.stdio_log();
        let output = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap_or_else(|e| panic!("cannot open {}: {e}", log.display()));
        let errors = output
            .try_clone()
            .unwrap_or_else(|e| panic!("cannot dup a log fd: {e}"));
        let mut command = self.launch.command();
        command
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(output)
            .stderr(errors)
            // Its own group: nextest's and the terminal's signals miss it, and one killpg reaches
            // the server's helper processes too.
            .process_group(0);
        let mut child = command.spawn().unwrap_or_else(|e| {
            panic!(
                "cannot run {:?} ({e}); is it installed?",
                command.get_program()
            )
        });
        let pgid = i32::try_from(child.id()).unwrap_or_else(|e| panic!("pid out of range: {e}"));
        self.scope.register(pgid);
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let probe = tokio::time::timeout(Duration::from_secs(2), self.launch.ready());
            let answered = matches!(probe.await, Ok(true));
            // Checked after the probe: an answer only counts if our server is still alive (and
            // not some other process that won the race for the port).
            if let Ok(Some(status)) = child.try_wait() {
                // Reaped: the pid may be reused now, so no killpg. The servers clean up their own
                // helper processes when start-up fails.
                self.scope.unregister(pgid);
                return Err(format!(
                    "{} exited with {status} during start-up\n{}",
                    L::NAME,
                    self.log_tail()
                ));
            }
            if answered {
                return Ok(Running {
                    pgid,
                    child: Some(child),
                });
            }
            if Instant::now() >= deadline {
                terminate(pgid, child, true);
                self.scope.unregister(pgid);
                panic!(
                    "{} was not ready after {START_TIMEOUT:?}\n{}",
                    L::NAME,
                    self.log_tail()
                );
            }
            tokio::time::sleep(crate::wait::POLL_INTERVAL).await;
        }
    }

    /// Stops a dedicated server gracefully (SIGKILL after 10 s); ports and data stay.
    pub(crate) async fn stop(&self) {
        self.halt("stop", true).await;
    }

    /// SIGKILLs a dedicated server, like a crash; ports and data stay.
    pub(crate) async fn kill(&self) {
        self.halt("kill", false).await;
    }

    async fn halt(&self, what: &str, graceful: bool) {
        self.dedicated_only(what);
        let Some(running) = self.lock().take() else {
            return;
        };
        if let Some(child) = running.child {
            let pgid = running.pgid;
            tokio::task::spawn_blocking(move || terminate(pgid, child, graceful))
                .await
                .unwrap_or_else(|e| panic!("{what} {} failed: {e}", L::NAME));
        }
        self.scope.unregister(running.pgid);
    }

    /// Starts a stopped dedicated server again on the same port with the same data.
    pub(crate) async fn start(&self) {
        self.dedicated_only("start");
        if self.lock().is_some() {
            return;
        }
        match self.spawn_until_ready().await {
            Ok(running) => *self.lock() = Some(running),
            Err(failure) => panic!("restarting {} failed: {failure}", L::NAME),
        }
    }

    fn dedicated_only(&self, what: &str) {
        if !self.dedicated {
            panic!(
                "cannot {what} the shared {}: other tests use it; use {}::dedicated() for fault tests",
                L::NAME,
                L::NAME
            );
        }
    }

    fn stdio_log(&self) -> PathBuf {
        self.dir.join(format!("{}.log", L::NAME))
    }

    /// The last lines of every log, for panic messages.
    pub(crate) fn log_tail(&self) -> String {
        let mut logs = vec![self.stdio_log()];
        logs.extend(self.launch.extra_logs());
        logs.iter()
            .map(|log| tail(log, 30))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl<L> Instance<L> {
    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, Option<Running>> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<L> Drop for Instance<L> {
    fn drop(&mut self) {
        if !self.dedicated {
            return;
        }
        if let Some(Running {
            pgid,
            child: Some(child),
        }) = self.lock().take()
        {
            terminate(pgid, child, !self.kill_on_drop);
            self.scope.unregister(pgid);
        }
        if !scope::keep() {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}
