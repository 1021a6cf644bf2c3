//! The durable JetStream pull consumer `analytics`: every domain event becomes a row; and what
//! both of analytics' consumers share.
//!
//! Both follow the shared delivery policy (`fechatter_events::delivery`): a message is acked only
//! once its rows are durably in ClickHouse, and kept alive meanwhile; while ClickHouse is down
//! (the writer found it so) no message is handled, the ones in hand wait without spending a
//! delivery, and nothing more is pulled; a message that cannot be read is dead-lettered at once
//! (stored on `<prefix>.dlq.analytics`). A message that may have been handled before (a
//! redelivery after a crash, a re-drive) first asks ClickHouse which of its rows it already has.

use chrono::Utc;
use fechatter_events::delivery::{
    Delivery, DeliveryPolicy, EventStream, Failure, PolicySettings, Subscription, may_be_repeated,
    run_durable,
};
use fechatter_events::{Decoded, Envelope, EventKind};
use tokio_util::sync::CancellationToken;

use crate::buffer::Pending;
use crate::events::{EventRow, EventType, Source, domain};
use crate::observability::metrics::{DEAD_LETTERED, IngestMetrics, NATS};
use crate::state::AppState;

/// The durable consumer's name.
pub const CONSUMER: &str = "analytics";
/// The last token of analytics' dead-letter subject, shared by both of its consumers.
pub const DEAD_LETTERS: &str = "analytics";

/// Pulls until `shutdown`, then waits for the messages in hand to be acked or handed back.
pub async fn run(state: AppState, shutdown: CancellationToken) {
    let subscription = Subscription {
        stream: EventStream::Domain,
        filter_subject: state.event_bus().all_events(),
        description: None,
        max_ack_pending: usize::try_from(state.config().consumer.max_ack_pending).unwrap_or(1),
    };
    run_durable(
        state.event_bus(),
        &subscription,
        &policy(&state, CONSUMER),
        &shutdown,
        |active| state.subscriptions().domain(active),
        |delivery| handle(state.clone(), delivery),
    )
    .await;
}

/// The delivery policy of the consumer `name`, behind the ClickHouse gate.
pub(super) fn policy(state: &AppState, name: &str) -> DeliveryPolicy {
    let config = &state.config().consumer;
    DeliveryPolicy::new(
        PolicySettings {
            consumer: name.to_owned(),
            dead_letter_subject: state.event_bus().dead_letter_subject(DEAD_LETTERS),
            max_deliver: config.max_deliver,
            ack_wait: config.ack_wait,
        },
        state.jetstream().clone(),
        state.clickhouse_gate().clone(),
        DEAD_LETTERED,
    )
}

#[tracing::instrument(skip_all, fields(subject = %delivery.message().subject))]
async fn handle(state: AppState, delivery: Delivery) {
    let message = delivery.message();
    let kind = state.event_bus().kind_of_subject(&message.subject);
    NATS.received(kind.map_or("unknown", EventKind::as_str));
    let decoded = Envelope::decode(&message.payload);
    let repeated = may_be_repeated(message);
    delivery
        .deliver(|| async {
            let envelope = match decoded
                .as_ref()
                .map_err(|err| Failure::Malformed(err.to_string()))?
            {
                Decoded::Known(envelope) => envelope,
                // A newer producer's kind: this build has no row shape for it yet.
                Decoded::UnknownKind(kind) => {
                    tracing::debug!(kind, "skipping an event kind this build does not know");
                    return Ok(());
                }
            };
            let pending = Pending::new(
                domain::to_row(envelope, Utc::now()),
                Source::Nats,
                EventType::Domain(envelope.kind),
            );
            write(&state, vec![pending], repeated).await
        })
        .await;
}

/// Writes `events` through the buffer and waits until they are durably in ClickHouse. When they
/// may have been written before (`repeated`), ClickHouse is asked first and what it has is
/// skipped, so a redelivery after a crash stores nothing twice.
pub(super) async fn write(
    state: &AppState,
    mut events: Vec<Pending>,
    repeated: bool,
) -> Result<(), Failure> {
    if repeated {
        let rows: Vec<&EventRow> = events.iter().map(|event| &event.row).collect();
        let present = state
            .store()
            .existing_ids(&rows)
            .await
            .map_err(|err| Failure::Unavailable(err.to_string()))?;
        events.retain(|event| {
            let stored = present.contains(&event.row.event_id);
            if stored {
                IngestMetrics::duplicate(event.source);
            }
            !stored
        });
    }
    if events.is_empty() {
        return Ok(());
    }
    let shutting_down =
        || Failure::Unavailable("shutting down before the rows were written".into());
    let written = state
        .buffer()
        .accept_all_and_wait(events)
        .await
        .map_err(|_| shutting_down())?;
    for row in written {
        row.await.map_err(|_| shutting_down())?;
    }
    Ok(())
}
