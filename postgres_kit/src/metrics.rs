//! The `{prefix}_db_*` series of a service, recorded the same way in every service. Each service
//! declares the series in its own `observability/metrics.rs` (`docs/design/metrics.md`) and names
//! them here in one `PostgresMetrics` constant.

use std::future::Future;
use std::time::{Duration, Instant};

use service_kit::MetricDef;
use sqlx::PgPool;

/// A service's Postgres series.
#[derive(Debug, Clone, Copy)]
pub struct PostgresMetrics {
    /// A histogram by `operation`.
    pub query_duration: MetricDef,
    /// A counter by `operation`.
    pub errors: MetricDef,
    /// Gauges of the pool: connections in use, idle (where the service declares it) and the most
    /// it may hold.
    pub connections_active: MetricDef,
    pub connections_idle: Option<MetricDef>,
    pub connections_max: MetricDef,
}

impl PostgresMetrics {
    /// One operation `operation` (a fixed name such as `messages.insert`, never built from input)
    /// that took `elapsed`.
    pub fn query(&self, operation: &'static str, elapsed: Duration, failed: bool) {
        self.query_duration
            .histogram_with([("operation", operation)])
            .record(elapsed.as_secs_f64());
        if failed {
            self.errors
                .counter_with([("operation", operation)])
                .increment(1);
        }
    }

    /// Runs one database operation, recording its duration under `operation`; an error counts as
    /// a failure when `is_failure` says so (an expected outcome, such as a foreign-key violation
    /// the caller handles, may not).
    pub async fn timed<T, F>(
        &self,
        operation: &'static str,
        query: F,
        is_failure: impl FnOnce(&sqlx::Error) -> bool,
    ) -> Result<T, sqlx::Error>
    where
        F: Future<Output = Result<T, sqlx::Error>>,
    {
        let started = Instant::now();
        let result = query.await;
        let failed = matches!(&result, Err(err) if is_failure(err));
        self.query(operation, started.elapsed(), failed);
        result
    }

    /// The pool's occupancy now.
    pub fn sample_pool(&self, pool: &PgPool) {
        let idle = pool.num_idle() as f64;
        self.connections_active
            .as_gauge()
            .set((f64::from(pool.size()) - idle).max(0.0));
        if let Some(gauge) = self.connections_idle {
            gauge.as_gauge().set(idle);
        }
        self.connections_max
            .as_gauge()
            .set(f64::from(pool.options().get_max_connections()));
    }
}
