//! Analytics ingest: batches of client events posted to analytics_server's `POST /api/events`
//! (token check, per-event validation, buffering, batched RowBinary inserts) against the same
//! rows inserted straight into ClickHouse as JSONEachRow, into a table of the same definition.
//! Besides throughput: how long after its 202 an event is visible to a ClickHouse query.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::bail;
use tokio_util::sync::CancellationToken;

use super::{http_row, per_op, server_pid, unique};
use crate::latency::{self, Latency};
use crate::load;
use crate::procfs::{self, CpuMark};
use crate::report::{Check, ScenarioResult};
use crate::{Setup, seed};

mod events;
use events::{ApiBatches, Clickhouse, RawBatches};

/// How often the number of stored events is read while measuring visibility.
const POLL: Duration = Duration::from_millis(100);

/// `(when, how many events were stored)` readings of a poller.
type Readings = Arc<Mutex<Vec<(Instant, u64)>>>;

fn spawn_poller(clickhouse: Clickhouse, table: String, stop: CancellationToken) -> Readings {
    let readings: Readings = Arc::default();
    let out = readings.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(POLL);
        while !stop.is_cancelled() {
            tick.tick().await;
            if let Ok(count) = clickhouse.count(&table).await {
                out.lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .push((Instant::now(), count));
            }
        }
    });
    readings
}

/// For each accepted batch (time of the 202, events accepted so far), the time until a reading
/// showed at least that many events stored. The buffer writes in arrival order, so the count
/// passing a batch's running total means the batch is visible.
fn visibility(accepted: &[(Instant, u64)], readings: &[(Instant, u64)]) -> Latency {
    let mut histogram = latency::histogram();
    let mut next = 0;
    for (at, total) in accepted {
        while next < readings.len() && (readings[next].0 < *at || readings[next].1 < *total) {
            next += 1;
        }
        if let Some((seen, _)) = readings.get(next) {
            latency::record(&mut histogram, seen.duration_since(*at));
        }
    }
    Latency::of(&histogram)
}

async fn wait_stored(clickhouse: &Clickhouse, table: &str, events: u64) -> anyhow::Result<u64> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let stored = clickhouse.count(table).await?;
        if stored >= events || Instant::now() > deadline {
            return Ok(stored);
        }
        tokio::time::sleep(POLL).await;
    }
}

