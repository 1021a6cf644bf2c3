//! `message.created` envelopes published to JetStream as fechatter's outbox relay publishes them:
//! the kind's subject, `Nats-Msg-Id` set to the event id, the envelope JSON as the body. On a thread
//! and runtime of its own, so the poller and the measurements never delay a publication. Unlike the
//! relay (one acknowledgement awaited after each publication), acknowledgements are awaited
//! concurrently, a bounded window of them, so the pace holds at thousands of events a second.

use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context;
use async_nats::jetstream;
use bytes::Bytes;
use fechatter_events::{EventBus, EventKind};
use futures::stream::FuturesUnordered;
use futures::{FutureExt, StreamExt};

/// Acknowledgements awaited at once.
const WINDOW: usize = 512;

/// An event ready to go: its JSON and its id.
pub type Event = (Bytes, String);

#[derive(Debug, Default)]
pub struct Published {
    /// When each event was handed to NATS, in order.
    pub at: Vec<Instant>,
    /// Events JetStream acknowledged as duplicates of an earlier `Nats-Msg-Id` (none are).
    pub duplicates: u64,
}

/// Publishes `events` in order, `rate` a second (`None`: as fast as the window allows).
pub fn publish_all(
    url: String,
    bus: EventBus,
    events: Vec<Event>,
    rate: Option<u32>,
) -> JoinHandle<anyhow::Result<Published>> {
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async move {
            let client = async_nats::connect(&url)
                .await
                .context("connecting to NATS")?;
            let context = jetstream::new(client);
            let subject = bus.subject(EventKind::MessageCreated);
            let interval = rate.map(|rate| Duration::from_secs_f64(1.0 / f64::from(rate.max(1))));
            let mut published = Published {
                at: Vec::with_capacity(events.len()),
                duplicates: 0,
            };
            let mut acks = FuturesUnordered::new();
            let started = Instant::now();
            for (index, (body, event_id)) in events.into_iter().enumerate() {
                if let Some(interval) = interval {
                    tokio::time::sleep_until((started + interval * index as u32).into()).await;
                }
                while let Some(Some(ack)) = acks.next().now_or_never() {
                    published.duplicates += u64::from(ack?);
                }
                while acks.len() >= WINDOW {
                    if let Some(ack) = acks.next().await {
                        published.duplicates += u64::from(ack?);
                    }
                }
                let mut headers = async_nats::HeaderMap::new();
                headers.insert(async_nats::header::NATS_MESSAGE_ID, event_id.as_str());
                published.at.push(Instant::now());
                let ack = context
                    .publish_with_headers(subject.clone(), headers, body)
                    .await
                    .context("publishing to JetStream")?;
                acks.push(async move {
                    let ack = ack.await.context("JetStream's acknowledgement")?;
                    Ok::<_, anyhow::Error>(ack.duplicate)
                });
            }
            while let Some(ack) = acks.next().await {
                published.duplicates += u64::from(ack?);
            }
            Ok(published)
        })
    })
}
