use std::time::Duration;

use async_nats::connection::State;
use async_nats::jetstream::{self, Context};
use fechatter_events::nats::retry_forever;
use tokio_util::sync::CancellationToken;

use super::wakeups::Wakeups;
use crate::db;
use crate::observability::metrics::EventMetrics;
use crate::repo;
use crate::repo::outbox::PendingEvent;
use crate::state::AppState;

/// How soon to try again while another instance's relay holds the lock: it may have read its batch
/// before this instance's events committed, and nothing else would wake this relay before the poll.
pub(super) const BUSY_RETRY: Duration = Duration::from_millis(50);
/// How long to wait for JetStream to acknowledge one event before calling the attempt failed.
const ACK_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
enum RelayError {
    #[error("outbox query failed: {0}")]
    Database(#[from] sqlx::Error),
    #[error("cannot create the event stream: {0}")]
    Stream(async_nats::Error),
    #[error("NATS is not connected")]
    Disconnected,
    #[error("publish failed: {0}")]
    Publish(String),
}

#[derive(Debug, PartialEq, Eq)]
enum Batch {
    /// Nothing is waiting.
    Empty,
    /// A full batch went out; more may wait.
    Full,
    /// Another instance's relay holds the lock and is publishing.
    Busy,
}

/// Publishes outbox events until `shutdown`, surviving NATS and Postgres outages with backoff.
pub async fn run(state: AppState, shutdown: CancellationToken) {
    let mut jetstream = jetstream::new(state.nats().clone());
    jetstream.set_timeout(ACK_TIMEOUT);
    let wakeups = Wakeups::new(
        state.relay_waker().clone(),
        state.config().outbox.poll_interval,
    );
    let mut stream_ready = false;
    let mut delays = retry_forever();
    while !shutdown.is_cancelled() {
        match relay_batch(&state, &jetstream, &mut stream_ready).await {
            Ok(Batch::Full) => continue,
            Ok(Batch::Busy) => {
                // The other relay may have selected its batch before our events committed; look
                // again soon rather than at the next poll.
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(BUSY_RETRY) => {}
                }
            }
            Ok(Batch::Empty) => {
                delays = retry_forever();
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = wakeups.next() => {}
                }
            }
            Err(err) => {
                let delay = delays.next().unwrap_or(Duration::from_secs(5));
                tracing::warn!(error = %err, ?delay, "outbox relay failed; retrying");
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(delay) => {}
                }
            }
        }
    }
}

/// Publishes the oldest pending events, one at a time and in order, and deletes those acked.
async fn relay_batch(
    state: &AppState,
    jetstream: &Context,
    stream_ready: &mut bool,
) -> Result<Batch, RelayError> {
    let batch_size = state.config().outbox.batch_size;
    let mut tx = db::begin(state.pool()).await?;
    if !repo::outbox::try_lock_relay(&mut *tx).await? {
        return Ok(Batch::Busy);
    }
    let events = repo::outbox::next_batch(&mut *tx, batch_size).await?;
    if events.is_empty() {
        return Ok(Batch::Empty);
    }
    if state.nats().connection_state() != State::Connected {
        // While disconnected the client would buffer the message and the ack would time out;
        // failing fast keeps the backoff in charge.
        EventMetrics::publish_failed();
        return Err(RelayError::Disconnected);
    }
    if !*stream_ready {
        state
            .event_bus()
            .ensure_stream(jetstream)
            .await
            .map_err(RelayError::Stream)?;
        *stream_ready = true;
    }
    let mut acked = Vec::with_capacity(events.len());
    let mut failure = None;
    for event in &events {
        match publish(state, jetstream, event).await {
            Ok(()) => {
                EventMetrics::published(event.kind);
                acked.push(event.seq);
            }
            Err(err) => {
                EventMetrics::publish_failed();
                // The stream may be what is missing: check it again before the next attempt.
                *stream_ready = false;
                failure = Some(err);
                break;
            }
        }
    }
    if !acked.is_empty() {
        repo::outbox::delete(&mut *tx, &acked).await?;
        db::commit(tx).await?;
    }
    match failure {
        Some(err) => Err(err),
        None if events.len() as i64 == batch_size => Ok(Batch::Full),
        None => Ok(Batch::Empty),
    }
}

async fn publish(
    state: &AppState,
    jetstream: &Context,
    event: &PendingEvent,
) -> Result<(), RelayError> {
    if state.nats().connection_state() != State::Connected {
        return Err(RelayError::Disconnected);
    }
    let mut headers = async_nats::HeaderMap::new();
    headers.insert(
        async_nats::header::NATS_MESSAGE_ID,
        event.event_id.to_string().as_str(),
    );
    let ack = jetstream
        .publish_with_headers(
            state.event_bus().subject(event.kind),
            headers,
            event.body.clone().into_bytes().into(),
        )
        .await
        .map_err(|err| RelayError::Publish(err.to_string()))?;
    ack.await
        .map(|_| ())
        .map_err(|err| RelayError::Publish(err.to_string()))
}
