use reqwest::StatusCode;
use serde_json::Value;

use crate::support::TestApp;

#[tokio::test]
async fn a_full_server_refuses_new_streams_with_a_counted_503_until_one_leaves() {
    let app = TestApp::ready(&[("NOTIFY_SSE_MAX_CONNECTIONS", "2")]).await;
    let first = app.connect(1).await;
    let _second = app.connect(2).await;

    let refused = app
        .http
        .get(app.url("/events"))
        .bearer_auth(app.token(3))
        .send()
        .await
        .unwrap_or_else(|err| panic!("GET /events: {err}"));
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        refused
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("5")
    );
    let body: Value = refused.json().await.unwrap_or_default();
    assert_eq!(body["code"], "over_capacity", "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| m.contains('2')),
        "{body}"
    );

    let page = app.scrape().await;
    let errors = page.lines().find(|line| {
        line.starts_with("notify_http_errors_total{") && line.contains("status=\"503\"")
    });
    assert!(
        errors.is_some_and(|line| line.contains("route=\"/events\"") && line.ends_with(" 1")),
        "{errors:?}"
    );
    // The refused user never came online.
    let online: Value = app
        .http
        .get(app.url("/online-users"))
        .bearer_auth(app.token(1))
        .send()
        .await
        .unwrap_or_else(|err| panic!("GET /online-users: {err}"))
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(online["user_ids"], serde_json::json!([1, 2]), "{online}");

    drop(first);
    app.wait_for_metric("notify_sse_connections_active", 1.0)
        .await;
    let _third = app.connect(3).await;
}
