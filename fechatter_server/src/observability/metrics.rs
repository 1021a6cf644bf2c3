//! Every fechatter_server metric, declared once, recorded only through the functions below.

use observability::{MetricDef, Unit};

pub const DB_CONNECTIONS_ACTIVE: MetricDef = MetricDef::gauge(
    "fechatter_db_connections_active",
    Unit::Count,
    "Pool connections checked out right now (sampled every second).",
    &[],
);
pub const DB_CONNECTIONS_IDLE: MetricDef = MetricDef::gauge(
    "fechatter_db_connections_idle",
    Unit::Count,
    "Open pool connections that are idle (sampled every second).",
    &[],
);
pub const DB_CONNECTIONS_MAX: MetricDef = MetricDef::gauge(
    "fechatter_db_connections_max",
    Unit::Count,
    "The configured maximum size of the connection pool.",
    &[],
);

/// The declarations owned by fechatter_server (the shared HTTP and health metrics are added by
/// [`super::catalogue`]).
pub const DECLARED: &[MetricDef] = &[
    DB_CONNECTIONS_ACTIVE,
    DB_CONNECTIONS_IDLE,
    DB_CONNECTIONS_MAX,
];

/// The connection pool's occupancy.
pub struct PoolMetrics;

impl PoolMetrics {
    pub fn sample(size: u32, idle: usize, max: u32) {
        let idle = idle as f64;
        DB_CONNECTIONS_ACTIVE
            .as_gauge()
            .set((f64::from(size) - idle).max(0.0));
        DB_CONNECTIONS_IDLE.as_gauge().set(idle);
        DB_CONNECTIONS_MAX.as_gauge().set(f64::from(max));
    }
}
