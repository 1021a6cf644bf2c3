use std::time::Duration;

use async_nats::connection::State;
use async_nats::jetstream::Context;
use async_nats::jetstream::context::ContextBuilder;
use fechatter_events::EventBus;
use fechatter_events::nats::retry_forever;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use super::publish::{Published, publish_batch};
use super::wakeups::{RelayWaker, Wakeups};
use crate::config::OutboxSettings;
use crate::db;
use crate::observability::metrics::EventMetrics;
use crate::repo;
use crate::repo::outbox::NextBatch;

/// How soon to try again while another instance's relay holds the lock: it may have read its batch
/// before this instance's events committed, and nothing else would wake this relay before the poll.
pub(super) const BUSY_RETRY: Duration = Duration::from_millis(50);
/// How long to wait for JetStream to acknowledge one event before calling the attempt failed; also
/// how long the client keeps waiting for the acks of a failed batch's later events.
const ACK_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub(super) enum RelayError {
    #[error("outbox query failed: {0}")]
    Database(#[from] sqlx::Error),
    #[error("cannot create the event stream: {0}")]
    Stream(async_nats::Error),
    #[error("NATS is not connected")]
    Disconnected,
    #[error("publish failed: {0}")]
    Publish(String),
}

/// What the relay uses: the outbox's database, the bus it publishes to, and the waker the
/// instance's writers ring.
pub struct Relay {
    pub pool: PgPool,
    pub nats: async_nats::Client,
    pub bus: EventBus,
    pub settings: OutboxSettings,
    pub waker: RelayWaker,
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
pub async fn run(relay: Relay, shutdown: CancellationToken) {
    // A batch's publishes are all in flight before its first ack is awaited: the client must allow
    // that many, or the publish after its limit would wait for a permit no ack releases.
    let in_flight = usize::try_from(relay.settings.batch_size).unwrap_or(1);
    let jetstream = ContextBuilder::new()
        .timeout(ACK_TIMEOUT)
        .ack_timeout(ACK_TIMEOUT)
        .max_ack_inflight(in_flight)
        .build(relay.nats.clone());
    let wakeups = Wakeups::new(relay.waker.clone(), relay.settings.poll_interval);
    let mut stream_ready = false;
    let mut delays = retry_forever();
    while !shutdown.is_cancelled() {
        match relay_batch(&relay, &jetstream, &mut stream_ready).await {
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

/// Publishes the oldest pending events in order and deletes those acked (the acked prefix).
async fn relay_batch(
    relay: &Relay,
    jetstream: &Context,
    stream_ready: &mut bool,
) -> Result<Batch, RelayError> {
    let batch_size = relay.settings.batch_size;
    let mut tx = db::begin_as(&relay.pool, "outbox.relay_transaction.begin").await?;
    let events = match repo::outbox::lock_next_batch(&mut *tx, batch_size).await? {
        NextBatch::Busy => return Ok(Batch::Busy),
        NextBatch::Locked(events) => events,
    };
    if events.is_empty() {
        return Ok(Batch::Empty);
    }
    if relay.nats.connection_state() != State::Connected {
        // While disconnected the client would buffer the message and the ack would time out;
        // failing fast keeps the backoff in charge.
        EventMetrics::publish_failed();
        return Err(RelayError::Disconnected);
    }
    if !*stream_ready {
        relay
            .bus
            .ensure_stream(jetstream)
            .await
            .map_err(RelayError::Stream)?;
        *stream_ready = true;
    }
    let Published { acked, failure } = publish_batch(relay, jetstream, &events).await;
    if failure.is_some() {
        // The stream may be what is missing: check it again before the next attempt.
        *stream_ready = false;
    }
    if !acked.is_empty() {
        // In the statement that deletes them: each published event is queued for the chat's
        // outgoing webhooks exactly once.
        repo::outbox::delete_published(&mut *tx, &acked).await?;
        db::commit(tx).await?;
    }
    match failure {
        Some(err) => Err(err),
        None if events.len() as i64 == batch_size => Ok(Batch::Full),
        None => Ok(Batch::Empty),
    }
}
