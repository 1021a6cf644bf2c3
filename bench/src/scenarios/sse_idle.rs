//! SSE idle connections: how much memory notify_server holds per open, idle `/events` stream,
//! against the bare axum + broadcast hub holding as many.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::bail;

use super::unique;
use crate::Setup;
use crate::launch::Spawned;
use crate::procfs::{self, CpuMark};
use crate::report::{Check, Row, ScenarioResult};
use crate::sse::client::Subscriber;
use crate::sse::ramp::{self, Ramp};
use crate::sse::tally::Tally;

const KIB: f64 = 1024.0;
/// How long the connections sit idle before memory is read (and idle CPU measured), at most:
/// longer than notify's default presence heartbeat (10 s), so the idle CPU includes one.
const MAX_HOLD: Duration = Duration::from_secs(11);
/// Descriptors this process (and the server) may need besides the connections.
const SPARE_FILES: u64 = 300;

/// Opens `subscribers` against `server`, holds them idle, and measures it.
async fn measure(
    system: &str,
    server: &Spawned,
    subscribers: Vec<Subscriber>,
    hold: Duration,
) -> anyhow::Result<Row> {
    let count = subscribers.len();
    let before = procfs::rss_bytes(server.pid)?;
    let cpu = CpuMark::process(server.pid)?;
    let tally = Arc::new(Tally::default());
    let timeout = Duration::from_secs(120) + Duration::from_millis(count as u64 * 10);
    let Ramp {
        subscriptions,
        connect_time,
        settle_time,
    } = ramp::open_all(&[server.api], subscribers, tally.clone(), timeout).await?;
    let ramp_cpu = cpu.elapsed()?;
    let idle = CpuMark::process(server.pid)?;
    tokio::time::sleep(hold).await;
    let idle_cpu = idle.elapsed()?;
    let after = procfs::rss_bytes(server.pid)?;
    let dropped = tally.ended.load(Ordering::Relaxed) + tally.failed.load(Ordering::Relaxed);
    subscriptions.close().await;
    if dropped > 0 {
        bail!("{dropped} of {count} idle streams ended while held open");
    }
    let per_connection = after.saturating_sub(before) as f64 / count as f64;
    Ok(Row {
        system: system.to_owned(),
        seconds: connect_time.as_secs_f64(),
        ops: count as u64,
        throughput: count as f64 / connect_time.as_secs_f64().max(f64::EPSILON),
        unit: "conn/s".to_owned(),
        cpu_us_per_op: Some(super::per_op(ramp_cpu, count as u64)),
        rss_mib: Some(after as f64 / (KIB * KIB)),
        errors: dropped as u64,
        extra: vec![
            (
                "RSS per connection".to_owned(),
                format!("{:.1} KiB", per_connection / KIB),
            ),
            (
                "RSS before → after".to_owned(),
                format!(
                    "{:.1} → {:.1} MiB",
                    before as f64 / (KIB * KIB),
                    after as f64 / (KIB * KIB)
                ),
            ),
            (
                "events read while connecting".to_owned(),
                format!(
                    "{} in {:.1} s",
                    tally.events.load(Ordering::Relaxed),
                    settle_time.as_secs_f64()
                ),
            ),
            (
                "CPU while idle".to_owned(),
                format!(
                    "{:.1} ms per s",
                    idle_cpu.as_secs_f64() * 1000.0 / hold.as_secs_f64()
                ),
            ),
        ],
        ..Row::default()
    })
}

fn per_connection_kib(row: &Row) -> f64 {
    row.extra
        .iter()
        .find(|(name, _)| name == "RSS per connection")
        .and_then(|(_, value)| value.trim_end_matches(" KiB").parse().ok())
        .unwrap_or(f64::INFINITY)
}

pub async fn run(setup: &Setup, nats_url: &str) -> anyhow::Result<ScenarioResult> {
    let scale = &setup.scale;
    let wanted = scale.sse_idle_connections;
    // Each side of a connection holds a descriptor: the server and this process both need one per
    // connection, under a per-process limit that may not be raisable (no CAP_SYS_RESOURCE).
    let limit = procfs::open_files_limit()?;
    let room = limit.saturating_sub(procfs::open_files()? + SPARE_FILES);
    let count = wanted.min(usize::try_from(room)?);
    if count == 0 {
        bail!("the open-files limit ({limit}) leaves no room for connections: raise `ulimit -n`");
    }
    let bus = unique("bench_idle");
    let notify = setup
        .launcher
        .service(
            "notify_server",
            "NOTIFY",
            &[
                ("NATS_URL", nats_url.to_owned()),
                ("NATS_STREAM", bus.to_uppercase()),
                ("NATS_SUBJECT_PREFIX", bus.clone()),
                ("JWT_PUBLIC_KEY", setup.keys.public_pem.clone()),
            ],
        )
        .await?;
    let subscribers = ramp::notify_subscribers(count, scale.sse_workspace_size, &setup.keys)?;
    let hold = setup.duration.min(MAX_HOLD);
    let service_row = measure("notify_server GET /events", &notify, subscribers, hold).await?;
    notify.stop().await?;

    let hub = setup.launcher.peer("sse-hub", &["sse-hub"]).await?;
    let mut peer_row = measure(
        "bare axum + broadcast hub",
        &hub,
        ramp::hub_subscribers(count),
        hold,
    )
    .await?;
    hub.stop().await?;
    peer_row.peer = true;

    let service_kib = per_connection_kib(&service_row);
    let peer_kib = per_connection_kib(&peer_row);
    let checks = vec![
        Check::at_least(
            "connections held",
            service_row.ops as f64,
            wanted as f64,
            "conn",
        ),
        Check::at_most("RSS per connection", service_kib, 12.0, "KiB"),
    ];
    let mut notes = vec![
        format!(
            "{count} connections from 8 loopback source addresses, users in workspaces of {} \
             (each first connection announces presence to its workspace)",
            scale.sse_workspace_size
        ),
        format!(
            "RSS per connection = (RSS after {hold:?} idle − RSS before connecting) / \
             connections; the hub holds {:.1} KiB per connection, notify {:.2} × that",
            peer_kib,
            service_kib / peer_kib.max(f64::EPSILON)
        ),
    ];
    if count < wanted {
        notes.insert(
            0,
            format!(
                "held {count}, not {wanted}: this machine's open-files limit is {limit} per process \
                 and cannot be raised here (no CAP_SYS_RESOURCE); both notify and the load \
                 generator need a descriptor per connection"
            ),
        );
    }
    Ok(ScenarioResult {
        scenario: "sse-idle".to_owned(),
        title: "SSE idle connections".to_owned(),
        run: Default::default(),
        rows: vec![service_row, peer_row],
        checks,
        notes,
    })
}
