use fechatter_auth::{TokenSigner, WorkspaceRole};
use fechatter_events::payload::{RevocationReason, SessionRevoked};
use fechatter_events::{Envelope, UserId, WorkspaceId};
use reqwest::StatusCode;

use crate::support::{Producer, TestApp, WS};

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

    let (another_key, _) =
        fechatter_auth::generate_key_pair().unwrap_or_else(|err| panic!("{err}"));
    let foreign =
        TokenSigner::from_private_pem(&another_key, fechatter_auth::DEFAULT_ACCESS_TOKEN_TTL)
            .unwrap_or_else(|err| panic!("{err}"))
            .issue(
                UserId(1),
                WorkspaceId(1),
                WorkspaceRole::Member,
                uuid::Uuid::now_v7(),
                None,
            );
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

#[tokio::test]
async fn only_the_event_stream_takes_a_token_in_the_query_string() {
    let app = TestApp::ready(&[]).await;
    let token = app.token(4);
    assert_401(
        app.get(&format!("/online-users?access_token={token}"))
            .await,
        "unauthenticated",
    )
    .await;
}

#[tokio::test]
async fn a_revoked_sessions_token_is_refused_at_connect_while_the_users_other_sessions_connect() {
    let app = TestApp::ready(&[]).await;
    let producer = Producer::new(&app).await;
    let (phone, laptop) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    let revoked = Envelope::new(
        WS,
        None,
        Some(UserId(4)),
        vec![UserId(4)],
        &fechatter_events::Event::SessionRevoked(SessionRevoked {
            session_id: phone,
            user_id: UserId(4),
            reason: RevocationReason::SignedOut,
        }),
    )
    .unwrap_or_else(|err| panic!("{err}"));
    producer.publish_envelope(&revoked).await;
    let phone_token = app.token_of_session(4, WS, phone);
    test_support::wait_until(
        "the revoked session's token to be refused",
        crate::support::TIMEOUT,
        || async {
            app.http
                .get(app.url("/events"))
                .bearer_auth(&phone_token)
                .send()
                .await
                .is_ok_and(|response| response.status() == StatusCode::UNAUTHORIZED)
        },
    )
    .await;
    let refused = app
        .http
        .get(app.url(&format!("/events?access_token={phone_token}")))
        .send()
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    assert_401(refused, "session_revoked").await;
    let online = app
        .http
        .get(app.url("/online-users"))
        .bearer_auth(&phone_token)
        .send()
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    assert_401(online, "session_revoked").await;
    // The user's other session is unaffected.
    let mut client = app
        .open_with_token(&app.token_of_session(4, WS, laptop), None)
        .await;
    assert_eq!(client.next().await.event, "connected");
}
