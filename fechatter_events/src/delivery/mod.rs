//! The one delivery policy every durable consumer follows (`docs/design/events.md`), so they cannot drift
//! apart:
//!
//! - before an event is handled, the consumer's [`Gate`] must be open: while its own dependency is
//!   down, events in hand wait (kept alive, spending no delivery) and nothing more is pulled;
//! - while it is handled, JetStream is told every third of the ack wait that it is in progress;
//! - success acks; a dependency found down closes the gate and the event waits in hand to be
//!   handled again; an event that can never be read is dead-lettered at once; any other failure
//!   is nak'ed with exponential backoff and dead-lettered at the consumer's max-deliver;
//! - dead letters are stored (see [`dead_letter`]) with their original subject, the consumer, the
//!   sanitised reason and the delivery count, and counted through the service's
//!   [`DeadLetterRecorder`]; only once stored is the event terminated.
//!
//! JetStream's own max-deliver is left unlimited (see [`consumer_max_deliver`]): a delivery the
//! consumer never answered (it crashed, a handler panicked) comes again and is dead-lettered here,
//! instead of silently never being delivered again.

pub mod dead_letter;
pub mod durable;
pub mod gate;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, AckKind, Message};
use tokio_util::sync::CancellationToken;

pub use dead_letter::{DeadLetterReason, DeadLetterRecorder, headers};
pub use durable::{Delivery, EventStream, Subscription, run_durable};
pub use gate::Gate;

use crate::nats::retry_forever;
use dead_letter::Parking;

/// JetStream's `max_deliver` for a consumer that follows this policy: unlimited.
pub const fn consumer_max_deliver() -> i64 {
    -1
}

/// Why handling an event did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// The event can never be handled as it is: dead-lettered at once.
    #[error("malformed event: {0}")]
    Malformed(String),
    /// A dependency of the consumer is down: the event waits for it and is handled again, without
    /// spending a delivery.
    #[error("dependency unavailable: {0}")]
    Unavailable(String),
    /// A failure of this event that may pass: redelivered with backoff, dead-lettered at the
    /// consumer's max-deliver.
    #[error("{0}")]
    Retry(String),
}

/// What a consumer is and how it delivers.
pub struct PolicySettings {
    /// The durable consumer's name (the `Fechatter-Consumer` header).
    pub consumer: String,
    /// `<prefix>.dlq.<consumer>` (see `EventBus::dead_letter_subject`).
    pub dead_letter_subject: String,
    /// Deliveries of one event before it is dead-lettered.
    pub max_deliver: i64,
    pub ack_wait: Duration,
}

/// Cheap to clone; shared by every handler of one consumer.
#[derive(Clone)]
pub struct DeliveryPolicy {
    inner: Arc<Inner>,
}

struct Inner {
    parking: Parking,
    max_deliver: i64,
    ack_wait: Duration,
    jetstream: jetstream::Context,
    gate: Gate,
    recorder: Box<dyn DeadLetterRecorder>,
}

/// How many times `message` has been delivered to its consumer (1 the first time).
pub fn deliveries(message: &Message) -> i64 {
    message.info().map_or(1, |info| info.delivered)
}

/// Whether `message` may have been handled before: a redelivery, or a dead letter re-driven.
pub fn may_be_repeated(message: &Message) -> bool {
    deliveries(message) > 1
        || message
            .headers
            .as_ref()
            .is_some_and(|headers| headers.get(headers::REDRIVEN_FROM).is_some())
}

/// 1 s, 2 s, 4 s, … up to a minute, by delivery.
pub fn backoff(delivered: i64) -> Duration {
    let exponent = u32::try_from(delivered.saturating_sub(1).clamp(0, 6)).unwrap_or(6);
    Duration::from_secs(1u64 << exponent).min(Duration::from_secs(60))
}

async fn answer(message: &Message, kind: AckKind) {
    if let Err(err) = message.ack_with(kind).await {
        // Without an answer JetStream redelivers after the ack wait; handlers are idempotent.
        tracing::warn!(error = %err, "answering JetStream failed; the event will come again");
    }
}

