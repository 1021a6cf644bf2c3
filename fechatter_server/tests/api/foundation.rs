//! The service's foundation: health endpoints with dependencies up, down and coming back, and a
//! metrics scrape that follows the contract.

use std::time::{Duration, Instant};

use serde_json::json;
use test_support::{Postgres, eventually, free_port, wait_until};

use crate::common::metrics::value;
use crate::common::{AppOptions, TestApp, WAIT};

async fn status(app: &TestApp, path: &str) -> u16 {
    app.get(None, path).await.status
}

#[tokio::test]
async fn with_its_dependencies_unreachable_the_service_is_live_but_not_ready_and_answers_503() {
    let app = TestApp::spawn_with(AppOptions {
        database_url: Some(format!(
            "postgres://postgres@127.0.0.1:{}/gone",
            free_port()
        )),
        nats_url: Some(format!("nats://127.0.0.1:{}", free_port())),
        skip_ready: true,
        ..AppOptions::default()
    })
    .await;
    assert_eq!(status(&app, "/live").await, 200);
    assert_eq!(status(&app, "/ready").await, 503);
    let health = app.get(None, "/health").await;
    health.expect(503);
    assert_eq!(health.body["status"], "unhealthy");
    assert_eq!(health.body["checks"]["postgres"]["status"], "down");
    assert!(
        health.body["checks"]["postgres"]["error"]
            .as_str()
            .is_some_and(|e| !e.is_empty())
    );
    assert!(
        !health.body.to_string().contains("postgres://"),
        "the error leaks the URL"
    );

    let started = Instant::now();
    let reply = app
        .post(
            None,
            "/api/signin",
            json!({"email": "ann@example.com", "password": "whatever1"}),
        )
        .await;
    reply.expect_error(503, "service_unavailable");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    let scrape = app.scrape().await;
    assert!(
        value(
            &scrape,
            "fechatter_db_errors_total",
            &[("operation", "users.find_credentials")]
        )
        .is_some_and(|n| n >= 1.0)
    );
}

#[tokio::test]
async fn with_its_dependencies_up_the_service_is_healthy() {
    let app = TestApp::spawn().await;
    app.wait_for_live_events().await;
    // `/ready` needs only Postgres: the NATS connection and its readers may still be coming up.
    let health = eventually("/health to answer healthy", WAIT, || async {
        let health = app.get(None, "/health").await;
        (health.body["status"] == "healthy").then_some(health)
    })
    .await;
    health.expect(200);
    assert_eq!(health.body["status"], "healthy", "{}", health.body);
    assert_eq!(health.body["checks"]["postgres"]["status"], "up");
    assert_eq!(health.body["checks"]["nats"]["status"], "up");
    assert_eq!(health.body["checks"]["websocket_events"]["status"], "up");
    assert_eq!(status(&app, "/ready").await, 200);
    assert_eq!(status(&app, "/live").await, 200);
}

#[tokio::test]
async fn a_stopped_postgres_makes_the_service_unready_until_it_returns_without_a_restart() {
    let postgres = Postgres::dedicated().await;
    let database = postgres.create_database().await;
    let app = TestApp::spawn_with(AppOptions {
        database_url: Some(database.url.clone()),
        ..AppOptions::default()
    })
    .await;
    let ann = app.owner("ann", "Acme").await;
    app.get(Some(&ann), "/api/chats").await.expect(200);
    let postgres_up = |up: f64| {
        let app = &app;
        async move {
            value(
                &app.scrape().await,
                "fechatter_health_check_status",
                &[("check", "postgres")],
            ) == Some(up)
        }
    };

    postgres.stop().await;
    wait_until("/ready to answer 503", WAIT, || async {
        status(&app, "/ready").await == 503
    })
    .await;
    wait_until("the postgres check gauge to read 0", WAIT, || {
        postgres_up(0.0)
    })
    .await;
    let started = Instant::now();
    app.get(Some(&ann), "/api/chats")
        .await
        .expect_error(503, "service_unavailable");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );

    postgres.start().await;
    wait_until("/ready to answer 200 again", WAIT, || async {
        status(&app, "/ready").await == 200
    })
    .await;
    wait_until("the postgres check gauge to read 1", WAIT, || {
        postgres_up(1.0)
    })
    .await;
    app.get(Some(&ann), "/api/chats").await.expect(200);
}

#[tokio::test]
async fn the_metrics_scrape_passes_the_contract_checker_with_route_templates() {
    let app = TestApp::spawn().await;
    let ann = app.owner("ann", "Acme").await;
    let chat = app.chat(&ann, "group", None, &[]).await;
    app.send(&ann, chat, "hello").await;
    app.get(Some(&ann), &format!("/api/chats/{chat}/messages"))
        .await
        .expect(200);
    app.get(Some(&ann), "/api/chats/123456/messages")
        .await
        .expect(404);
    app.get(None, "/no/such/path").await.expect(404);

    wait_until("the sampled gauges to be exported", WAIT, || async {
        value(&app.scrape().await, "fechatter_outbox_pending_events", &[]).is_some()
    })
    .await;
    // The checker scrapes this very process, whose runtime must keep serving meanwhile.
    let url = app.metrics_url.clone();
    tokio::task::spawn_blocking(move || {
        test_support::assert_metrics_conform(
            "fechatter",
            &url,
            &[
                "fechatter_http_requests_total",
                "fechatter_db_query_duration_seconds",
                "fechatter_cache_requests_total",
                "fechatter_messages_sent_total",
                "fechatter_events_published_total",
                "fechatter_outbox_pending_events",
                "fechatter_users_active",
                "fechatter_signups_total",
            ],
        )
    })
    .await
    .unwrap_or_else(|err| panic!("{err}"));

    let scrape = app.scrape().await;
    let route = |route: &str| {
        value(
            &scrape,
            "fechatter_http_requests_total",
            &[("route", route)],
        )
        .unwrap_or_default()
    };
    assert!(route("/api/chats/{id}/messages") >= 2.0, "{scrape}");
    assert!(route("unmatched") >= 1.0);
    assert!(
        !scrape.contains("route=\"/api/chats/123456"),
        "a raw path became a label"
    );
    assert!(scrape.contains("fechatter_http_request_duration_seconds_bucket{"));
    assert!(scrape.contains("fechatter_db_query_duration_seconds_bucket{"));
    assert!(value(&scrape, "fechatter_build_info", &[]) == Some(1.0));
    assert!(value(&scrape, "process_resident_memory_bytes", &[]).is_some_and(|bytes| bytes > 0.0));
}
