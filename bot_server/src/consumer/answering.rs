//! The durable consumer `bot_assistant`: `message.created` events, answered when they ask the bot
//! something. Apart from indexing, so a slow language model never holds up the index; most
//! messages ask nothing and are acked at once, as are events it cannot read (the consumer `bot`
//! dead-letters those, once).
//!
//! The consumer holds up to `BOT_ASSISTANT_MAX_PENDING` messages; a question waits in hand (kept
//! alive) for its workspace's turn (`BOT_ASSISTANT_WORKSPACE_CONCURRENCY`) and then for a free
//! answer slot (`BOT_ASSISTANT_CONCURRENCY`), so one chatty workspace cannot take every slot.

use fechatter_events::delivery::{Delivery, EventStream, Failure, Gate, Subscription, run_durable};
use fechatter_events::{Envelope, EventKind};
use tokio_util::sync::CancellationToken;

use crate::state::AppState;

/// The durable consumer's name.
pub const CONSUMER: &str = "bot_assistant";

/// Pulls until `shutdown`, then lets the questions in hand finish.
pub async fn run(state: AppState, shutdown: CancellationToken) {
    let subscription = Subscription {
        stream: EventStream::Domain,
        filter_subject: state.event_bus().subject(EventKind::MessageCreated),
        description: Some("bot_server: the assistant's answers"),
        max_ack_pending: state.config().assistant.max_pending,
    };
    run_durable(
        state.event_bus(),
        &subscription,
        &super::policy(&state, CONSUMER, gate(&state)),
        &shutdown,
        |_| {},
        |delivery| handle(state.clone(), delivery),
    )
    .await;
}

/// Open while the bot's Postgres answers and fechatter_server, where answers are posted, is ready.
fn gate(state: &AppState) -> Gate {
    let state = state.clone();
    Gate::new("postgres and fechatter_server", move || {
        let state = state.clone();
        async move {
            crate::db::ping(state.pool())
                .await
                .map_err(|err| format!("postgres: {err}"))?;
            state
                .fechatter()
                .ready()
                .await
                .map_err(|err| err.to_string())
        }
    })
}

#[tracing::instrument(skip_all, fields(subject = %delivery.message().subject))]
async fn handle(state: AppState, delivery: Delivery) {
    // What cannot be read asks nothing; the consumer `bot`, which reads every event, parks it.
    let envelope = Envelope::from_json(&delivery.message().payload).ok();
    let composed = crate::assistant::Composed::default();
    delivery
        .deliver(|| async {
            match &envelope {
                Some(envelope) => crate::assistant::answer_once(&state, envelope, &composed)
                    .await
                    .map_err(Failure::from),
                None => Ok(()),
            }
        })
        .await;
}
