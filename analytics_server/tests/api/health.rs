//! The foundation: health endpoints, the metrics contract, unknown routes.

use chrono::Utc;
use reqwest::StatusCode;
use serde_json::json;
use test_support::{free_port, wait_until};

use crate::support::{TestApp, WAIT, event};

#[tokio::test]
async fn with_its_dependencies_unreachable_the_service_is_live_but_neither_ready_nor_healthy() {
    let clickhouse = format!("http://127.0.0.1:{}", free_port());
    let nats = format!("nats://127.0.0.1:{}", free_port());
    let app = TestApp::start(&clickhouse, "fechatter_analytics", &nats, &[]).await;
    assert_eq!(app.status("/live").await, StatusCode::OK);
    assert_eq!(app.status("/ready").await, StatusCode::SERVICE_UNAVAILABLE);
    let (status, body) = app.get("/health", None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["status"], "unhealthy");
    let clickhouse_check = &body["checks"]["clickhouse"];
    assert_eq!(
        (
            clickhouse_check["status"].as_str(),
            clickhouse_check["critical"].as_bool()
        ),
        (Some("down"), Some(true))
    );
    assert!(
        clickhouse_check["error"]
            .as_str()
            .is_some_and(|e| !e.is_empty()),
        "{body}"
    );
    assert_eq!(
        (
            body["checks"]["nats"]["status"].as_str(),
            body["checks"]["nats"]["critical"].as_bool()
        ),
        (Some("down"), Some(true))
    );
    wait_until("analytics_clickhouse_up to read 0", WAIT, || async {
        app.scrape()
            .await
            .lines()
            .any(|line| line == "analytics_clickhouse_up 0")
    })
    .await;
    // An event cannot be stored without NATS: refused at once, for the client to retry.
    let (status, body) = app
        .post(
            "/api/event",
            &event("app_start", "s", Utc::now()),
            Some(&app.token(1, 1)),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("service_unavailable"))
    );
}

#[tokio::test]
async fn with_real_dependencies_the_service_is_ready_and_healthy() {
    let app = TestApp::ready(&[]).await;
    wait_until("/health to report healthy", WAIT, || async {
        app.get("/health", None).await.1["status"] == "healthy"
    })
    .await;
    let (status, body) = app.get("/health", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["checks"]["clickhouse"]["status"], "up");
    assert_eq!(body["checks"]["nats"]["status"], "up");
    assert_eq!(app.status("/live").await, StatusCode::OK);
    assert_eq!(app.metric("analytics_clickhouse_up", &[]).await, 1.0);
}

#[tokio::test]
async fn an_unknown_path_is_a_json_404_labelled_unmatched() {
    let app = TestApp::ready(&[]).await;
    let (status, body) = app.get("/api/nowhere/42", None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let scrape = app.scrape().await;
    assert!(scrape.contains("route=\"unmatched\""), "{scrape}");
    assert!(!scrape.contains("/api/nowhere"));
}

#[tokio::test]
async fn the_metrics_endpoint_passes_the_contract_check() {
    let app = TestApp::ready(&[]).await;
    let token = app.token(1, 1);
    let events =
        json!({ "events": [event("app_start", "s", Utc::now()), event("nope", "s", Utc::now())] });
    let (status, _) = app.post("/api/events", &events, Some(&token)).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    app.wait_for_number("the event to be stored", "SELECT count() FROM events", 1)
        .await;
    let (status, _) = app.get("/api/reports/sessions", Some(&token)).await;
    assert_eq!(status, StatusCode::OK);
    let _ = app.get("/nowhere", None).await;

    // The checker blocks while it scrapes this very runtime's service, hence its own thread.
    let url = app.metrics.clone();
    let checked = tokio::task::spawn_blocking(move || {
        test_support::assert_metrics_conform("analytics", &url, REQUIRED)
    })
    .await;
    if let Err(failure) = checked {
        std::panic::resume_unwind(failure.into_panic());
    }
}

const REQUIRED: &[&str] = &[
    "analytics_http_requests_total",
    "analytics_events_ingested_total",
    "analytics_ingest_batch_events",
    "analytics_event_validation_errors_total",
    "analytics_event_processing_duration_seconds",
    "analytics_clickhouse_insert_duration_seconds",
    "analytics_clickhouse_query_duration_seconds",
    "analytics_clickhouse_rows_inserted_total",
    "analytics_clickhouse_up",
    "analytics_buffer_pending_events",
    "analytics_nats_subscription_active",
    "analytics_sessions_active",
    "analytics_query_duration_seconds",
    "analytics_query_result_rows",
    "analytics_health_check_status",
];
