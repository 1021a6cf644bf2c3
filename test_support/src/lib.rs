//! Throw-away infrastructure for integration tests: real Postgres, NATS (JetStream), ClickHouse,
//! Prometheus, Alertmanager and Postgres's exporter processes on free ports in temporary directories.
//!
//! `shared()` servers are started at most once per test binary and run, even under `cargo nextest`
//! where every test is its own process; tests isolate themselves inside them (a database, a stream,
//! a subject prefix each). `dedicated()` servers belong to one caller, which may stop and restart
//! them for fault tests. Everything is killed and deleted when its owner goes away, even after a
//! panic, an abort or SIGKILL: see `README.md`.

pub mod alertmanager;
pub mod clickhouse;
pub mod contract;
pub mod logs;
pub mod nats;
pub mod nats_cluster;
pub mod ports;
pub mod postgres;
pub mod postgres_exporter;
pub mod prometheus;
pub mod slow_client;
pub mod story;
pub mod wait;

mod commands;
mod http;
mod lock_file;
mod pg_template;
mod process;
mod scope;
mod shared;
mod watchdog;

use std::path::Path;

pub use alertmanager::{Alertmanager, AlertmanagerConfig};
pub use clickhouse::ClickHouse;
pub use contract::assert_metrics_conform;
pub use logs::CapturedLogs;
pub use nats::{Nats, NatsConfig};
pub use nats_cluster::NatsCluster;
pub use ports::free_port;
pub use postgres::{Postgres, TestDatabase};
pub use postgres_exporter::{PostgresExporter, PostgresExporterConfig};
pub use prometheus::{Prometheus, PrometheusConfig};
pub use wait::{eventually, try_eventually, wait_until};

/// A fresh name such as `orders_3f9c…` for a database, stream or subject prefix: lowercase
/// `[a-z0-9_]`, at most 57 characters, so it is a valid identifier for Postgres, ClickHouse and NATS.
pub fn unique_name(prefix: &str) -> String {
    let mut clean: String = prefix
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9') => c,
            _ => '_',
        })
        .take(24)
        .collect();
    // Identifiers must not start with a digit in unquoted SQL.
    if !clean.starts_with(|c: char| c.is_ascii_lowercase()) {
        clean.insert(0, 't');
    }
    format!("{clean}_{}", uuid::Uuid::new_v4().simple())
}

/// A directory shared by all test processes of this test binary in this run (under nextest) or by
/// this process (otherwise); deleted with the shared servers at the end.
pub fn run_dir() -> &'static Path {
    &scope::run().dir
}

#[cfg(test)]
mod tests {
    use super::unique_name;

    #[test]
    fn unique_names_are_valid_identifiers() {
        let name = unique_name("My-Test.Case 1");
        assert!(name.starts_with("my_test_case_1_"), "{name}");
        assert!(
            name.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        );
        assert!(unique_name("9").starts_with("t9_"));
        assert!(unique_name(&"x".repeat(100)).len() <= 57);
        assert_ne!(unique_name("a"), unique_name("a"));
    }
}
