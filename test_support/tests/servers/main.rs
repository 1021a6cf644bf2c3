//! Real servers: each starts, answers, is shared within a test binary, and dedicated ones survive
//! stop/start. One test binary, so the crate links once.

mod alerting;
mod cleanup;
mod clickhouse;
mod nats;
mod nats_cluster;
mod postgres;
mod prometheus;
mod sharing;

use std::time::Duration;

/// Generous for a loaded 2-core CI machine; the waits return as soon as the condition holds.
pub const TIMEOUT: Duration = Duration::from_secs(30);
