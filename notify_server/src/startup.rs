//! Background work that brings the service up.

use std::time::Duration;

use fechatter_events::nats::until_ok;
use service_kit::Health;
use tokio_util::sync::CancellationToken;

use crate::state::AppState;

/// Makes sure the event stream exists (NATS may come up after us), learns the sessions revoked
/// within the last access-token lifetime (a token of one of them must not open a stream here), and
/// waits for the log reader to subscribe; then marks the service serving.
pub async fn prepare_then_serve(state: AppState, health: Health, shutdown: CancellationToken) {
    let push = state.push();
    if until_ok("creating the event stream", &shutdown, || {
        state.event_bus().ensure_stream(state.jetstream())
    })
    .await
    .is_none()
    {
        return;
    }
    let Some(revoked) = until_ok("reading recent session revocations", &shutdown, || {
        push.load_revocations()
    })
    .await
    else {
        return;
    };
    tracing::info!(revoked, "recent session revocations read");
    let mut subscribed = tokio::time::interval(Duration::from_millis(50));
    while !push.is_subscribed() {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = subscribed.tick() => {}
        }
    }
    health.mark_serving();
}

/// NATS is notify's only dependency, and a critical one; without its log reader subscribed notify
/// pushes nothing, so that is critical too.
pub fn health(state: &AppState) -> Health {
    let nats = state.nats().clone();
    let push = state.push().clone();
    Health::builder(crate::observability::SERVICE)
        .check("nats", true, move || {
            let nats = nats.clone();
            async move { fechatter_events::nats::probe(&nats).await }
        })
        .check("nats_consumer", true, move || {
            let subscribed = push.is_subscribed();
            async move {
                if subscribed {
                    Ok(())
                } else {
                    Err("the event log reader is not subscribed".to_owned())
                }
            }
        })
        .build()
}
