//! `GET /api/ws`: commands with acks, events pushed to their recipients only, typing signals,
//! bad frames, and slow clients.

use std::time::Duration;

use fechatter_events::payload::Typing;
use fechatter_events::{EphemeralKind, EventKind};
use futures::StreamExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::common::events::only;
use crate::common::metrics::value;
use crate::common::{AppOptions, TestApp, WAIT};

async fn active_sockets(app: &TestApp) -> f64 {
    value(
        &app.scrape().await,
        "fechatter_websocket_connections_active",
        &[],
    )
    .unwrap_or(f64::NAN)
}

async fn wait_for_sockets(app: &TestApp, expected: f64) {
    test_support::wait_until(&format!("{expected} open sockets"), WAIT, || async {
        active_sockets(app).await == expected
    })
    .await;
}

#[tokio::test]
async fn a_message_sent_over_the_socket_is_stored_published_and_pushed_to_members_only() {
    let app = TestApp::spawn().await;
    let ann = app.owner("ann", "Acme").await;
    let bob = app.member(&ann, "bob").await;
    let cat = app.member(&ann, "cat").await;
    let chat = app.chat(&ann, "group", Some("launch"), &[&bob]).await;
    let cats_own = app.chat(&cat, "group", Some("cat's"), &[]).await;
    let mut ann_ws = app.ws(&ann).await;
    let mut bob_ws = app.ws_with_query_token(&bob).await;
    let mut cat_ws = app.ws(&cat).await;
    wait_for_sockets(&app, 3.0).await;
    let mut seen = app.published_events().await.len();

    let send = json!({"id": "r1", "type": "send_message", "chat_id": chat,
                      "content": "hello @bob", "idempotency_key": "k-1"});
    ann_ws.send_json(send.clone()).await;
    let ack = ann_ws.reply("r1").await;
    assert_eq!(ack["type"], "ack", "{ack}");
    assert_eq!(ack["result"]["replayed"], false);
    let message = ack["result"]["message"].clone();
    assert_eq!(message["content"], "hello @bob");
    assert_eq!(message["mentions"], json!([bob.id]));
    let message_id = message["id"].as_i64().unwrap_or_default();

    // Stored (seen over HTTP) and published to JetStream for the chat's members.
    let listed = app
        .get(Some(&bob), &format!("/api/chats/{chat}/messages"))
        .await;
    assert_eq!(listed.item_ids("id"), vec![message_id]);
    let event = only(
        &app.new_events(&mut seen).await,
        EventKind::MessageCreated,
        &[ann.id, bob.id],
    );
    assert_eq!(event.data["id"], message_id);

    // Pushed to both members' sockets.
    for socket in [&mut ann_ws, &mut bob_ws] {
        let pushed = socket.event("message.created").await;
        assert_eq!(pushed["id"], event.id.to_string());
        assert_eq!(pushed["data"]["id"], message_id);
        assert!(
            pushed.get("recipients").is_none(),
            "routing metadata is not pushed: {pushed}"
        );
    }
    // Cat is not a member: the next thing his socket gets is his own read marker, not the message.
    let cats_message = app.send(&cat, cats_own, "note to self").await;
    cat_ws
        .send_json(json!({"id": "c1", "type": "mark_read", "chat_id": cats_own, "message_id": cats_message}))
        .await;
    let read = cat_ws.reply("c1").await;
    assert_eq!(read["result"]["last_read_message_id"], cats_message);
    let pushed = cat_ws.event("chat.read").await;
    assert_eq!(pushed["data"]["chat_id"], cats_own);
    let cat_saw: Vec<Value> = cat_ws.unread().iter().cloned().collect();
    assert!(
        cat_saw
            .iter()
            .all(|frame| frame["event"]["data"]["id"] != message_id),
        "a non-member got the message: {cat_saw:?}"
    );

    // The same idempotency key is a replay, over the socket as over HTTP.
    ann_ws
        .send_json(json!({"id": "r2", "type": "send_message", "chat_id": chat,
                            "content": "hello @bob", "idempotency_key": "k-1"}))
        .await;
    let replay = ann_ws.reply("r2").await;
    assert_eq!(replay["result"]["replayed"], true);
    assert_eq!(replay["result"]["message"]["id"], message_id);
    assert_eq!(
        app.count("SELECT count(*) FROM messages WHERE content = 'hello @bob'")
            .await,
        1
    );

    // The same rules as HTTP: a chat the sender is not in does not exist.
    cat_ws
        .send_json(json!({"id": "c2", "type": "send_message", "chat_id": chat, "content": "hi"}))
        .await;
    let refused = cat_ws.reply("c2").await;
    assert_eq!(refused["type"], "error");
    assert_eq!(refused["status"], 404);
    assert_eq!(refused["error"]["code"], "not_found");

    let metrics = app.scrape().await;
    assert!(
        value(
            &metrics,
            "fechatter_websocket_messages_total",
            &[("direction", "in")]
        ) >= Some(4.0)
    );
    assert!(
        value(
            &metrics,
            "fechatter_websocket_messages_total",
            &[("direction", "out")]
        ) >= Some(7.0)
    );
}

