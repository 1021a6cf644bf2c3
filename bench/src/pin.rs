//! Moving a process that is not the one measured onto other CPUs for the length of a scenario.

use std::process::Command;

use anyhow::{Context, bail};

/// Every thread of a process pinned to a CPU list until this is dropped, when the process gets its
/// previous affinity back (threads it starts meanwhile inherit the pinning, so they go back too).
pub struct Pinned {
    pid: u32,
    previous_mask: String,
}

impl Pinned {
    /// Pins every thread of `pid` to `cpus`, a `taskset -c` list.
    pub fn threads_of(pid: u32, cpus: &str) -> anyhow::Result<Self> {
        let shown = taskset(&["-p", &pid.to_string()])?;
        // "pid 123's current affinity mask: 3"
        let previous_mask = shown
            .rsplit(':')
            .next()
            .map(str::trim)
            .filter(|mask| !mask.is_empty() && mask.chars().all(|c| c.is_ascii_hexdigit()))
            .with_context(|| format!("reading the affinity of process {pid} from {shown:?}"))?
            .to_owned();
        taskset(&["-a", "-p", "-c", cpus, &pid.to_string()])?;
        Ok(Self { pid, previous_mask })
    }
}

impl Drop for Pinned {
    fn drop(&mut self) {
        if let Err(err) = taskset(&["-a", "-p", &self.previous_mask, &self.pid.to_string()]) {
            eprintln!("giving process {} its CPUs back: {err:#}", self.pid);
        }
    }
}

fn taskset(args: &[&str]) -> anyhow::Result<String> {
    let output = Command::new("taskset")
        .args(args)
        .output()
        .context("running taskset")?;
    if !output.status.success() {
        bail!(
            "taskset {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}
