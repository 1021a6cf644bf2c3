//! Postgres stops: fechatter and bot are not ready, the API answers 503 JSON at once instead of
//! hanging, the pool empties and database errors are counted; when Postgres returns the same
//! processes recover by themselves and chatting goes on.

use std::time::Duration;

use e2e::alerts::{wait_for_alert, with_fast_alerts};
use e2e::metrics::{scrape, value};
use e2e::{Service, Topology};
use reqwest::Method;
use serde_json::json;
use test_support::{Prometheus, wait_until};

use crate::{Pair, WAIT, prometheus_value};

/// The pool waits 2 s for a connection; an answer must come soon after, never a hang.
const QUICK: Duration = Duration::from_secs(5);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_postgres_down_the_api_answers_503_at_once_and_recovers_without_a_restart() {
    let topology = Topology::start().await;
    let prometheus = Prometheus::start(with_fast_alerts(
        topology.prometheus_config(),
        &["ServiceNotReady"],
    ))
    .await;
    let mut pair = Pair::meet(&topology).await;
    let before = pair
        .api
        .send(&pair.ann, pair.chat, "before the outage")
        .await;
    let metrics = topology.metrics_url(Service::Fechatter);
    let started = value(&scrape(&metrics).await, "process_start_time_seconds", &[]);
    wait_until("the pool to hold connections", WAIT, || async {
        let page = scrape(&metrics).await;
        value(&page, "fechatter_db_connections_idle", &[]).is_some_and(|n| n >= 1.0)
    })
    .await;

    topology.postgres.stop().await;
    for service in [Service::Fechatter, Service::Bot] {
        topology.wait_ready_status(service, 503, WAIT).await;
    }
    let token = pair.ann.access_token.clone();
    let send = json!({"content": "during the outage"});
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

    topology.postgres.start().await;
    for service in [Service::Fechatter, Service::Bot] {
        topology.wait_ready_status(service, 200, WAIT).await;
    }
    let after = pair
        .api
        .send(&pair.ann, pair.chat, "after the outage")
        .await;
    pair.bob_sees_exactly(&[before, after]).await;
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
