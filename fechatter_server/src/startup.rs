//! Background work that brings the service up and keeps its dependency view current.

use std::time::Duration;

use fechatter_events::nats::until_ok;
use observability::Health;
use tokio_util::sync::CancellationToken;

use crate::observability::metrics::PoolMetrics;
use crate::state::AppState;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Applies the migrations as soon as Postgres answers (Postgres may come up after us), then marks
/// the service as serving.
pub async fn migrate_then_serve(state: AppState, health: Health, shutdown: CancellationToken) {
    if until_ok("database migrations", &shutdown, || {
        MIGRATOR.run(state.pool())
    })
    .await
    .is_some()
    {
        tracing::info!("database migrations applied");
        state.set_migrated();
        health.mark_serving();
    }
}

/// Samples pool occupancy into the `fechatter_db_connections_*` gauges.
pub async fn sample_pool(state: AppState, shutdown: CancellationToken) {
    let max = state.config().database_max_connections;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => PoolMetrics::sample(state.pool().size(), state.pool().num_idle(), max),
        }
    }
}

/// The health checks of `health.md`: Postgres (critical) and NATS (degrades only: the outbox keeps
/// events until NATS returns).
pub fn health(state: &AppState) -> Health {
    let postgres = state.clone();
    let nats = state.nats().clone();
    Health::builder(crate::observability::SERVICE)
        .check("postgres", true, move || {
            let state = postgres.clone();
            async move {
                sqlx::query("SELECT 1")
                    .execute(state.pool())
                    .await
                    .map_err(|err| err.to_string())?;
                if !state.is_migrated() {
                    return Err("migrations not applied yet".to_owned());
                }
                Ok(())
            }
        })
        .check("nats", false, move || {
            let nats = nats.clone();
            async move { fechatter_events::nats::probe(&nats).await }
        })
        .build()
}
