//! The durable JetStream pull consumer `analytics_client_events`: the client events stored by
//! `POST /api/event(s)` (see [`crate::client_stream`]) into ClickHouse, under the same policy as domain
//! events (see [`super::consumer`]).

use async_nats::jetstream::Message;
use fechatter_events::consume::pull_until;
use fechatter_events::delivery::{self, DeliveryPolicy, Failure};
use tokio::sync::OwnedSemaphorePermit;
use tokio_util::sync::CancellationToken;

use super::consumer::{policy, subscribe, write};
use crate::buffer::Pending;
use crate::client_stream;
use crate::events::{ClientEventType, EventRow, EventType, Source};
use crate::state::AppState;

/// The durable consumer's name.
pub const CONSUMER: &str = "analytics_client_events";

/// Stored requests in hand at once: about a buffer's worth of events.
fn in_hand(state: &AppState) -> usize {
    let config = state.config();
    (config.writer.buffer_capacity / config.ingest.batch_max_events.max(1)).clamp(1, 1_000)
}

/// Pulls until `shutdown`, then waits for the messages in hand to be acked or handed back.
pub async fn run(state: AppState, shutdown: CancellationToken) {
    let policy = policy(&state, CONSUMER);
    let in_hand = in_hand(&state);
    pull_until(
        "subscribing to client events",
        &shutdown,
        in_hand,
        || async {
            let bus = state.event_bus();
            let stream = bus.ensure_client_event_stream(state.jetstream()).await?;
            subscribe(&state, &stream, CONSUMER, bus.all_client_events(), in_hand).await
        },
        |active| state.subscriptions().client(active),
        |message, permit| {
            handle(
                state.clone(),
                policy.clone(),
                shutdown.clone(),
                message,
                permit,
            )
        },
    )
    .await;
}

/// The buffered form of a stored row; its type was validated at ingestion.
fn pending(row: &EventRow) -> Result<Pending, Failure> {
    let event_type: ClientEventType = row.event_type.parse().map_err(|()| {
        Failure::Malformed(format!("unknown client event type {:?}", row.event_type))
    })?;
    Ok(Pending::new(
        row.clone(),
        Source::Http,
        EventType::Client(event_type),
    ))
}

#[tracing::instrument(skip_all, fields(subject = %message.subject))]
async fn handle(
    state: AppState,
    policy: DeliveryPolicy,
    shutdown: CancellationToken,
    message: Message,
    _permit: OwnedSemaphorePermit,
) {
    let rows = client_stream::rows(&message.payload);
    let repeated = delivery::may_be_repeated(&message);
    policy
        .deliver(&message, &shutdown, || async {
            let rows = rows
                .as_ref()
                .map_err(|err| Failure::Malformed(format!("stored client events: {err}")))?;
            let events = rows.iter().map(pending).collect::<Result<Vec<_>, _>>()?;
            write(&state, events, repeated).await
        })
        .await;
}
