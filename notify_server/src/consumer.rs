//! The service's one durable JetStream consumer: every stored event goes through the hub, acked
//! only once the hub has it. It follows the shared delivery policy (`fechatter_events::delivery`):
//! an event that can never be routed is stored in the dead-letter stream on `<prefix>.dlq.notify`.
//!
//! At most one event is unacknowledged at a time, so the hub sees events strictly in stream order
//! (a redelivery can never overtake a newer event), which keeps each connection's SSE ids
//! increasing and `Last-Event-ID` meaningful.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use async_nats::connection::State;
use async_nats::jetstream::Message;
use async_nats::jetstream::consumer::{self, AckPolicy, DeliverPolicy, PullConsumer};
use fechatter_events::EventKind;
use fechatter_events::delivery::{self, DeliveryPolicy, Failure, Gate, PolicySettings};
use fechatter_events::nats::until_ok;
use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::observability::metrics::{DeadLetterMetrics, NatsErrorReason, NatsMetrics};
use crate::routing::{Routed, route};
use crate::state::AppState;

/// How often the server sends an idle heartbeat on the pull subscription; two missed ones mean
/// the subscription is broken.
const HEARTBEAT: Duration = Duration::from_secs(5);
const PULL_EXPIRES: Duration = Duration::from_secs(30);
/// How often the connection state is looked at, so the gauge and `/ready` follow an outage fast.
const WATCHDOG: Duration = Duration::from_millis(250);

/// Whether the durable consumer is subscribed; `/ready` fails while it is not.
#[derive(Clone, Default)]
pub struct ConsumerState(Arc<AtomicBool>);

impl ConsumerState {
    pub fn is_active(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    fn set(&self, active: bool) {
        self.0.store(active, Ordering::SeqCst);
        NatsMetrics::subscription_active(active);
    }
}

enum Outcome {
    Stopped,
    Resubscribe,
}

/// Consumes until `shutdown`, resubscribing (with backoff) whenever the subscription breaks.
pub async fn run(state: AppState, shutdown: CancellationToken) {
    let settings = &state.config().consumer;
    // Notify depends on nothing but NATS itself: its gate never closes.
    let policy = DeliveryPolicy::new(
        PolicySettings {
            consumer: settings.durable_name.clone(),
            dead_letter_subject: state
                .event_bus()
                .dead_letter_subject(&settings.durable_name),
            max_deliver: settings.max_deliver,
            ack_wait: settings.ack_wait,
        },
        state.jetstream().clone(),
        Gate::always_open(),
        DeadLetterMetrics,
    );
    loop {
        let subscribed = until_ok("subscribing the notify consumer", &shutdown, || {
            let state = state.clone();
            async move {
                let outcome = subscribe(&state).await;
                if outcome.is_err() {
                    NatsMetrics::error(NatsErrorReason::Subscription);
                }
                outcome
            }
        })
        .await;
        let Some((consumer, messages)) = subscribed else {
            return;
        };
        tracing::info!("notify consumer subscribed");
        state.consumer().set(true);
        let outcome = pump(&state, &policy, &consumer, messages, &shutdown).await;
        state.consumer().set(false);
        if let Outcome::Stopped = outcome {
            return;
        }
    }
}

async fn subscribe(
    state: &AppState,
) -> Result<(PullConsumer, consumer::pull::Stream), async_nats::Error> {
    let settings = &state.config().consumer;
    // A dead letter always has somewhere to be stored.
    state
        .event_bus()
        .ensure_dead_letter_stream(state.jetstream())
        .await?;
    let stream = state.event_bus().ensure_stream(state.jetstream()).await?;
    let consumer: PullConsumer = stream
        .get_or_create_consumer(
            &settings.durable_name,
            consumer::pull::Config {
                durable_name: Some(settings.durable_name.clone()),
                description: Some("notify_server: live push to SSE clients".to_owned()),
                filter_subject: state.event_bus().all_events(),
                // Clients that were away catch up through replay, not through this consumer.
                deliver_policy: DeliverPolicy::New,
                ack_policy: AckPolicy::Explicit,
                ack_wait: settings.ack_wait,
                // The policy counts deliveries and dead-letters at `max_deliver`.
                max_deliver: delivery::consumer_max_deliver(),
                max_ack_pending: 1,
                ..Default::default()
            },
        )
        .await?;
    let messages = consumer
        .stream()
        .heartbeat(HEARTBEAT)
        .expires(PULL_EXPIRES)
        .messages()
        .await?;
    Ok((consumer, messages))
}

async fn pump(
    state: &AppState,
    policy: &DeliveryPolicy,
    consumer: &PullConsumer,
    mut messages: consumer::pull::Stream,
    shutdown: &CancellationToken,
) -> Outcome {
    let mut watchdog = tokio::time::interval(WATCHDOG);
    watchdog.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut disconnected = false;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return Outcome::Stopped,
            message = messages.next() => match message {
                Some(Ok(message)) => handle(state, policy, message, shutdown).await,
                Some(Err(err)) => {
                    tracing::warn!(error = %err, "notify consumer subscription broke; resubscribing");
                    NatsMetrics::error(NatsErrorReason::Subscription);
                    return Outcome::Resubscribe;
                }
                None => return Outcome::Resubscribe,
            },
            _ = watchdog.tick() => {
                let connected = state.nats().connection_state() == State::Connected;
                if !connected && !disconnected {
                    disconnected = true;
                    state.consumer().set(false);
                } else if connected && disconnected {
                    // NATS is back: the consumer must have survived the outage to count as subscribed.
                    match tokio::time::timeout(Duration::from_secs(2), consumer.get_info()).await {
                        Ok(Ok(_)) => {
                            disconnected = false;
                            state.consumer().set(true);
                        }
                        _ => return Outcome::Resubscribe,
                    }
                }
            }
        }
    }
}

/// Hands one stored event to the hub, then acks it; one that cannot be routed is dead-lettered.
async fn handle(
    state: &AppState,
    policy: &DeliveryPolicy,
    message: Message,
    shutdown: &CancellationToken,
) {
    let started = Instant::now();
    let bus = state.event_bus();
    let event = bus
        .kind_of_subject(&message.subject)
        .map_or("unknown", EventKind::as_str);
    NatsMetrics::received(event);
    let seq = match message.info() {
        Ok(info) => info.stream_sequence,
        Err(err) => {
            // Only a message that did not come from a consumer lacks this metadata.
            tracing::error!(error = %err, "a consumer message without JetStream metadata");
            NatsMetrics::error(NatsErrorReason::Malformed);
            return;
        }
    };
    policy
        .deliver(&message, shutdown, || async {
            match route(bus, &message.subject, &message.payload, seq) {
                Ok(Routed { frame, envelope }) => {
                    state.hub().deliver(&envelope.recipients, frame);
                    Ok(())
                }
                Err(err) => {
                    NatsMetrics::error(NatsErrorReason::Malformed);
                    Err(Failure::Malformed(format!("notify cannot route it: {err}")))
                }
            }
        })
        .await;
    NatsMetrics::processed(event, started.elapsed());
}
