//! The durable JetStream pull consumer `analytics`: every domain event becomes a row.
//!
//! A message is acked only once its row is durably in ClickHouse; while it waits (for room in the
//! buffer, for ClickHouse to come back) it is kept alive with progress acks, so nothing is
//! redelivered behind our back and nothing is lost. An envelope that cannot be decoded is nak'ed
//! with backoff and, at the last delivery, parked on the dead-letter subject.

use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::consumer::pull::{Config as PullConfig, Stream as Messages};
use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, PullConsumer};
use async_nats::jetstream::{AckKind, Message};
use chrono::Utc;
use fechatter_events::consume::pull_until;
use fechatter_events::{Envelope, EnvelopeError};
use tokio::sync::OwnedSemaphorePermit;
use tokio_util::sync::CancellationToken;

use crate::buffer::{BufferFull, Pending};
use crate::events::{EventType, Source, domain};
use crate::observability::metrics::NatsMetrics;
use crate::state::AppState;

/// The durable consumer's name, also the dead-letter subject's last token.
pub const CONSUMER: &str = "analytics";

/// Pulls until `shutdown`, then waits for the messages in hand to be acked or nak'ed.
pub async fn run(state: AppState, shutdown: CancellationToken) {
    pull_until(
        "subscribing to domain events",
        &shutdown,
        usize::try_from(state.config().consumer.max_ack_pending).unwrap_or(1),
        || subscribe(&state),
        NatsMetrics::subscription_active,
        |message, permit| handle(state.clone(), message, permit),
    )
    .await;
}

async fn subscribe(state: &AppState) -> Result<Messages, async_nats::Error> {
    let jetstream = async_nats::jetstream::new(state.nats().clone());
    let bus = state.event_bus();
    let stream = bus.ensure_stream(&jetstream).await?;
    let config = &state.config().consumer;
    let consumer: PullConsumer = stream
        .get_or_create_consumer(
            CONSUMER,
            PullConfig {
                durable_name: Some(CONSUMER.to_owned()),
                filter_subject: bus.all_events(),
                ack_policy: AckPolicy::Explicit,
                deliver_policy: DeliverPolicy::All,
                ack_wait: config.ack_wait,
                max_deliver: config.max_deliver,
                max_ack_pending: config.max_ack_pending,
                ..Default::default()
            },
        )
        .await?;
    Ok(consumer.messages().await?)
}

#[tracing::instrument(skip_all, fields(subject = %message.subject))]
async fn handle(state: AppState, message: Message, _permit: OwnedSemaphorePermit) {
    let kind = state.event_bus().kind_of_subject(&message.subject);
    NatsMetrics::received(kind.map_or("unknown", |kind| kind.as_str()));
    let envelope = match Envelope::from_json(&message.payload) {
        Ok(envelope) => envelope,
        Err(err) => return refuse(&state, &message, &err).await,
    };
    let pending = Pending::new(
        domain::to_row(&envelope, Utc::now()),
        Source::Nats,
        EventType::Domain(envelope.kind),
    );
    let buffer = state.buffer().clone();
    let written = async move {
        let written = buffer.accept_and_wait(pending).await?;
        written.await.map_err(|_| BufferFull::Closed)
    };
    let outcome = keep_alive(&message, state.config().consumer.ack_wait, written).await;
    let reply = match outcome {
        Ok(()) => message.ack().await,
        // Shutting down before the row was written: hand it back for redelivery now.
        Err(_) => message.ack_with(AckKind::Nak(None)).await,
    };
    if let Err(err) = reply {
        // Without an ack the event is redelivered and recognised as a duplicate.
        tracing::warn!(event_id = %envelope.id, error = %err, "could not ack a domain event");
    }
}

/// Awaits `work`, telling JetStream every third of the ack wait that the message is in progress.
async fn keep_alive<T>(message: &Message, ack_wait: Duration, work: impl Future<Output = T>) -> T {
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

/// Backoff for an undecodable envelope: 1 s, 2 s, 4 s, … up to a minute.
fn redelivery_delay(delivered: i64) -> Duration {
    let exponent = u32::try_from(delivered.saturating_sub(1))
        .unwrap_or(0)
        .min(6);
    Duration::from_secs((1u64 << exponent).min(60))
}

async fn refuse(state: &AppState, message: &Message, err: &EnvelopeError) {
    let reason = match err {
        EnvelopeError::Malformed(_) => "malformed",
        EnvelopeError::UnsupportedVersion(_) => "unsupported_version",
    };
    let delivered = message.info().map(|info| info.delivered).unwrap_or(1);
    let outcome = if delivered < state.config().consumer.max_deliver {
        tracing::warn!(error = %err, delivered, "undecodable domain event; retrying later");
        message
            .ack_with(AckKind::Nak(Some(redelivery_delay(delivered))))
            .await
    } else {
        match dead_letter(state, message, reason).await {
            Ok(()) => {
                NatsMetrics::dead_lettered(reason);
                tracing::error!(error = %err, delivered, "undecodable domain event dead-lettered");
                message.ack_with(AckKind::Term).await
            }
            Err(publish) => {
                tracing::warn!(error = %publish, "could not dead-letter a domain event");
                message
                    .ack_with(AckKind::Nak(Some(redelivery_delay(delivered))))
                    .await
            }
        }
    };
    if let Err(err) = outcome {
        tracing::warn!(error = %err, "could not answer a refused domain event");
    }
}

async fn dead_letter(
    state: &AppState,
    message: &Message,
    reason: &'static str,
) -> Result<(), async_nats::Error> {
    let mut headers = HeaderMap::new();
    headers.insert("Fechatter-Original-Subject", message.subject.as_str());
    headers.insert("Fechatter-Dead-Letter-Reason", reason);
    let nats = state.nats();
    nats.publish_with_headers(
        state.event_bus().dead_letter_subject(CONSUMER),
        headers,
        message.payload.clone(),
    )
    .await?;
    nats.flush().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redelivery_backs_off_up_to_a_minute() {
        assert_eq!(redelivery_delay(1), Duration::from_secs(1));
        assert_eq!(redelivery_delay(3), Duration::from_secs(4));
        assert_eq!(redelivery_delay(50), Duration::from_secs(60));
    }
}
