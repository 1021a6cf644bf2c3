//! The durable consumer `bot`: every stored event, for the search index and the workspace bots.

use std::time::Instant;

use async_nats::jetstream::Message;
use fechatter_events::consume::pull_until;
use fechatter_events::delivery::{DeliveryPolicy, Failure};
use fechatter_events::{Decoded, Envelope, EventKind};
use tokio::sync::OwnedSemaphorePermit;
use tokio_util::sync::CancellationToken;

use super::Spec;
use crate::observability::metrics::ConsumerMetrics;
use crate::state::AppState;

/// The durable consumer's name.
pub const CONSUMER: &str = "bot";

/// Pulls until `shutdown`, then lets the events in hand finish.
pub async fn run(state: AppState, shutdown: CancellationToken) {
    let policy = super::policy(&state, CONSUMER, super::postgres_gate(&state));
    let spec = Spec {
        name: CONSUMER,
        description: "bot_server: search index and workspace bots",
        filter_subject: state.event_bus().all_events(),
        max_ack_pending: state.config().consumer.concurrency,
    };
    pull_until(
        "subscribing the bot consumer",
        &shutdown,
        spec.max_ack_pending,
        || super::subscribe(&state, &spec),
        |subscribed| {
            if subscribed {
                tracing::info!("bot consumer subscribed");
            }
            state.consumer().set_subscribed(subscribed);
        },
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

#[tracing::instrument(skip_all, fields(subject = %message.subject))]
async fn handle(
    state: AppState,
    policy: DeliveryPolicy,
    shutdown: CancellationToken,
    message: Message,
    _permit: OwnedSemaphorePermit,
) {
    let started = Instant::now();
    let event = state
        .event_bus()
        .kind_of_subject(&message.subject)
        .map_or("unknown", EventKind::as_str);
    ConsumerMetrics::received(event);
    let decoded = Envelope::decode(&message.payload);
    policy
        .deliver(&message, &shutdown, || async {
            match decoded
                .as_ref()
                .map_err(|err| Failure::Malformed(err.to_string()))?
            {
                Decoded::Known(envelope) => crate::events::handle(&state, envelope)
                    .await
                    .map_err(Failure::from),
                // A newer producer's kind: nothing of ours to do with it.
                Decoded::UnknownKind(kind) => {
                    tracing::debug!(kind, "skipping an event kind this build does not know");
                    Ok(())
                }
            }
        })
        .await;
    ConsumerMetrics::processed(event, started.elapsed());
}
