//! The one reader of the event log per process: an ordered push consumer of its own (no acks, flow
//! control, idle heartbeats), so every instance sees every event in stream order and any number of
//! instances can run.
//!
//! It starts at the stream's head the first time (clients that were away catch up through replay,
//! not through this reader). Whenever its consumer is lost (a missed heartbeat, a gap in the
//! consumer sequence, a NATS reconnect, the consumer's node going down) it creates a new one that
//! starts at the last stream sequence it saw + 1, so nothing in between is skipped or repeated.
//! async-nats' own ordered consumer is not used because, when it restarts before its first
//! message, it starts over from the beginning of the stream.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use async_nats::connection::State;
use async_nats::jetstream::{self, consumer};
use async_nats::{StatusCode, Subscriber};
use fechatter_events::nats::until_ok;
use futures::StreamExt;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::core::PushCore;
use crate::cursor::Epoch;
use crate::metrics::LogError;

/// How often the server sends a heartbeat on an idle consumer.
const HEARTBEAT: Duration = Duration::from_secs(2);
/// Silence for this long means the consumer is gone (its node died, it was deleted).
const SILENCE: Duration = Duration::from_secs(5);
/// How often the connection state is looked at, so an outage is noticed fast.
const WATCHDOG: Duration = Duration::from_millis(250);
/// How often a reader waiting for the connection looks at it (at start-up too, so briefly).
const CONNECTION_POLL: Duration = Duration::from_millis(20);
/// Server-side clean-up of a consumer whose reader went away without deleting it.
const INACTIVE_THRESHOLD: Duration = Duration::from_secs(30);
/// How often the stream's info is read: a purge or retention moves its first sequence, which the
/// consumer does not report, and a stream created anew must be noticed even while idle.
const STREAM_POLL: Duration = Duration::from_secs(1);
/// A JetStream API request unanswered by then is given up and tried again. After a cluster node is
/// killed, requests go unanswered for several seconds (about 8 in `scale_out.rs`): with async-nats'
/// own 10 s timeout one lost request cost a reader 10 s without a consumer, whatever came back
/// meanwhile.
const API_TIMEOUT: Duration = Duration::from_secs(2);

struct Reading {
    stream: jetstream::stream::Stream,
    consumer: String,
    messages: Subscriber,
    /// The last consumer sequence received: the next must follow it.
    delivered: u64,
    /// The client's connection count when the consumer was created: any later connect is a
    /// reconnect, however quickly it happened.
    connects: u64,
}

enum Outcome {
    Stopped,
    Restart(&'static str),
}

/// Reads until `shutdown`, restarting the consumer (with backoff) whenever it is lost.
pub async fn run(core: Arc<PushCore>, shutdown: CancellationToken) {
    let recreated = Arc::new(Notify::new());
    let follower = tokio::spawn(follow_stream(
        core.clone(),
        recreated.clone(),
        shutdown.clone(),
    ));
    read_until(&core, &recreated, &shutdown).await;
    let _ = follower.await;
}

async fn read_until(core: &Arc<PushCore>, recreated: &Notify, shutdown: &CancellationToken) {
    loop {
        let started = until_ok("starting the event log reader", shutdown, || {
            let core = core.clone();
            async move {
                let started = start(&core).await;
                if started.is_err() {
                    core.metrics.log_error(LogError::Subscription);
                }
                started
            }
        })
        .await;
        let Some(mut reading) = started else {
            return;
        };
        tracing::info!(consumer = %reading.consumer, "event log reader subscribed");
        core.set_subscribed(true);
        let outcome = read(core, &mut reading, recreated, shutdown).await;
        core.set_subscribed(false);
        forget(reading);
        match outcome {
            Outcome::Stopped => return,
            Outcome::Restart(why) => {
                tracing::warn!(
                    why,
                    "event log reader restarts after the last sequence it saw"
                );
                core.metrics.log_error(LogError::Subscription);
            }
        }
    }
}

/// Finds the stream (creating it if this service starts first, as any service may) and creates a
/// consumer starting after the last sequence seen.
async fn start(core: &PushCore) -> Result<Reading, async_nats::Error> {
    // Disconnected, a request can only time out and be retried after a backoff: waiting for the
    // connection instead resubscribes as soon as NATS is back.
    while core.nats.connection_state() != State::Connected {
        tokio::time::sleep(CONNECTION_POLL).await;
    }
    // Finding the stream may take two requests (it is created or updated).
    let stream = within(API_TIMEOUT * 2, core.bus.ensure_stream(&core.jetstream)).await?;
    let connects = core.nats.statistics().connects.load(Ordering::Relaxed);
    let info = stream.cached_info();
    let start = core.locate(Epoch::of_stream(info), info.state.last_sequence);
    let inbox = core.nats.new_inbox();
    // Subscribed before the consumer exists, so its first deliveries are not missed.
    let messages = core.nats.subscribe(inbox.clone()).await?;
    let created = stream.create_consumer(consumer::push::Config {
        deliver_subject: inbox,
        description: Some("live push: every event, in order, to this process".to_owned()),
        filter_subject: core.bus.all_events(),
        deliver_policy: consumer::DeliverPolicy::ByStartSequence {
            start_sequence: start,
        },
        ack_policy: consumer::AckPolicy::None,
        flow_control: true,
        idle_heartbeat: HEARTBEAT,
        // Rebuilt from the stream whenever lost, so it needs neither disk nor copies.
        memory_storage: true,
        num_replicas: 1,
        inactive_threshold: INACTIVE_THRESHOLD,
        ..Default::default()
    });
    // A consumer created after all, unanswered, loses its interest with `messages` and goes after
    // its inactive threshold.
    let consumer = within(API_TIMEOUT, created).await?;
    Ok(Reading {
        consumer: consumer.cached_info().name.clone(),
        stream,
        messages,
        delivered: 0,
        connects,
    })
}

async fn within<T>(
    limit: Duration,
    request: impl Future<Output = Result<T, impl Into<async_nats::Error>>>,
) -> Result<T, async_nats::Error> {
    match tokio::time::timeout(limit, request).await {
        Ok(answered) => answered.map_err(Into::into),
        Err(_) => Err(format!("no answer from JetStream within {limit:?}").into()),
    }
}

/// Deletes a lost consumer in the background (the server would after its inactive threshold).
fn forget(reading: Reading) {
    let Reading {
        stream,
        consumer,
        messages,
        ..
    } = reading;
    drop(messages);
    tokio::spawn(async move {
        let deleted = stream.delete_consumer(&consumer);
        let _ = tokio::time::timeout(Duration::from_secs(2), deleted).await;
    });
}

/// Reads the stream's info now and then: trims what the ring may replay to what the stream still
/// holds, and notices a stream created anew.
async fn follow_stream(core: Arc<PushCore>, recreated: Arc<Notify>, shutdown: CancellationToken) {
    let mut poll = tokio::time::interval(STREAM_POLL);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = poll.tick() => {}
        }
        let info = tokio::time::timeout(STREAM_POLL, core.jetstream.get_stream(&core.bus.stream));
        let Ok(Ok(stream)) = info.await else {
            continue;
        };
        let info = stream.cached_info();
        let epoch = Epoch::of_stream(info);
        let mut ring = core.ring();
        match ring.epoch() {
            Some(current) if current != epoch => recreated.notify_one(),
            Some(_) => ring.trim(info.state.first_sequence),
            None => {}
        }
    }
}

