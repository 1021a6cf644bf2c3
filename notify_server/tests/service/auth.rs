use fechatter_auth::TokenKeys;
use fechatter_events::{UserId, WorkspaceId};
use reqwest::StatusCode;
use secrecy::SecretString;

use crate::support::TestApp;

async fn assert_401(response: reqwest::Response, code: &str) {
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(
        response
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("Bearer")),
        "a Bearer challenge"
    );
    let body: serde_json::Value = response
        .json()
        .await
        .unwrap_or_else(|err| panic!("a JSON body: {err}"));
    assert_eq!(body["code"], code, "{body}");
    assert!(body["message"].is_string());
}

#[tokio::test]
async fn requests_without_a_valid_token_get_a_401_json_envelope() {
    let app = TestApp::ready(&[]).await;
    assert_401(app.get("/events").await, "unauthenticated").await;
    assert_401(app.get("/online-users").await, "unauthenticated").await;

    let garbage = app
        .http
        .get(app.url("/events"))
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    assert_401(garbage, "invalid_token").await;

    let foreign = TokenKeys::new(
        &SecretString::from("a-different-secret-also-32-bytes-long".to_owned()),
        fechatter_auth::DEFAULT_ACCESS_TOKEN_TTL,
    )
    .issue(UserId(1), WorkspaceId(1), uuid::Uuid::now_v7());
    let forged = app
        .http
        .get(app.url(&format!("/events?access_token={foreign}")))
        .send()
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    assert_401(forged, "invalid_token").await;
}

#[tokio::test]
async fn an_eventsource_client_may_pass_its_token_in_the_query_string() {
    let app = TestApp::ready(&[]).await;
    let response = app
        .http
        .get(app.url(&format!("/events?access_token={}", app.token(4))))
        .send()
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(response.status(), StatusCode::OK);
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(header("content-type"), "text/event-stream");
    assert_eq!(header("cache-control"), "no-cache");
    assert_eq!(header("x-accel-buffering"), "no");
    let online: serde_json::Value = app
        .http
        .get(app.url("/online-users"))
        .bearer_auth(app.token(5))
        .send()
        .await
        .unwrap_or_else(|err| panic!("{err}"))
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(online["user_ids"], serde_json::json!([4]));
    drop(response);
}
