//! Background work that brings the service up.

use fechatter_events::nats::until_ok;
use observability::Health;
use tokio_util::sync::CancellationToken;

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

/// NATS is notify's only dependency, and a critical one; without its consumer subscribed notify
/// pushes nothing, so that is critical too.
pub fn health(state: &AppState) -> Health {
    let nats = state.nats().clone();
    let consumer = state.consumer().clone();
    Health::builder(crate::observability::SERVICE)
        .check("nats", true, move || {
            let nats = nats.clone();
            async move { fechatter_events::nats::probe(&nats).await }
        })
        .check("nats_consumer", true, move || {
            let active = consumer.is_active();
            async move {
                if active {
                    Ok(())
                } else {
                    Err("the notify consumer is not subscribed".to_owned())
                }
            }
        })
        .build()
}