async fn read(
    core: &PushCore,
    reading: &mut Reading,
    recreated: &Notify,
    shutdown: &CancellationToken,
) -> Outcome {
    let mut watchdog = tokio::time::interval(WATCHDOG);
    watchdog.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let statistics = core.nats.statistics();
    // A deadline rather than a timeout around each read: the watchdog ends a round of the loop
    // every tick, which would start a timeout over and over, so it would never run out.
    let mut silent_until = tokio::time::Instant::now() + SILENCE;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return Outcome::Stopped,
            _ = recreated.notified() => return Outcome::Restart("the stream was created anew"),
            _ = tokio::time::sleep_until(silent_until) => {
                return Outcome::Restart("no heartbeat from the consumer");
            }
            next = reading.messages.next() => match next {
                None => return Outcome::Restart("the subscription ended"),
                Some(message) => {
                    silent_until = tokio::time::Instant::now() + SILENCE;
                    if let Err(why) = handle(core, reading, message).await {
                        return Outcome::Restart(why);
                    }
                }
            },
            _ = watchdog.tick() => {
                // A count, not the state seen on each tick: a failover to another node can be
                // over between two ticks.
                if statistics.connects.load(Ordering::Relaxed) != reading.connects {
                    // Deliveries made while disconnected are lost, and the consumer may have
                    // lived on a server that is gone.
                    return Outcome::Restart("NATS reconnected");
                }
                if core.nats.connection_state() != State::Connected {
                    core.set_subscribed(false);
                }
            }
        }
    }
}

async fn handle(
    core: &PushCore,
    reading: &mut Reading,
    message: async_nats::Message,
) -> Result<(), &'static str> {
    match message.status {
        None => {}
        Some(StatusCode::IDLE_HEARTBEAT) => return heartbeat(core, reading, &message).await,
        // Any other status (the consumer was deleted, the stream is gone…) ends this consumer.
        Some(_) => return Err("the consumer reported a status"),
    }
    let message = jetstream::Message {
        message,
        context: core.jetstream.clone(),
    };
    let info = message
        .info()
        .map_err(|_| "a delivery without JetStream metadata")?;
    if info.consumer_sequence != reading.delivered + 1 {
        return Err("a delivery was missed");
    }
    reading.delivered = info.consumer_sequence;
    let seq = info.stream_sequence;
    core.accept(seq, &message.subject, &message.payload);
    Ok(())
}

/// Answers flow control and checks that no delivery went missing while idle.
async fn heartbeat(
    core: &PushCore,
    reading: &Reading,
    message: &async_nats::Message,
) -> Result<(), &'static str> {
    // A flow-control request carries a reply subject; a stalled consumer names it in a header.
    let stalled = message
        .headers
        .as_ref()
        .and_then(|headers| headers.get("Nats-Consumer-Stalled"))
        .map(|value| value.to_string());
    for reply in message.reply.iter().map(|s| s.to_string()).chain(stalled) {
        if core.nats.publish(reply, bytes::Bytes::new()).await.is_err() {
            return Err("answering flow control failed");
        }
    }
    let last = message
        .headers
        .as_ref()
        .and_then(|headers| headers.get("Nats-Last-Consumer"))
        .and_then(|value| value.as_str().parse::<u64>().ok());
    match last {
        Some(last) if last != reading.delivered => Err("a delivery was missed while idle"),
        _ => Ok(()),
    }
}
