use fechatter_events::EventKind;
use reqwest::StatusCode;
use test_support::Nats;

use crate::support::{Producer, TIMEOUT, TestApp, seq};

const CHAT: i64 = 600;

#[tokio::test]
async fn while_nats_is_down_notify_is_not_ready_and_after_it_returns_delivery_resumes() {
    let nats = Nats::dedicated().await;
    let app = TestApp::start(&nats.url(), &[]).await;
    app.wait_ready().await;
    app.wait_for_metric("notify_nats_subscription_active", 1.0)
        .await;
    let mut client = app.connect(1).await;
    let producer = Producer::new(&app).await;
    let before = producer
        .publish(EventKind::MessageCreated, CHAT, &[1])
        .await;
    assert_eq!(seq(&client.next_domain().await), before);

    nats.stop().await;
    test_support::wait_until("/ready to answer 503", TIMEOUT, || async {
        app.get("/ready").await.status() == StatusCode::SERVICE_UNAVAILABLE
    })
    .await;
    app.wait_for_metric("notify_nats_subscription_active", 0.0)
        .await;
    let health = app.get("/health").await;
    assert_eq!(health.status(), StatusCode::SERVICE_UNAVAILABLE);
    let report: serde_json::Value = health.json().await.unwrap_or_default();
    assert_eq!(report["checks"]["nats"]["status"], "down", "{report}");

    nats.start().await;
    app.wait_ready().await;
    app.wait_for_metric("notify_nats_subscription_active", 1.0)
        .await;

    // The producer's own client reconnects too; publish once it has.
    let producer = Producer::new(&app).await;
    let mut after = Vec::new();
    for _ in 0..3 {
        after.push(
            producer
                .publish(EventKind::MessageCreated, CHAT, &[1])
                .await,
        );
    }
    let mut received = Vec::new();
    for _ in 0..3 {
        received.push(seq(&client.next_domain().await));
    }
    assert_eq!(
        received, after,
        "the same SSE connection gets what was sent after the outage"
    );
}
