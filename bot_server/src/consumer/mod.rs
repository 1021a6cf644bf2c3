//! The bot's two durable JetStream pull consumers, so answering can never stall indexing:
//!
//! - `bot` ([`indexing`]): every stored event, at most `BOT_CONSUMER_CONCURRENCY` at a time; keeps
//!   the search index and the workspace bots;
//! - `bot_assistant` ([`answering`]): `message.created` only; answers questions, at most
//!   `BOT_ASSISTANT_CONCURRENCY` at a time and `BOT_ASSISTANT_WORKSPACE_CONCURRENCY` per workspace.
//!
//! Both follow the shared delivery policy (`fechatter_events::delivery`): an event is acked once
//! its effect is stored; while Postgres (or, for answers, fechatter_server) is down events wait in
//! hand and nothing more is pulled; an event that fails on its own is retried with backoff and
//! then stored on `<prefix>.dlq.bot`. Handlers are idempotent on the event id: the index records
//! each event it applied, the assistant each answer it composed and posted.

pub mod answering;
pub mod indexing;
pub mod lag;

use async_nats::jetstream::consumer::pull::{Config as PullConfig, Stream as Messages};
use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy};
use fechatter_events::delivery::{self, DeliveryPolicy, Gate, PolicySettings};

use crate::observability::metrics::DeadLetterMetrics;
use crate::state::AppState;

/// The last token of the bot's dead-letter subject, shared by both consumers (each names itself
/// in the `Fechatter-Consumer` header).
pub const DEAD_LETTERS: &str = "bot";

/// A consumer's name, what it reads and how much it holds.
pub struct Spec {
    pub name: &'static str,
    pub description: &'static str,
    pub filter_subject: String,
    pub max_ack_pending: usize,
}

/// The delivery policy of the consumer `name`, behind `gate`.
pub fn policy(state: &AppState, name: &str, gate: Gate) -> DeliveryPolicy {
    let settings = state.config().consumer;
    DeliveryPolicy::new(
        PolicySettings {
            consumer: name.to_owned(),
            dead_letter_subject: state.event_bus().dead_letter_subject(DEAD_LETTERS),
            max_deliver: settings.max_deliver,
            ack_wait: settings.ack_wait,
        },
        state.jetstream().clone(),
        gate,
        DeadLetterMetrics,
    )
}

/// A gate that is open while the bot's Postgres answers.
pub fn postgres_gate(state: &AppState) -> Gate {
    let pool = state.pool().clone();
    Gate::new("postgres", move || {
        let pool = pool.clone();
        async move { crate::db::ping(&pool).await }
    })
}

/// Creates (or updates) the durable consumer and subscribes; the dead-letter stream is made sure
/// of first, so a dead letter always has somewhere to go.
pub async fn subscribe(state: &AppState, spec: &Spec) -> Result<Messages, async_nats::Error> {
    let bus = state.event_bus();
    bus.ensure_dead_letter_stream(state.jetstream()).await?;
    let stream = bus.ensure_stream(state.jetstream()).await?;
    let consumer = fechatter_events::consume::durable(
        &stream,
        PullConfig {
            durable_name: Some(spec.name.to_owned()),
            description: Some(spec.description.to_owned()),
            // NATS 2.9 filters on one subject only.
            filter_subject: spec.filter_subject.clone(),
            // A new consumer handles what the stream still holds.
            deliver_policy: DeliverPolicy::All,
            ack_policy: AckPolicy::Explicit,
            ack_wait: state.config().consumer.ack_wait,
            max_deliver: delivery::consumer_max_deliver(),
            max_ack_pending: i64::try_from(spec.max_ack_pending).unwrap_or(1),
            ..Default::default()
        },
    )
    .await?;
    Ok(consumer.messages().await?)
}