impl DeliveryPolicy {
    pub fn new(
        settings: PolicySettings,
        jetstream: jetstream::Context,
        gate: Gate,
        recorder: impl DeadLetterRecorder,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                parking: Parking {
                    consumer: settings.consumer,
                    subject: settings.dead_letter_subject,
                },
                max_deliver: settings.max_deliver.max(1),
                ack_wait: settings.ack_wait,
                jetstream,
                gate,
                recorder: Box::new(recorder),
            }),
        }
    }

    pub fn gate(&self) -> &Gate {
        &self.inner.gate
    }

    /// The durable consumer's name.
    pub fn consumer(&self) -> &str {
        &self.inner.parking.consumer
    }

    pub fn ack_wait(&self) -> Duration {
        self.inner.ack_wait
    }

    pub fn jetstream(&self) -> &jetstream::Context {
        &self.inner.jetstream
    }

    /// Delivers `message` to `handle` under the policy and answers JetStream. `handle` may be
    /// called more than once (after a dependency outage); on `shutdown` a waiting event is handed
    /// back for redelivery.
    pub async fn deliver<F, Fut>(
        &self,
        message: &Message,
        shutdown: &CancellationToken,
        mut handle: F,
    ) where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<(), Failure>>,
    {
        let delivered = deliveries(message);
        if delivered > self.inner.max_deliver {
            let detail = format!("no answer after {} deliveries", delivered - 1);
            return self
                .dead_letter(message, DeadLetterReason::Failed, &detail)
                .await;
        }
        let mut pauses = retry_forever();
        loop {
            if !self
                .keep_alive(message, self.inner.gate.wait_open(shutdown))
                .await
            {
                return answer(message, AckKind::Nak(None)).await;
            }
            match self.keep_alive(message, handle()).await {
                Ok(()) => return answer(message, AckKind::Ack).await,
                Err(Failure::Malformed(detail)) => {
                    tracing::error!(%detail, "an event that can never be handled; dead-lettering it");
                    return self
                        .dead_letter(message, DeadLetterReason::Malformed, &detail)
                        .await;
                }
                Err(Failure::Retry(detail)) => {
                    return self.retry_or_give_up(message, &detail).await;
                }
                Err(Failure::Unavailable(reason)) => {
                    self.inner.gate.close(&reason);
                    // The gate's probe may find the dependency fine while this event's call still
                    // fails (another service): pause before the next attempt either way.
                    let pause = pauses.next().unwrap_or(Duration::from_secs(5));
                    let paused = async {
                        tokio::select! {
                            _ = shutdown.cancelled() => false,
                            _ = tokio::time::sleep(pause) => true,
                        }
                    };
                    if !self.keep_alive(message, paused).await {
                        return answer(message, AckKind::Nak(None)).await;
                    }
                }
            }
        }
    }

    /// Awaits `work`, telling JetStream every third of the ack wait that the event is in progress
    /// (progress acks reset the ack timer without counting a delivery).
    pub async fn keep_alive<T>(&self, message: &Message, work: impl Future<Output = T>) -> T {
        let every = (self.inner.ack_wait / 3).max(Duration::from_millis(100));
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        tokio::pin!(work);
        loop {
            tokio::select! {
                outcome = &mut work => return outcome,
                _ = tick.tick() => {
                    if let Err(err) = message.ack_with(AckKind::Progress).await {
                        tracing::debug!(error = %err, "progress ack failed");
                    }
                }
            }
        }
    }

    /// Naks with backoff, or at the consumer's max-deliver dead-letters the event.
    async fn retry_or_give_up(&self, message: &Message, detail: &str) {
        let delivered = deliveries(message);
        if delivered < self.inner.max_deliver {
            let delay = backoff(delivered);
            tracing::warn!(%detail, delivered, ?delay, "handling an event failed; retrying later");
            answer(message, AckKind::Nak(Some(delay))).await;
        } else {
            tracing::error!(%detail, delivered, "handling an event kept failing; dead-lettering it");
            self.dead_letter(message, DeadLetterReason::Failed, detail)
                .await;
        }
    }

    /// Stores the event in the dead-letter stream, counts it and terminates it; if it cannot be
    /// stored it is nak'ed, so it is not lost while NATS is having trouble.
    async fn dead_letter(&self, message: &Message, reason: DeadLetterReason, detail: &str) {
        let inner = &self.inner;
        match inner
            .parking
            .park(&inner.jetstream, message, reason, detail)
            .await
        {
            Ok(()) => {
                inner.recorder.dead_lettered(reason);
                answer(message, AckKind::Term).await;
            }
            Err(error) => {
                tracing::warn!(%error, "dead-lettering failed; the event will come again");
                answer(message, AckKind::Nak(Some(backoff(deliveries(message))))).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redelivery_backs_off_exponentially_up_to_a_minute() {
        let delays: Vec<u64> = [1, 2, 3, 7, 50].map(|n| backoff(n).as_secs()).to_vec();
        assert_eq!(delays, [1, 2, 4, 60, 60]);
    }
}
