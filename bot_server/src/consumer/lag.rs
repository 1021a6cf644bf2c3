//! The indexing consumer's lag (`bot_consumer_pending_events`, from the consumer's `num_pending`) and
//! whether it is live (`bot_nats_subscription_active`: subscribed and connected), every second.

use std::time::Duration;

use async_nats::connection::State;
use async_nats::jetstream::consumer::PullConsumer;
use tokio_util::sync::CancellationToken;

use super::indexing::CONSUMER;
use crate::observability::metrics::{ConsumerMetrics, NATS};
use crate::state::AppState;

const EVERY: Duration = Duration::from_secs(1);
const INFO_TIMEOUT: Duration = Duration::from_secs(2);

async fn lookup(state: &AppState) -> Result<PullConsumer, async_nats::Error> {
    let stream = state
        .jetstream()
        .get_stream(&state.event_bus().stream)
        .await?;
    stream.get_consumer(CONSUMER).await
}

pub async fn sample(state: AppState, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut consumer: Option<PullConsumer> = None;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let connected = state.nats().connection_state() == State::Connected;
        NATS.active(connected && state.consumer().is_subscribed());
        if !connected {
            continue;
        }
        if consumer.is_none() {
            consumer = tokio::time::timeout(INFO_TIMEOUT, lookup(&state))
                .await
                .ok()
                .and_then(Result::ok);
        }
        if let Some(handle) = consumer.as_mut() {
            match tokio::time::timeout(INFO_TIMEOUT, handle.info()).await {
                Ok(Ok(info)) => ConsumerMetrics::pending(info.num_pending),
                _ => consumer = None,
            }
        }
    }
}