pub async fn run(
    setup: &Setup,
    clickhouse_url: &str,
    nats_url: &str,
) -> anyhow::Result<ScenarioResult> {
    let scale = &setup.scale;
    let clickhouse = Clickhouse::new(clickhouse_url);
    let database = unique("bench_ingest");
    let peer_database = unique("bench_ingest_raw");
    let bus = unique("bench_ingest");
    let analytics = setup
        .launcher
        .service(
            "analytics_server",
            "ANALYTICS",
            &[
                ("CLICKHOUSE_URL", clickhouse_url.to_owned()),
                ("CLICKHOUSE_DATABASE", database.clone()),
                ("NATS_URL", nats_url.to_owned()),
                ("NATS_STREAM", bus.to_uppercase()),
                ("NATS_SUBJECT_PREFIX", bus.clone()),
                ("JWT_PUBLIC_KEY", setup.keys.public_pem.clone()),
                // One client posts every batch: the per-user and per-address limits would be
                // what is measured.
                ("RATE_LIMIT_PER_USER_PER_MINUTE", "1000000".to_owned()),
                ("RATE_LIMIT_PER_ADDRESS_PER_MINUTE", "1000000".to_owned()),
            ],
        )
        .await?;
    let table = format!("{database}.events");
    let ch_pid = server_pid(clickhouse_url);
    let token = seed::token(
        &seed::signer(&setup.keys)?,
        fechatter_events::UserId(1),
        fechatter_events::WorkspaceId(1),
        uuid::Uuid::now_v7(),
    );
    let api = Arc::new(ApiBatches::new(
        super::host(analytics.api),
        token,
        scale.ingest_batch,
    ));
    load::run(
        analytics.api,
        scale.ingest_connections,
        setup.warmup,
        api.clone(),
    )
    .await;
    let warm = wait_stored(&clickhouse, &table, api.accepted_total()).await?;
    api.clear_accepted();
    let stop = CancellationToken::new();
    let readings = spawn_poller(clickhouse.clone(), table.clone(), stop.clone());
    let cpu = CpuMark::process(analytics.pid)?;
    let ch_cpu = ch_pid.map(CpuMark::process).transpose()?;
    let report = load::run(
        analytics.api,
        scale.ingest_connections,
        setup.duration,
        api.clone(),
    )
    .await;
    let service_cpu = cpu.elapsed()?;
    let rss = procfs::rss_bytes(analytics.pid)?;
    let stored = wait_stored(&clickhouse, &table, api.accepted_total()).await?;
    let infra_cpu = ch_cpu.map(|mark| mark.elapsed()).transpose()?;
    stop.cancel();
    analytics.stop().await?;
    let readings = readings
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .clone();
    let visible = visibility(&api.accepted(), &readings);
    let lost = api.accepted_total().saturating_sub(stored);
    let mut service_row = http_row("analytics_server POST /api/events", &report, "events/s");
    service_row.cpu_us_per_op = Some(per_op(service_cpu, report.units));
    service_row.infra = ch_pid.map(|_| "ClickHouse".to_owned());
    service_row.infra_cpu_us_per_op = infra_cpu.map(|cpu| per_op(cpu, report.units));
    service_row.rss_mib = Some(rss as f64 / (1024.0 * 1024.0));
    service_row.errors += lost;
    service_row.extra.push((
        "visible in ClickHouse after the 202".to_owned(),
        format!(
            "p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
            visible.p50_ms, visible.p99_ms, visible.max_ms
        ),
    ));
    service_row.extra.push((
        "503 back-pressure answers".to_owned(),
        report.backpressure.to_string(),
    ));

    clickhouse
        .execute(&format!("CREATE DATABASE IF NOT EXISTS {peer_database}"))
        .await?;
    clickhouse
        .execute(&format!("CREATE TABLE {peer_database}.events AS {table}"))
        .await?;
    let peer_table = format!("{peer_database}.events");
    let raw = Arc::new(RawBatches::new(
        clickhouse_url,
        &peer_table,
        scale.ingest_batch,
    )?);
    let ch_addr = raw.addr;
    load::run(ch_addr, scale.ingest_connections, setup.warmup, raw.clone()).await;
    let ch_cpu = ch_pid.map(CpuMark::process).transpose()?;
    let peer = load::run(ch_addr, scale.ingest_connections, setup.duration, raw).await;
    let infra_cpu = ch_cpu.map(|mark| mark.elapsed()).transpose()?;
    let mut peer_row = http_row(
        "ClickHouse JSONEachRow INSERT (same table)",
        &peer,
        "events/s",
    );
    peer_row.peer = true;
    peer_row.infra = ch_pid.map(|_| "ClickHouse".to_owned());
    peer_row.infra_cpu_us_per_op = infra_cpu.map(|cpu| per_op(cpu, peer.units));
    for db in [&database, &peer_database] {
        clickhouse
            .execute(&format!("DROP DATABASE IF EXISTS {db}"))
            .await?;
    }
    if report.ok == 0 || peer.ok == 0 {
        bail!(
            "nothing was ingested: {:?} / {:?}",
            report.first_error,
            peer.first_error
        );
    }

    let ratio = service_row.throughput / peer_row.throughput.max(f64::EPSILON);
    service_row
        .extra
        .push(("vs peer".to_owned(), format!("{:.0} %", ratio * 100.0)));
    let checks = vec![
        Check::at_least("ingest", service_row.throughput, 100_000.0, "events/s"),
        Check::at_most(
            "visible in ClickHouse, p99",
            visible.p99_ms / 1000.0,
            2.0,
            "s",
        ),
        Check::at_most("lost", lost as f64, 0.0, "events"),
    ];
    let notes = vec![
        format!(
            "{} connections posting batches of {} events (~{} B of JSON each); the raw peer inserts \
             the same rows, batch for batch, as JSONEachRow",
            scale.ingest_connections,
            scale.ingest_batch,
            api.batch_bytes()
        ),
        format!(
            "visibility: `SELECT count()` every {POLL:?} against the running total at each 202; \
             {warm} events of the warm-up were stored before measuring, {stored} of {} accepted after",
            api.accepted_total()
        ),
    ];
    Ok(ScenarioResult {
        scenario: "ingest".to_owned(),
        title: "analytics ingest".to_owned(),
        run: Default::default(),
        rows: vec![service_row, peer_row],
        checks,
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_is_visible_at_the_first_reading_that_counts_it() {
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        let accepted = [(ms(0), 100), (ms(10), 200), (ms(20), 300)];
        let readings = [(ms(5), 0), (ms(105), 100), (ms(205), 300)];
        let seen = visibility(&accepted, &readings);
        assert_eq!(seen.samples, 3);
        assert!((seen.p50_ms - 185.0).abs() < 1.0, "{seen:?}");
        assert!((seen.max_ms - 195.0).abs() < 1.0, "{seen:?}");
    }
}
