//! The durable JetStream pull consumer `analytics_client_events`: the client events stored by
//! `POST /api/event(s)` (see [`crate::client_stream`]) into ClickHouse, under the same policy as domain
//! events (see [`super::consumer`]).

use fechatter_events::delivery::{
    Delivery, EventStream, Failure, Subscription, may_be_repeated, run_durable,
};
use tokio_util::sync::CancellationToken;

use super::consumer::{policy, write};
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
    let subscription = Subscription {
        stream: EventStream::Client,
        filter_subject: state.event_bus().all_client_events(),
        description: None,
        max_ack_pending: in_hand(&state),
    };
    run_durable(
        state.event_bus(),
        &subscription,
        &policy(&state, CONSUMER),
        &shutdown,
        |active| state.subscriptions().client(active),
        |delivery| handle(state.clone(), delivery),
    )
    .await;
}

/// The buffered form of a stored row; its type was validated at ingestion.
fn pending(row: EventRow) -> Result<Pending, Failure> {
    let event_type: ClientEventType = row.event_type.parse().map_err(|()| {
        Failure::Malformed(format!("unknown client event type {:?}", row.event_type))
    })?;
    Ok(Pending::new(
        row,
        Source::Http,
        EventType::Client(event_type),
    ))
}

#[tracing::instrument(skip_all, fields(subject = %delivery.message().subject))]
async fn handle(state: AppState, delivery: Delivery) {
    let payload = &delivery.message().payload;
    let repeated = may_be_repeated(delivery.message());
    // The first attempt takes the rows decoded here; a retry (rare) decodes them again rather
    // than every attempt working on a copy.
    let mut decoded = Some(client_stream::rows(payload));
    delivery
        .deliver(|| {
            let rows = decoded
                .take()
                .unwrap_or_else(|| client_stream::rows(payload));
            let state = &state;
            async move {
                let rows =
                    rows.map_err(|err| Failure::Malformed(format!("stored client events: {err}")))?;
                let events = rows
                    .into_iter()
                    .map(pending)
                    .collect::<Result<Vec<_>, _>>()?;
                write(state, events, repeated).await
            }
        })
        .await;
}
