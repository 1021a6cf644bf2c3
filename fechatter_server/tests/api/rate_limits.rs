//! Rate limits: per client IP on the sign-in routes, per user on sending (HTTP and WebSocket
//! together), uploading and the writes that fan out to a chat's members; the request after the
//! burst gets 429 with `Retry-After`. And a message's distinct reactions are capped.

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

#[tokio::test]
async fn writes_that_fan_out_are_limited_per_user_and_counted_under_their_route() {
    let app = TestApp::spawn_with(AppOptions {
        env: vec![
            ("RATE_LIMIT_REACT_PER_MINUTE", "2".to_owned()),
            ("RATE_LIMIT_EDIT_PER_MINUTE", "1".to_owned()),
            ("RATE_LIMIT_DELETE_PER_MINUTE", "1".to_owned()),
            ("RATE_LIMIT_CREATE_CHAT_PER_MINUTE", "2".to_owned()),
            ("RATE_LIMIT_MEMBERS_PER_MINUTE", "1".to_owned()),
            ("RATE_LIMIT_INVITE_PER_MINUTE", "3".to_owned()),
        ],
        ..AppOptions::default()
    })
    .await;
    let ann = app.owner("ann", "Acme").await;
    let bob = app.member(&ann, "bob").await;
    let cat = app.member(&ann, "cat").await;
    let chat = app.chat(&ann, "group", Some("g"), &[&bob]).await;

    // Chat creation: the second of two, then refused.
    let spare = app.chat(&ann, "group", Some("spare"), &[]).await;
    assert_rate_limited(
        &app.post(
            Some(&ann),
            "/api/chats",
            json!({"chat_type": "group", "name": "third"}),
        )
        .await,
    );
    // Invites: bob's, cat's and one more.
    app.post(Some(&ann), "/api/workspace/invites", json!({}))
        .await
        .expect(201);
    assert_rate_limited(
        &app.post(Some(&ann), "/api/workspace/invites", json!({}))
            .await,
    );

    // Edits of messages and of chats share a bucket, as do deletions.
    let first = app.send(&ann, chat, "first").await;
    let second = app.send(&ann, chat, "second").await;
    let message = |id: i64| format!("/api/chats/{chat}/messages/{id}");
    app.patch(Some(&ann), &message(first), json!({"content": "first!"}))
        .await
        .expect(200);
    assert_rate_limited(
        &app.patch(Some(&ann), &message(second), json!({"content": "second!"}))
            .await,
    );
    assert_rate_limited(
        &app.patch(
            Some(&ann),
            &format!("/api/chats/{chat}"),
            json!({"name": "renamed"}),
        )
        .await,
    );
    app.delete(Some(&ann), &message(second)).await.expect(204);
    assert_rate_limited(&app.delete(Some(&ann), &format!("/api/chats/{spare}")).await);

    // Reactions, added or removed.
    let reaction = |emoji: &str| format!("{}/reactions/{emoji}", message(first));
    app.put(Some(&ann), &reaction("%F0%9F%91%8D"))
        .await
        .expect(204);
    app.put(Some(&ann), &reaction(":tada:")).await.expect(204);
    assert_rate_limited(&app.delete(Some(&ann), &reaction(":tada:")).await);

    // Member changes, adding or removing.
    app.post(
        Some(&ann),
        &format!("/api/chats/{chat}/members"),
        json!({"user_id": cat.id}),
    )
    .await
    .expect(201);
    assert_rate_limited(
        &app.delete(Some(&ann), &format!("/api/chats/{chat}/members/{}", cat.id))
            .await,
    );

    // Bob's buckets are his own.
    app.put(Some(&bob), &reaction(":tada:")).await.expect(204);
    app.patch(
        Some(&bob),
        &format!("/api/chats/{chat}"),
        json!({"name": "x"}),
    )
    .await
    .expect_error(403, "forbidden");

    let metrics = app.scrape().await;
    for (route, refused) in [
        ("/api/chats", 1.0),
        ("/api/workspace/invites", 1.0),
        ("/api/chats/{id}/messages/{message_id}", 1.0),
        ("/api/chats/{id}", 2.0),
        (
            "/api/chats/{id}/messages/{message_id}/reactions/{emoji}",
            1.0,
        ),
        ("/api/chats/{id}/members", 0.0),
        ("/api/chats/{id}/members/{user_id}", 1.0),
    ] {
        assert_eq!(limited(&metrics, route), refused, "{route}");
    }
    assert_eq!(
        app.count("SELECT count(*) FROM chats WHERE name = 'renamed'")
            .await,
        0,
        "a refused change changed nothing"
    );
}

#[tokio::test]
async fn a_message_carries_at_most_fifty_distinct_reactions() {
    let app = TestApp::spawn().await;
    let ann = app.owner("ann", "Acme").await;
    let bob = app.member(&ann, "bob").await;
    let chat = app.chat(&ann, "group", Some("g"), &[&bob]).await;
    let message = app.send(&ann, chat, "react to me").await;
    let reaction = |n: usize| format!("/api/chats/{chat}/messages/{message}/reactions/:e{n}:");
    for n in 0..50 {
        app.put(Some(&ann), &reaction(n)).await.expect(204);
    }
    app.put(Some(&bob), &reaction(50))
        .await
        .expect_error(422, "too_many_reactions");
    // One of the fifty is still welcome from anyone; a freed place can be taken.
    app.put(Some(&bob), &reaction(7)).await.expect(204);
    app.delete(Some(&ann), &reaction(3)).await.expect(204);
    app.put(Some(&bob), &reaction(50)).await.expect(204);
    assert_eq!(
        app.count(&format!(
            "SELECT count(DISTINCT emoji) FROM reactions WHERE message_id = {message}"
        ))
        .await,
        50
    );
}
