//! Bot indexing: bot_server's durable JetStream consumer turning `message.created` events into
//! rows of the search index (`search_documents`: the folded text, its generated tsvector under two
//! GIN indexes, the offline embedding), against pgbench inserting the same rows into a table of the
//! same definition. Measured for the bot: the lag from publication to the row being visible to a
//! query, at an offered rate (the target's 2 000 a second); the rate at which it drains a backlog;
//! CPU per message of the bot and of Postgres; every event indexed exactly once.

mod data;
mod peer;
mod publish;

use std::time::{Duration, Instant};

use anyhow::Context;
use fechatter_events::EventBus;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

use super::{per_op, postgres_pid, unique};
use crate::latency::{self, Latency};
use crate::launch::Spawned;
use crate::procfs::{self, CpuMark};
use crate::report::{Check, Row, ScenarioResult};
use crate::{Setup, seed};
use data::{Message, POLL};
use publish::{Event, publish_all};

/// bot_server's default `BOT_CONSUMER_CONCURRENCY`, which the scenario keeps: events in hand at
/// once, and so the peer's pgbench clients.
const BOT_CONCURRENCY: u32 = 4;

/// One publication of events and its indexing, as the poller saw it.
struct Phase {
    /// Per event: publication → first read that found its row.
    lag: Latency,
    /// First publication → last row seen.
    elapsed: Duration,
    indexed: u64,
    lost: u64,
    duplicates: u64,
    bot_cpu: Duration,
    db_cpu: Option<Duration>,
}

struct Bench<'a> {
    pool: &'a PgPool,
    nats_url: &'a str,
    bus: &'a EventBus,
    bot: &'a Spawned,
    postgres: Option<u32>,
}

impl Bench<'_> {
    async fn phase(
        &self,
        messages: &[Message],
        events: Vec<Event>,
        rate: Option<u32>,
    ) -> anyhow::Result<Phase> {
        let ids: Vec<i64> = messages.iter().map(|m| m.id).collect();
        let publishing = rate.map_or(Duration::ZERO, |rate| {
            Duration::from_secs_f64(ids.len() as f64 / f64::from(rate))
        });
        let published_by = Instant::now() + publishing;
        // A bound for a bot that keeps indexing, however slowly; one that stops is cut off
        // after data::STALL.
        let deadline = published_by + Duration::from_secs(600);
        let bot_cpu = CpuMark::process(self.bot.pid)?;
        let db_cpu = self.postgres.map(CpuMark::tree).transpose()?;
        let publisher = publish_all(self.nats_url.to_owned(), self.bus.clone(), events, rate);
        let seen = data::watch(self.pool, &ids, published_by, deadline).await?;
        let bot_cpu = bot_cpu.elapsed()?;
        let db_cpu = db_cpu.map(|mark| mark.elapsed()).transpose()?;
        let published = tokio::task::spawn_blocking(move || publisher.join())
            .await?
            .map_err(|_| anyhow::anyhow!("the publisher thread panicked"))??;
        let mut histogram = latency::histogram();
        for (at, seen) in published.at.iter().zip(&seen) {
            if let Some(seen) = seen {
                latency::record(&mut histogram, seen.saturating_duration_since(*at));
            }
        }
        let first = published.at.first().copied().unwrap_or_else(Instant::now);
        let last = seen.iter().flatten().max().copied().unwrap_or(first);
        let indexed = seen.iter().flatten().count() as u64;
        Ok(Phase {
            lag: Latency::of(&histogram),
            elapsed: last.saturating_duration_since(first),
            indexed,
            lost: ids.len() as u64 - indexed,
            duplicates: published.duplicates,
            bot_cpu,
            db_cpu,
        })
    }
}

/// fechatter_server owns the schema (the index table included): started once to migrate.
async fn migrate(setup: &Setup, database_url: &str, nats_url: &str) -> anyhow::Result<()> {
    let bus = EventBus::isolated(&unique("bench_bot_migrate"));
    let fechatter = setup
        .launcher
        .service(
            "fechatter_server",
            "FECHATTER",
            &[
                ("DATABASE_URL", database_url.to_owned()),
                ("NATS_URL", nats_url.to_owned()),
                ("NATS_STREAM", bus.stream.clone()),
                ("NATS_SUBJECT_PREFIX", bus.subject_prefix.clone()),
                ("JWT_PRIVATE_KEY", setup.keys.private_pem.clone()),
                ("BOT_API_KEY", setup.keys.bot_api_key.clone()),
            ],
        )
        .await?;
    fechatter.stop().await
}

