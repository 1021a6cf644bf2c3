//! Helpers around child processes: stopping a server's process group, running short commands
//! with a deadline, finding binaries, reading log tails.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// SIGINT is a clean, fast shutdown for all four servers (for Postgres SIGTERM would wait for
/// clients to disconnect); SIGKILL to the whole group if it takes longer than 10 s, or at once
/// when not `graceful`. Signalling the group is safe while the leader is unreaped: its pid is
/// the group id and cannot be reused.
pub(crate) fn terminate(pgid: i32, mut child: Child, graceful: bool) {
    let group = Pid::from_raw(pgid);
    if graceful {
        let _ = killpg(group, Signal::SIGINT);
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if !matches!(child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    let _ = killpg(group, Signal::SIGKILL);
    let _ = child.wait();
}

/// The last `lines` lines of a file, headed by its name.
pub(crate) fn tail(path: &Path, lines: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_else(|e| format!("(unreadable: {e})"));
    let all: Vec<&str> = text.lines().collect();
    let start = all.len().saturating_sub(lines);
    format!(
        "--- {} (last {} lines) ---\n{}",
        path.display(),
        all.len() - start,
        all[start..].join("\n")
    )
}

/// Runs a short helper command (initdb, cp, psql) with its output in `log`, killing it after
/// `timeout`.
pub(crate) fn run_bounded(
    command: &mut Command,
    log: &Path,
    timeout: Duration,
) -> Result<(), String> {
    let output = File::create(log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
    let errors = output
        .try_clone()
        .map_err(|e| format!("cannot dup a log fd: {e}"))?;
    let mut child = command
        .stdin(Stdio::null())
        .stdout(output)
        .stderr(errors)
        .spawn()
        .map_err(|e| format!("cannot run {:?}: {e}", command.get_program()))?;
    let deadline = Instant::now() + timeout;
    let status: ExitStatus = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "{:?} timed out after {timeout:?}\n{}",
                    command.get_program(),
                    tail(log, 30)
                ));
            }
        }
    };
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "{:?} failed with {status}\n{}",
            command.get_program(),
            tail(log, 30)
        ))
    }
}

/// A server binary by name: on PATH, or in the sbin directories Debian packages use and non-root
/// users often lack on PATH.
pub(crate) fn find_binary(name: &str, package: &str) -> PathBuf {
    find_any_binary(&[name], package)
}

/// The first of `names` found (Debian and upstream name some binaries differently).
pub(crate) fn find_any_binary(names: &[&str], package: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs: Vec<PathBuf> = std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/bin", "/usr/local/bin", "/usr/local/sbin"].map(PathBuf::from))
        .collect();
    names
        .iter()
        .flat_map(|name| dirs.iter().map(move |dir| dir.join(name)))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "{} not found on PATH; install it: apt-get install -y {package}",
                names.join(" or ")
            )
        })
}
