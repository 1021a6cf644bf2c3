//! The durable consumer `bot_assistant`: `message.created` events, answered when they ask the bot
//! something. Apart from indexing, so a slow language model never holds up the index; most
//! messages ask nothing and are acked at once, as are events it cannot read (the consumer `bot`
//! dead-letters those, once).
//!
//! The consumer holds up to `BOT_ASSISTANT_MAX_PENDING` messages; a question waits in hand (kept
//! alive) for its workspace's turn (`BOT_ASSISTANT_WORKSPACE_CONCURRENCY`) and then for a free
//! answer slot (`BOT_ASSISTANT_CONCURRENCY`), so one chatty workspace cannot take every slot.

use async_nats::jetstream::Message;
use fechatter_events::consume::pull_until;
use fechatter_events::delivery::{DeliveryPolicy, Failure, Gate};
use fechatter_events::{Envelope, EventKind};
use tokio::sync::OwnedSemaphorePermit;
use tokio_util::sync::CancellationToken;

use super::Spec;
use crate::state::AppState;

/// The durable consumer's name.
pub const CONSUMER: &str = "bot_assistant";

/// Pulls until `shutdown`, then lets the questions in hand finish.
pub async fn run(state: AppState, shutdown: CancellationToken) {
    let policy = super::policy(&state, CONSUMER, gate(&state));
    let spec = Spec {
        name: CONSUMER,
        description: "bot_server: the assistant's answers",
        filter_subject: state.event_bus().subject(EventKind::MessageCreated),
        max_ack_pending: state.config().assistant.max_pending,
    };
    pull_until(
        "subscribing the assistant consumer",
        &shutdown,
        spec.max_ack_pending,
        || super::subscribe(&state, &spec),
        |_| {},
        |message, permit| {
            handle(
                state.clone(),
                policy.clone(),
                shutdown.clone(),
                message,
                permit,
            )
        },
    )
    .await;
}

/// Open while the bot's Postgres answers and fechatter_server, where answers are posted, is ready.
fn gate(state: &AppState) -> Gate {
    let state = state.clone();
    Gate::new("postgres and fechatter_server", move || {
        let state = state.clone();
        async move {
            sqlx::query("SELECT 1")
                .execute(state.pool())
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

#[tracing::instrument(skip_all, fields(subject = %message.subject))]
async fn handle(
    state: AppState,
    policy: DeliveryPolicy,
    shutdown: CancellationToken,
    message: Message,
    _permit: OwnedSemaphorePermit,
) {
    // What cannot be read asks nothing; the consumer `bot`, which reads every event, parks it.
    let envelope = Envelope::from_json(&message.payload).ok();
    let composed = crate::assistant::Composed::default();
    policy
        .deliver(&message, &shutdown, || async {
            match &envelope {
                Some(envelope) => crate::assistant::answer_once(&state, envelope, &composed)
                    .await
                    .map_err(Failure::from),
                None => Ok(()),
            }
        })
        .await;
}
