//! The Postgres peer: `pgbench` running a custom script, with per-transaction latencies read from
//! its log into the same histogram the HTTP load generator fills.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use hdrhistogram::Histogram;
use tokio::process::Command;

use crate::latency;

#[derive(Debug, Clone)]
pub struct Pgbench {
    pub exe: PathBuf,
    /// `taskset -c` list: pgbench is a load generator and runs where the others run.
    pub cpus: Option<String>,
}

#[derive(Debug, Clone)]
pub struct PgbenchRun {
    pub transactions: u64,
    pub failed: u64,
    /// pgbench's own figure, without connection set-up.
    pub tps: f64,
    pub histogram: Histogram<u64>,
}

fn number_after<T: std::str::FromStr>(output: &str, label: &str) -> Option<T> {
    output.lines().find_map(|line| {
        line.trim()
            .strip_prefix(label)?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    })
}

impl Pgbench {
    /// Runs `script` (pgbench syntax) on `clients` connections for `duration` (whole seconds).
    pub async fn run(
        &self,
        url: &str,
        script: &str,
        clients: u32,
        duration: Duration,
        vars: &[(&str, String)],
    ) -> anyhow::Result<PgbenchRun> {
        let dir = tempfile::tempdir()?;
        let script_path = dir.path().join("script.sql");
        std::fs::write(&script_path, script)?;
        let prefix = dir.path().join("tx");
        let mut command = match &self.cpus {
            Some(cpus) => {
                let mut command = Command::new("taskset");
                command.arg("-c").arg(cpus).arg(&self.exe);
                command
            }
            None => Command::new(&self.exe),
        };
        command
            .args(["-n", "-M", "prepared", "-j", "1", "-l"])
            .arg(format!("--log-prefix={}", prefix.display()))
            .arg(format!("--client={clients}"))
            .arg(format!("--time={}", duration.as_secs().max(1)))
            .arg(format!("--file={}", script_path.display()));
        for (name, value) in vars {
            command.arg(format!("--define={name}={value}"));
        }
        let output = command
            .arg(url)
            .kill_on_drop(true)
            .output()
            .await
            .with_context(|| format!("running {}", self.exe.display()))?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        if !output.status.success() {
            bail!("pgbench failed ({}):\n{stderr}\n{stdout}", output.status);
        }
        let transactions = number_after(&stdout, "number of transactions actually processed:")
            .with_context(|| format!("no transaction count in pgbench's output:\n{stdout}"))?;
        let failed = number_after(&stdout, "number of failed transactions:").unwrap_or(0);
        let tps = number_after(&stdout, "tps =")
            .with_context(|| format!("no tps in pgbench's output:\n{stdout}"))?;
        let mut histogram = latency::histogram();
        for entry in std::fs::read_dir(dir.path())? {
            let path = entry?.path();
            let is_log = path
                .file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with("tx."));
            if !is_log {
                continue;
            }
            // client_id transaction_no time_us script_no epoch epoch_us
            for line in std::fs::read_to_string(&path)?.lines() {
                if let Some(micros) = line
                    .split_whitespace()
                    .nth(2)
                    .and_then(|t| t.parse::<u64>().ok())
                {
                    histogram.saturating_record(micros.max(1));
                }
            }
        }
        Ok(PgbenchRun {
            transactions,
            failed,
            tps,
            histogram,
        })
    }

    pub async fn version(&self) -> String {
        Command::new(&self.exe)
            .arg("--version")
            .output()
            .await
            .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
            .unwrap_or_else(|err| format!("unknown ({err})"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_are_read_from_pgbench_output() {
        let output = "transaction type: script.sql\n\
                      number of transactions actually processed: 12345\n\
                      number of failed transactions: 0 (0.000%)\n\
                      tps = 4115.123456 (without initial connection time)\n";
        assert_eq!(
            number_after::<u64>(output, "number of transactions actually processed:"),
            Some(12345)
        );
        assert_eq!(
            number_after::<u64>(output, "number of failed transactions:"),
            Some(0)
        );
        assert_eq!(number_after::<f64>(output, "tps ="), Some(4115.123456));
    }
}
