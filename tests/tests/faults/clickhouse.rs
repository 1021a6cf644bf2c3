//! ClickHouse stops for a minute: analytics is not ready, `ClickHouseDown` fires, reports answer 503
//! at once, the app's events are still accepted (stored in JetStream) and the chat's wait in theirs,
//! nothing is dead-lettered; when ClickHouse returns every one of them is stored exactly once.

use std::time::{Duration, Instant};

use e2e::alerts::{wait_for_alert, with_fast_alerts};
use e2e::analytics::{client_event, post_events};
use e2e::api::Api;
use e2e::metrics::{scrape, value};
use e2e::{Service, Topology};
use serde_json::json;
use test_support::{Prometheus, wait_until};

use crate::{Pair, WAIT, prometheus_value, stored_dead_letters};

const OUTAGE: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_clickhouse_down_a_minute_events_wait_in_jetstream_and_all_arrive_once_after() {
    let topology = Topology::start().await;
    let prometheus = Prometheus::start(with_fast_alerts(
        topology.prometheus_config(),
        &["ClickHouseDown"],
    ))
    .await;
    let mut pair = Pair::meet(&topology).await;
    let analytics = Api::new(topology.url(Service::Analytics));
    let mut sent = vec![pair.api.send(&pair.ann, pair.chat, "before").await];
    wait_until("the first message in ClickHouse", WAIT, || async {
        topology
            .analytics_rows("event_type = 'message.created'")
            .await
            == (1, 1)
    })
    .await;

    topology.clickhouse.stop().await;
    let stopped = Instant::now();
    topology
        .wait_ready_status(Service::Analytics, 503, WAIT)
        .await;
    wait_for_alert(&prometheus, "ClickHouseDown", "firing", &[], WAIT).await;
    let report = analytics
        .get(Some(&pair.ann.access_token), "/api/reports/messages")
        .await;
    assert_eq!(
        (report.status, report.body["code"].as_str()),
        (503, Some("service_unavailable")),
        "{}",
        report.body
    );
    assert!(
        report.elapsed < Duration::from_secs(5),
        "{:?}",
        report.elapsed
    );
    // Chat and app events all through the outage.
    let mut app_events = 0;
    let mut n = 0;
    let mut pace = tokio::time::interval(Duration::from_secs(2));
    while stopped.elapsed() < OUTAGE {
        pace.tick().await;
        sent.push(
            pair.api
                .send(
                    &pair.ann,
                    pair.chat,
                    &format!("while ClickHouse is down #{n}"),
                )
                .await,
        );
        let batch: Vec<_> = (0..5)
            .map(|_| client_event("chat_opened", "outage-session", json!({})))
            .collect();
        post_events(&analytics, Some(&pair.ann), &batch)
            .await
            .expect(202);
        app_events += batch.len() as u64;
        n += 1;
    }
    // Everyone else is unaffected: bob's app has them all.
    pair.bob_sees_exactly(&sent).await;
    prometheus_value(&prometheus, "sum(analytics_clickhouse_errors_total) > 0").await;
    prometheus_value(
        &prometheus,
        r#"sum(analytics_http_errors_total{status="503"}) > 0"#,
    )
    .await;
    assert_eq!(
        stored_dead_letters(&topology).await,
        0,
        "nothing is dead-lettered while ClickHouse is down"
    );

    topology.clickhouse.start().await;
    topology
        .wait_ready_status(Service::Analytics, 200, WAIT)
        .await;
    let messages = sent.len() as u64;
    wait_until("every message and app event stored once", WAIT, || async {
        topology
            .analytics_rows("event_type = 'message.created'")
            .await
            == (messages, messages)
            && topology.analytics_rows("event_type = 'chat_opened'").await
                == (app_events, app_events)
    })
    .await;
    assert_eq!(
        stored_dead_letters(&topology).await,
        0,
        "nothing dead-lettered"
    );
    let dead = scrape(&topology.metrics_url(Service::Analytics)).await;
    assert_eq!(
        value(&dead, "analytics_events_dead_lettered_total", &[]),
        Some(0.0)
    );
    e2e::alerts::wait_until_none_firing(&prometheus, "ClickHouseDown", WAIT).await;
}
