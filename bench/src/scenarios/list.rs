//! List messages: `GET /api/chats/{id}/messages?limit=50` (JWT, session and membership checks from
//! the caches, the keyset query, mentions and reactions of the page) against pgbench running the
//! same keyset query; and the page at depth `list_depth` of one long chat against its first page.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use http::{Method, Request};
use http_body_util::Full;
use sqlx::postgres::PgPoolOptions;

use super::{http_row, pgbench_row, postgres_pid, unique, with_cpu};
use crate::launch::Spawned;
use crate::load::{self, LoadReport, Workload};
use crate::procfs::{self, CpuMark};
use crate::report::{Check, Row, ScenarioResult};
use crate::{Setup, request};

mod data;
mod queries;
use data::{generic_plan, long_chat_length, seed};
use queries::{PGBENCH_FIRST_PAGE, PGBENCH_LIST_QUERIES, PGBENCH_PAGE_BEFORE};

/// (path, token) pairs taken in turn.
struct ListWorkload {
    host: String,
    targets: Vec<(String, String)>,
    next: AtomicU64,
}

impl Workload for ListWorkload {
    fn request(&self, _worker: usize, _n: u64) -> Request<Full<Bytes>> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let (path, token) = &self.targets[(n % self.targets.len() as u64) as usize];
        request(Method::GET, &self.host, path, Some(token), None)
    }
}

async fn drive(
    setup: &Setup,
    service: &Spawned,
    targets: Vec<(String, String)>,
    warmup: Duration,
    duration: Duration,
) -> LoadReport {
    let workload = Arc::new(ListWorkload {
        host: super::host(service.api),
        targets,
        next: AtomicU64::new(0),
    });
    let connections = setup.scale.http_connections;
    if !warmup.is_zero() {
        load::run(service.api, connections, warmup, workload.clone()).await;
    }
    load::run(service.api, connections, duration, workload).await
}

fn p50(row: &Row) -> f64 {
    row.latency.map_or(f64::INFINITY, |l| l.p50_ms)
}

