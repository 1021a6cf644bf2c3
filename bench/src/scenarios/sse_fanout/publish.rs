//! The fan-out publisher, on a thread and runtime of its own: the subscribers' reads keep the
//! benchmark's runtime busy, and a starved publisher would misreport latency or miss its JetStream
//! acknowledgements.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context;
use async_nats::jetstream;
use bytes::Bytes;
use fechatter_events::{EventBus, EventKind};

use crate::sse::tally::Tally;

/// Where the events go.
#[derive(Debug, Clone)]
pub enum Target {
    /// The stream notify consumes, published as fechatter's outbox relay publishes.
    JetStream { url: String, bus: EventBus },
    /// The peer hub's `POST /publish`.
    Hub { url: String },
}

enum Publisher {
    JetStream {
        context: Box<jetstream::Context>,
        bus: EventBus,
    },
    Hub {
        url: String,
        client: reqwest::Client,
    },
}

impl Target {
    async fn connect(self) -> anyhow::Result<Publisher> {
        Ok(match self {
            Target::JetStream { url, bus } => {
                let client = async_nats::connect(&url)
                    .await
                    .context("connecting to NATS")?;
                Publisher::JetStream {
                    context: Box::new(jetstream::new(client)),
                    bus,
                }
            }
            Target::Hub { url } => Publisher::Hub {
                url,
                client: reqwest::Client::new(),
            },
        })
    }
}

impl Publisher {
    /// The SSE id of the first event to be published, minus one.
    async fn base(&self) -> anyhow::Result<u64> {
        match self {
            Publisher::JetStream { context, bus } => {
                let mut stream = context.get_stream(&bus.stream).await?;
                Ok(stream.info().await?.state.last_sequence)
            }
            Publisher::Hub { .. } => Ok(0),
        }
    }

    async fn publish(&self, seq: u64, body: Bytes, event_id: &str) -> anyhow::Result<()> {
        match self {
            Publisher::JetStream { context, bus } => {
                let mut headers = async_nats::HeaderMap::new();
                headers.insert(async_nats::header::NATS_MESSAGE_ID, event_id);
                context
                    .publish_with_headers(bus.subject(EventKind::MessageCreated), headers, body)
                    .await?
                    .await?;
            }
            Publisher::Hub { url, client } => {
                client
                    .post(format!("{url}/publish"))
                    .header("x-seq", seq.to_string())
                    .body(body)
                    .send()
                    .await?
                    .error_for_status()?;
            }
        }
        Ok(())
    }
}

/// Publishes `events` (JSON body, event id) at `rate` per second, stamping each in `tally` just
/// before it leaves.
pub fn publish_all(
    target: Target,
    tally: Arc<Tally>,
    events: Vec<(Bytes, String)>,
    rate: u32,
) -> JoinHandle<anyhow::Result<()>> {
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async move {
            let deliveries = tally
                .deliveries
                .as_ref()
                .context("a fan-out tally counts deliveries")?;
            let publisher = target.connect().await?;
            deliveries.set_base(publisher.base().await?);
            let started = Instant::now();
            let interval = Duration::from_secs_f64(1.0 / f64::from(rate.max(1)));
            for (index, (body, event_id)) in events.into_iter().enumerate() {
                tokio::time::sleep_until((started + interval * index as u32).into()).await;
                deliveries.publishing(index);
                publisher.publish(index as u64 + 1, body, &event_id).await?;
            }
            Ok(())
        })
    })
}
