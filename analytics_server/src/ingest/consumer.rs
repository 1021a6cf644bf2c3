//! The durable JetStream pull consumer `analytics`: every domain event becomes a row; and what
//! both of analytics' consumers share.
//!
//! Both follow the shared delivery policy (`fechatter_events::delivery`): a message is acked only
//! once its rows are durably in ClickHouse, and kept alive meanwhile; while ClickHouse is down
//! (the writer found it so) no message is handled, the ones in hand wait without spending a
//! delivery, and nothing more is pulled; a message that cannot be read is dead-lettered at once
//! (stored on `<prefix>.dlq.analytics`). A message that may have been handled before (a
//! redelivery after a crash, a re-drive) first asks ClickHouse which of its rows it already has.

use async_nats::jetstream::Message;
use async_nats::jetstream::consumer::pull::{Config as PullConfig, Stream as Messages};
use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy};
use async_nats::jetstream::stream::Stream;
use chrono::Utc;
use fechatter_events::consume::pull_until;
use fechatter_events::delivery::{self, DeliveryPolicy, Failure, PolicySettings};
use fechatter_events::{Decoded, Envelope, EventKind};
use tokio::sync::OwnedSemaphorePermit;
use tokio_util::sync::CancellationToken;

use crate::buffer::Pending;
use crate::events::{EventRow, EventType, Source, domain};
use crate::observability::metrics::{DeadLetterMetrics, IngestMetrics, NatsMetrics};
use crate::state::AppState;

/// The durable consumer's name.
pub const CONSUMER: &str = "analytics";
/// The last token of analytics' dead-letter subject, shared by both of its consumers.
pub const DEAD_LETTERS: &str = "analytics";

/// Pulls until `shutdown`, then waits for the messages in hand to be acked or handed back.
pub async fn run(state: AppState, shutdown: CancellationToken) {
    let policy = policy(&state, CONSUMER);
    let in_hand = usize::try_from(state.config().consumer.max_ack_pending).unwrap_or(1);
    pull_until(
        "subscribing to domain events",
        &shutdown,
        in_hand,
        || async {
            let bus = state.event_bus();
            let stream = bus.ensure_stream(state.jetstream()).await?;
            subscribe(&state, &stream, CONSUMER, bus.all_events(), in_hand).await
        },
        |active| state.subscriptions().domain(active),
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
        DeadLetterMetrics,
    )
}

/// Creates (or updates) the durable consumer `name` on `stream` and subscribes; the dead-letter
/// stream is made sure of first.
pub(super) async fn subscribe(
    state: &AppState,
    stream: &Stream,
    name: &str,
    filter_subject: String,
    in_hand: usize,
) -> Result<Messages, async_nats::Error> {
    state
        .event_bus()
        .ensure_dead_letter_stream(state.jetstream())
        .await?;
    let consumer = fechatter_events::consume::durable(
        stream,
        PullConfig {
            durable_name: Some(name.to_owned()),
            filter_subject,
            ack_policy: AckPolicy::Explicit,
            deliver_policy: DeliverPolicy::All,
            ack_wait: state.config().consumer.ack_wait,
            max_deliver: delivery::consumer_max_deliver(),
            max_ack_pending: i64::try_from(in_hand).unwrap_or(1),
            ..Default::default()
        },
    )
    .await?;
    Ok(consumer.messages().await?)
}

#[tracing::instrument(skip_all, fields(subject = %message.subject))]
async fn handle(
    state: AppState,
    policy: DeliveryPolicy,
    shutdown: CancellationToken,
    message: Message,
    _permit: OwnedSemaphorePermit,
) {
    let kind = state.event_bus().kind_of_subject(&message.subject);
    NatsMetrics::received(kind.map_or("unknown", EventKind::as_str));
    let decoded = Envelope::decode(&message.payload);
    let repeated = delivery::may_be_repeated(&message);
    policy
        .deliver(&message, &shutdown, || async {
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
