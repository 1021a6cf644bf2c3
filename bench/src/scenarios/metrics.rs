//! Metrics overhead: the trivial service (`bench peer trivial`) with and without the shared HTTP
//! metrics layer and Prometheus exporter, in alternating rounds, each a process of its own so its
//! CPU time per request can be read from /proc; plus the layer timed in-process, without network.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use bytes::Bytes;
use http::{Method, Request};
use http_body_util::{BodyExt, Full};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use super::{http_row, per_op};
use crate::load::{self, Workload};
use crate::peers::trivial;
use crate::procfs::CpuMark;
use crate::report::{Check, Row, ScenarioResult};
use crate::{Setup, request};

/// Prometheus scrapes every 15 s in production; scraping every second makes the exporter's share
/// an upper bound.
const SCRAPE_EVERY: Duration = Duration::from_secs(1);

struct Items {
    host: String,
}

impl Workload for Items {
    fn request(&self, worker: usize, n: u64) -> Request<Full<Bytes>> {
        let id = (n * 31 + worker as u64) % 1000;
        request(
            Method::GET,
            &self.host,
            &format!("/api/items/{id}"),
            None,
            None,
        )
    }
}

struct Round {
    throughput: f64,
    cpu_us: f64,
    row: Row,
}

async fn round(setup: &Setup, metrics: bool, duration: Duration) -> anyhow::Result<Round> {
    let flag = if metrics { "on" } else { "off" };
    let server = setup
        .launcher
        .peer(
            &format!("trivial-metrics-{flag}"),
            &["trivial", "--metrics", flag],
        )
        .await?;
    let scraping = CancellationToken::new();
    if metrics {
        let url = format!("http://{}/metrics", server.metrics);
        let stop = scraping.clone();
        tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut tick = tokio::time::interval(SCRAPE_EVERY);
            while !stop.is_cancelled() {
                tick.tick().await;
                let _ = client.get(&url).send().await;
            }
        });
    }
    let workload = Arc::new(Items {
        host: super::host(server.api),
    });
    let connections = setup.scale.http_connections;
    load::run(
        server.api,
        connections,
        setup.warmup.min(Duration::from_secs(2)),
        workload.clone(),
    )
    .await;
    let cpu = CpuMark::process(server.pid)?;
    let report = load::run(server.api, connections, duration, workload).await;
    let cpu = cpu.elapsed()?;
    scraping.cancel();
    server.stop().await?;
    anyhow::ensure!(
        report.errors == 0 && report.ok > 0,
        "trivial service ({flag}): {} ok, {} errors: {:?}",
        report.ok,
        report.errors,
        report.first_error
    );
    let name = if metrics {
        "trivial service + HttpMetricsLayer + exporter"
    } else {
        "trivial service, no metrics"
    };
    let mut row = http_row(name, &report, "req/s");
    row.cpu_us_per_op = Some(per_op(cpu, report.ok));
    row.peer = !metrics;
    Ok(Round {
        throughput: report.per_second(),
        cpu_us: per_op(cpu, report.ok),
        row,
    })
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Nanoseconds per request through the router, `calls` times, with or without the layer.
pub async fn in_process(metrics: bool, calls: u64) -> anyhow::Result<f64> {
    let router = trivial::router(metrics);
    let started = Instant::now();
    for n in 0..calls {
        let request = Request::get(format!("/api/items/{}", n % 1000)).body(Body::empty())?;
        let response = router.clone().oneshot(request).await?;
        response.into_body().collect().await?;
    }
    Ok(started.elapsed().as_nanos() as f64 / calls.max(1) as f64)
}

