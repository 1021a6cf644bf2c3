//! `GET /api/ws` on the push core shared with notify_server: a cursor with every event and a
//! resume from it, resyncs, the per-user cap, session revocation, events published twice, and two
//! instances side by side.

use fechatter_events::payload::{RevocationReason, SessionRevoked};
use fechatter_events::{Envelope, EventKind, UserId, WorkspaceId};
use serde_json::{Value, json};

use crate::common::metrics::value;
use crate::common::{AppOptions, PASSWORD, TestApp, TestUser, WAIT};

/// The stream sequence of a cursor `epoch:sequence`.
fn seq(cursor: &str) -> u64 {
    cursor
        .split_once(':')
        .and_then(|(_, seq)| seq.parse().ok())
        .unwrap_or_else(|| panic!("{cursor:?} is not a cursor"))
}

fn is_message(id: i64) -> impl Fn(&Value) -> bool {
    move |event| event["kind"] == "message.created" && event["data"]["id"] == id
}

/// The `sid` of a user's access token.
fn session_of(token: &str) -> uuid::Uuid {
    fechatter_auth::TokenVerifier::from_public_pem(&crate::common::token_keys().1)
        .unwrap_or_else(|err| panic!("the test's public key: {err}"))
        .verify(token)
        .unwrap_or_else(|err| panic!("the test's own token: {err}"))
        .sid
}

