//! One batch's trip to JetStream: every event is published in order without waiting, then the acks
//! are awaited in the same order. Waiting for each ack before the next publish capped the relay at
//! one round trip per event (about 1 100 events a second, see docs/benchmarks.md).
//!
//! Only the acked prefix counts as published: at the first publish or ack that fails, the events
//! from there on stay in the outbox and go out again next time. A later event of the batch may
//! already be stored by then; JetStream drops its copy by `Nats-Msg-Id` within the duplicate
//! window, so the retry adds nothing twice. What a pipeline cannot rule out is a lost publish
//! followed by a stored one (the connection dropped between them): the retry then stores the lost
//! event after the later one. Publishing stops as soon as the connection is seen down to keep that
//! window to the events already handed to the client.

use async_nats::connection::State;
use async_nats::jetstream::Context;
use async_nats::jetstream::context::PublishAckFuture;

use super::relay::{Relay, RelayError};
use crate::observability::metrics::EventMetrics;
use crate::repo::outbox::PendingEvent;

/// What came of publishing a batch.
pub(super) struct Published {
    /// The sequence numbers of the acked prefix, in order: the rows to delete.
    pub acked: Vec<i64>,
    /// Why the events after the prefix were not acked, if any were not.
    pub failure: Option<RelayError>,
}

/// Publishes `events` in order with at most `events.len()` acks outstanding, then awaits the acks
/// in order up to the first failure.
pub(super) async fn publish_batch(
    relay: &Relay,
    jetstream: &Context,
    events: &[PendingEvent],
) -> Published {
    let mut in_flight = Vec::with_capacity(events.len());
    let mut failure = None;
    for event in events {
        match send(relay, jetstream, event).await {
            Ok(ack) => in_flight.push((event, ack)),
            Err(err) => {
                failure = Some(err);
                break;
            }
        }
    }
    let mut acked = Vec::with_capacity(in_flight.len());
    for (event, ack) in in_flight {
        match ack.await {
            Ok(_) => {
                EventMetrics::published(event.kind);
                acked.push(event.seq);
            }
            Err(err) => {
                // A later ack cannot count while this one failed: the order holds only for a
                // prefix. The remaining futures are dropped; their rows go out again.
                failure = Some(RelayError::Publish(err.to_string()));
                break;
            }
        }
    }
    if failure.is_some() {
        EventMetrics::publish_failed();
    }
    Published { acked, failure }
}

/// Hands one event to the client; the returned future resolves with JetStream's ack.
async fn send(
    relay: &Relay,
    jetstream: &Context,
    event: &PendingEvent,
) -> Result<PublishAckFuture, RelayError> {
    if relay.nats.connection_state() != State::Connected {
        // While disconnected the client would buffer the message and the ack would time out.
        return Err(RelayError::Disconnected);
    }
    let mut headers = async_nats::HeaderMap::new();
    headers.insert(
        async_nats::header::NATS_MESSAGE_ID,
        event.event_id.to_string().as_str(),
    );
    jetstream
        .publish_with_headers(
            relay.bus.subject(event.kind),
            headers,
            event.body.clone().into_bytes().into(),
        )
        .await
        .map_err(|err| RelayError::Publish(err.to_string()))
}
