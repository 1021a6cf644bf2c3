//! The pull loop every durable consumer runs: (re)subscribe until it works, hold at most
//! `concurrency` messages at a time, and on shutdown let the messages in hand finish.

use std::future::Future;
use std::sync::Arc;

use async_nats::jetstream::Message;
use async_nats::jetstream::consumer::pull::Stream as Messages;
use futures::StreamExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::nats::until_ok;

/// Pulls until `shutdown`. `subscribe` is retried with backoff (logged as `what`) and called again
/// when the subscription fails; `subscribed` hears every change of state; each message is handed
/// to `handle` on a task of its own with a permit it holds until it is done with the message.
pub async fn pull_until<S, SFut, H, HFut>(
    what: &str,
    shutdown: &CancellationToken,
    concurrency: usize,
    mut subscribe: S,
    mut subscribed: impl FnMut(bool),
    handle: H,
) where
    S: FnMut() -> SFut,
    SFut: Future<Output = Result<Messages, async_nats::Error>>,
    H: Fn(Message, OwnedSemaphorePermit) -> HFut,
    HFut: Future<Output = ()> + Send + 'static,
{
    let handlers = TaskTracker::new();
    let in_flight = Arc::new(Semaphore::new(concurrency.max(1)));
    'subscribe: while let Some(mut messages) = until_ok(what, shutdown, &mut subscribe).await {
        subscribed(true);
        loop {
            let permit = tokio::select! {
                _ = shutdown.cancelled() => break 'subscribe,
                permit = in_flight.clone().acquire_owned() => permit,
            };
            let Ok(permit) = permit else {
                break 'subscribe;
            };
            let next = tokio::select! {
                _ = shutdown.cancelled() => break 'subscribe,
                next = messages.next() => next,
            };
            match next {
                Some(Ok(message)) => {
                    handlers.spawn(handle(message, permit));
                }
                Some(Err(err)) => {
                    tracing::warn!(error = %err, "{what}: the subscription failed; resubscribing");
                    break;
                }
                None => break,
            }
        }
        subscribed(false);
    }
    subscribed(false);
    handlers.close();
    handlers.wait().await;
}

/// The durable pull consumer `config` describes, created, or updated to `config` when it exists
/// with other settings (a new max-deliver or ack wait takes effect on the next start). Should the
/// server refuse the update (a setting it cannot change), the existing consumer is used as it is.
pub async fn durable(
    stream: &async_nats::jetstream::stream::Stream,
    config: async_nats::jetstream::consumer::pull::Config,
) -> Result<async_nats::jetstream::consumer::PullConsumer, async_nats::Error> {
    let name = config.durable_name.clone().unwrap_or_default();
    match stream.create_consumer(config).await {
        Ok(consumer) => Ok(consumer),
        Err(err) => match stream.get_consumer(&name).await {
            Ok(consumer) => {
                tracing::warn!(consumer = %name, error = %err,
                    "could not update the consumer's settings; using it as it is");
                Ok(consumer)
            }
            Err(_) => Err(err.into()),
        },
    }
}
