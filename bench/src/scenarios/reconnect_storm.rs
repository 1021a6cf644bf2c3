//! Reconnect storm: `storm_clients` SSE clients on two notify instances, each receiving one event of
//! its own over `storm_behind`, so their cursors are spread over that window. One instance is
//! killed; all of its clients reconnect at once to the other with their cursors (`Last-Event-ID`)
//! while events keep coming. Measured: the time until every one of them is caught up (its
//! `connected` after the replay), each client's catch-up time from the kill, the surviving
//! instance's and NATS's CPU over the storm, and whether any event was lost or doubled. The peer:
//! the same clients connecting to the same instance afresh, without a cursor (no replay at all).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use async_nats::jetstream;
use bytes::Bytes;
use fechatter_events::{EventBus, EventKind, UserId};

use super::sse_fanout::{envelope, notify};
use super::{per_op, server_pid, unique};
use crate::Setup;
use crate::latency::{self, Latency};
use crate::procfs::CpuMark;
use crate::report::{Check, Row, ScenarioResult};
use crate::sse::client::{Listener, Subscriber, Subscriptions, subscribe};
use crate::sse::ramp;

const PARALLEL_CONNECTS: usize = 256;
const POLL: Duration = Duration::from_millis(20);
/// Every bounded wait of the scenario: connecting, the storm, draining.
const WAIT: Duration = Duration::from_secs(120);

/// What every client saw, by client index (connections of later rounds are mapped back to it).
struct Clients {
    /// The stream sequence of the last event with an id (stored events and `connected`).
    last: Vec<AtomicU64>,
    /// Sequences of the stored events received, over all of the client's connections.
    received: Vec<Mutex<Vec<u64>>>,
    /// When each client's latest `connected` arrived.
    live_at: Vec<Mutex<Option<Instant>>>,
    connected: AtomicUsize,
    ended: AtomicUsize,
    error: Mutex<Option<String>>,
}

impl Clients {
    fn new(count: usize) -> Self {
        Self {
            last: (0..count).map(|_| AtomicU64::new(0)).collect(),
            received: (0..count).map(|_| Mutex::new(Vec::new())).collect(),
            live_at: (0..count).map(|_| Mutex::new(None)).collect(),
            connected: AtomicUsize::new(0),
            ended: AtomicUsize::new(0),
            error: Mutex::new(None),
        }
    }