/// `bot_index_messages_total` by result, from the bot's metrics endpoint.
async fn index_results(bot: &Spawned) -> anyhow::Result<Vec<(String, u64)>> {
    let text = reqwest::get(format!("http://{}/metrics", bot.metrics))
        .await?
        .error_for_status()?
        .text()
        .await?;
    Ok(text
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("bot_index_messages_total{")?;
            let result = rest.split("result=\"").nth(1)?.split('"').next()?;
            let value: f64 = line.split_whitespace().last()?.parse().ok()?;
            Some((result.to_owned(), value as u64))
        })
        .collect())
}

fn bot_row(system: &str, phase: &Phase, rss: u64, lag: bool) -> Row {
    let seconds = phase.elapsed.as_secs_f64();
    Row {
        system: system.to_owned(),
        seconds,
        ops: phase.indexed,
        throughput: phase.indexed as f64 / seconds.max(f64::EPSILON),
        unit: "messages/s".to_owned(),
        latency: lag.then_some(phase.lag),
        cpu_us_per_op: Some(per_op(phase.bot_cpu, phase.indexed)),
        infra: phase.db_cpu.map(|_| "Postgres".to_owned()),
        infra_cpu_us_per_op: phase.db_cpu.map(|cpu| per_op(cpu, phase.indexed)),
        rss_mib: Some(rss as f64 / (1024.0 * 1024.0)),
        errors: phase.lost + phase.duplicates,
        ..Row::default()
    }
}

