//! The web client (served by fechatter_server, another origin) posts its events from the browser:
//! an allowed origin may send `Authorization` and JSON, another origin may not.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{TestApp, event};

const APP: &str = "http://chat.example.test:6688";

fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase()
}

#[tokio::test]
async fn an_allowed_origin_may_post_client_events_with_a_token_and_another_may_not() {
    let app = TestApp::ready(&[("ANALYTICS_CORS_ORIGINS", APP)]).await;
    let url = format!("{}/api/events", app.api);
    let preflight = |origin: &'static str| {
        app.http
            .request(reqwest::Method::OPTIONS, &url)
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header(
                "Access-Control-Request-Headers",
                "authorization,content-type",
            )
            .send()
    };
    let allowed = preflight(APP).await.expect("a preflight answer");
    assert!(allowed.status().is_success(), "{}", allowed.status());
    assert_eq!(header(&allowed, "access-control-allow-origin"), APP);
    assert!(header(&allowed, "access-control-allow-methods").contains("post"));
    let headers = header(&allowed, "access-control-allow-headers");
    assert!(
        headers.contains("authorization") && headers.contains("content-type"),
        "{headers}"
    );
    let other = preflight("http://elsewhere.example.test")
        .await
        .expect("a preflight answer");
    assert_eq!(header(&other, "access-control-allow-origin"), "");

    let batch = json!({"events": [event("app_start", "browser-session", chrono::Utc::now())]});
    let posted = app
        .http
        .post(&url)
        .bearer_auth(app.token(3, 1))
        .header("Origin", APP)
        .json(&batch)
        .send()
        .await
        .expect("an answer");
    assert_eq!(posted.status(), StatusCode::ACCEPTED);
    assert_eq!(header(&posted, "access-control-allow-origin"), APP);
    // A browser reads Retry-After on a 503 only if it is exposed.
    assert!(header(&posted, "access-control-expose-headers").contains("retry-after"));
}
