//! Background work that brings the service up.

use fechatter_events::nats::until_ok;
use service_kit::Health;
use tokio_util::sync::CancellationToken;

use crate::observability::metrics::ClickHouseMetrics;
use crate::state::AppState;

const PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(900);

/// Creates the ClickHouse database and tables (ClickHouse may come up after us), then marks the
/// service serving and starts the business gauges, which read those tables.
///
/// The event stream is not awaited here: NATS is not critical for analytics (`docs/design/health.md`), so the
/// JetStream consumer creates the stream itself whenever NATS is reachable.
pub async fn prepare_then_serve(state: AppState, health: Health, shutdown: CancellationToken) {
    if until_ok("preparing the ClickHouse schema", &shutdown, || {
        state.prepare_clickhouse()
    })
    .await
    .is_none()
    {
        return;
    }
    health.mark_serving();
    tokio::spawn(crate::gauges::run(state, shutdown));
}

/// Both are critical: ClickHouse is where everything goes, and NATS is where client events are
/// stored before their `202` (without it ingestion answers 503) and where domain events come from.
pub fn health(state: &AppState) -> Health {
    let clickhouse = state.clone();
    let nats = state.nats().clone();
    Health::builder(crate::observability::SERVICE)
        .check("clickhouse", true, move || {
            let state = clickhouse.clone();
            async move {
                // Bounded below the check's own timeout so the gauge is always updated.
                let outcome = crate::store::ping(state.clickhouse(), PROBE_TIMEOUT).await;
                ClickHouseMetrics::reachable(outcome.is_ok());
                outcome
            }
        })
        .check("nats", true, move || {
            let nats = nats.clone();
            async move { fechatter_events::nats::probe(&nats).await }
        })
        .build()
}
