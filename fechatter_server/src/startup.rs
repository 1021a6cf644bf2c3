//! Background work that brings the service up and keeps its dependency view current.

use std::time::Duration;

use fechatter_events::nats::until_ok;
use service_kit::Health;
use service_kit::health::CheckFailure;
use tokio_util::sync::CancellationToken;

use crate::observability::metrics::{EventMetrics, POSTGRES};
use crate::repo;
use crate::state::AppState;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Applies the migrations as soon as Postgres answers (Postgres may come up after us), then marks
/// the service as serving; false when `shutdown` came first.
pub async fn migrate_then_serve(
    state: AppState,
    health: Health,
    shutdown: CancellationToken,
) -> bool {
    if until_ok("database migrations", &shutdown, || {
        MIGRATOR.run(state.pool())
    })
    .await
    .is_none()
    {
        return false;
    }
    tracing::info!("database migrations applied");
    state.set_migrated();
    health.mark_serving();
    true
}

/// Once the schema is in place, relays the outbox to JetStream until shutdown.
pub async fn migrate_then_relay(state: AppState, health: Health, shutdown: CancellationToken) {
    if migrate_then_serve(state.clone(), health, shutdown.clone()).await {
        let relay = crate::outbox::Relay {
            pool: state.pool().clone(),
            nats: state.nats().clone(),
            bus: state.event_bus().clone(),
            settings: state.config().outbox,
            waker: state.relay_waker().clone(),
        };
        crate::outbox::run(relay, shutdown).await;
    }
}

/// Samples the gauges every second: pool occupancy (`fechatter_db_connections_*`), cache sizes
/// and active users, and the outbox backlog.
pub async fn sample_gauges(state: AppState, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        POSTGRES.sample_pool(state.pool());
        state.caches().sample().await;
        if state.is_migrated() {
            // While Postgres is away the last known backlog stays; the health check reports the outage.
            if let Ok((pending, oldest)) = repo::outbox::backlog(state.pool()).await {
                EventMetrics::outbox_backlog(pending, oldest);
            }
        }
    }
}

/// The health checks of `docs/design/health.md`: Postgres (critical) and NATS (degrades only: the outbox keeps
/// events until NATS returns), and the event log reader feeding the sockets (degrades only: the
/// sockets still take commands, and catch up on events when it is back).
pub fn health(state: &AppState) -> Health {
    let postgres = state.clone();
    let nats = state.nats().clone();
    let push = state.sockets().push().clone();
    Health::builder(crate::observability::SERVICE)
        .check("postgres", true, move || {
            let state = postgres.clone();
            async move {
                sqlx::query("SELECT 1")
                    .execute(state.pool())
                    .await
                    .map_err(|err| CheckFailure::from(err.to_string()))?;
                if !state.is_migrated() {
                    return Err(CheckFailure::public("migrations not applied yet"));
                }
                Ok(())
            }
        })
        .check("nats", false, move || {
            let nats = nats.clone();
            async move { fechatter_events::nats::probe(&nats).await }
        })
        .check("websocket_events", false, move || {
            let subscribed = push.is_subscribed();
            async move {
                if subscribed {
                    Ok(())
                } else {
                    Err("the event log reader of the sockets is not subscribed".to_owned())
                }
            }
        })
        .build()
}
