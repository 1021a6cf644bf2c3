//! Webhooks: incoming ones post as their integration until revoked, rate limited per webhook;
//! outgoing ones deliver the chat's events, signed, to a local receiver, retried with backoff and
//! logged; only the chat's owner and admins manage them (403), non-members find nothing (404); URLs
//! are bounded and private addresses refused unless allowed.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use fechatter_events::EventKind;
use hmac::{Hmac, Mac};
use http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::sync::mpsc;

use crate::common::events::only;
use crate::common::metrics::value;
use crate::common::{AppOptions, TestApp, WAIT};

/// One request the receiver got.
struct Received {
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Received {
    fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|err| panic!("delivery body: {err}"))
    }
}

#[derive(Clone)]
struct Receiver {
    /// Statuses to answer, in order; 200 once they run out.
    script: Arc<Mutex<VecDeque<u16>>>,
    seen: mpsc::UnboundedSender<Received>,
}

async fn receive(State(receiver): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let status = receiver
        .script
        .lock()
        .ok()
        .and_then(|mut script| script.pop_front())
        .unwrap_or(200);
    let _ = receiver.seen.send(Received {
        headers,
        body: body.to_vec(),
    });
    StatusCode::from_u16(status).unwrap_or(StatusCode::OK)
}

/// A local HTTP receiver answering `script` first; its URL and what it receives.
async fn receiver(script: &[u16]) -> (String, mpsc::UnboundedReceiver<Received>) {
    let (seen, received) = mpsc::unbounded_channel();
    let state = Receiver {
        script: Arc::new(Mutex::new(script.iter().copied().collect())),
        seen,
    };
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|err| panic!("binding the receiver: {err}"));
    let address = listener
        .local_addr()
        .unwrap_or_else(|err| panic!("receiver address: {err}"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{address}/hook"), received)
}

async fn next(received: &mut mpsc::UnboundedReceiver<Received>, what: &str) -> Received {
    tokio::time::timeout(WAIT, received.recv())
        .await
        .unwrap_or_else(|_| panic!("no delivery of {what} within {WAIT:?}"))
        .unwrap_or_else(|| panic!("the receiver stopped"))
}

fn signature(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap_or_else(|err| panic!("{err}"));
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn options(extra: &[(&'static str, &str)]) -> AppOptions {
    let mut env: Vec<(&'static str, String)> = vec![
        ("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", "true".to_owned()),
        ("WEBHOOK_POLL_INTERVAL_MS", "50".to_owned()),
        ("WEBHOOK_RETRY_BASE_MS", "100".to_owned()),
        ("WEBHOOK_MAX_ATTEMPTS", "3".to_owned()),
        ("WEBHOOK_TIMEOUT_MS", "2000".to_owned()),
    ];
    env.extend(extra.iter().map(|(key, value)| (*key, (*value).to_owned())));
    AppOptions {
        env,
        ..AppOptions::default()
    }
}

#[tokio::test]
async fn incoming_webhooks_post_as_their_integration_until_revoked_and_only_admins_manage_them() {
    let app = TestApp::spawn_with(options(&[
        ("RATE_LIMIT_WEBHOOK_PER_MINUTE", "3"),
        ("MAX_WEBHOOKS_PER_CHAT", "2"),
    ]))
    .await;
    let ann = app.owner("ann", "Acme").await;
    let bob = app.member(&ann, "bob").await;
    let eve = app.member(&ann, "eve").await;
    let chat = app.chat(&ann, "group", Some("builds"), &[&bob]).await;
    let hooks = format!("/api/chats/{chat}/webhooks/incoming");
    let mut seen = app.published_events().await.len();

    // Only the owner and admins manage webhooks; outsiders find no chat.
    app.post(Some(&bob), &hooks, json!({"name": "CI"}))
        .await
        .expect_error(403, "forbidden");
    app.post(Some(&eve), &hooks, json!({"name": "CI"}))
        .await
        .expect_error(404, "not_found");
    app.get(Some(&bob), &hooks)
        .await
        .expect_error(403, "forbidden");
    app.post(Some(&ann), &hooks, json!({"name": "  "}))
        .await
        .expect_error(422, "invalid_name");
    let created = app.post(Some(&ann), &hooks, json!({"name": "CI"})).await;
    created.expect(201);
    let token = created.body["token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let webhook = created.id();
    assert_eq!(created.body["path"], format!("/api/hooks/{token}"));
    // Only the token's hash is stored, and the list never shows the token.
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM incoming_webhooks
             WHERE token_hash = sha256(convert_to('{token}', 'UTF8'))"
        ))
        .await,
        1
    );
    let listed = app.get(Some(&ann), &hooks).await;
    assert_eq!(listed.body["items"][0]["name"], "CI");
    assert!(listed.body["items"][0].get("token").is_none());

    // The integration posts without an access token: the message is Ann's, named after CI.
    let hook = format!("/api/hooks/{token}");
    let posted = app
        .post(None, &hook, json!({"content": "build 512 passed"}))
        .await;
    posted.expect(201);
    let message = posted.body["message_id"].as_i64().unwrap_or_default();
    let event = only(
        &app.new_events(&mut seen).await,
        EventKind::MessageCreated,
        &[ann.id, bob.id],
    );
    assert_eq!(event.data["content"], "build 512 passed");
    let messages = app
        .get(Some(&bob), &format!("/api/chats/{chat}/messages"))
        .await;
    assert_eq!(messages.body["items"][0]["id"], message);
    assert_eq!(messages.body["items"][0]["integration"], "CI");
    assert_eq!(messages.body["items"][0]["sender_id"], ann.id);

    // Bad input changes nothing (yet counts against the webhook's limit of three a minute).
    app.post(None, &hook, json!({"content": " "}))
        .await
        .expect_error(422, "empty_content");
    app.post(None, "/api/hooks/not-a-token", json!({"content": "hi"}))
        .await
        .expect_error(404, "not_found");
    app.post(None, &hook, json!({"content": "build 513 passed"}))
        .await
        .expect(201);
    app.post(None, &hook, json!({"content": "build 514 passed"}))
        .await
        .expect_error(429, "rate_limited");
    app.new_events(&mut seen).await;

    // At most two webhooks per chat here.
    app.post(Some(&ann), &hooks, json!({"name": "Deploys"}))
        .await
        .expect(201);
    app.post(Some(&ann), &hooks, json!({"name": "Alerts"}))
        .await
        .expect_error(422, "too_many_webhooks");

    // Revoked: the token posts nothing, and only the owner or an admin revokes.
    let one = format!("{hooks}/{webhook}");
    app.delete(Some(&bob), &one)
        .await
        .expect_error(403, "forbidden");
    app.delete(Some(&eve), &one)
        .await
        .expect_error(404, "not_found");
    app.delete(Some(&ann), &one).await.expect(204);
    app.delete(Some(&ann), &one)
        .await
        .expect_error(404, "not_found");
    app.post(None, &hook, json!({"content": "after revocation"}))
        .await
        .expect_error(404, "not_found");
    assert!(app.new_events(&mut seen).await.is_empty());
    let scraped = app.scrape().await;
    assert_eq!(
        value(&scraped, "fechatter_webhook_incoming_messages_total", &[]),
        Some(2.0)
    );
}

#[tokio::test]
async fn outgoing_webhooks_deliver_signed_events_retry_with_backoff_and_log_every_attempt() {
    let app = TestApp::spawn_with(options(&[])).await;
    let ann = app.owner("ann", "Acme").await;
    let bob = app.member(&ann, "bob").await;
    let eve = app.member(&ann, "eve").await;
    let chat = app.chat(&ann, "group", Some("ops"), &[&bob]).await;
    let elsewhere = app.chat(&ann, "group", Some("elsewhere"), &[]).await;
    let (url, mut received) = receiver(&[503]).await;
    let hooks = format!("/api/chats/{chat}/webhooks/outgoing");

    app.post(Some(&bob), &hooks, json!({"url": url}))
        .await
        .expect_error(403, "forbidden");
    app.post(Some(&eve), &hooks, json!({"url": url}))
        .await
        .expect_error(404, "not_found");
    let created = app.post(Some(&ann), &hooks, json!({"url": url})).await;
    created.expect(201);
    let webhook = created.id();
    let secret = created.body["secret"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(secret.len() >= 32);
    assert!(
        app.get(Some(&ann), &hooks).await.body["items"][0]
            .get("secret")
            .is_none()
    );

    // The first attempt gets a 503, the retry a 200: the same event, signed each time.
    let first = app.send(&ann, chat, "deploying now").await;
    let refused = next(&mut received, "the first message").await;
    let retried = next(&mut received, "the retry").await;
    for delivery in [&refused, &retried] {
        let body = delivery.json();
        assert_eq!(body["kind"], "message.created");
        assert_eq!(body["data"]["id"], first);
        assert!(
            body.get("recipients").is_none(),
            "recipients leaked: {body}"
        );
        assert_eq!(delivery.header("fechatter-event-kind"), "message.created");
        assert_eq!(
            delivery.header("fechatter-event-id"),
            body["id"].as_str().unwrap_or_default()
        );
        let timestamp = delivery.header("fechatter-timestamp");
        assert_eq!(
            delivery.header("fechatter-signature"),
            signature(&secret, &timestamp, &delivery.body)
        );
        assert_ne!(
            delivery.header("fechatter-signature"),
            signature("another secret", &timestamp, &delivery.body)
        );
    }
    assert_eq!(
        refused.header("fechatter-event-id"),
        retried.header("fechatter-event-id")
    );

    // Read markers stay private and other chats' events stay home: the next delivery is the
    // next message of this chat.
    app.post(
        Some(&bob),
        &format!("/api/chats/{chat}/read"),
        json!({"message_id": first}),
    )
    .await
    .expect(200);
    app.send(&ann, elsewhere, "not for the hook").await;
    let second = app.send(&bob, chat, "done").await;
    let delivered = next(&mut received, "the second message").await.json();
    assert_eq!(
        (delivered["kind"].clone(), delivered["data"]["id"].clone()),
        (json!("message.created"), json!(second))
    );

    // The log: newest first, every attempt counted; admins only.
    let log = format!("{hooks}/{webhook}/deliveries");
    test_support::wait_until(
        "both deliveries to be logged as delivered",
        WAIT,
        || async {
            let page = app.get(Some(&ann), &log).await;
            page.body["items"].as_array().is_some_and(|items| {
                items.len() == 2 && items.iter().all(|d| d["status"] == "delivered")
            })
        },
    )
    .await;
    let page = app.get(Some(&ann), &log).await;
    assert_eq!(page.body["items"][1]["attempts"], 2);
    assert_eq!(page.body["items"][1]["last_status"], 200);
    assert_eq!(page.body["items"][0]["attempts"], 1);
    app.get(Some(&bob), &log)
        .await
        .expect_error(403, "forbidden");
    app.get(Some(&eve), &log)
        .await
        .expect_error(404, "not_found");
    app.get(Some(&ann), &format!("{hooks}/987654/deliveries"))
        .await
        .expect_error(404, "not_found");

    // A receiver that never answers: three attempts with backoff, then failed, and logged why.
    let dead_port = test_support::free_port();
    let dead = app
        .post(
            Some(&ann),
            &hooks,
            json!({"url": format!("http://127.0.0.1:{dead_port}/hook")}),
        )
        .await;
    dead.expect(201);
    let dead_log = format!("{hooks}/{}/deliveries", dead.id());
    app.send(&ann, chat, "anyone there?").await;
    next(&mut received, "the third message").await;
    test_support::wait_until("the dead receiver's delivery to fail", WAIT, || async {
        app.get(Some(&ann), &dead_log).await.body["items"][0]["status"] == "failed"
    })
    .await;
    let failed = app.get(Some(&ann), &dead_log).await;
    assert_eq!(failed.body["items"][0]["attempts"], 3);
    assert_eq!(failed.body["items"][0]["last_error"], "could not connect");
    let scraped = app.scrape().await;
    let count = |result: &str| {
        value(
            &scraped,
            "fechatter_webhook_deliveries_total",
            &[("result", result)],
        )
        .unwrap_or_default()
    };
    assert_eq!(
        (count("delivered"), count("retry"), count("failed")),
        (3.0, 3.0, 1.0)
    );

    // Revoked: nothing more is delivered (the receiver hears the next chat's message only).
    app.delete(Some(&ann), &format!("{hooks}/{webhook}"))
        .await
        .expect(204);
    app.send(&ann, chat, "after revocation").await;
    let other = app
        .post(
            Some(&ann),
            &format!("/api/chats/{elsewhere}/webhooks/outgoing"),
            json!({"url": url}),
        )
        .await;
    other.expect(201);
    let last = app.send(&ann, elsewhere, "to the other hook").await;
    let heard = next(&mut received, "the other chat's message").await.json();
    assert_eq!(
        heard["data"]["id"], last,
        "a revoked webhook was delivered to"
    );
}

#[tokio::test]
async fn outgoing_urls_are_bounded_and_private_addresses_are_refused_by_default() {
    let app = TestApp::spawn().await;
    let ann = app.owner("ann", "Acme").await;
    let chat = app.chat(&ann, "group", Some("ops"), &[]).await;
    let hooks = format!("/api/chats/{chat}/webhooks/outgoing");
    let long = format!("https://example.com/{}", "a".repeat(2100));
    for (url, code) in [
        ("http://127.0.0.1:8080/hook", "webhook_url_not_allowed"),
        ("http://localhost/hook", "webhook_url_not_allowed"),
        (
            "http://169.254.169.254/latest/meta-data",
            "webhook_url_not_allowed",
        ),
        ("http://[::1]/hook", "webhook_url_not_allowed"),
        ("http://10.0.0.8/hook", "webhook_url_not_allowed"),
        ("ftp://example.com/hook", "invalid_webhook_url"),
        ("not a url", "invalid_webhook_url"),
        (
            "https://user:secret@example.com/hook",
            "invalid_webhook_url",
        ),
        (long.as_str(), "invalid_webhook_url"),
    ] {
        let reply = app.post(Some(&ann), &hooks, json!({"url": url})).await;
        assert_eq!(
            (reply.status, reply.body["code"].as_str()),
            (422, Some(code)),
            "{url}: {}",
            reply.body
        );
    }
    app.post(
        Some(&ann),
        &hooks,
        json!({"address": "https://example.com"}),
    )
    .await
    .expect(422);
    assert_eq!(app.count("SELECT count(*) FROM outgoing_webhooks").await, 0);
}

#[tokio::test]
async fn revoking_an_outgoing_webhook_ends_its_waiting_deliveries_and_the_pending_gauge_follows() {
    let app = TestApp::spawn_with(options(&[
        ("WEBHOOK_RETRY_BASE_MS", "600000"),
        ("WEBHOOK_RETRY_MAX_MS", "600000"),
    ]))
    .await;
    let ann = app.owner("ann", "Acme").await;
    let chat = app.chat(&ann, "group", Some("ops"), &[]).await;
    let (url, mut received) = receiver(&[503]).await;
    let hooks = format!("/api/chats/{chat}/webhooks/outgoing");
    let created = app.post(Some(&ann), &hooks, json!({"url": url})).await;
    created.expect(201);
    let log = format!("{hooks}/{}/deliveries", created.id());
    app.send(&ann, chat, "deploying").await;
    next(&mut received, "the message").await;
    // Refused once, the next attempt is ten minutes away: the delivery waits.
    test_support::wait_until("the refusal to be logged", WAIT, || async {
        app.get(Some(&ann), &log).await.body["items"][0]["attempts"] == 1
    })
    .await;
    let waiting = app.get(Some(&ann), &log).await;
    assert_eq!(waiting.body["items"][0]["status"], "pending");
    assert_eq!(waiting.body["items"][0]["last_status"], 503);
    assert!(waiting.body["items"][0]["next_attempt_at"].is_string());
    test_support::wait_until("the pending gauge to show it", WAIT, || async {
        value(
            &app.scrape().await,
            "fechatter_webhook_deliveries_pending",
            &[],
        ) == Some(1.0)
    })
    .await;

    app.delete(Some(&ann), &format!("{hooks}/{}", created.id()))
        .await
        .expect(204);
    let ended = app.get(Some(&ann), &log).await;
    assert_eq!(ended.body["items"][0]["status"], "failed");
    assert_eq!(
        ended.body["items"][0]["last_error"],
        "the webhook was revoked"
    );
    assert!(ended.body["items"][0]["next_attempt_at"].is_null());
    test_support::wait_until("the pending gauge to drop", WAIT, || async {
        value(
            &app.scrape().await,
            "fechatter_webhook_deliveries_pending",
            &[],
        ) == Some(0.0)
    })
    .await;
}
