//! Bad input gets the right status and error code, in the JSON envelope, and changes nothing.

use serde_json::json;

use crate::common::{AppOptions, PASSWORD, TestApp};

async fn snapshot(app: &TestApp) -> Vec<i64> {
    let mut counts = Vec::new();
    for table in [
        "workspaces",
        "users",
        "chats",
        "chat_members",
        "messages",
        "reactions",
        "outbox",
        "invites",
    ] {
        counts.push(app.count(&format!("SELECT count(*) FROM {table}")).await);
    }
    counts
}

#[tokio::test]
async fn bad_input_gets_its_status_and_code_and_leaves_the_database_unchanged() {
    let story = test_support::story::Story::new(
        "bad_input_gets_its_status_and_code_and_leaves_the_database_unchanged",
    );
    let app = TestApp::spawn_with(AppOptions {
        env: vec![
            ("MAX_MESSAGE_CHARS", "100".to_owned()),
            ("MAX_BODY_BYTES", "4096".to_owned()),
            ("MAX_CHAT_MEMBERS", "3".to_owned()),
        ],
        ..AppOptions::default()
    })
    .await;
    let ann = app.owner("ann", "Acme").await;
    let bob = app.member(&ann, "bob").await;
    let cat = app.member(&ann, "cat").await;
    let dan = app.member(&ann, "dan").await;
    let zed = app.owner("zed", "Globex").await;
    let chat = app
        .chat(&ann, "private_channel", Some("ops"), &[&bob, &cat])
        .await;
    let message = app.send(&ann, chat, "first").await;
    let messages = format!("/api/chats/{chat}/messages");
    let send = |content: String| app.post(Some(&ann), &messages, json!({"content": content}));
    story.step("exactly the limit, counted in characters, is accepted");
    // Exactly the limit, counted in characters, is accepted.
    send("é".repeat(100)).await.expect(201);
    app.published_events().await;
    let before = snapshot(&app).await;

    let raw = |path: &str, content_type: &str, body: String| {
        app.client
            .post(app.url(path))
            .bearer_auth(&ann.token)
            .header("content-type", content_type)
            .body(body)
    };
    app.send_request(raw(&messages, "application/json", "{\"content\":".into()))
        .await
        .expect_error(400, "malformed_json");
    app.send_request(raw(&messages, "application/json", "{\"content\":5}".into()))
        .await
        .expect_error(422, "invalid_body");
    app.send_request(raw(
        &messages,
        "application/json",
        "{\"content\":\"a\",\"admin\":true}".into(),
    ))
    .await
    .expect_error(422, "invalid_body");
    app.send_request(raw(&messages, "text/plain", "{\"content\":\"a\"}".into()))
        .await
        .expect_error(415, "unsupported_media_type");
    let huge = json!({"content": "x".repeat(5000)}).to_string();
    app.send_request(raw(&messages, "application/json", huge))
        .await
        .expect_error(413, "payload_too_large");

    send("   \n".into())
        .await
        .expect_error(422, "empty_content");
    story.step("postgres text cannot hold NUL");
    // Postgres text cannot hold NUL; found by the API fuzzer as a 500.
    send("nul \u{0} inside".into())
        .await
        .expect_error(422, "invalid_body");
    app.send_request(raw(&messages, "application/json", "[\"content\"]".into()))
        .await
        .expect_error(422, "invalid_body");
    send("é".repeat(101))
        .await
        .expect_error(422, "content_too_long");
    app.post(
        Some(&ann),
        &messages,
        json!({"content": "re", "reply_to": 987654321}),
    )
    .await
    .expect_error(422, "invalid_reply_to");

    for query in ["limit=0", "limit=101", "limit=-5"] {
        app.get(Some(&ann), &format!("{messages}?{query}"))
            .await
            .expect_error(400, "invalid_limit");
    }
    app.get(Some(&ann), &format!("{messages}?before=0"))
        .await
        .expect_error(400, "invalid_cursor");
    app.get(Some(&ann), &format!("{messages}?limit=ten"))
        .await
        .expect_error(400, "invalid_query");
    app.get(Some(&ann), "/api/chats?limit=101")
        .await
        .expect_error(400, "invalid_limit");
    app.get(Some(&ann), "/api/users?limit=0")
        .await
        .expect_error(400, "invalid_limit");
    app.get(Some(&ann), "/api/chats/abc/messages")
        .await
        .expect_error(400, "invalid_path");
    app.get(Some(&ann), "/api/chats/987654321/messages")
        .await
        .expect_error(404, "not_found");
    app.patch(
        Some(&ann),
        &format!("{messages}/987654321"),
        json!({"content": "x"}),
    )
    .await
    .expect_error(404, "not_found");
    app.put(Some(&ann), &format!("{messages}/987654321/reactions/👍"))
        .await
        .expect_error(404, "not_found");
    app.put(Some(&ann), &format!("{messages}/{message}/reactions/a%20b"))
        .await
        .expect_error(422, "invalid_emoji");
    app.post(
        Some(&ann),
        &format!("/api/chats/{chat}/read"),
        json!({"message_id": 987654321}),
    )
    .await
    .expect_error(422, "unknown_message");
    app.get(Some(&ann), "/api/nowhere")
        .await
        .expect_error(404, "not_found");
    app.call(reqwest::Method::PUT, Some(&ann), "/api/chats", None)
        .await
        .expect_error(405, "method_not_allowed");

    story.step("chats and members");
    // Chats and members.
    let create = |body: serde_json::Value| app.post(Some(&ann), "/api/chats", body);
    create(json!({"chat_type": "public_channel"}))
        .await
        .expect_error(422, "invalid_name");
    create(json!({"chat_type": "public_channel", "name": " "}))
        .await
        .expect_error(422, "invalid_name");
    create(json!({"chat_type": "private_channel", "name": "OPS"}))
        .await
        .expect_error(409, "chat_name_taken");
    create(json!({"chat_type": "direct", "members": [bob.id, cat.id]}))
        .await
        .expect_error(422, "invalid_members");
    create(json!({"chat_type": "direct", "members": [ann.id]}))
        .await
        .expect_error(422, "invalid_members");
    create(json!({"chat_type": "group", "members": [zed.id]}))
        .await
        .expect_error(422, "unknown_user");
    create(json!({"chat_type": "group", "members": [bob.id, cat.id, dan.id]}))
        .await
        .expect_error(422, "member_limit_reached");
    create(json!({"chat_type": "chatroom"}))
        .await
        .expect_error(422, "invalid_body");
    app.post(
        Some(&ann),
        &format!("/api/chats/{chat}/members"),
        json!({"user_id": dan.id}),
    )
    .await
    .expect_error(422, "member_limit_reached");
    app.post(
        Some(&ann),
        &format!("/api/chats/{chat}/members"),
        json!({"user_id": bob.id}),
    )
    .await
    .expect_error(409, "already_member");
    app.post(
        Some(&ann),
        &format!("/api/chats/{chat}/members"),
        json!({"user_id": 987654321}),
    )
    .await
    .expect_error(422, "unknown_user");
    app.patch(Some(&ann), &format!("/api/chats/{chat}"), json!({}))
        .await
        .expect_error(422, "nothing_to_update");

    story.step("accounts");
    // Accounts.
    let signup = |body: serde_json::Value| app.post(None, "/api/signup", body);
    signup(
        json!({"fullname": "Ann", "email": ann.email, "password": PASSWORD, "workspace": "Again"}),
    )
    .await
    .expect_error(409, "email_taken");
    signup(json!({"fullname": "New", "email": "new@example.com", "password": "short", "workspace": "W"}))
        .await
        .expect_error(422, "weak_password");
    signup(
        json!({"fullname": "New", "email": "not-an-email", "password": PASSWORD, "workspace": "W"}),
    )
    .await
    .expect_error(422, "invalid_email");
    signup(json!({"fullname": "New", "email": "new@example.com", "password": PASSWORD}))
        .await
        .expect_error(422, "workspace_required");
    signup(json!({"fullname": "New", "email": "new@example.com", "password": PASSWORD, "invite_code": "bogus"}))
        .await
        .expect_error(422, "invalid_invite");
    signup(json!({"fullname": "New", "email": "new@example.com", "password": PASSWORD, "invite_code": "x", "handle": "Bad Handle"}))
        .await
        .expect_error(422, "invalid_handle");
    signup(json!({"fullname": "New", "email": "new@example.com", "password": PASSWORD, "workspace": "W", "handle": "bot"}))
        .await
        .expect_error(422, "invalid_handle");
    app.post(Some(&ann), "/api/workspace/invites", json!({"max_uses": 0}))
        .await
        .expect_error(422, "invalid_invite");
    app.post(
        None,
        "/api/signin",
        json!({"email": "nobody@example.com", "password": PASSWORD}),
    )
    .await
    .expect_error(401, "invalid_credentials");

    assert_eq!(
        snapshot(&app).await,
        before,
        "rejected input changed the database"
    );
}