/// Signs `user` in again: another session, another token.
async fn another_session(app: &TestApp, user: &TestUser) -> TestUser {
    let reply = app
        .post(
            None,
            "/api/signin",
            json!({"email": user.email, "password": PASSWORD}),
        )
        .await;
    reply.expect(200);
    TestUser {
        token: reply.body["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        ..user.clone()
    }
}

impl TestApp {
    async fn publish(&self, envelope: &Envelope, message_id: &str) {
        let client = async_nats::connect(&self.nats_url)
            .await
            .unwrap_or_else(|err| panic!("connect to NATS: {err}"));
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", message_id);
        async_nats::jetstream::new(client)
            .publish_with_headers(
                self.bus.subject(envelope.kind),
                headers,
                envelope.to_json().unwrap_or_default().into(),
            )
            .await
            .unwrap_or_else(|err| panic!("publish: {err}"))
            .await
            .unwrap_or_else(|err| panic!("JetStream ack: {err}"));
    }
}

#[tokio::test]
async fn every_pushed_event_carries_a_cursor_and_a_socket_resumes_from_it_exactly() {
    let app = TestApp::spawn().await;
    let ann = app.owner("ann", "Acme").await;
    let bob = app.member(&ann, "bob").await;
    let chat = app.chat(&ann, "group", Some("g"), &[&bob]).await;
    let mut socket = app.ws(&bob).await;
    let connected = socket
        .frame("connected", |f| f["type"] == "connected")
        .await;
    assert!(connected["cursor"].is_string(), "{connected}");
    let first = app.send(&ann, chat, "one").await;
    let seen = socket.events_until(is_message(first)).await;
    let cursor = seen
        .last()
        .map(|(_, cursor)| cursor.clone())
        .unwrap_or_default();
    assert!(seq(&cursor) > seq(connected["cursor"].as_str().unwrap_or("0:0")));
    drop(socket);

    let missed: Vec<i64> = [
        app.send(&ann, chat, "two").await,
        app.send(&ann, chat, "three").await,
    ]
    .into();
    let mut resumed = app.ws_resuming(&bob, &cursor).await;
    let replayed = resumed.events_until(is_message(missed[1])).await;
    let kinds: Vec<&str> = replayed.iter().map(|(kind, _)| kind.as_str()).collect();
    assert_eq!(kinds, ["message.created", "message.created"]);
    assert!(replayed.windows(2).all(|w| seq(&w[0].1) < seq(&w[1].1)));
    resumed
        .frame("connected", |f| f["type"] == "connected")
        .await;
    let live = app.send(&ann, chat, "four").await;
    let after = resumed.events_until(is_message(live)).await;
    assert_eq!(after.len(), 1, "nothing replayed twice: {after:?}");
    let metrics = app.scrape().await;
    assert_eq!(
        value(
            &metrics,
            "fechatter_websocket_replays_total",
            &[("outcome", "recovered")]
        ),
        Some(1.0)
    );
    assert!(
        value(
            &metrics,
            "fechatter_websocket_event_delivery_lag_seconds_count",
            &[("event", "message.created")]
        ) >= Some(2.0)
    );
}

#[tokio::test]
async fn a_cursor_of_another_stream_or_a_bare_sequence_gets_one_resync_then_live_events() {
    let app = TestApp::spawn().await;
    let ann = app.owner("ann", "Acme").await;
    let chat = app.chat(&ann, "group", Some("g"), &[]).await;
    for cursor in ["7", "1:1"] {
        let mut socket = app.ws_resuming(&ann, cursor).await;
        let resync = socket
            .frame("a resync", |f| {
                f["type"] == "resync" || f["type"] == "connected"
            })
            .await;
        assert_eq!(
            (&resync["type"], &resync["reason"]),
            (&json!("resync"), &json!("epoch"))
        );
        assert!(
            resync["cursor"].is_string(),
            "the client moves to the stream's head"
        );
        let live = app.send(&ann, chat, cursor).await;
        socket.events_until(is_message(live)).await;
    }
}

#[tokio::test]
async fn a_user_holds_twenty_sockets_and_the_twenty_first_gets_a_counted_429() {
    let app = TestApp::spawn().await;
    let ann = app.owner("ann", "Acme").await;
    let bob = app.member(&ann, "bob").await;
    let mut sockets = Vec::new();
    for _ in 0..20 {
        sockets.push(app.ws(&ann).await);
    }
    let (status, body) = app.ws_refused(&ann.token).await;
    assert_eq!(
        (status, &body["code"]),
        (429, &json!("too_many_connections")),
        "{body}"
    );
    assert_eq!(
        value(
            &app.scrape().await,
            "fechatter_websocket_connections_refused_total",
            &[("reason", "too_many_connections")]
        ),
        Some(1.0)
    );
    let _bob = app.ws(&bob).await;
    if let Some(mut socket) = sockets.pop() {
        socket.close().await;
    }
    test_support::wait_until("room for another socket", WAIT, || async {
        value(
            &app.scrape().await,
            "fechatter_websocket_connections_active",
            &[],
        ) == Some(20.0)
    })
    .await;
    let _again = app.ws(&ann).await;
}

#[tokio::test]
async fn a_revoked_session_s_sockets_close_with_4001_while_the_user_s_other_sessions_stay() {
    let app = TestApp::spawn().await;
    let ann = app.owner("ann", "Acme").await;
    let bob = app.member(&ann, "bob").await;
    let chat = app.chat(&ann, "group", Some("g"), &[&bob]).await;
    let bob_elsewhere = another_session(&app, &bob).await;
    let mut phone = app.ws(&bob).await;
    let mut laptop = app.ws(&bob_elsewhere).await;
    let mut anns = app.ws(&ann).await;
    for socket in [&mut phone, &mut laptop, &mut anns] {
        socket
            .frame("connected", |f| f["type"] == "connected")
            .await;
    }

    // As fechatter_server's outbox publishes it on sign-out (not this test's concern here).
    let revoked = Envelope::new(
        WorkspaceId(bob.workspace_id),
        None,
        Some(UserId(bob.id)),
        vec![UserId(bob.id)],
        &fechatter_events::Event::SessionRevoked(SessionRevoked {
            session_id: session_of(&bob.token),
            user_id: UserId(bob.id),
            reason: RevocationReason::SignedOut,
        }),
    )
    .unwrap_or_else(|err| panic!("{err}"));
    app.publish(&revoked, &revoked.id.to_string()).await;
    assert_eq!(
        phone.closed().await,
        Some((4001, "session revoked".to_owned()))
    );
    let told = laptop.event("session.revoked").await;
    assert_eq!(
        told["data"]["session_id"],
        session_of(&bob.token).to_string()
    );
    let message = app.send(&ann, chat, "still here").await;
    laptop.events_until(is_message(message)).await;
    anns.events_until(is_message(message)).await;
}

#[tokio::test]
async fn an_event_published_again_under_a_new_sequence_reaches_a_socket_once() {
    let app = TestApp::spawn().await;
    let ann = app.owner("ann", "Acme").await;
    let chat = app.chat(&ann, "group", Some("g"), &[]).await;
    let mut socket = app.ws(&ann).await;
    let first = app.send(&ann, chat, "once").await;
    socket.events_until(is_message(first)).await;
    let events = app.published_events().await;
    let original = events
        .iter()
        .find(|event| event.kind == EventKind::MessageCreated && event.data["id"] == first)
        .unwrap_or_else(|| panic!("the message's event"));
    // Re-published after JetStream's de-duplication window: another message id, same event id.
    app.publish(original, "a-later-retry").await;
    let marker = app.send(&ann, chat, "marker").await;
    let after = socket.events_until(is_message(marker)).await;
    assert_eq!(after.len(), 1, "{after:?}");
    assert_eq!(
        value(
            &app.scrape().await,
            "fechatter_websocket_log_errors_total",
            &[("reason", "duplicate")]
        ),
        Some(1.0)
    );
}

#[tokio::test]
async fn sockets_on_two_instances_get_every_event_and_a_cursor_of_one_resumes_on_the_other() {
    let first = TestApp::spawn().await;
    let second = TestApp::spawn_with(AppOptions {
        database_url: Some(first.database_url.clone()),
        bus: Some(first.bus.clone()),
        ..AppOptions::default()
    })
    .await;
    let ann = first.owner("ann", "Acme").await;
    let bob = first.member(&ann, "bob").await;
    let chat = first.chat(&ann, "group", Some("g"), &[&bob]).await;
    let mut on_first = first.ws(&bob).await;
    let mut on_second = second.ws(&bob).await;
    let sent = second.send(&ann, chat, "hello").await;
    let a = on_first.events_until(is_message(sent)).await;
    let b = on_second.events_until(is_message(sent)).await;
    assert_eq!(
        a.last(),
        b.last(),
        "the same event at the same cursor on both"
    );
    let cursor = a.last().map(|(_, c)| c.clone()).unwrap_or_default();
    drop(on_first);
    let missed = first.send(&ann, chat, "while away").await;
    let mut resumed = second.ws_resuming(&bob, &cursor).await;
    let replayed = resumed.events_until(is_message(missed)).await;
    assert_eq!(replayed.len(), 1, "{replayed:?}");
}
