//! Rate limits: per client IP on the sign-in routes, per user on sending (HTTP and WebSocket
//! together) and uploading; the request after the burst gets 429 with `Retry-After`.

use serde_json::json;

use crate::common::files::png;
use crate::common::http::Reply;
use crate::common::metrics::value;
use crate::common::{AppOptions, PASSWORD, TestApp};

fn limited(metrics: &str, route: &str) -> f64 {
    value(metrics, "fechatter_rate_limited_total", &[("route", route)]).unwrap_or(f64::NAN)
}

#[track_caller]
fn assert_rate_limited(reply: &Reply) {
    reply.expect_error(429, "rate_limited");
    let retry_after: u64 = reply
        .headers
        .get("retry-after")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("no Retry-After: {:?}", reply.headers));
    let retry_after_ms = reply.body["retry_after_ms"].as_u64().unwrap_or_default();
    assert!(retry_after_ms > 0, "{}", reply.body);
    assert_eq!(retry_after, retry_after_ms.div_ceil(1000));
}

#[tokio::test]
async fn the_request_after_the_limit_gets_429_with_retry_after_and_is_counted_per_route() {
    let app = TestApp::spawn_with(AppOptions {
        env: vec![
            ("RATE_LIMIT_AUTH_PER_MINUTE", "3".to_owned()),
            ("RATE_LIMIT_SEND_PER_MINUTE", "3".to_owned()),
            ("RATE_LIMIT_UPLOAD_PER_MINUTE", "1".to_owned()),
            ("RATE_LIMIT_SEARCH_PER_MINUTE", "1".to_owned()),
        ],
        ..AppOptions::default()
    })
    .await;
    let before = app.scrape().await;
    assert_eq!(
        limited(&before, "/api/signin"),
        0.0,
        "the series exists from the start"
    );

    // Per IP: sign-up took one of its own bucket; sign-in has three, wrong password or not.
    let ann = app.owner("ann", "Acme").await;
    let signin = |password: &str| {
        app.post(
            None,
            "/api/signin",
            json!({"email": ann.email, "password": password}),
        )
    };
    signin("wrong")
        .await
        .expect_error(401, "invalid_credentials");
    signin("wrong")
        .await
        .expect_error(401, "invalid_credentials");
    signin(PASSWORD).await.expect(200);
    assert_rate_limited(&signin(PASSWORD).await);
    // A client cannot get a fresh bucket by claiming another address: no proxy is trusted.
    let forged = app
        .client
        .post(app.url("/api/signin"))
        .header("x-forwarded-for", "203.0.113.99")
        .json(&json!({"email": ann.email, "password": PASSWORD}));
    assert_rate_limited(&app.send_request(forged).await);
    // Another peer address has a bucket of its own.
    let elsewhere = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()
        .unwrap_or_else(|err| panic!("{err}"));
    let other_peer = elsewhere
        .post(app.url("/api/signin"))
        .json(&json!({"email": ann.email, "password": PASSWORD}));
    app.send_request(other_peer).await.expect(200);
    let metrics = app.scrape().await;
    assert_eq!(limited(&metrics, "/api/signin"), 2.0);
    assert_eq!(limited(&metrics, "/api/signup"), 0.0);

    // Per user, over HTTP and the socket together.
    let bob = app.member(&ann, "bob").await;
    let chat = app.chat(&ann, "group", Some("g"), &[&bob]).await;
    let messages = format!("/api/chats/{chat}/messages");
    app.send(&ann, chat, "one").await;
    app.send(&ann, chat, "two").await;
    let mut ws = app.ws(&ann).await;
    ws.send_json(json!({"id": "3", "type": "send_message", "chat_id": chat, "content": "three"}))
        .await;
    assert_eq!(ws.reply("3").await["type"], "ack");
    ws.send_json(json!({"id": "4", "type": "send_message", "chat_id": chat, "content": "four"}))
        .await;
    let refused = ws.reply("4").await;
    assert_eq!(refused["status"], 429);
    assert_eq!(refused["error"]["code"], "rate_limited");
    assert!(refused["error"]["retry_after_ms"].as_u64() > Some(0));
    assert_rate_limited(
        &app.post(Some(&ann), &messages, json!({"content": "five"}))
            .await,
    );
    // Bob has a bucket of his own.
    app.send(&bob, chat, "bob's").await;
    assert_eq!(
        app.count("SELECT count(*) FROM messages").await,
        4,
        "refused sends stored nothing"
    );

    // Uploads: one a minute here.
    app.upload(&bob, "a.png", "image/png", &png(100))
        .await
        .expect(201);
    assert_rate_limited(&app.upload(&bob, "b.png", "image/png", &png(100)).await);

    // Searches: one a minute here.
    app.get(Some(&bob), "/api/search?q=one").await.expect(200);
    assert_rate_limited(&app.get(Some(&bob), "/api/search?q=one").await);

    let metrics = app.scrape().await;
    assert_eq!(limited(&metrics, "/api/search"), 1.0);
    assert_eq!(limited(&metrics, "/api/ws"), 1.0);
    assert_eq!(limited(&metrics, "/api/chats/{id}/messages"), 1.0);
    assert_eq!(limited(&metrics, "/api/files"), 1.0);
}
