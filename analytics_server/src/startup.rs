//! Background work that brings the service up.

use fechatter_events::nats::until_ok;
use observability::Health;
use tokio_util::sync::CancellationToken;

use crate::observability::metrics::ClickHouseMetrics;
use crate::state::AppState;

/// Creates the ClickHouse database and the event stream (either may come up after us), then marks
/// the service serving.
pub async fn prepare_then_serve(state: AppState, health: Health, shutdown: CancellationToken) {
    if until_ok("creating the ClickHouse database", &shutdown, || {
        state.create_database()
    })
    .await
    .is_none()
    {
        return;
    }
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

/// ClickHouse is critical (it is where everything goes); NATS only degrades the service, because
/// HTTP ingestion keeps working and the durable consumer catches up later.
pub fn health(state: &AppState) -> Health {
    let clickhouse = state.clone();
    let nats = state.nats().clone();
    Health::builder(crate::observability::SERVICE)
        .check("clickhouse", true, move || {
            let state = clickhouse.clone();
            async move {
                let outcome = state
                    .clickhouse()
                    .query("SELECT 1")
                    .execute()
                    .await
                    .map_err(|err| err.to_string());
                ClickHouseMetrics::reachable(outcome.is_ok());
                outcome
            }
        })
        .check("nats", false, move || {
            let nats = nats.clone();
            async move { fechatter_events::nats::probe(&nats).await }
        })
        .build()
}
