//! Postgres stops for a minute while people chat and ask the bot: fechatter and bot are not ready,
//! the API answers 503 JSON at once instead of hanging, the pool empties and database errors are
//! counted; messages stored before the stop wait in the outbox or the stream, and the bot holds
//! what it has without giving up on it. When Postgres returns the same processes recover by
//! themselves: every message is searchable once, every question answered once, and nothing was
//! dead-lettered.

use std::time::{Duration, Instant};

use e2e::alerts::{wait_for_alert, with_fast_alerts};
use e2e::metrics::{scrape, value};
use e2e::{Service, Topology};
use reqwest::Method;
use serde_json::json;
use test_support::{Prometheus, wait_until};

use crate::{Pair, WAIT, prometheus_value, stored_dead_letters};

/// The pool waits 2 s for a connection; an answer must come soon after, never a hang.
const QUICK: Duration = Duration::from_secs(5);
/// Longer than any retry budget: the old bot gave up after five deliveries (about 15 s).
const OUTAGE: Duration = Duration::from_secs(60);
/// Messages sent in all, before the stop and (refused) during the outage.
const MESSAGES: usize = 100;
const SENT_BEFORE: usize = 40;
const QUESTIONS: usize = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_postgres_down_a_minute_the_api_answers_503_and_afterwards_nothing_is_lost_or_doubled()
{
    let topology = Topology::start().await;
    let prometheus = Prometheus::start(with_fast_alerts(
        topology.prometheus_config(),
        &["ServiceNotReady"],
    ))
    .await;
    let pair = Pair::meet(&topology).await;
    let metrics = topology.metrics_url(Service::Fechatter);
    let started = value(&scrape(&metrics).await, "process_start_time_seconds", &[]);
    wait_until("the pool to hold connections", WAIT, || async {
        let page = scrape(&metrics).await;
        value(&page, "fechatter_db_connections_idle", &[]).is_some_and(|n| n >= 1.0)
    })
    .await;

    // Sent as fast as they go: the bot is still at work on them when Postgres stops.
    let mut anns = Vec::new();
    let mut questions = Vec::new();
    for n in 0..SENT_BEFORE {
        anns.push(
            pair.api
                .send(&pair.ann, pair.chat, &format!("ann says {n}"))
                .await,
        );
        if n % (SENT_BEFORE / QUESTIONS) == 0 {
            // The chat's owner asks: only someone who may add members brings the bot in.
            questions.push(
                pair.api
                    .send(&pair.ann, pair.chat, &format!("@bot summary {n}"))
                    .await,
            );
        }
    }

    topology.postgres.stop().await;
    let stopped = Instant::now();
    for service in [Service::Fechatter, Service::Bot] {
        topology.wait_ready_status(service, 503, WAIT).await;
    }
    let token = pair.ann.access_token.clone();
    let send = json!({"content": "ann says during the outage"});
    let path = format!("/api/chats/{}/messages", pair.chat);
    let attempts = [
        (Method::POST, path.as_str(), Some(&send)),
        (Method::GET, path.as_str(), None),
        (Method::GET, "/api/chats", None),
    ];
    for (method, path, body) in attempts {
        let reply = pair
            .api
            .try_call(method.clone(), Some(&token), path, body, &[])
            .await
            .unwrap_or_else(|err| panic!("{method} {path} got no answer: {err}"));
        assert_eq!(
            (reply.status, reply.body["code"].as_str()),
            (503, Some("service_unavailable")),
            "{method} {path}: {}",
            reply.body
        );
        assert!(
            reply.elapsed < QUICK,
            "{method} {path} took {:?}",
            reply.elapsed
        );
    }
    // Connections being opened count as active while Postgres refuses them; none is idle.
    wait_until("the pool to lose its idle connections", WAIT, || async {
        value(
            &scrape(&metrics).await,
            "fechatter_db_connections_idle",
            &[],
        ) == Some(0.0)
    })
    .await;
    prometheus_value(&prometheus, "sum(fechatter_db_errors_total) > 0").await;
    // The bot's periodic index count fails too.
    prometheus_value(&prometheus, "sum(bot_db_errors_total) > 0").await;
    prometheus_value(
        &prometheus,
        r#"sum(fechatter_http_errors_total{status="503"}) > 0"#,
    )
    .await;
    for service in ["fechatter_server", "bot_server"] {
        wait_for_alert(
            &prometheus,
            "ServiceNotReady",
            "firing",
            &[("service", service)],
            WAIT,
        )
        .await;
    }

    // The rest of the hundred is refused, spread over the outage.
    let refused_left = MESSAGES - SENT_BEFORE - questions.len() - 1;
    let mut pace =
        tokio::time::interval(OUTAGE.saturating_sub(stopped.elapsed()) / refused_left as u32);
    for n in 0..refused_left {
        pace.tick().await;
        let reply = pair
            .api
            .try_call(
                Method::POST,
                Some(&token),
                &path,
                Some(&json!({"content": format!("ann says refused {n}")})),
                &[],
            )
            .await
            .unwrap_or_else(|err| panic!("a send during the outage got no answer: {err}"));
        assert_eq!(reply.status, 503, "{}", reply.body);
    }
    if let Some(left) = OUTAGE.checked_sub(stopped.elapsed()) {
        // The outage itself, not a wait for something: it lasts a minute.
        tokio::time::sleep(left).await;
    }
    assert_eq!(
        stored_dead_letters(&topology).await,
        0,
        "nothing is dead-lettered while Postgres is down"
    );

    topology.postgres.start().await;
    for service in [Service::Fechatter, Service::Bot] {
        topology.wait_ready_status(service, 200, WAIT).await;
    }
    anns.push(pair.api.send(&pair.ann, pair.chat, "ann says after").await);
    pair.indexed_exactly(&anns).await;
    let answers = |question: i64| {
        let pair = &pair;
        async move {
            pair.api
                .messages(&pair.ann, pair.chat)
                .await
                .into_iter()
                .filter(|message| message["reply_to"] == question)
                .count()
        }
    };
    for question in &questions {
        wait_until("the bot's answer", WAIT, || async {
            answers(*question).await >= 1
        })
        .await;
    }
    for question in &questions {
        assert_eq!(
            answers(*question).await,
            1,
            "one answer to question {question}"
        );
    }
    assert_eq!(
        stored_dead_letters(&topology).await,
        0,
        "nothing dead-lettered"
    );
    let bot = scrape(&topology.metrics_url(Service::Bot)).await;
    assert_eq!(
        value(&bot, "bot_events_dead_lettered_total", &[]),
        Some(0.0)
    );
    wait_until("the pool to hold connections again", WAIT, || async {
        let page = scrape(&metrics).await;
        value(&page, "fechatter_db_connections_idle", &[]).is_some_and(|n| n >= 1.0)
    })
    .await;
    assert_eq!(
        value(&scrape(&metrics).await, "process_start_time_seconds", &[]),
        started,
        "the same process recovered"
    );
}