pub async fn run(setup: &Setup) -> anyhow::Result<ScenarioResult> {
    let rounds = setup.scale.metrics_rounds.max(1);
    let per_round = (setup.duration / rounds as u32).max(Duration::from_secs(1));
    let (mut off, mut on) = (Vec::new(), Vec::new());
    for r in 0..rounds {
        // Alternate which variant goes first, so drift in the machine's load hits both.
        let order = if r % 2 == 0 {
            [false, true]
        } else {
            [true, false]
        };
        for metrics in order {
            let measured = round(setup, metrics, per_round).await?;
            if metrics {
                on.push(measured)
            } else {
                off.push(measured)
            }
        }
    }
    let throughput_off = median(off.iter().map(|r| r.throughput).collect());
    let throughput_on = median(on.iter().map(|r| r.throughput).collect());
    // Rounds next to each other share the machine's background load: compare them in pairs. The
    // service is CPU-bound on its one core, so its throughput is the inverse of its CPU time per
    // request; that ratio is far steadier on a shared machine than the request rate itself.
    let pairs: Vec<(&Round, &Round)> = off.iter().zip(&on).collect();
    let loss = median(
        pairs
            .iter()
            .map(|(off, on)| (1.0 - off.cpu_us / on.cpu_us) * 100.0)
            .collect(),
    );
    let rate_loss = median(
        pairs
            .iter()
            .map(|(off, on)| (1.0 - on.throughput / off.throughput) * 100.0)
            .collect(),
    );
    let added = median(
        pairs
            .iter()
            .map(|(off, on)| on.cpu_us - off.cpu_us)
            .collect(),
    );

    trivial::install_exporter()?;
    let calls = setup.scale.metrics_micro_calls;
    let (mut micro_off, mut micro_on) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        micro_off.push(in_process(false, calls).await?);
        micro_on.push(in_process(true, calls).await?);
    }
    let (micro_off, micro_on) = (median(micro_off), median(micro_on));
    let micro_added_ns = micro_on - micro_off;

    let pick = |rounds: &[Round], median: f64| -> Row {
        let mut row = rounds
            .iter()
            .min_by(|a, b| {
                (a.throughput - median)
                    .abs()
                    .total_cmp(&(b.throughput - median).abs())
            })
            .map(|r| r.row.clone())
            .unwrap_or_default();
        row.extra.push((
            "rounds (req/s @ CPU µs/req)".to_owned(),
            rounds
                .iter()
                .map(|r| format!("{:.0} @ {:.2}", r.throughput, r.cpu_us))
                .collect::<Vec<_>>()
                .join(", "),
        ));
        row
    };
    let mut on_row = pick(&on, throughput_on);
    on_row.extra.push((
        "throughput lost".to_owned(),
        format!("{loss:.1} % from CPU per request ({rate_loss:.1} % from the request rates)"),
    ));
    on_row
        .extra
        .push(("CPU added per request".to_owned(), format!("{added:.2} µs")));
    on_row.extra.push((
        "layer in-process (no network)".to_owned(),
        format!("{:.2} µs per request", micro_added_ns / 1000.0),
    ));
    let off_row = pick(&off, throughput_off);
    let latency = |row: &Row| row.latency.unwrap_or_default();
    let checks = vec![
        Check::at_most("throughput lost (trivial handler)", loss, 2.0, "%"),
        Check::at_most("CPU added per request", added, 0.5, "µs"),
    ];
    let notes = vec![
        format!(
            "{rounds} alternating rounds of {per_round:?} per variant, {} connections; the losses \
             and added CPU are medians of each round's pair (adjacent in time, so under similar \
             background load); /metrics scraped every {SCRAPE_EVERY:?} during the on rounds \
             (15× production)",
            setup.scale.http_connections
        ),
        format!(
            "p50 off/on: {:.3}/{:.3} ms; in-process: {:.0} ns → {:.0} ns per request ({calls} calls × 3)",
            latency(&off_row).p50_ms,
            latency(&on_row).p50_ms,
            micro_off,
            micro_on
        ),
    ];
    Ok(ScenarioResult {
        scenario: "metrics".to_owned(),
        title: "metrics overhead".to_owned(),
        run: Default::default(),
        rows: vec![on_row, off_row],
        checks,
        notes,
    })
}
