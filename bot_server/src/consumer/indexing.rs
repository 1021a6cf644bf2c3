//! The durable consumer `bot`: every stored event, for the search index and the workspace bots.

use std::time::Instant;

use fechatter_events::delivery::{Delivery, EventStream, Failure, Subscription, run_durable};
use fechatter_events::{Decoded, Envelope, EventKind};
use tokio_util::sync::CancellationToken;

use crate::observability::metrics::NATS;
use crate::state::AppState;

/// The durable consumer's name.
pub const CONSUMER: &str = "bot";

/// Pulls until `shutdown`, then lets the events in hand finish.
pub async fn run(state: AppState, shutdown: CancellationToken) {
    let subscription = Subscription {
        stream: EventStream::Domain,
        filter_subject: state.event_bus().all_events(),
        description: Some("bot_server: search index and workspace bots"),
        max_ack_pending: state.config().consumer.concurrency,
    };
    run_durable(
        state.event_bus(),
        &subscription,
        &super::policy(&state, CONSUMER, super::postgres_gate(&state)),
        &shutdown,
        |subscribed| {
            if subscribed {
                tracing::info!("bot consumer subscribed");
            }
            state.consumer().set_subscribed(subscribed);
        },
        |delivery| handle(state.clone(), delivery),
    )
    .await;
}

#[tracing::instrument(skip_all, fields(subject = %delivery.message().subject))]
async fn handle(state: AppState, delivery: Delivery) {
    let started = Instant::now();
    let event = state
        .event_bus()
        .kind_of_subject(&delivery.message().subject)
        .map_or("unknown", EventKind::as_str);
    NATS.received(event);
    let decoded = Envelope::decode(&delivery.message().payload);
    delivery
        .deliver(|| async {
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
    NATS.processed(event, started.elapsed());
}