pub async fn run(
    setup: &Setup,
    database_url: &str,
    nats_url: &str,
) -> anyhow::Result<ScenarioResult> {
    let scale = &setup.scale;
    migrate(setup, database_url, nats_url).await?;
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect(database_url)
        .await
        .context("connecting to the benchmark database")?;
    let seeded = seed::chats(&pool, &setup.keys, scale.chats, scale.chat_size).await?;
    let rate = scale.bot_rate;
    let per_second = |d: Duration| (d.as_secs_f64() * f64::from(rate)).ceil() as usize;
    let (warm, measured) = (per_second(setup.warmup).max(1), per_second(setup.duration));
    let messages = data::messages(&pool, &seeded, (warm + 2 * measured) as i64).await?;
    let mut events = data::envelopes(&seeded, &messages)?;
    let backlog_events = events.split_off(warm + measured);
    let paced_events = events.split_off(warm);
    let (warm_messages, rest) = messages.split_at(warm);
    let (paced_messages, backlog_messages) = rest.split_at(measured);

    let bus = EventBus::isolated(&unique("bench_bot"));
    let bot = setup
        .launcher
        .service(
            "bot_server",
            "BOT",
            &[
                ("DATABASE_URL", database_url.to_owned()),
                ("NATS_URL", nats_url.to_owned()),
                ("NATS_STREAM", bus.stream.clone()),
                ("NATS_SUBJECT_PREFIX", bus.subject_prefix.clone()),
                ("FECHATTER_API_KEY", setup.keys.bot_api_key.clone()),
            ],
        )
        .await?;
    let postgres = postgres_pid(database_url);
    let bench = Bench {
        pool: &pool,
        nats_url,
        bus: &bus,
        bot: &bot,
        postgres,
    };
    let warmup = bench.phase(warm_messages, events, Some(rate)).await?;
    let paced = bench
        .phase(paced_messages, paced_events, Some(rate))
        .await?;
    let backlog = bench.phase(backlog_messages, backlog_events, None).await?;
    let rss = procfs::rss_bytes(bot.pid)?;
    let results = index_results(&bot).await?;
    bot.stop().await?;
    let count = |name: &str| {
        results
            .iter()
            .filter(|(result, _)| result == name)
            .map(|(_, n)| n)
            .sum::<u64>()
    };
    let handled_twice = count("duplicate") + count("stale");
    let published = (warm + 2 * measured) as u64;
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM search_documents")
        .fetch_one(&pool)
        .await?;
    let mut service = bot_row(
        &format!("bot_server, {rate} message.created/s offered"),
        &paced,
        rss,
        true,
    );
    let mut drain = bot_row(
        &format!("bot_server, a backlog of {measured} events"),
        &backlog,
        rss,
        false,
    );
    for (row, phase) in [(&mut service, &paced), (&mut drain, &backlog)] {
        row.errors += handled_twice;
        row.extra.push((
            "lost / handled twice".to_owned(),
            format!("{} / {}", phase.lost, phase.duplicates + handled_twice),
        ));
    }
    drain.extra.push((
        "publication → visible".to_owned(),
        format!(
            "p50 {:.0} ms, max {:.0} ms (queued behind the backlog)",
            backlog.lag.p50_ms, backlog.lag.max_ms
        ),
    ));

    let mut rows = vec![service, drain];
    let peers = peer::rows(
        setup,
        &pool,
        database_url,
        postgres,
        &seeded,
        BOT_CONCURRENCY,
    )
    .await?;
    let capacity = rows[1].throughput;
    let ratio = capacity / peers[0].throughput.max(f64::EPSILON);
    rows[1]
        .extra
        .push(("vs peer".to_owned(), format!("{:.0} %", ratio * 100.0)));
    rows.extend(peers);

    let lost = warmup.lost + paced.lost + backlog.lost;
    let checks = vec![
        Check::at_least("indexed", capacity, 2000.0, "messages/s"),
        Check::at_most("lag p99", paced.lag.p99_ms / 1000.0, 2.0, "s"),
        Check::at_most("lost", lost as f64, 0.0, "messages"),
        Check::at_most(
            "handled twice",
            (handled_twice + paced.duplicates + backlog.duplicates) as f64,
            0.0,
            "messages",
        ),
    ];
    let notes = vec![
        format!(
            "`message.created` envelopes published to JetStream as fechatter's relay publishes \
             them (the kind's subject, `Nats-Msg-Id` = event id; acknowledgements awaited \
             concurrently, up to 512), for messages of {} group chats of {} (a {} B envelope); \
             bot_server with its defaults: offline 512-dimension embeddings, {BOT_CONCURRENCY} \
             events in hand, one event per round of statements (it does not batch)",
            scale.chats,
            scale.chat_size,
            paced_events_size(&seeded, paced_messages)?,
        ),
        format!(
            "first row: {measured} events at {rate}/s after {warm} of warm-up; lag = publication \
             → the first read of `search_documents` that returns the row, read every {POLL:?} \
             (the reads' Postgres CPU is in the figure); second row: {measured} events published \
             at once, throughput = events / (first publication → last row visible)"
        ),
        format!(
            "exactly once: the index holds {stored} rows for {published} published events, \
             bot_index_messages_total says {} indexed, {} duplicate, {} stale; JetStream \
             acknowledged {} publications as duplicates",
            count("indexed"),
            count("duplicate"),
            count("stale"),
            paced.duplicates + backlog.duplicates + warmup.duplicates
        ),
        format!(
            "peer: pgbench with {BOT_CONCURRENCY} clients (the bot's concurrency), one row per \
             transaction into a copy of `search_documents` (LIKE … INCLUDING ALL plus its foreign \
             keys) with the same content, folded text and 512-float embedding; the next row \
             replays the bot's three statements per event (redelivery check, versioned upsert, \
             processed-event insert), each autocommitted as the bot runs them; the last row, the \
             plain insert with {} clients",
            scale.db_connections
        ),
    ];
    Ok(ScenarioResult {
        scenario: "bot-index".to_owned(),
        title: "bot indexing".to_owned(),
        run: Default::default(),
        rows,
        checks,
        notes,
    })
}

fn paced_events_size(seeded: &seed::Seeded, messages: &[Message]) -> anyhow::Result<usize> {
    Ok(data::envelopes(seeded, &messages[..messages.len().min(1)])?
        .first()
        .map_or(0, |(body, _)| body.len()))
}
