//! SSE fan-out: one chat of `sse_fanout_subscribers` members, all connected, receives
//! `fanout_rate` messages a second. For notify each message is a `message.created` envelope
//! published to JetStream as fechatter's relay publishes it (recipients: every member); for the
//! peer what notify's clients receive of it (the envelope without `recipients`) is posted to the
//! bare hub. Measured: publish→receive latency of every delivery, deliveries per second, and
//! deliveries lost.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use chrono::Utc;
use fechatter_events::payload::MessagePayload;
use fechatter_events::{ChatId, ChatType, Envelope, EventBus, MessageId, UserId, WorkspaceId};

use super::{per_op, server_pid, unique};
use crate::Setup;
use crate::latency::Latency;
use crate::launch::Spawned;
use crate::pin::Pinned;
use crate::procfs::{self, CpuMark};
use crate::report::{Check, Row, ScenarioResult};
use crate::sse::client::Subscriber;
use crate::sse::ramp;
use crate::sse::tally::Tally;

mod publish;
use publish::{Target, publish_all};

pub(crate) fn envelope(index: usize, recipients: &[UserId]) -> anyhow::Result<Envelope> {
    let payload = MessagePayload {
        id: MessageId(index as i64 + 1),
        chat_id: ChatId(1),
        chat_type: ChatType::Group,
        sender_id: recipients[0],
        sender_is_bot: false,
        content: format!("{} #{index}", crate::seed::CONTENT),
        reply_to: None,
        mentions: Vec::new(),
        silenced_mentions: Vec::new(),
        files: Vec::new(),
        created_at: Utc::now(),
        edited_at: None,
    };
    Ok(Envelope::new(
        WorkspaceId(1),
        Some(ChatId(1)),
        Some(recipients[0]),
        recipients.to_vec(),
        &fechatter_events::Event::MessageCreated(payload.clone()),
    )?)
}

struct Measured {
    row: Row,
    lost: u64,
    p99_ms: f64,
}

/// Publishing runs at most this long: every delivery of a slow run still has to drain.
const MAX_PUBLISHING: Duration = Duration::from_secs(10);

/// What is published of each event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Body {
    /// The envelope as fechatter writes it: every member of the chat listed in `recipients`.
    Envelope,
    /// What a subscriber receives of it from notify: the envelope without `recipients`.
    ClientFrame,
}

impl Body {
    fn of(self, envelope: &Envelope) -> anyhow::Result<Vec<u8>> {
        Ok(match self {
            Body::Envelope => envelope.to_json()?,
            Body::ClientFrame => {
                let mut value = serde_json::to_value(envelope)?;
                if let Some(object) = value.as_object_mut() {
                    object.remove("recipients");
                }
                serde_json::to_vec(&value)?
            }
        })
    }
}

/// One measured fan-out: who serves it, where events are published, what is published.
struct Run<'a> {
    system: &'a str,
    target: Target,
    /// The infrastructure process on the publishing path (NATS for notify), for its CPU.
    infra: Option<(&'a str, u32)>,
    body: Body,
}

fn publishing_time(setup: &Setup) -> Duration {
    setup.duration.min(MAX_PUBLISHING)
}

/// The summed CPU and RSS of the processes serving one run.
struct Servers<'a>(&'a [&'a Spawned]);

impl Servers<'_> {
    fn rss_bytes(&self) -> anyhow::Result<u64> {
        Ok(self
            .0
            .iter()
            .map(|server| procfs::rss_bytes(server.pid))
            .sum::<std::io::Result<u64>>()?)
    }
}

