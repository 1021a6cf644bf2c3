//! The scenarios of the table, each measuring a service and its peer in the same run.

pub mod bot_index;
pub mod ingest;
pub mod list;
pub mod metrics;
pub mod reconnect_storm;
pub mod send;
pub mod sse_fanout;
pub mod sse_idle;

use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::PgConnectOptions;

use crate::latency::Latency;
use crate::load::LoadReport;
use crate::pgbench::PgbenchRun;
use crate::procfs;
use crate::report::Row;

/// Every scenario name `bench run` accepts, in the order `all` runs them.
pub const ALL: &[&str] = &[
    "send",
    "list",
    "sse-idle",
    "sse-fanout",
    "reconnect-storm",
    "ingest",
    "bot-index",
    "metrics",
];

/// `127.0.0.1:PORT`, for the Host header.
pub fn host(addr: SocketAddr) -> String {
    addr.to_string()
}

/// A name no earlier run used: databases, streams and subjects of one scenario run.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

/// The Postgres server (postmaster) behind a URL, whose process tree includes every backend.
pub fn postgres_pid(url: &str) -> Option<u32> {
    let port = PgConnectOptions::from_str(url).ok()?.get_port();
    procfs::pid_listening_on(port).ok().flatten()
}

/// The process listening on the port of an `http://host:port` or `nats://host:port` URL.
pub fn server_pid(url: &str) -> Option<u32> {
    let port: u16 = url::Url::parse(url).ok()?.port()?;
    procfs::pid_listening_on(port).ok().flatten()
}

pub fn per_op(cpu: Duration, ops: u64) -> f64 {
    cpu.as_secs_f64() * 1e6 / ops.max(1) as f64
}

/// A row for an HTTP load run.
pub fn http_row(system: &str, report: &LoadReport, unit: &str) -> Row {
    Row {
        system: system.to_owned(),
        seconds: report.elapsed.as_secs_f64(),
        ops: report.units,
        throughput: report.per_second(),
        unit: unit.to_owned(),
        latency: Some(Latency::of(&report.histogram)),
        errors: report.errors,
        ..Row::default()
    }
}

/// A row for a pgbench run of `seconds`.
pub fn pgbench_row(system: &str, run: &PgbenchRun, seconds: f64) -> Row {
    Row {
        system: system.to_owned(),
        peer: true,
        seconds,
        ops: run.transactions,
        throughput: run.tps,
        unit: "tx/s".to_owned(),
        latency: Some(Latency::of(&run.histogram)),
        errors: run.failed,
        ..Row::default()
    }
}

/// Sets CPU-per-operation figures on a row from the CPU time a process (and its infrastructure)
/// used during the run.
pub fn with_cpu(
    mut row: Row,
    service: Option<Duration>,
    infra: Option<(&str, Duration)>,
    rss: Option<u64>,
) -> Row {
    row.cpu_us_per_op = service.map(|cpu| per_op(cpu, row.ops));
    if let Some((name, cpu)) = infra {
        row.infra = Some(name.to_owned());
        row.infra_cpu_us_per_op = Some(per_op(cpu, row.ops));
    }
    row.rss_mib = rss.map(|bytes| bytes as f64 / (1024.0 * 1024.0));
    row
}
