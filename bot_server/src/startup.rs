//! Background work that brings the service up and keeps its dependency view current.

use std::time::Duration;

use fechatter_events::nats::until_ok;
use observability::Health;
use tokio_util::sync::CancellationToken;

use crate::observability::metrics::{IndexMetrics, PoolMetrics};
use crate::repo;
use crate::state::AppState;

/// Processed event ids are kept a day beyond the stream's retention, after which JetStream cannot
/// redeliver them.
const PROCESSED_RETENTION_MARGIN: Duration = Duration::from_secs(24 * 3600);

/// Makes sure the event stream exists (NATS may come up after us), then marks the service serving.
pub async fn ensure_stream_then_serve(
    state: AppState,
    health: Health,
    shutdown: CancellationToken,
) {
    if until_ok("creating the event stream", &shutdown, || {
        state.event_bus().ensure_stream(state.jetstream())
    })
    .await
    .is_some()
    {
        health.mark_serving();
    }
}

/// Gives every workspace that has no bot one: workspaces created before this consumer existed, or
/// whose `user.signed_up` left the stream. Waits for fechatter_server's migrations if need be.
pub async fn provision_missing_bots(state: AppState, shutdown: CancellationToken) {
    if let Some(created) = until_ok("creating missing workspace bots", &shutdown, || {
        repo::bots::create_missing(state.pool())
    })
    .await
    {
        tracing::info!(created, "every workspace has its bot");
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

/// Every 10 s the size of the index; every hour, forgets processed events and answers JetStream
/// can no longer redeliver.
pub async fn maintain_index(state: AppState, shutdown: CancellationToken) {
    let mut count = tokio::time::interval(Duration::from_secs(10));
    count.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut prune = tokio::time::interval(Duration::from_secs(3600));
    prune.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let retention = state.event_bus().max_age + PROCESSED_RETENTION_MARGIN;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = count.tick() => {
                if let Ok(documents) = repo::documents::count_live(state.pool()).await {
                    IndexMetrics::documents(documents);
                }
            }
            _ = prune.tick() => {
                match repo::processed::prune(state.pool(), retention).await {
                    Ok(pruned) => tracing::debug!(pruned, "forgot old processed events"),
                    Err(err) => tracing::debug!(error = %err, "pruning processed events failed"),
                }
                match repo::answers::prune(state.pool(), retention).await {
                    Ok(pruned) => tracing::debug!(pruned, "forgot old answers"),
                    Err(err) => tracing::debug!(error = %err, "pruning answers failed"),
                }
            }
        }
    }
}

/// NATS and Postgres are critical: the bot can neither receive nor index without them. The language
/// model, when configured, is not: without it the assistant apologises, and indexing goes on.
pub fn health(state: &AppState) -> Health {
    let pool = state.pool().clone();
    let nats = state.nats().clone();
    let mut builder = Health::builder(crate::observability::SERVICE)
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
        });
    if state.llm().is_some() {
        let state = state.clone();
        builder = builder.check_with_timeout("llm", false, Duration::from_secs(3), move || {
            let state = state.clone();
            async move {
                match state.llm() {
                    Some(llm) => llm.probe().await,
                    None => Ok(()),
                }
            }
        });
    }
    builder.build()
}
