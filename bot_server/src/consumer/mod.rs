//! The durable JetStream pull consumer `bot`: every stored event, at most `concurrency` at a time.
//!
//! An event is acknowledged once its effect is stored (index row, reply posted, event id recorded).
//! A failure that may pass is nak'ed with exponential backoff; at the consumer's max-deliver, or at
//! once for an event that can never be read, it is parked on `<prefix>.dlq.bot`. Handlers are
//! idempotent on the event id, and index writes are ordered by message version, so concurrent or
//! repeated deliveries never undo a newer state.

mod delivery;
pub mod lag;

use std::time::Instant;

use async_nats::jetstream::Message;
use async_nats::jetstream::consumer::pull::{Config as PullConfig, Stream as Messages};
use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, PullConsumer};
use fechatter_events::consume::pull_until;
use fechatter_events::{Envelope, EventKind};
use tokio::sync::OwnedSemaphorePermit;
use tokio_util::sync::CancellationToken;

use crate::observability::metrics::{ConsumerMetrics, DeadLetterReason};
use crate::state::AppState;

/// The durable consumer's name, also the dead-letter subject's last token.
pub const CONSUMER: &str = "bot";

#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    /// The event can never be handled: parked at once.
    #[error("malformed event: {0}")]
    Malformed(String),
    /// Handling failed in a way that may pass (database, fechatter_server): retried.
    #[error("{0}")]
    Retry(String),
}

impl From<sqlx::Error> for HandleError {
    fn from(err: sqlx::Error) -> Self {
        HandleError::Retry(format!("database: {err}"))
    }
}

/// Pulls until `shutdown`, then lets the events in hand finish.
pub async fn run(state: AppState, shutdown: CancellationToken) {
    pull_until(
        "subscribing the bot consumer",
        &shutdown,
        state.config().consumer.concurrency,
        || subscribe(&state),
        |subscribed| {
            if subscribed {
                tracing::info!("bot consumer subscribed");
            }
            state.consumer().set_subscribed(subscribed);
        },
        |message, permit| handle(state.clone(), message, permit),
    )
    .await;
}

async fn subscribe(state: &AppState) -> Result<Messages, async_nats::Error> {
    let bus = state.event_bus();
    let stream = bus.ensure_stream(state.jetstream()).await?;
    let settings = state.config().consumer;
    let consumer: PullConsumer = stream
        .get_or_create_consumer(
            CONSUMER,
            PullConfig {
                durable_name: Some(CONSUMER.to_owned()),
                description: Some("bot_server: search index and assistant".to_owned()),
                // NATS 2.9 filters on one subject only; kinds the bot ignores are acked at once.
                filter_subject: bus.all_events(),
                // A new consumer indexes what the stream still holds.
                deliver_policy: DeliverPolicy::All,
                ack_policy: AckPolicy::Explicit,
                ack_wait: settings.ack_wait,
                max_deliver: settings.max_deliver,
                max_ack_pending: i64::try_from(settings.concurrency).unwrap_or(1),
                ..Default::default()
            },
        )
        .await?;
    Ok(consumer.messages().await?)
}

#[tracing::instrument(skip_all, fields(subject = %message.subject))]
async fn handle(state: AppState, message: Message, _permit: OwnedSemaphorePermit) {
    let started = Instant::now();
    let event = state
        .event_bus()
        .kind_of_subject(&message.subject)
        .map_or("unknown", EventKind::as_str);
    ConsumerMetrics::received(event);
    let outcome = match Envelope::from_json(&message.payload) {
        Ok(envelope) => {
            let ack_wait = state.config().consumer.ack_wait;
            delivery::keep_alive(&message, ack_wait, crate::events::handle(&state, &envelope)).await
        }
        Err(err) => Err(HandleError::Malformed(err.to_string())),
    };
    match outcome {
        Ok(()) => delivery::ack(&message).await,
        Err(HandleError::Malformed(reason)) => {
            tracing::error!(%reason, "an event the bot can never read; dead-lettering it");
            delivery::dead_letter(&state, &message, DeadLetterReason::Malformed, &reason).await;
        }
        Err(HandleError::Retry(reason)) => {
            delivery::retry_or_give_up(&state, &message, &reason).await;
        }
    }
    ConsumerMetrics::processed(event, started.elapsed());
}
