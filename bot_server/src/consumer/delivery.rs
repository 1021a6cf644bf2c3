//! Answering JetStream for one event: ack, nak with backoff, or park it on the dead-letter subject.

use std::future::Future;
use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::{AckKind, Message};

use super::CONSUMER;
use crate::observability::metrics::{ConsumerMetrics, DeadLetterReason};
use crate::state::AppState;

const DEAD_LETTER_TIMEOUT: Duration = Duration::from_secs(5);

/// Awaits `work`, telling JetStream every third of the ack wait that the event is in progress (an
/// answer from a language model may take a while).
pub async fn keep_alive<T>(
    message: &Message,
    ack_wait: Duration,
    work: impl Future<Output = T>,
) -> T {
    let every = (ack_wait / 3).max(Duration::from_millis(100));
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

/// 1 s, 2 s, 4 s, … up to a minute.
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

pub async fn ack(message: &Message) {
    answer(message, AckKind::Ack).await;
}

/// Naks with backoff, or at the last delivery parks the event.
pub async fn retry_or_give_up(state: &AppState, message: &Message, reason: &str) {
    let delivered = message.info().map(|info| info.delivered).unwrap_or(1);
    if delivered < state.config().consumer.max_deliver {
        let delay = backoff(delivered);
        tracing::warn!(%reason, delivered, ?delay, "handling an event failed; retrying later");
        answer(message, AckKind::Nak(Some(delay))).await;
    } else {
        tracing::error!(%reason, delivered, "handling an event kept failing; dead-lettering it");
        dead_letter(state, message, DeadLetterReason::Failed, reason).await;
    }
}

/// Publishes the event to `<prefix>.dlq.bot` with why, then terminates it; if even that fails it is
/// nak'ed, so it is not lost while NATS is having trouble.
pub async fn dead_letter(
    state: &AppState,
    message: &Message,
    reason: DeadLetterReason,
    detail: &str,
) {
    let mut headers = HeaderMap::new();
    headers.insert("Fechatter-Original-Subject", message.subject.as_str());
    let detail: String = detail
        .chars()
        .filter(|c| !c.is_control())
        .take(500)
        .collect();
    headers.insert("Fechatter-Dead-Letter-Reason", detail.as_str());
    let nats = state.nats();
    let published = async {
        nats.publish_with_headers(
            state.event_bus().dead_letter_subject(CONSUMER),
            headers,
            message.payload.clone(),
        )
        .await?;
        nats.flush().await?;
        Ok::<_, async_nats::Error>(())
    };
    match tokio::time::timeout(DEAD_LETTER_TIMEOUT, published).await {
        Ok(Ok(())) => {
            ConsumerMetrics::dead_lettered(reason);
            answer(message, AckKind::Term).await;
        }
        outcome => {
            let error = outcome.map_or_else(|_| "timed out".to_owned(), |r| format!("{r:?}"));
            tracing::warn!(%error, "dead-lettering failed; the event will come again");
            let delivered = message.info().map(|info| info.delivered).unwrap_or(1);
            answer(message, AckKind::Nak(Some(backoff(delivered)))).await;
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
