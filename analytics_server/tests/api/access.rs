//! Who may write and read analytics: signed-in users only (public-key tokens, revoked sessions
//! refused), at a bounded rate per user and per address; per-chat figures for owners and admins
//! only; a client's event ids never shadow another workspace's or a domain event.

use chrono::Utc;
use fechatter_auth::WorkspaceRole;
use fechatter_events::payload::{RevocationReason, SessionRevoked};
use fechatter_events::{Envelope, EventKind, UserId, WorkspaceId};
use reqwest::StatusCode;
use serde_json::json;
use test_support::wait_until;
use uuid::Uuid;

use crate::support::{TestApp, WAIT, event};

#[tokio::test]
async fn ingest_refuses_strangers_and_a_token_in_the_query_string() {
    let app = TestApp::ready(&[]).await;
    let batch = json!({"events": [event("app_start", "s", Utc::now())]});
    let (status, body) = app.post("/api/events", &batch, None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthenticated"))
    );
    let token = app.token(1, 1);
    let (status, _) = app
        .post(&format!("/api/events?access_token={token}"), &batch, None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app
        .get(&format!("/api/reports/messages?access_token={token}"), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_revoked_sessions_token_is_refused_by_ingest_and_reports() {
    let app = TestApp::ready(&[]).await;
    let (revoked, other) = (Uuid::now_v7(), Uuid::now_v7());
    let client = async_nats::connect(&app.nats_url).await.expect("NATS");
    let jetstream = async_nats::jetstream::new(client);
    app.bus.ensure_stream(&jetstream).await.expect("the stream");
    let envelope = Envelope::new(
        WorkspaceId(1),
        None,
        Some(UserId(5)),
        vec![UserId(5)],
        &fechatter_events::Event::SessionRevoked(SessionRevoked {
            session_id: revoked,
            user_id: UserId(5),
            reason: RevocationReason::SignedOut,
        }),
    )
    .expect("an envelope");
    jetstream
        .publish(
            app.bus.subject(EventKind::SessionRevoked),
            envelope.to_json().expect("json").into(),
        )
        .await
        .expect("publish")
        .await
        .expect("ack");
    let signed_out = app.token_with(5, 1, WorkspaceRole::Member, revoked);
    let batch = json!({"events": [event("app_start", "s", Utc::now())]});
    // Waited for on a report, which spends no rate-limit token: every ingest request accepted
    // before the revocation is followed would spend one of user 5's, and a slow follower would
    // leave none for the other session below (429 instead of 202).
    wait_until("the revoked session to be refused", WAIT, || async {
        app.get("/api/reports/active-users", Some(&signed_out))
            .await
            .0
            == StatusCode::UNAUTHORIZED
    })
    .await;
    let (status, body) = app.post("/api/events", &batch, Some(&signed_out)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["code"], "session_revoked", "{body}");
    let (status, body) = app
        .get("/api/reports/active-users", Some(&signed_out))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "session_revoked", "{body}");
    // The same user's other session carries on.
    let still_in = app.token_with(5, 1, WorkspaceRole::Member, other);
    let (status, body) = app.post("/api/events", &batch, Some(&still_in)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
}

#[tokio::test]
async fn ingest_is_limited_per_user_and_per_address_and_refusals_are_counted() {
    let app = TestApp::ready(&[
        ("ANALYTICS_RATE_LIMIT_PER_USER_PER_MINUTE", "2"),
        ("ANALYTICS_RATE_LIMIT_PER_ADDRESS_PER_MINUTE", "4"),
    ])
    .await;
    let batch = || json!({"events": [event("app_start", "s", Utc::now())]});
    let ann = app.token(1, 1);
    for _ in 0..2 {
        let (status, body) = app.post("/api/events", &batch(), Some(&ann)).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    }
    let (status, body) = app.post("/api/events", &batch(), Some(&ann)).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited"))
    );
    assert!(
        body["retry_after_ms"].as_u64().is_some_and(|ms| ms > 0),
        "{body}"
    );
    // Other users at the same address share its bucket: four requests in all, three spent.
    let (status, _) = app
        .post("/api/events", &batch(), Some(&app.token(2, 1)))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, _) = app
        .post("/api/events", &batch(), Some(&app.token(3, 1)))
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        app.metric("analytics_rate_limited_total", &[("scope", "user")])
            .await,
        1.0
    );
    assert_eq!(
        app.metric("analytics_rate_limited_total", &[("scope", "address")])
            .await,
        1.0
    );
}

#[tokio::test]
async fn per_chat_figures_are_for_the_workspaces_owner_and_admins_only() {
    let app = TestApp::ready(&[]).await;
    let session = Uuid::now_v7();
    let member = app.token_with(1, 1, WorkspaceRole::Member, session);
    let (status, body) = app.get("/api/reports/top-chats", Some(&member)).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    for role in [WorkspaceRole::Admin, WorkspaceRole::Owner] {
        let token = app.token_with(1, 1, role, session);
        let (status, body) = app.get("/api/reports/top-chats", Some(&token)).await;
        assert_eq!(status, StatusCode::OK, "{role:?}: {body}");
    }
    // Workspace-wide totals stay open to every member.
    let (status, _) = app.get("/api/reports/messages", Some(&member)).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn an_event_id_is_deduplicated_within_its_workspace_only() {
    let app = TestApp::ready(&[]).await;
    let shared = event("app_start", "s", Utc::now());
    for (user, workspace) in [(1, 1), (2, 2)] {
        let (status, body) = app
            .post(
                "/api/events",
                &json!({"events": [shared.clone()]}),
                Some(&app.token(user, workspace)),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        assert_eq!(body["duplicates"], 0, "workspace {workspace}: {body}");
    }
    // A retry in the same workspace is still a duplicate. The service knows an id once its
    // consumer has taken the event from the client-event stream into the buffer, after the 202:
    // the retry waits until workspace 1's copy is stored, which it is only after that.
    app.wait_for_number(
        "workspace 1's copy to be stored",
        "SELECT count() FROM events WHERE workspace_id = 1",
        1,
    )
    .await;
    let (_, body) = app
        .post(
            "/api/events",
            &json!({"events": [shared.clone()]}),
            Some(&app.token(1, 1)),
        )
        .await;
    assert_eq!(body["duplicates"], 1, "{body}");
    app.wait_for_number(
        "each workspace's copy to be stored",
        "SELECT count() FROM events",
        2,
    )
    .await;
}
