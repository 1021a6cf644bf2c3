use fechatter_events::EventKind;
use reqwest::StatusCode;

use crate::support::{Producer, TIMEOUT, TestApp, sample, seq};

#[tokio::test]
async fn with_nats_unreachable_the_service_is_alive_but_neither_ready_nor_healthy() {
    let nowhere = format!("nats://127.0.0.1:{}", test_support::free_port());
    let app = TestApp::start(&nowhere, &[]).await;
    assert_eq!(app.get("/live").await.status(), StatusCode::OK);
    assert_eq!(
        app.get("/ready").await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    let health = app.get("/health").await;
    assert_eq!(health.status(), StatusCode::SERVICE_UNAVAILABLE);
    let report: serde_json::Value = health.json().await.unwrap_or_default();
    assert_eq!(report["status"], "unhealthy");
    assert_eq!(report["checks"]["nats"]["status"], "down");
    assert_eq!(report["checks"]["nats"]["critical"], true);
    assert!(report["checks"]["nats"]["error"].is_string(), "{report}");
    assert_eq!(report["checks"]["nats_consumer"]["status"], "down");
    assert_eq!(
        app.metric("notify_nats_subscription_active").await,
        Some(0.0)
    );
}

#[tokio::test]
async fn with_nats_up_the_service_is_healthy_and_ready() {
    let app = TestApp::ready(&[]).await;
    let health = app.get("/health").await;
    assert_eq!(health.status(), StatusCode::OK);
    let report: serde_json::Value = health.json().await.unwrap_or_default();
    assert_eq!(report["service"], "notify_server");
    assert_eq!(report["status"], "healthy", "{report}");
    assert_eq!(report["checks"]["nats"]["status"], "up");
    assert_eq!(report["checks"]["nats_consumer"]["status"], "up");
}

#[tokio::test]
async fn an_unknown_path_gets_a_json_404_counted_under_the_unmatched_route() {
    let app = TestApp::ready(&[]).await;
    let response = app.get("/no/such/thing/42").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    assert_eq!(body["code"], "not_found");
    let page = app.scrape().await;
    let series = r#"notify_http_requests_total{method="GET",route="unmatched",status="404"}"#;
    assert_eq!(sample(&page, series), Some(1.0), "{page}");
    assert!(
        !page.contains("/no/such/thing"),
        "raw paths never become labels"
    );
}

#[tokio::test]
async fn the_metrics_page_passes_the_contract_check_after_real_traffic() {
    let app = TestApp::ready(&[]).await;
    let producer = Producer::new(&app).await;
    let mut client = app.connect(1).await;
    let sent = producer.publish(EventKind::MessageCreated, 1, &[1]).await;
    assert_eq!(seq(&client.next_domain().await), sent);
    let online = app
        .http
        .get(app.url("/online-users"))
        .bearer_auth(app.token(1))
        .send()
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(online.status(), StatusCode::OK);
    drop(client);
    app.wait_for_metric("notify_sse_connections_active", 0.0)
        .await;

    let url = format!("http://{}/metrics", app.metrics);
    let required = [
        "notify_sse_connections_active",
        "notify_sse_connections_opened_total",
        "notify_sse_connections_closed_total",
        "notify_sse_connection_duration_seconds",
        "notify_nats_messages_received_total",
        "notify_nats_message_processing_duration_seconds",
        "notify_nats_subscription_active",
        "notify_events_broadcast_total",
        "notify_events_delivered_total",
        "notify_event_delivery_lag_seconds",
        "notify_users_online",
        "notify_online_users_query_duration_seconds",
        "notify_http_requests_total",
        "notify_health_check_status",
        "notify_build_info",
    ];
    tokio::task::spawn_blocking(move || {
        test_support::assert_metrics_conform("notify", &url, &required);
    })
    .await
    .unwrap_or_else(|err| panic!("check-metrics: {err}"));
}

#[tokio::test]
async fn shutting_down_ends_open_sse_streams_so_the_server_stops() {
    let mut app = TestApp::ready(&[]).await;
    let mut client = app.connect(1).await;
    assert!(
        app.shut_down().await,
        "the server stopped within {TIMEOUT:?}"
    );
    client.closed().await;
}

#[tokio::test]
async fn an_event_notify_cannot_route_is_skipped_counted_and_later_events_still_flow() {
    let app = TestApp::ready(&[]).await;
    let producer = Producer::new(&app).await;
    let mut client = app.connect(1).await;
    producer
        .publish_raw(
            EventKind::MessageCreated,
            "not-an-envelope",
            b"{\"oops\":true}".to_vec(),
        )
        .await;
    let good = producer.publish(EventKind::MessageCreated, 1, &[1]).await;
    assert_eq!(seq(&client.next_domain().await), good);
    assert_eq!(
        app.metric("notify_nats_errors_total{reason=\"malformed\"}")
            .await,
        Some(1.0)
    );
}

#[tokio::test]
async fn an_idle_stream_gets_keep_alive_comments() {
    let app = TestApp::ready(&[]).await;
    let mut response = app
        .http
        .get(app.url("/events"))
        .bearer_auth(app.token(1))
        .send()
        .await
        .unwrap_or_else(|err| panic!("GET /events: {err}"));
    let mut text = String::new();
    let read = tokio::time::timeout(TIMEOUT, async {
        while !text.contains("\n: keep-alive\n") {
            match response.chunk().await {
                Ok(Some(chunk)) => text.push_str(&String::from_utf8_lossy(&chunk)),
                other => panic!("the stream ended ({other:?}); got {text:?}"),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "no keep-alive comment within {TIMEOUT:?}");
}

#[tokio::test]
async fn a_stream_ends_when_its_access_token_expires() {
    let app = TestApp::ready(&[]).await;
    let short_lived = crate::support::signer(std::time::Duration::from_secs(1)).issue(
        fechatter_events::UserId(1),
        crate::support::WS,
        fechatter_auth::WorkspaceRole::Member,
        uuid::Uuid::now_v7(),
        None,
    );
    let mut client = app.open_with_token(&short_lived, None).await;
    client.closed().await;
    app.wait_for_metric(
        "notify_sse_connections_closed_total{reason=\"token_expired\"}",
        1.0,
    )
    .await;
}
