//! A durable consumer under the delivery policy, wired once for every service: the dead-letter
//! stream and the consumer's stream made sure of, the durable pull consumer created (or updated)
//! to the policy's settings, the pull loop, and each message handed over with what delivering it
//! needs.

use std::future::Future;

use async_nats::jetstream::Message;
use async_nats::jetstream::consumer::pull::{Config as PullConfig, Stream as Messages};
use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy};
use tokio::sync::OwnedSemaphorePermit;
use tokio_util::sync::CancellationToken;

use super::{DeliveryPolicy, Failure, consumer_max_deliver};
use crate::EventBus;
use crate::consume::{durable, pull_until};

/// Which of the bus's streams a consumer reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventStream {
    /// The domain events (`EventBus::ensure_stream`).
    Domain,
    /// The client events analytics stored (`EventBus::ensure_client_event_stream`).
    Client,
}

/// What a durable consumer reads and how much it holds; its name, ack wait and max-deliver are its
/// [`DeliveryPolicy`]'s.
#[derive(Debug, Clone)]
pub struct Subscription {
    pub stream: EventStream,
    /// One subject: NATS 2.9 filters on one only.
    pub filter_subject: String,
    /// What the consumer says it is, for operators listing consumers.
    pub description: Option<&'static str>,
    /// Messages held at once (unacknowledged at most), each handled on a task of its own.
    pub max_ack_pending: usize,
}

/// One message in hand: delivered under the consumer's policy, its permit held until it is
/// answered.
pub struct Delivery {
    message: Message,
    policy: DeliveryPolicy,
    shutdown: CancellationToken,
    _permit: OwnedSemaphorePermit,
}

impl Delivery {
    pub fn message(&self) -> &Message {
        &self.message
    }

    /// Hands the message to `handle` under the policy and answers JetStream (see
    /// [`DeliveryPolicy::deliver`]).
    pub async fn deliver<F, Fut>(&self, handle: F)
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<(), Failure>>,
    {
        self.policy
            .deliver(&self.message, &self.shutdown, handle)
            .await;
    }
}

/// Pulls from the durable consumer `policy` names until `shutdown`, then waits for the messages
/// in hand to be answered. `subscribed` hears every change of the subscription's state; each
/// message goes to `handle` on a task of its own.
pub async fn run_durable<H, HFut>(
    bus: &EventBus,
    subscription: &Subscription,
    policy: &DeliveryPolicy,
    shutdown: &CancellationToken,
    subscribed: impl FnMut(bool),
    handle: H,
) where
    H: Fn(Delivery) -> HFut,
    HFut: Future<Output = ()> + Send + 'static,
{
    let what = format!("subscribing the consumer {}", policy.consumer());
    pull_until(
        &what,
        shutdown,
        subscription.max_ack_pending,
        || subscribe(bus, subscription, policy),
        subscribed,
        |message, permit| {
            handle(Delivery {
                message,
                policy: policy.clone(),
                shutdown: shutdown.clone(),
                _permit: permit,
            })
        },
    )
    .await;
}

/// Creates (or updates) the durable consumer and subscribes; the dead-letter stream is made sure
/// of first, so a dead letter always has somewhere to be stored.
async fn subscribe(
    bus: &EventBus,
    subscription: &Subscription,
    policy: &DeliveryPolicy,
) -> Result<Messages, async_nats::Error> {
    let jetstream = policy.jetstream();
    bus.ensure_dead_letter_stream(jetstream).await?;
    let stream = match subscription.stream {
        EventStream::Domain => bus.ensure_stream(jetstream).await?,
        EventStream::Client => bus.ensure_client_event_stream(jetstream).await?,
    };
    let consumer = durable(
        &stream,
        PullConfig {
            durable_name: Some(policy.consumer().to_owned()),
            description: subscription.description.map(str::to_owned),
            filter_subject: subscription.filter_subject.clone(),
            // A new consumer handles what the stream still holds.
            deliver_policy: DeliverPolicy::All,
            ack_policy: AckPolicy::Explicit,
            ack_wait: policy.ack_wait(),
            max_deliver: consumer_max_deliver(),
            max_ack_pending: i64::try_from(subscription.max_ack_pending).unwrap_or(1),
            ..Default::default()
        },
    )
    .await?;
    Ok(consumer.messages().await?)
}
