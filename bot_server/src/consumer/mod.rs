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

use fechatter_events::delivery::{DeliveryPolicy, Gate, PolicySettings};

use crate::observability::metrics::DEAD_LETTERED;
use crate::state::AppState;

/// The last token of the bot's dead-letter subject, shared by both consumers (each names itself
/// in the `Fechatter-Consumer` header).
pub const DEAD_LETTERS: &str = "bot";

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
        DEAD_LETTERED,
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
