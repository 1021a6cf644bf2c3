//! NATS outages: the API keeps accepting changes, the outbox holds their events, and once NATS is
//! back every event reaches JetStream exactly once, in order.

use std::time::Duration;

use fechatter_events::EventKind;
use fechatter_events::payload::MessagePayload;
use test_support::{Nats, eventually, wait_until};

use crate::common::metrics::value;
use crate::common::{AppOptions, TestApp, WAIT};

#[tokio::test]
async fn with_nats_stopped_sends_succeed_and_every_event_arrives_once_in_order_after_it_returns() {
    let nats = Nats::dedicated().await;
    let app = TestApp::spawn_with(AppOptions {
        nats_url: Some(nats.url()),
        ..AppOptions::default()
    })
    .await;
    let ann = app.owner("ann", "Acme").await;
    let chat = app.chat(&ann, "group", Some("outage"), &[]).await;
    let before_outage = app.published_events().await.len();
    assert_eq!(before_outage, 2, "user.signed_up and chat.created");

    nats.stop().await;
    let mut sent = Vec::new();
    for n in 0..5 {
        sent.push(
            app.send(&ann, chat, &format!("sent while NATS is down #{n}"))
                .await,
        );
    }
    assert_eq!(app.count("SELECT count(*) FROM outbox").await, 5);
    wait_until(
        "the backlog gauges to show the waiting events",
        Duration::from_secs(10),
        || async {
            let scrape = app.scrape().await;
            value(&scrape, "fechatter_outbox_pending_events", &[]) == Some(5.0)
                && value(&scrape, "fechatter_outbox_oldest_pending_seconds", &[])
                    .is_some_and(|age| age > 0.0)
        },
    )
    .await;
    // `/health` answers from a report up to a second old, which may predate the stop: wait for
    // the NATS check itself to report the outage, then look at the whole report.
    let health = eventually("/health to show NATS down", WAIT, || async {
        let health = app.get(None, "/health").await;
        (health.body["checks"]["nats"]["status"] == "down").then_some(health)
    })
    .await;
    health.expect(200);
    assert_eq!(
        health.body["status"].as_str(),
        Some("degraded"),
        "{}",
        health.body
    );

    nats.start().await;
    let events = app.published_events().await;
    let after: Vec<_> = events[before_outage..].to_vec();
    assert!(
        after
            .iter()
            .all(|event| event.kind == EventKind::MessageCreated)
    );
    let delivered: Vec<i64> = after
        .iter()
        .map(|event| {
            event
                .payload::<MessagePayload>()
                .map(|message| message.id.0)
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(
        delivered, sent,
        "each event once, in the order of the sends"
    );
    let scrape = app.scrape().await;
    assert!(
        value(&scrape, "fechatter_events_publish_errors_total", &[])
            .is_some_and(|errors| errors > 0.0)
    );
    assert_eq!(
        value(
            &scrape,
            "fechatter_events_published_total",
            &[("event", "message.created")]
        ),
        Some(5.0)
    );
}
