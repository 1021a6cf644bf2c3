//! Every bot_server metric, declared once, recorded only through the functions below.

use observability::{MetricDef, Unit};

pub const DB_CONNECTIONS_ACTIVE: MetricDef = MetricDef::gauge(
    "bot_db_connections_active",
    Unit::Count,
    "Pool connections checked out right now (sampled every second).",
    &[],
);

/// The declarations owned by bot_server (the shared health metrics are added by
/// [`super::catalogue`]).
pub const DECLARED: &[MetricDef] = &[DB_CONNECTIONS_ACTIVE];

/// The connection pool's occupancy.
pub struct PoolMetrics;

impl PoolMetrics {
    pub fn sample(size: u32, idle: usize) {
        DB_CONNECTIONS_ACTIVE
            .as_gauge()
            .set((f64::from(size) - idle as f64).max(0.0));
    }
}