#[tokio::test]
async fn typing_is_published_for_the_other_members_only_and_throttled() {
    let app = TestApp::spawn_with(AppOptions {
        env: vec![("TYPING_THROTTLE_MS", "60000".to_owned())],
        ..AppOptions::default()
    })
    .await;
    let ann = app.owner("ann", "Acme").await;
    let bob = app.member(&ann, "bob").await;
    let cat = app.member(&ann, "cat").await;
    let chat = app.chat(&ann, "group", Some("launch"), &[&bob]).await;
    let nats = async_nats::connect(&app.nats_url)
        .await
        .unwrap_or_else(|err| panic!("nats: {err}"));
    let mut signals = nats
        .subscribe(app.bus.ephemeral_subject(EphemeralKind::Typing))
        .await
        .unwrap_or_else(|err| panic!("subscribe: {err}"));
    nats.flush()
        .await
        .unwrap_or_else(|err| panic!("flush: {err}"));
    let mut ann_ws = app.ws(&ann).await;
    let mut cat_ws = app.ws(&cat).await;

    ann_ws
        .send_json(json!({"id": "t1", "type": "typing", "chat_id": chat}))
        .await;
    assert_eq!(
        ann_ws.reply("t1").await["result"],
        json!({"published": true})
    );
    let signal = tokio::time::timeout(WAIT, signals.next())
        .await
        .unwrap_or_else(|_| panic!("no typing signal"))
        .unwrap_or_else(|| panic!("subscription ended"));
    let typing: Typing = serde_json::from_slice(&signal.payload)
        .unwrap_or_else(|err| panic!("typing payload: {err}"));
    assert_eq!((typing.chat_id.0, typing.user_id.0), (chat, ann.id));
    assert_eq!(
        typing
            .recipients
            .iter()
            .map(|user| user.0)
            .collect::<Vec<_>>(),
        vec![bob.id]
    );

    // Within the throttle interval a second signal is dropped; a non-member gets 404.
    ann_ws
        .send_json(json!({"id": "t2", "type": "typing", "chat_id": chat}))
        .await;
    assert_eq!(
        ann_ws.reply("t2").await["result"],
        json!({"published": false})
    );
    cat_ws
        .send_json(json!({"id": "t3", "type": "typing", "chat_id": chat}))
        .await;
    assert_eq!(cat_ws.reply("t3").await["error"]["code"], "not_found");
    // Nothing else was published: the next signal is one sent now, by bob.
    let mut bob_ws = app.ws(&bob).await;
    bob_ws
        .send_json(json!({"id": "b1", "type": "typing", "chat_id": chat}))
        .await;
    assert_eq!(
        bob_ws.reply("b1").await["result"],
        json!({"published": true})
    );
    let next = tokio::time::timeout(WAIT, signals.next())
        .await
        .ok()
        .flatten()
        .and_then(|message| serde_json::from_slice::<Typing>(&message.payload).ok());
    assert_eq!(next.map(|typing| typing.user_id.0), Some(bob.id));
}