    fn received(&self, client: usize) -> Vec<u64> {
        self.received[client]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn live_at(&self, client: usize) -> Option<Instant> {
        *self.live_at[client]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// One round of connections, each mapped to its client.
struct Round {
    clients: Arc<Clients>,
    of_connection: Vec<usize>,
}

impl Listener for Round {
    fn opened(&self, _connection: usize) {}

    fn event(&self, connection: usize, event: &[u8], id: Option<u64>) {
        let client = self.of_connection[connection];
        if let Some(seq) = id {
            self.clients.last[client].fetch_max(seq, Ordering::Relaxed);
        }
        if event == b"connected" {
            *self.clients.live_at[client]
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
            self.clients.connected.fetch_add(1, Ordering::Relaxed);
        } else if event == EventKind::MessageCreated.as_str().as_bytes()
            && let Some(seq) = id
        {
            self.clients.received[client]
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(seq);
        }
    }

    fn ended(&self, _connection: usize, error: Option<String>) {
        self.clients.ended.fetch_add(1, Ordering::Relaxed);
        if let Some(error) = error {
            self.clients
                .error
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get_or_insert(error);
        }
    }
}

/// Publishes one `message.created` to each client in turn, one every `every`, until stopped;
/// returns each client's published sequences.
struct Publisher {
    stop: Arc<std::sync::atomic::AtomicBool>,
    task: tokio::task::JoinHandle<anyhow::Result<Vec<Vec<u64>>>>,
}

impl Publisher {
    fn start(nats_url: &str, bus: &EventBus, clients: usize, every: Duration) -> Self {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (url, bus, stopped) = (nats_url.to_owned(), bus.clone(), stop.clone());
        let task = tokio::spawn(async move {
            let context = jetstream::new(async_nats::connect(&url).await?);
            let mut published = vec![Vec::new(); clients];
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let mut index = 0usize;
            while !stopped.load(Ordering::Relaxed) {
                tick.tick().await;
                let client = index % clients;
                let event = envelope(index, &[UserId(client as i64 + 1)])?;
                let mut headers = async_nats::HeaderMap::new();
                headers.insert(async_nats::header::NATS_MESSAGE_ID, event.id.to_string());
                let ack = context
                    .publish_with_headers(
                        bus.subject(EventKind::MessageCreated),
                        headers,
                        Bytes::from(event.to_json()?),
                    )
                    .await?
                    .await?;
                published[client].push(ack.sequence);
                index += 1;
            }
            Ok(published)
        });
        Self { stop, task }
    }

    async fn stop(self) -> anyhow::Result<Vec<Vec<u64>>> {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await?
    }
}

async fn wait_for(what: &str, clients: &Clients, done: impl Fn() -> bool) -> anyhow::Result<()> {
    let started = Instant::now();
    while !done() {
        if started.elapsed() > WAIT {
            let error = clients
                .error
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            bail!("{what} took over {WAIT:?} (first error: {error:?})");
        }
        tokio::time::sleep(POLL).await;
    }
    Ok(())
}

/// Opens `subscribers` against `server`, each connection mapped to a client.
fn open(
    server: std::net::SocketAddr,
    subscribers: Vec<Subscriber>,
    clients: &Arc<Clients>,
    of_connection: Vec<usize>,
) -> Subscriptions {
    let round = Arc::new(Round {
        clients: clients.clone(),
        of_connection,
    });
    subscribe(&[server], subscribers, PARALLEL_CONNECTS, round)
}

/// How long each of `resumed` took from `from` to its `connected`, and the last of them.
fn catch_up(clients: &Clients, resumed: &[usize], from: Instant) -> (Latency, Duration) {
    let mut histogram = latency::histogram();
    let mut last = Duration::ZERO;
    for client in resumed {
        let took = clients
            .live_at(*client)
            .map_or(WAIT, |at| at.saturating_duration_since(from));
        latency::record(&mut histogram, took);
        last = last.max(took);
    }
    (Latency::of(&histogram), last)
}

pub async fn run(setup: &Setup, nats_url: &str) -> anyhow::Result<ScenarioResult> {
    let scale = &setup.scale;
    let count = scale.storm_clients;
    let name = unique("bench_storm");
    let bus = EventBus {
        stream: name.to_uppercase(),
        subject_prefix: name.clone(),
        ..EventBus::default()
    };
    let context = jetstream::new(async_nats::connect(nats_url).await?);
    let stream = bus
        .ensure_stream(&context)
        .await
        .map_err(|err| anyhow::anyhow!("{err}"))?;
    // A cursor is `epoch:sequence`, the epoch the stream's creation time (see fechatter_push).
    let epoch = u64::try_from(stream.cached_info().created.unix_timestamp_nanos())
        .context("a stream created after 1970")?;

    let doomed = notify(setup, nats_url, &bus).await?;
    let survivor = notify(setup, nats_url, &bus).await?;
    let subscribers = ramp::notify_subscribers(count, scale.sse_workspace_size, &setup.keys)?;
    let clients = Arc::new(Clients::new(count));
    // Clients 0, 2, 4… on the instance that will die, the others on the survivor.
    let round = Arc::new(Round {
        clients: clients.clone(),
        of_connection: (0..count).collect(),
    });
    let first = subscribe(
        &[doomed.api, survivor.api],
        subscribers.clone(),
        PARALLEL_CONNECTS,
        round,
    );
    wait_for("every client live", &clients, || {
        clients.connected.load(Ordering::Relaxed) >= count
    })
    .await?;

    // Each client gets one event over the window, so their cursors end up 0 to `behind` old.
    let every = scale.storm_behind / u32::try_from(count).unwrap_or(u32::MAX);
    let publisher = Publisher::start(nats_url, &bus, count, every);
    tokio::time::sleep(scale.storm_behind).await;

    let resumed: Vec<usize> = (0..count).step_by(2).collect();
    let nats = server_pid(nats_url);
    let survivor_cpu = CpuMark::process(survivor.pid)?;
    let nats_cpu = nats.map(CpuMark::process).transpose()?;
    let killed_at = Instant::now();
    doomed.kill().await?;
    wait_for("the killed instance's streams to end", &clients, || {
        clients.ended.load(Ordering::Relaxed) >= resumed.len()
    })
    .await?;
    let resuming: Vec<Subscriber> = resumed
        .iter()
        .map(|client| Subscriber {
            last_event_id: Some(format!(
                "{epoch}:{}",
                clients.last[*client].load(Ordering::Relaxed)
            )),
            ..subscribers[*client].clone()
        })
        .collect();
    let second = open(survivor.api, resuming, &clients, resumed.clone());
    wait_for("every resumed client caught up", &clients, || {
        clients.connected.load(Ordering::Relaxed) >= count + resumed.len()
    })
    .await?;
    let (caught_up, storm) = catch_up(&clients, &resumed, killed_at);
    let survivor_cpu = survivor_cpu.elapsed()?;
    let nats_cpu = nats_cpu.map(|mark| mark.elapsed()).transpose()?;

    // Nothing lost, nothing twice: every client ends with exactly its events.
    let published = publisher.stop().await?;
    let expected: u64 = published.iter().map(|seqs| seqs.len() as u64).sum();
    let all_in = || {
        (0..count).all(|client| {
            let received = clients.received(client);
            published[client]
                .last()
                .is_none_or(|last| received.contains(last))
        })
    };
    let _ = wait_for("every event received", &clients, all_in).await;
    let (mut lost, mut doubled) = (0u64, 0u64);
    for (client, seqs) in published.iter().enumerate() {
        let mut received = clients.received(client);
        received.sort_unstable();
        let all = received.len();
        received.dedup();
        doubled += (all - received.len()) as u64;
        lost += seqs.iter().filter(|seq| !received.contains(seq)).count() as u64;
    }
    second.close().await;

    // The peer: the same clients connecting to the survivor afresh, nothing to replay.
    let fresh_from = Instant::now();
    let connected_before = clients.connected.load(Ordering::Relaxed);
    let fresh = open(
        survivor.api,
        resumed.iter().map(|c| subscribers[*c].clone()).collect(),
        &clients,
        resumed.clone(),
    );
    wait_for("every fresh client live", &clients, || {
        clients.connected.load(Ordering::Relaxed) >= connected_before + resumed.len()
    })
    .await?;
    let (fresh_latency, fresh_time) = catch_up(&clients, &resumed, fresh_from);
    fresh.close().await;
    first.close().await;
    survivor.stop().await?;

    let ops = resumed.len() as u64;
    let row = Row {
        system: "notify_server: the killed instance's clients resume on the other with cursors"
            .to_owned(),
        seconds: storm.as_secs_f64(),
        ops,
        throughput: ops as f64 / storm.as_secs_f64().max(f64::EPSILON),
        unit: "clients caught up/s".to_owned(),
        latency: Some(caught_up),
        cpu_us_per_op: Some(per_op(survivor_cpu, ops)),
        infra: nats.map(|_| "NATS".to_owned()),
        infra_cpu_us_per_op: nats_cpu.map(|cpu| per_op(cpu, ops)),
        errors: lost + doubled,
        extra: vec![
            (
                "all caught up".to_owned(),
                format!("{:.2} s after the kill", storm.as_secs_f64()),
            ),
            (
                "events".to_owned(),
                format!("{expected} published, {lost} lost, {doubled} twice"),
            ),
        ],
        ..Row::default()
    };
    let peer = Row {
        system: "the same clients connecting afresh (no cursor, nothing replayed)".to_owned(),
        peer: true,
        seconds: fresh_time.as_secs_f64(),
        ops,
        throughput: ops as f64 / fresh_time.as_secs_f64().max(f64::EPSILON),
        unit: "clients caught up/s".to_owned(),
        latency: Some(fresh_latency),
        ..Row::default()
    };
    let checks = vec![
        Check::at_most("all caught up", storm.as_secs_f64(), 30.0, "s"),
        Check::at_most("catch-up p99", caught_up.p99_ms, 1000.0, "ms"),
        Check::at_most("lost or doubled", (lost + doubled) as f64, 0.0, "events"),
    ];
    let notes = vec![format!(
        "{count} clients on two notify instances (each pinned as the other scenarios' service), one \
         event of its own to each over {:?} ({:.0} events/s, going on through the storm), so the \
         resuming clients' cursors are up to that far behind; the first instance is SIGKILLed and \
         its {ops} clients reconnect at once ({PARALLEL_CONNECTS} connects in flight) to the second; \
         catch-up is from the kill to each client's `connected`, after its replay",
        scale.storm_behind,
        count as f64 / scale.storm_behind.as_secs_f64()
    )];
    Ok(ScenarioResult {
        scenario: "reconnect-storm".to_owned(),
        title: "SSE reconnect storm".to_owned(),
        run: Default::default(),
        rows: vec![row, peer],
        checks,
        notes,
    })
}
