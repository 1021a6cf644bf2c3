//! Domain events to sockets: one core-NATS subscription per process on every event subject
//! (JetStream's messages are delivered to core subscribers too), fanned out in-process to the
//! sockets of each event's recipients. A socket sees only events it is a recipient of; events
//! published while this subscription is down are not replayed (clients catch up over HTTP).

use fechatter_events::Envelope;
use fechatter_events::nats::until_ok;
use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::state::AppState;
use crate::ws::hub::GOING_AWAY;
use crate::ws::protocol;

/// Fans events out until `shutdown`, then closes every socket.
pub async fn run(state: AppState, shutdown: CancellationToken) {
    let subject = state.event_bus().all_events();
    loop {
        let subscribed = until_ok(
            "subscribing to domain events for WebSockets",
            &shutdown,
            || state.nats().subscribe(subject.clone()),
        )
        .await;
        let Some(mut subscriber) = subscribed else {
            break;
        };
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => {
                    state.sockets().hub().close_all(GOING_AWAY);
                    return;
                }
                message = subscriber.next() => match message {
                    Some(message) => deliver(&state, &message.payload),
                    None => break,
                },
            }
        }
    }
    state.sockets().hub().close_all(GOING_AWAY);
}

fn deliver(state: &AppState, payload: &[u8]) {
    let hub = state.sockets().hub();
    let envelope = match Envelope::from_json(payload) {
        Ok(envelope) => envelope,
        Err(err) => {
            tracing::warn!(error = %err, "an event that cannot be read was not pushed to sockets");
            return;
        }
    };
    if !hub.any_connected(&envelope.recipients) {
        return;
    }
    // Serialised once for all the sockets; the recipients stay routing metadata.
    match envelope.client_json() {
        Ok(json) => hub.deliver(&envelope.recipients, &protocol::event(&json)),
        Err(err) => tracing::warn!(error = %err, "an event was not pushed to sockets"),
    }
}
