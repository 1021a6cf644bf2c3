//! What a scenario measured: one row per system (the service, its peer, variants), the targets it
//! was held to, and the conditions of the run.

use serde::{Deserialize, Serialize};

use crate::latency::Latency;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScenarioResult {
    /// The command-line name: `send`, `list`, `sse-idle`, …
    pub scenario: String,
    pub title: String,
    pub run: RunInfo,
    pub rows: Vec<Row>,
    pub checks: Vec<Check>,
    /// Facts about the run the figures depend on (concurrency, sizes, what was verified).
    pub notes: Vec<String>,
}

/// The conditions of one scenario's run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunInfo {
    pub commit: String,
    pub date: String,
    pub cpu: String,
    /// `/proc/loadavg` 1-minute figure before and after the scenario.
    pub load_before: f64,
    pub load_after: f64,
    pub profile: String,
    pub pinning: String,
    /// rustc, Postgres, pgbench, NATS and ClickHouse versions.
    pub tools: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Row {
    /// What ran, e.g. `fechatter_server POST /api/chats/{id}/messages`.
    pub system: String,
    pub peer: bool,
    pub seconds: f64,
    pub ops: u64,
    pub throughput: f64,
    /// `req/s`, `events/s`, `deliveries/s`, `conn/s`.
    pub unit: String,
    pub latency: Option<Latency>,
    /// CPU time of the measured process per operation, from /proc utime + stime.
    pub cpu_us_per_op: Option<f64>,
    /// CPU time of the infrastructure behind it (named in `infra`) per operation.
    pub infra_cpu_us_per_op: Option<f64>,
    pub infra: Option<String>,
    pub rss_mib: Option<f64>,
    pub errors: u64,
    /// Scenario-specific figures, e.g. ("RSS per connection", "9.8 KiB").
    pub extra: Vec<(String, String)>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Check {
    pub target: String,
    pub measured: String,
    /// `None`: not measured (the feature has not landed).
    pub met: Option<bool>,
}

impl Check {
    pub fn at_least(what: &str, measured: f64, target: f64, unit: &str) -> Self {
        Self {
            target: format!("{what} ≥ {} {unit}", fmt_num(target)),
            measured: format!("{} {unit}", fmt_num(measured)),
            met: Some(measured >= target),
        }
    }

    pub fn at_most(what: &str, measured: f64, target: f64, unit: &str) -> Self {
        Self {
            target: format!("{what} ≤ {} {unit}", fmt_num(target)),
            measured: format!("{} {unit}", fmt_num(measured)),
            met: Some(measured <= target),
        }
    }
}

/// A number with a sensible amount of precision for a table.
pub fn fmt_num(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude >= 1000.0 {
        let whole = value.round() as i64;
        let digits = whole.abs().to_string();
        let mut grouped = String::new();
        for (i, digit) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                grouped.push('\u{202f}');
            }
            grouped.push(digit);
        }
        if whole < 0 {
            format!("-{grouped}")
        } else {
            grouped
        }
    } else if magnitude >= 100.0 {
        format!("{value:.0}")
    } else if magnitude >= 10.0 {
        format!("{value:.1}")
    } else if magnitude >= 1.0 {
        format!("{value:.2}")
    } else {
        format!("{value:.3}")
    }
}

impl Row {
    pub fn per_second(ops: u64, seconds: f64) -> f64 {
        ops as f64 / seconds.max(f64::EPSILON)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_three_significant_figures_or_group_thousands() {
        assert_eq!(fmt_num(12345.6), "12\u{202f}346");
        assert_eq!(fmt_num(999.4), "999");
        assert_eq!(fmt_num(12.34), "12.3");
        assert_eq!(fmt_num(0.4567), "0.457");
    }

    #[test]
    fn checks_compare_in_the_direction_of_the_target() {
        assert_eq!(
            Check::at_least("throughput", 5100.0, 5000.0, "req/s").met,
            Some(true)
        );
        assert_eq!(Check::at_most("p99", 30.0, 25.0, "ms").met, Some(false));
    }
}