pub async fn run(
    setup: &Setup,
    database_url: &str,
    nats_url: &str,
) -> anyhow::Result<ScenarioResult> {
    let scale = &setup.scale;
    let bus = unique("bench_list");
    let service = setup
        .launcher
        .service(
            "fechatter_server",
            "FECHATTER",
            &[
                ("DATABASE_URL", database_url.to_owned()),
                ("DATABASE_MAX_CONNECTIONS", scale.db_connections.to_string()),
                ("NATS_URL", nats_url.to_owned()),
                ("NATS_STREAM", bus.to_uppercase()),
                ("NATS_SUBJECT_PREFIX", bus.clone()),
                ("JWT_PRIVATE_KEY", setup.keys.private_pem.clone()),
            ],
        )
        .await?;
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect(database_url)
        .await
        .context("connecting to the benchmark database")?;
    let seeding = seed(setup, &pool).await?;
    let postgres = postgres_pid(database_url);
    let depth_time = (setup.duration / 4).max(Duration::from_secs(2));
    let depth_warmup = setup.warmup.min(Duration::from_secs(1));

    drive(
        setup,
        &service,
        seeding.first.clone(),
        Duration::ZERO,
        setup.warmup,
    )
    .await;
    let cpu = CpuMark::process(service.pid)?;
    let db_cpu = postgres.map(CpuMark::tree).transpose()?;
    let main = drive(
        setup,
        &service,
        seeding.first.clone(),
        Duration::ZERO,
        setup.duration,
    )
    .await;
    let service_cpu = cpu.elapsed()?;
    let infra_cpu = db_cpu.map(|mark| mark.elapsed()).transpose()?;
    let rss = procfs::rss_bytes(service.pid)?;
    let deep_path = format!("/api/chats/{}/messages?limit=50", seeding.deep_chat);
    let first_targets: Vec<(String, String)> = seeding
        .deep_tokens
        .iter()
        .map(|t| (deep_path.clone(), t.clone()))
        .collect();
    let deep_targets: Vec<(String, String)> = seeding
        .deep_tokens
        .iter()
        .map(|t| {
            (
                format!("{deep_path}&before={}", seeding.deep_before),
                t.clone(),
            )
        })
        .collect();
    let api_first = drive(setup, &service, first_targets, depth_warmup, depth_time).await;
    let api_deep = drive(setup, &service, deep_targets, depth_warmup, depth_time).await;
    service.stop().await?;

    let mut rows = vec![
        with_cpu(
            http_row("fechatter_server GET …/messages?limit=50", &main, "req/s"),
            Some(service_cpu),
            infra_cpu.map(|cpu| ("Postgres", cpu)),
            Some(rss),
        ),
        http_row(
            "fechatter_server, long chat: first page",
            &api_first,
            "req/s",
        ),
        http_row(
            &format!(
                "fechatter_server, long chat: page at depth {}",
                scale.list_depth
            ),
            &api_deep,
            "req/s",
        ),
    ];

    let pgbench = &setup.pgbench;
    let clients = scale.db_connections;
    let vars = |first_chat: i64, chats: usize, before: i64| {
        vec![
            ("chats", chats.to_string()),
            ("first_chat", first_chat.to_string()),
            ("before", before.to_string()),
        ]
    };
    let spread = vars(seeding.chats[0], seeding.chats.len(), 0);
    if !setup.warmup.is_zero() {
        pgbench
            .run(
                database_url,
                PGBENCH_FIRST_PAGE,
                clients,
                setup.warmup,
                &spread,
            )
            .await?;
    }
    let db_cpu = postgres.map(CpuMark::tree).transpose()?;
    let peer = pgbench
        .run(
            database_url,
            PGBENCH_FIRST_PAGE,
            clients,
            setup.duration,
            &spread,
        )
        .await?;
    let peer_cpu = db_cpu.map(|mark| mark.elapsed()).transpose()?;
    let seconds = setup.duration.as_secs().max(1) as f64;
    let depth_seconds = depth_time.as_secs().max(1) as f64;
    let peer_first = pgbench
        .run(
            database_url,
            PGBENCH_FIRST_PAGE,
            clients,
            depth_time,
            &vars(seeding.deep_chat, 1, 0),
        )
        .await?;
    let peer_deep = pgbench
        .run(
            database_url,
            PGBENCH_PAGE_BEFORE,
            clients,
            depth_time,
            &vars(seeding.deep_chat, 1, seeding.deep_before),
        )
        .await?;
    let mut replay_vars = spread.clone();
    replay_vars.extend([
        ("first_message", seeding.first_message.to_string()),
        ("per_chat", scale.messages_per_chat.to_string()),
        ("viewer", "1".to_owned()),
    ]);
    let replay_cpu = postgres.map(CpuMark::tree).transpose()?;
    let replay = pgbench
        .run(
            database_url,
            PGBENCH_LIST_QUERIES,
            clients,
            depth_time,
            &replay_vars,
        )
        .await?;
    let replay_cpu = replay_cpu.map(|mark| mark.elapsed()).transpose()?;
    let plan = generic_plan(&pool, seeding.deep_chat, seeding.deep_before).await?;
    let peer_row = with_cpu(
        pgbench_row("pgbench, the same keyset query", &peer, seconds),
        None,
        peer_cpu.map(|cpu| ("Postgres", cpu)),
        None,
    );
    let ratio = rows[0].throughput / peer_row.throughput.max(f64::EPSILON);
    rows[0]
        .extra
        .push(("vs peer".to_owned(), format!("{:.0} %", ratio * 100.0)));
    rows.push(peer_row);
    rows.push(pgbench_row(
        "pgbench, long chat: first page",
        &peer_first,
        depth_seconds,
    ));
    rows.push(pgbench_row(
        &format!("pgbench, long chat: page at depth {}", scale.list_depth),
        &peer_deep,
        depth_seconds,
    ));

    // A diagnosis of where a list request's time goes, not the peer it is held to.
    let mut replay_row = with_cpu(
        pgbench_row(
            "pgbench, fechatter's three list queries",
            &replay,
            depth_seconds,
        ),
        None,
        replay_cpu.map(|cpu| ("Postgres", cpu)),
        None,
    );
    replay_row.peer = false;
    rows.push(replay_row);

    let depth_ratio = p50(&rows[2]) / p50(&rows[1]);
    let peer_depth_ratio = p50(&rows[5]) / p50(&rows[4]);
    let checks = vec![
        Check::at_least("throughput", rows[0].throughput, 10_000.0, "req/s"),
        Check::at_most(
            "p99",
            rows[0].latency.map_or(f64::INFINITY, |l| l.p99_ms),
            10.0,
            "ms",
        ),
        Check::at_most(
            "p50 at depth / p50 of the first page",
            depth_ratio,
            1.5,
            "×",
        ),
    ];
    let notes = vec![
        format!(
            "{} connections over {} chats of {} messages; the long chat has {} messages; \
             fechatter's pool and pgbench both use {clients} Postgres connections",
            scale.http_connections,
            scale.chats,
            scale.messages_per_chat,
            long_chat_length(setup)
        ),
        format!(
            "pgbench's own depth ratio (p50 at depth / first page): {depth_ratio_peer:.2} ×",
            depth_ratio_peer = peer_depth_ratio
        ),
        format!("generic plan of the deep page: {plan}"),
    ];
    Ok(ScenarioResult {
        scenario: "list".to_owned(),
        title: "list messages, limit 50".to_owned(),
        run: Default::default(),
        rows,
        checks,
        notes,
    })
}
