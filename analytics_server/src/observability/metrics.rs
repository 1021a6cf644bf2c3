//! Every analytics_server metric, declared once, recorded only through the functions below.

use observability::{MetricDef, Unit};

pub const CLICKHOUSE_UP: MetricDef = MetricDef::gauge(
    "analytics_clickhouse_up",
    Unit::Count,
    "1 when the last ClickHouse check succeeded, else 0.",
    &[],
);

/// The declarations owned by analytics_server (the shared HTTP and health metrics are added by
/// [`super::catalogue`]).
pub const DECLARED: &[MetricDef] = &[CLICKHOUSE_UP];

pub struct ClickHouseMetrics;

impl ClickHouseMetrics {
    pub fn reachable(up: bool) {
        CLICKHOUSE_UP.as_gauge().set(if up { 1.0 } else { 0.0 });
    }
}