#[tokio::test]
async fn bad_frames_get_an_error_frame_and_the_socket_stays_usable() {
    let app = TestApp::spawn_with(AppOptions {
        env: vec![("WS_MAX_MESSAGE_BYTES", "2048".to_owned())],
        ..AppOptions::default()
    })
    .await;
    let ann = app.owner("ann", "Acme").await;
    let chat = app.chat(&ann, "group", Some("launch"), &[]).await;
    let message = app.send(&ann, chat, "first").await;
    let mut ws = app.ws(&ann).await;

    ws.send(Message::text("not json")).await;
    let error = ws.frame("an error", |frame| frame["type"] == "error").await;
    assert_eq!(
        (error["status"].as_u64(), error["error"]["code"].as_str()),
        (Some(400), Some("malformed_frame"))
    );
    assert_eq!(error["id"], Value::Null);
    ws.send(Message::binary(vec![1, 2, 3])).await;
    let error = ws.frame("an error", |frame| frame["type"] == "error").await;
    assert_eq!(error["error"]["code"], "unsupported_frame");
    ws.send_json(json!({"id": "x1", "type": "explode"})).await;
    assert_eq!(ws.reply("x1").await["error"]["code"], "invalid_command");
    ws.send_json(json!({"id": "x2", "type": "mark_read", "chat_id": chat, "message_id": "five"}))
        .await;
    assert_eq!(ws.reply("x2").await["error"]["code"], "invalid_command");
    ws.send_json(
        json!({"id": "x0", "type": "send_message", "chat_id": chat, "content": "a\u{0}b"}),
    )
    .await;
    assert_eq!(ws.reply("x0").await["error"]["code"], "invalid_command");
    ws.send_json(json!({"id": "x3", "type": "send_message", "chat_id": chat, "content": "  "}))
        .await;
    let empty = ws.reply("x3").await;
    assert_eq!(
        (empty["status"].as_u64(), empty["error"]["code"].as_str()),
        (Some(422), Some("empty_content"))
    );
    ws.send_json(json!({"id": "x4", "type": "send_message", "chat_id": chat, "content": "a", "idempotency_key": ""}))
        .await;
    assert_eq!(
        ws.reply("x4").await["error"]["code"],
        "invalid_idempotency_key"
    );
    ws.send_json(
        json!({"id": "x5", "type": "mark_read", "chat_id": 987654321, "message_id": message}),
    )
    .await;
    assert_eq!(ws.reply("x5").await["status"], 404);

    // Still usable.
    ws.send_json(json!({"id": "ok", "type": "mark_read", "chat_id": chat, "message_id": message}))
        .await;
    let ack = ws.reply("ok").await;
    assert_eq!(ack["type"], "ack");
    assert_eq!(ack["result"]["last_read_message_id"], message);

    // A frame over the size limit ends the socket.
    ws.send(Message::text("x".repeat(4096))).await;
    ws.closed().await;
    wait_for_sockets(&app, 0.0).await;
}

#[tokio::test]
async fn the_socket_needs_a_valid_token_and_an_upgrade_request() {
    let app = TestApp::spawn().await;
    let ann = app.owner("ann", "Acme").await;
    app.get(None, "/api/ws")
        .await
        .expect_error(401, "unauthenticated");
    app.get(None, "/api/ws?access_token=garbage")
        .await
        .expect_error(401, "invalid_token");
    app.get(Some(&ann), "/api/ws")
        .await
        .expect_error(400, "websocket_upgrade_required");
    let request = app
        .ws_url()
        .into_client_request()
        .unwrap_or_else(|err| panic!("{err}"));
    match tokio_tungstenite::connect_async(request).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 401);
        }
        other => panic!("expected a 401 before the upgrade, got {other:?}"),
    }

    // Signing out ends the socket: at its next command (1008), unless the sign-out's
    // `session.revoked` reaches the socket first (4001); either way it never outlives the session.
    let mut ws = app.ws(&ann).await;
    app.post(Some(&ann), "/api/signout", json!({}))
        .await
        .expect(204);
    ws.send_json(json!({"id": "t", "type": "typing", "chat_id": 1}))
        .await;
    let close = ws.closed().await.map(|(code, _)| code);
    assert!(matches!(close, Some(1008 | 4001)), "closed with {close:?}");
}

