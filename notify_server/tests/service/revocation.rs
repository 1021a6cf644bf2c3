//! Session revocation and the per-user cap: the push core closes a revoked session's streams and
//! refuses its tokens; a user holds at most so many streams.

use fechatter_events::EventKind;
use reqwest::StatusCode;
use uuid::Uuid;

use crate::support::{Producer, TestApp, WS, seq};

async fn assert_refused(response: reqwest::Response, status: StatusCode, code: &str) {
    assert_eq!(response.status(), status);
    let body: serde_json::Value = response
        .json()
        .await
        .unwrap_or_else(|err| panic!("a JSON body: {err}"));
    assert_eq!(body["code"], code, "{body}");
    assert!(body["message"].is_string(), "{body}");
}

#[tokio::test]
async fn a_revoked_session_loses_its_streams_and_is_refused_while_the_users_other_sessions_go_on() {
    let app = TestApp::ready(&[]).await;
    let producer = Producer::new(&app).await;
    let (phone, laptop) = (Uuid::now_v7(), Uuid::now_v7());
    let mut on_phone = app
        .connect_with_token(&app.token_of_session(1, WS, phone))
        .await;
    let mut on_laptop = app
        .connect_with_token(&app.token_of_session(1, WS, laptop))
        .await;
    let mut someone_else = app.connect(2).await;

    let revoked = producer.revoke(1, phone).await;
    on_phone.closed().await;
    app.wait_for_metric(
        "notify_sse_connections_closed_total{reason=\"session_revoked\"}",
        1.0,
    )
    .await;
    // The user's other session hears of it (its client may show "signed out elsewhere").
    let told = on_laptop.next_domain().await;
    assert_eq!(
        (told.event.as_str(), seq(&told)),
        ("session.revoked", revoked)
    );

    assert_refused(
        app.request_events(&app.token_of_session(1, WS, phone))
            .await,
        StatusCode::UNAUTHORIZED,
        "session_revoked",
    )
    .await;
    assert_eq!(
        app.metric("notify_sse_connections_refused_total{reason=\"session_revoked\"}")
            .await,
        Some(1.0)
    );
    let after = producer
        .publish(EventKind::MessageCreated, 1, &[1, 2])
        .await;
    assert_eq!(seq(&on_laptop.next_domain().await), after);
    assert_eq!(seq(&someone_else.next_domain().await), after);
}

#[tokio::test]
async fn an_instance_started_after_a_revocation_knows_of_it_before_it_is_ready() {
    let first = TestApp::ready(&[]).await;
    let producer = Producer::new(&first).await;
    let session = Uuid::now_v7();
    producer.revoke(1, session).await;
    first.wait_read(1).await;

    let later = first.sibling(&[]).await;
    assert_refused(
        later
            .request_events(&later.token_of_session(1, WS, session))
            .await,
        StatusCode::UNAUTHORIZED,
        "session_revoked",
    )
    .await;
    let _fine = later.connect(1).await;
}

#[tokio::test]
async fn a_user_gets_twenty_streams_and_the_twenty_first_is_refused_with_a_counted_429() {
    let app = TestApp::ready(&[]).await;
    let mut streams = Vec::new();
    for _ in 0..20 {
        streams.push(app.connect(1).await);
    }
    assert_refused(
        app.request_events(&app.token(1)).await,
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_connections",
    )
    .await;
    assert_eq!(
        app.metric("notify_sse_connections_refused_total{reason=\"too_many_connections\"}")
            .await,
        Some(1.0)
    );
    // Someone else is not affected, and a closed stream makes room again.
    let _other = app.connect(2).await;
    drop(streams.pop());
    app.wait_for_metric("notify_sse_connections_active", 20.0)
        .await;
    let _again = app.connect(1).await;
}
