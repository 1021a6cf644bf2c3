//! Send message: `POST /api/chats/{id}/messages` (JWT, session and membership checks, the insert
//! and its outbox event in one transaction, the relay publishing to JetStream) against pgbench
//! running the bare `INSERT … RETURNING` into the same table.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::Full;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

use super::{http_row, postgres_pid, unique, with_cpu};
use crate::load::{self, Outcome, Workload};
use crate::procfs::{self, CpuMark};
use crate::report::{Check, ScenarioResult};
use crate::seed::{self, CONTENT, ChatUser};
use crate::{Setup, request};

mod peer;

struct SendWorkload {
    host: String,
    users: Vec<ChatUser>,
    next: AtomicU64,
    body: Bytes,
}

impl Workload for SendWorkload {
    fn request(&self, _worker: usize, _n: u64) -> Request<Full<Bytes>> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let user = &self.users[(n % self.users.len() as u64) as usize];
        let mut request = request(
            Method::POST,
            &self.host,
            &format!("/api/chats/{}/messages", user.chat),
            Some(&user.token),
            Some(self.body.clone()),
        );
        // Clients send a key so a retry cannot duplicate the message; its unique index is part of
        // the cost.
        if let Ok(key) = uuid::Uuid::new_v4().to_string().parse() {
            request.headers_mut().insert("idempotency-key", key);
        }
        request
    }

    fn check(&self, status: StatusCode, _body: &Bytes) -> Outcome {
        if status == StatusCode::CREATED {
            Outcome::Ok
        } else {
            Outcome::Error
        }
    }
}

async fn count(pool: &PgPool, sql: &str) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(sql).fetch_one(pool).await?)
}

/// Waits (bounded) until the relay has published every event.
async fn outbox_drained(pool: &PgPool, within: Duration) -> anyhow::Result<Duration> {
    let started = Instant::now();
    while count(pool, "SELECT count(*) FROM outbox").await? > 0 {
        if started.elapsed() > within {
            bail!("the outbox still holds events {within:?} after the run");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(started.elapsed())
}

pub async fn run(
    setup: &Setup,
    database_url: &str,
    nats_url: &str,
) -> anyhow::Result<ScenarioResult> {
    let scale = &setup.scale;
    let bus = unique("bench_send");
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
                // The send path's capacity is measured, not the per-user limit (120 a minute):
                // 200 users at thousands of sends a second would otherwise get 429s once their
                // buckets run dry. The limiter's check still runs on every request.
                ("RATE_LIMIT_SEND_PER_MINUTE", "1000000".to_owned()),
            ],
        )
        .await?;
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect(database_url)
        .await
        .context("connecting to the benchmark database")?;
    let seeded = seed::chats(&pool, &setup.keys, scale.chats, scale.chat_size).await?;
    let postgres = postgres_pid(database_url);
    let workload = Arc::new(SendWorkload {
        host: super::host(service.api),
        users: seeded.users.clone(),
        next: AtomicU64::new(0),
        body: Bytes::from(serde_json::to_vec(
            &serde_json::json!({ "content": CONTENT }),
        )?),
    });
    let warm = load::run(
        service.api,
        scale.http_connections,
        setup.warmup,
        workload.clone(),
    )
    .await;
    let cpu = CpuMark::process(service.pid)?;
    let db_cpu = postgres.map(CpuMark::tree).transpose()?;
    let report = load::run(
        service.api,
        scale.http_connections,
        setup.duration,
        workload,
    )
    .await;
    let service_cpu = cpu.elapsed()?;
    let infra_cpu = db_cpu.map(|mark| mark.elapsed()).transpose()?;
    let rss = procfs::rss_bytes(service.pid)?;
    let drained = outbox_drained(&pool, Duration::from_secs(60)).await?;
    let stored = count(&pool, "SELECT count(*) FROM messages").await?;
    service.stop().await?;

    let mut rows = vec![with_cpu(
        http_row(
            "fechatter_server POST /api/chats/{id}/messages",
            &report,
            "req/s",
        ),
        Some(service_cpu),
        infra_cpu.map(|cpu| ("Postgres", cpu)),
        Some(rss),
    )];

    // The peer, on the same database and table, with as many connections as fechatter's pool.
    let mut peers = peer::rows(setup, database_url, postgres, &seeded).await?;
    let peer_row = peers.remove(0);
    let ratio = rows[0].throughput / peer_row.throughput.max(f64::EPSILON);
    rows[0]
        .extra
        .push(("vs peer".to_owned(), format!("{:.0} %", ratio * 100.0)));
    rows.push(peer_row);
    rows.extend(peers);

    let p99 = rows[0].latency.map_or(f64::INFINITY, |l| l.p99_ms);
    let checks = vec![
        Check::at_least("throughput", rows[0].throughput, 5000.0, "req/s"),
        Check::at_most("p99", p99, 25.0, "ms"),
        Check::at_least("share of pgbench", ratio * 100.0, 30.0, "%"),
    ];
    let sent = warm.ok + report.ok;
    if stored < i64::try_from(sent)? {
        bail!("{sent} sends answered 201 but only {stored} messages are stored");
    }
    let notes = vec![
        format!(
            "{} connections, {} users in {} group chats of {}, one Idempotency-Key per request; \
             fechatter's pool and pgbench both use {} Postgres connections",
            scale.http_connections,
            seeded.users.len(),
            scale.chats,
            scale.chat_size,
            scale.db_connections
        ),
        format!(
            "every 201 is stored ({stored} rows after warm-up and run) and the relay had \
             published every event to JetStream {:.1} s after the run",
            drained.as_secs_f64()
        ),
        "the two rows after the peer replay with pgbench fechatter's statement for plain \
         messages with one send in it, as when no other send waits (members, order lock, insert \
         and outbox row, committed on its own; under load a statement writes every send queued \
         meanwhile), the database's share of a lone send without the relay's publishing and \
         deleting; then the transaction of four round trips the one-message statement replaced \
         (BEGIN, the insert, the outbox insert, COMMIT), which a message with a reply, files or \
         mentions still runs"
            .to_owned(),
    ];
    Ok(ScenarioResult {
        scenario: "send".to_owned(),
        title: "send message".to_owned(),
        run: Default::default(),
        rows,
        checks,
        notes,
    })
}
