//! Background work that brings the service up and keeps its dependency view current.

use std::time::{Duration, Instant};

use fechatter_events::nats::{retry_forever, until_ok};
use service_kit::Health;
use tokio_util::sync::CancellationToken;

use crate::observability::metrics::{IndexMetrics, POSTGRES};
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
/// whose `user.signed_up` left the stream. Waits for fechatter_server's migrations first.
pub async fn provision_missing_bots(state: AppState, shutdown: CancellationToken) {
    if !wait_for_schema(&state, &shutdown).await {
        return;
    }
    let provision_missing = || async {
        let missing = repo::bots::workspaces_without_bot(state.pool())
            .await
            .map_err(|err| err.to_string())?;
        for workspace in &missing {
            state
                .bots()
                .provision(state.fechatter(), *workspace)
                .await
                .map_err(|err| err.to_string())?;
        }
        Ok::<usize, String>(missing.len())
    };
    if let Some(created) = until_ok(
        "asking fechatter_server for missing workspace bots",
        &shutdown,
        provision_missing,
    )
    .await
    {
        tracing::info!(created, "every workspace has its bot");
    }
}

/// How long fechatter_server's migrations may take on a first start before waiting for them is
/// worth a warning (fechatter_server is not running, or its migrations fail).
const SCHEMA_WAIT_WARNING: Duration = Duration::from_secs(60);

/// Waits until fechatter_server's migrations have created the tables the bot uses; `false` when
/// `shutdown` comes first. On a first start both services start together, so waiting is expected:
/// it is said once at INFO, and at WARN only if it lasts longer than [`SCHEMA_WAIT_WARNING`]. A
/// failing check (Postgres unreachable) is a real failure and logged at WARN.
pub async fn wait_for_schema(state: &AppState, shutdown: &CancellationToken) -> bool {
    let started = Instant::now();
    let mut delays = retry_forever();
    let (mut said_waiting, mut warned) = (false, false);
    loop {
        let checked = tokio::select! {
            _ = shutdown.cancelled() => return false,
            checked = repo::schema::missing_tables(state.pool()) => checked,
        };
        match checked {
            Ok(missing) if missing.is_empty() => {
                if said_waiting {
                    tracing::info!(waited = ?started.elapsed(), "fechatter_server's schema is in place");
                }
                return true;
            }
            Ok(missing) if !said_waiting => {
                said_waiting = true;
                tracing::info!(
                    ?missing,
                    "waiting for fechatter_server's migrations to create the schema; retrying"
                );
            }
            Ok(missing) if !warned && started.elapsed() >= SCHEMA_WAIT_WARNING => {
                warned = true;
                tracing::warn!(
                    ?missing,
                    waited = ?started.elapsed(),
                    "still waiting for fechatter_server's schema: is fechatter_server running, and \
                     did its migrations succeed? Retrying"
                );
            }
            Ok(_) => {}
            Err(err) => {
                tracing::warn!(error = %err, "checking fechatter_server's schema failed; retrying")
            }
        }
        let delay = delays.next().unwrap_or(Duration::from_secs(5));
        tokio::select! {
            _ = shutdown.cancelled() => return false,
            _ = tokio::time::sleep(delay) => {}
        }
    }
}

/// Samples pool occupancy into `bot_db_connections_active` and `bot_db_connections_max`.
pub async fn sample_pool(state: AppState, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => POSTGRES.sample_pool(state.pool()),
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
            async move { crate::db::ping(&pool).await }
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
