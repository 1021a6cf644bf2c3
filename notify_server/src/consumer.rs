//! The service's one durable JetStream consumer: every stored event goes through the hub, acked
//! only once the hub has it. Events that can never be routed go to the dead-letter subject.
//!
//! At most one event is unacknowledged at a time, so the hub sees events strictly in stream order
//! (a redelivery can never overtake a newer event), which keeps each connection's SSE ids
//! increasing and `Last-Event-ID` meaningful.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use async_nats::connection::State;
use async_nats::jetstream::consumer::{self, AckPolicy, DeliverPolicy, PullConsumer};
use async_nats::jetstream::{AckKind, Message};
use fechatter_events::EventKind;
use fechatter_events::nats::until_ok;
use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::observability::metrics::{NatsErrorReason, NatsMetrics};
use crate::routing::{Routed, route};
use crate::state::AppState;

/// How often the server sends an idle heartbeat on the pull subscription; two missed ones mean
/// the subscription is broken.
const HEARTBEAT: Duration = Duration::from_secs(5);
const PULL_EXPIRES: Duration = Duration::from_secs(30);
/// How often the connection state is looked at, so the gauge and `/ready` follow an outage fast.
const WATCHDOG: Duration = Duration::from_millis(250);
const DEAD_LETTER_TIMEOUT: Duration = Duration::from_secs(2);

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
        let outcome = pump(&state, &consumer, messages, &shutdown).await;
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
                max_deliver: settings.max_deliver,
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
                Some(Ok(message)) => handle(state, message).await,
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

/// Hands one stored event to the hub, then acks it.
async fn handle(state: &AppState, message: Message) {
    let started = Instant::now();
    let bus = state.event_bus();
    let event = bus
        .kind_of_subject(&message.subject)
        .map_or("unknown", EventKind::as_str);
    NatsMetrics::received(event);
    let (seq, delivered) = match message.info() {
        Ok(info) => (info.stream_sequence, info.delivered),
        Err(err) => {
            // Only a message that did not come from a consumer lacks this metadata.
            tracing::error!(error = %err, "a consumer message without JetStream metadata");
            NatsMetrics::error(NatsErrorReason::Malformed);
            return;
        }
    };
    match route(bus, &message.subject, &message.payload, seq) {
        Ok(Routed { frame, envelope }) => {
            state.hub().deliver(&envelope.recipients, frame);
            acknowledge(&message, AckKind::Ack).await;
        }
        Err(err) => {
            tracing::warn!(error = %err, seq, "an event notify cannot route; dead-lettering it");
            NatsMetrics::error(NatsErrorReason::Malformed);
            dead_letter(state, &message, &err.to_string(), delivered).await;
        }
    }
    NatsMetrics::processed(event, started.elapsed());
}

/// Parks an event on `<prefix>.dlq.<consumer>`; if even that fails, asks for a redelivery later,
/// until the consumer's max-deliver is reached.
async fn dead_letter(state: &AppState, message: &Message, reason: &str, delivered: i64) {
    let subject = state
        .event_bus()
        .dead_letter_subject(&state.config().consumer.durable_name);
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("Fechatter-Original-Subject", message.subject.as_str());
    headers.insert("Fechatter-Dead-Letter-Reason", reason);
    let nats = state.nats();
    let published = async {
        nats.publish_with_headers(subject, headers, message.payload.clone())
            .await?;
        nats.flush().await?;
        Ok::<_, async_nats::Error>(())
    };
    match tokio::time::timeout(DEAD_LETTER_TIMEOUT, published).await {
        Ok(Ok(())) => {
            NatsMetrics::dead_lettered();
            acknowledge(message, AckKind::Term).await;
        }
        outcome => {
            let error = outcome.map_or_else(|_| "timed out".to_owned(), |r| format!("{r:?}"));
            tracing::warn!(%error, "dead-lettering failed");
            NatsMetrics::error(NatsErrorReason::DeadLetterFailed);
            if delivered >= state.config().consumer.max_deliver {
                tracing::error!(
                    delivered,
                    "giving up on an event after max-deliver attempts"
                );
                acknowledge(message, AckKind::Term).await;
            } else {
                acknowledge(message, AckKind::Nak(Some(backoff(delivered)))).await;
            }
        }
    }
}

/// 1 s, 2 s, 4 s … capped at 30 s.
fn backoff(delivered: i64) -> Duration {
    let exponent = u32::try_from(delivered.saturating_sub(1).clamp(0, 5)).unwrap_or(5);
    Duration::from_secs(2u64.pow(exponent)).min(Duration::from_secs(30))
}

async fn acknowledge(message: &Message, kind: AckKind) {
    if let Err(err) = message.ack_with(kind).await {
        tracing::warn!(error = %err, "acknowledging an event failed; it will be redelivered");
        NatsMetrics::error(NatsErrorReason::AckFailed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redelivery_backs_off_exponentially_up_to_a_cap() {
        let delays: Vec<u64> = [1, 2, 3, 6, 50].map(|n| backoff(n).as_secs()).to_vec();
        assert_eq!(delays, [1, 2, 4, 30, 30]);
    }
}