#[tokio::test]
async fn a_client_that_never_reads_is_cut_off_and_the_gauge_returns_to_where_it_was() {
    let app = TestApp::spawn_with(AppOptions {
        env: vec![
            ("WS_BUFFER", "4".to_owned()),
            ("WS_WRITE_TIMEOUT_MS", "2000".to_owned()),
            // Keep-alive must not be what ends the socket here.
            ("WS_PING_INTERVAL_MS", "600000".to_owned()),
            ("MAX_MESSAGE_CHARS", "100000".to_owned()),
            ("MAX_BODY_BYTES", "1048576".to_owned()),
            ("RATE_LIMIT_SEND_PER_MINUTE", "100000".to_owned()),
        ],
        ..AppOptions::default()
    })
    .await;
    let ann = app.owner("ann", "Acme").await;
    let bob = app.member(&ann, "bob").await;
    let chat = app.chat(&ann, "group", Some("firehose"), &[&bob]).await;
    let before = active_sockets(&app).await;

    // Bob's client connects with a small receive buffer and then never reads.
    app.wait_for_live_events().await;
    let address = app.base.trim_start_matches("http://").to_owned();
    let socket = tokio::net::TcpSocket::new_v4().unwrap_or_else(|err| panic!("{err}"));
    socket
        .set_recv_buffer_size(4096)
        .unwrap_or_else(|err| panic!("{err}"));
    let tcp = socket
        .connect(address.parse().unwrap_or_else(|err| panic!("{err}")))
        .await
        .unwrap_or_else(|err| panic!("connect: {err}"));
    let url = format!("{}?access_token={}", app.ws_url(), bob.token);
    let (_never_read, _) = tokio_tungstenite::client_async(url, tcp)
        .await
        .unwrap_or_else(|err| panic!("handshake: {err}"));
    wait_for_sockets(&app, before + 1.0).await;

    // Ann's big messages fill the socket's buffers (12 MB, three times what Linux lets a socket
    // buffer); the server cuts bob off instead of queueing more for him.
    let content = "x".repeat(100_000);
    for _ in 0..120 {
        if active_sockets(&app).await == before {
            break;
        }
        app.send(&ann, chat, &content).await;
    }
    test_support::wait_until(
        "the unread socket to be cut off",
        Duration::from_secs(60),
        || async { active_sockets(&app).await == before },
    )
    .await;
    assert_eq!(active_sockets(&app).await, before);
}

#[tokio::test]
async fn a_silent_client_is_dropped_by_the_keep_alive_while_one_that_reads_stays() {
    let app = TestApp::spawn_with(AppOptions {
        env: vec![("WS_PING_INTERVAL_MS", "200".to_owned())],
        ..AppOptions::default()
    })
    .await;
    let ann = app.owner("ann", "Acme").await;
    let bob = app.member(&ann, "bob").await;
    let chat = app.chat(&ann, "group", Some("g"), &[&bob]).await;
    let message = app.send(&ann, chat, "hi").await;
    let mut reading = app.ws(&ann).await;
    let request = format!("{}?access_token={}", app.ws_url(), bob.token)
        .into_client_request()
        .unwrap_or_else(|err| panic!("{err}"));
    // Bob's client never polls its socket, so it never answers a ping.
    let (_silent, _) = tokio_tungstenite::connect_async(request)
        .await
        .unwrap_or_else(|err| panic!("handshake: {err}"));
    wait_for_sockets(&app, 2.0).await;

    // Several ping intervals pass: bob's socket is dropped, ann's (answering pings) is not.
    reading.read_until(wait_for_sockets(&app, 1.0)).await;
    reading
        .send_json(json!({"id": "r", "type": "mark_read", "chat_id": chat, "message_id": message}))
        .await;
    assert_eq!(reading.reply("r").await["type"], "ack");

    // A close from the client is answered, and the socket is gone.
    let answer = reading.close().await;
    assert_eq!(answer.map(|(code, _)| code), Some(1000));
    wait_for_sockets(&app, 0.0).await;
}

#[tokio::test]
async fn on_shutdown_open_sockets_are_closed_as_going_away() {
    let app = TestApp::spawn().await;
    let ann = app.owner("ann", "Acme").await;
    let mut ws = app.ws(&ann).await;
    wait_for_sockets(&app, 1.0).await;
    app.shut_down();
    assert_eq!(ws.closed().await.map(|(code, _)| code), Some(1001));
}

#[tokio::test]
async fn a_socket_ends_when_its_access_token_expires() {
    let app = TestApp::spawn_with(AppOptions {
        env: vec![("ACCESS_TOKEN_TTL_SECONDS", "1".to_owned())],
        ..AppOptions::default()
    })
    .await;
    let ann = app.owner("ann", "Acme").await;
    let mut ws = app.ws(&ann).await;
    let close = ws.closed().await;
    assert_eq!(close, Some((1008, "the access token expired".to_owned())));
    wait_for_sockets(&app, 0.0).await;
}
