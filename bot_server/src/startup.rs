//! Background work that brings the service up and keeps its dependency view current.

use std::time::Duration;

use fechatter_events::nats::until_ok;
use observability::Health;
use tokio_util::sync::CancellationToken;

use crate::observability::metrics::PoolMetrics;
use crate::state::AppState;

/// Makes sure the event stream exists (NATS may come up after us), then marks the service serving.
pub async fn ensure_stream_then_serve(
    state: AppState,
    health: Health,
    shutdown: CancellationToken,
) {
    let jetstream = async_nats::jetstream::new(state.nats().clone());
    if until_ok("creating the event stream", &shutdown, || {
        state.event_bus().ensure_stream(&jetstream)
    })
    .await
    .is_some()
    {
        health.mark_serving();
    }
}

/// Samples pool occupancy into `bot_db_connections_active`.
pub async fn sample_pool(state: AppState, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => PoolMetrics::sample(state.pool().size(), state.pool().num_idle()),
        }
    }
}

/// NATS and Postgres are both critical: the bot can neither receive nor index without them.
pub fn health(state: &AppState) -> Health {
    let pool = state.pool().clone();
    let nats = state.nats().clone();
    Health::builder(crate::observability::SERVICE)
        .check("postgres", true, move || {
            let pool = pool.clone();
            async move {
                sqlx::query("SELECT 1")
                    .execute(&pool)
                    .await
                    .map(|_| ())
                    .map_err(|err| err.to_string())
            }
        })
        .check("nats", true, move || {
            let nats = nats.clone();
            async move { fechatter_events::nats::probe(&nats).await }
        })
        .build()
}