async fn measure(
    setup: &Setup,
    servers: &[&Spawned],
    subscribers: Vec<Subscriber>,
    run: Run<'_>,
) -> anyhow::Result<Measured> {
    let Run {
        system,
        target,
        infra,
        body,
    } = run;
    let scale = &setup.scale;
    let count = subscribers.len();
    let events =
        (publishing_time(setup).as_secs_f64() * f64::from(scale.fanout_rate)).ceil() as usize;
    let recipients: Vec<UserId> = (1..=count as i64).map(UserId).collect();
    let tally = Arc::new(Tally::with_deliveries(events, count));
    let timeout = Duration::from_secs(120) + Duration::from_millis(count as u64 * 10);
    let addrs: Vec<_> = servers.iter().map(|server| server.api).collect();
    let ramp = ramp::open_all(&addrs, subscribers, tally.clone(), timeout).await?;
    let deliveries = tally
        .deliveries
        .as_ref()
        .context("a fan-out tally counts deliveries")?;
    let bodies: Vec<(Bytes, String)> = (0..events)
        .map(|i| {
            let envelope = envelope(i, &recipients)?;
            Ok((Bytes::from(body.of(&envelope)?), envelope.id.to_string()))
        })
        .collect::<anyhow::Result<_>>()?;
    let payload_bytes = bodies.first().map_or(0, |(body, _)| body.len());
    let cpu: Vec<CpuMark> = servers
        .iter()
        .map(|server| CpuMark::process(server.pid))
        .collect::<std::io::Result<_>>()?;
    let servers = Servers(servers);
    let infra_cpu = infra.map(|(_, pid)| CpuMark::process(pid)).transpose()?;
    let client_cpu = CpuMark::process(std::process::id())?;
    let mut peak_rss = servers.rss_bytes()?;
    let publishing = publish_all(target, tally.clone(), bodies, scale.fanout_rate);
    while !publishing.is_finished() {
        tokio::time::sleep(Duration::from_millis(100)).await;
        peak_rss = peak_rss.max(servers.rss_bytes()?);
    }
    publishing
        .join()
        .map_err(|_| anyhow::anyhow!("the publisher thread panicked"))??;
    let expected = (events * count) as u64;
    // Undelivered after this is lost for the benchmark: bounded so a slow run still ends.
    let drain_until = Instant::now() + publishing_time(setup) + Duration::from_secs(10);
    while deliveries.received.load(Ordering::Relaxed) < expected && Instant::now() < drain_until {
        tokio::time::sleep(Duration::from_millis(100)).await;
        peak_rss = peak_rss.max(servers.rss_bytes()?);
    }
    let server_cpu = cpu
        .iter()
        .map(CpuMark::elapsed)
        .sum::<std::io::Result<Duration>>()?;
    let infra_cpu = infra_cpu.map(|mark| mark.elapsed()).transpose()?;
    let client_cpu = client_cpu.elapsed()?;
    let received = deliveries.received.load(Ordering::Relaxed);
    let cut_off = tally.ended.load(Ordering::Relaxed) + tally.failed.load(Ordering::Relaxed);
    let missing = deliveries.missing();
    ramp.subscriptions.close().await;
    let window = deliveries.window();
    let latency = Latency::of(&deliveries.histogram());
    let lost = expected.saturating_sub(received);
    let row = Row {
        system: system.to_owned(),
        seconds: window.as_secs_f64(),
        ops: received,
        throughput: received as f64 / window.as_secs_f64().max(f64::EPSILON),
        unit: "deliveries/s".to_owned(),
        latency: Some(latency),
        cpu_us_per_op: Some(per_op(server_cpu, received)),
        infra: infra.map(|(name, _)| name.to_owned()),
        infra_cpu_us_per_op: infra_cpu.map(|cpu| per_op(cpu, received)),
        rss_mib: Some(peak_rss as f64 / (1024.0 * 1024.0)),
        errors: lost + deliveries.unexpected.load(Ordering::Relaxed),
        extra: vec![
            (
                "published".to_owned(),
                format!("{events} events of {payload_bytes} B"),
            ),
            (
                "lost".to_owned(),
                format!(
                    "{lost} of {expected} ({} on streams still open at the deadline, {} on streams the server ended)",
                    missing.on_open_streams, missing.on_ended_streams
                ),
            ),
            ("streams cut off".to_owned(), cut_off.to_string()),
            (
                "client CPU per delivery".to_owned(),
                format!("{:.2} µs", per_op(client_cpu, received)),
            ),
        ],
        ..Row::default()
    };
    Ok(Measured {
        row,
        lost,
        p99_ms: latency.p99_ms,
    })
}

/// One notify instance reading `bus` (several share the stream, each with its own reader).
pub(crate) async fn notify(
    setup: &Setup,
    nats_url: &str,
    bus: &EventBus,
) -> anyhow::Result<Spawned> {
    setup
        .launcher
        .service(
            "notify_server",
            "NOTIFY",
            &[
                ("NATS_URL", nats_url.to_owned()),
                ("NATS_STREAM", bus.stream.clone()),
                ("NATS_SUBJECT_PREFIX", bus.subject_prefix.clone()),
                ("JWT_PUBLIC_KEY", setup.keys.public_pem.clone()),
            ],
        )
        .await
}

pub async fn run(setup: &Setup, nats_url: &str) -> anyhow::Result<ScenarioResult> {
    let scale = &setup.scale;
    let count = scale.sse_fanout_subscribers;
    let name = unique("bench_fanout");
    let bus = EventBus {
        stream: name.to_uppercase(),
        subject_prefix: name.clone(),
        ..EventBus::default()
    };
    let target = Target::JetStream {
        url: nats_url.to_owned(),
        bus: bus.clone(),
    };
    let nats = server_pid(nats_url).map(|pid| ("NATS", pid));
    // NATS is on the publishing side of notify's path as the bench itself is of the hub's: while
    // notify is measured it shares the load generator's CPUs, so that only the measured process
    // runs on the service CPUs, as only the hub does in its rows. Unpinned, it delayed the same
    // events on notify's core run after run (docs/benchmarks.md, Profiles: SSE fan-out).
    let _nats_beside_the_publisher = match (nats, &setup.client_cpus) {
        (Some((_, pid)), Some(cpus)) => Some(Pinned::threads_of(pid, cpus)?),
        _ => None,
    };
    let one = notify(setup, nats_url, &bus).await?;
    let service = measure(
        setup,
        &[&one],
        ramp::notify_subscribers(count, scale.sse_workspace_size, &setup.keys)?,
        Run {
            system: "notify_server (via JetStream)",
            target: target.clone(),
            infra: nats,
            body: Body::Envelope,
        },
    )
    .await?;
    one.stop().await?;

    // Two instances side by side, half of the subscribers on each: both read every event.
    let first = notify(setup, nats_url, &bus).await?;
    let second = notify(setup, nats_url, &bus).await?;
    let two = measure(
        setup,
        &[&first, &second],
        ramp::notify_subscribers(count, scale.sse_workspace_size, &setup.keys)?,
        Run {
            system: "2 × notify_server, half of the subscribers each (via JetStream)",
            target,
            infra: nats,
            body: Body::Envelope,
        },
    )
    .await?;
    first.stop().await?;
    second.stop().await?;

    let hub = setup.launcher.peer("sse-hub", &["sse-hub"]).await?;
    let target = Target::Hub { url: hub.url() };
    let subscribers = ramp::hub_subscribers(count);
    let mut peer = measure(
        setup,
        &[&hub],
        subscribers,
        Run {
            system: "bare axum + broadcast hub (via HTTP POST)",
            target: target.clone(),
            infra: None,
            body: Body::ClientFrame,
        },
    )
    .await?;
    peer.row.peer = true;
    let small = measure(
        setup,
        &[&hub],
        ramp::hub_subscribers(count),
        Run {
            system: "bare hub, the whole envelope with its recipients (diagnostic)",
            target,
            infra: None,
            body: Body::Envelope,
        },
    )
    .await?;
    hub.stop().await?;
    if service.row.ops == 0 {
        bail!("notify delivered nothing");
    }
    let ratio = service.row.throughput / peer.row.throughput.max(f64::EPSILON);
    let mut service_row = service.row;
    service_row
        .extra
        .push(("vs peer".to_owned(), format!("{:.0} %", ratio * 100.0)));
    let two_ratio = two.row.throughput / peer.row.throughput.max(f64::EPSILON);
    let mut two_row = two.row;
    two_row
        .extra
        .push(("vs peer".to_owned(), format!("{:.0} %", two_ratio * 100.0)));
    let checks = vec![
        Check::at_most("publish→receive p99", service.p99_ms, 100.0, "ms"),
        Check::at_most(
            "2 instances: p99 at most the bare hub's",
            two.p99_ms,
            peer.p99_ms,
            "ms",
        ),
        Check::at_most("2 instances: lost", two.lost as f64, 0.0, "deliveries"),
        Check::at_least("deliveries", service_row.throughput, 100_000.0, "/s"),
        Check::at_most("lost", service.lost as f64, 0.0, "deliveries"),
    ];
    let notes = vec![
        format!(
            "{count} subscribers of one chat, {} messages/s offered for {:?} ({} deliveries/s offered); \
             every envelope published to JetStream lists all {count} members as recipients, as fechatter \
             writes it; notify sends its subscribers the envelope without them, and the same is posted to the hub",
            scale.fanout_rate,
            publishing_time(setup),
            u64::from(scale.fanout_rate) * count as u64
        ),
        format!(
            "subscribers are spread over workspaces of {} users: a chat's members share one workspace \
             in the product, but then every connection announces presence to all the others \
             ({} presence frames to set up {count} subscribers), which would measure the ramp, not the fan-out",
            scale.sse_workspace_size,
            count as u64 * (count as u64 - 1) / 2
        ),
        format!(
            "peer fan-out: {} lost, p99 {:.1} ms; the last row is the same hub and subscribers sent the \
             whole envelope, recipients included (what notify sent before it left them out): what \
             writing a 10 000-member list to every subscriber costs",
            peer.lost, peer.p99_ms
        ),
        "NATS runs on the load generator's CPUs during this scenario (elsewhere it is unpinned): \
         the hub's rows have nothing but the hub on the service CPUs, and neither do notify's"
            .to_owned(),
        "the two-instance row runs both notify processes pinned to the same service CPUs as the \
         one-instance row (CPU and RSS are their sums): it shows what a second reader of the stream \
         costs, not what a second machine gains"
            .to_owned(),
    ];
    Ok(ScenarioResult {
        scenario: "sse-fanout".to_owned(),
        title: "SSE fan-out".to_owned(),
        run: Default::default(),
        rows: vec![service_row, two_row, peer.row, small.row],
        checks,
        notes,
    })
}
