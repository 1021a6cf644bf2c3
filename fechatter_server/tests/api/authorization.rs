//! Every chat and message route checks workspace and membership (404, no existence leak), roles
//! (403), and the access token and its session (401).

use fechatter_auth::Claims;
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::{TestApp, TestUser, token_keys};

/// Row counts of every table a chat route could change.
async fn snapshot(app: &TestApp) -> Vec<i64> {
    let mut counts = Vec::new();
    for table in [
        "chats",
        "chat_members",
        "messages",
        "reactions",
        "mentions",
        "message_pins",
        "message_edits",
        "message_threads",
        "thread_followers",
        "outbox",
    ] {
        counts.push(app.count(&format!("SELECT count(*) FROM {table}")).await);
    }
    counts.push(
        app.count(
            "SELECT count(*) FROM messages WHERE edited_at IS NOT NULL OR deleted_at IS NOT NULL",
        )
        .await,
    );
    counts.push(
        app.count("SELECT count(*) FROM chat_members WHERE last_read_message_id IS NOT NULL")
            .await,
    );
    counts
}

fn chat_routes(
    chat: i64,
    message: i64,
    member: i64,
    caller: i64,
) -> Vec<(Method, String, Option<Value>)> {
    let message_path = format!("/api/chats/{chat}/messages/{message}");
    vec![
        (Method::GET, format!("/api/chats/{chat}"), None),
        (
            Method::PATCH,
            format!("/api/chats/{chat}"),
            Some(json!({"name": "taken over"})),
        ),
        (Method::DELETE, format!("/api/chats/{chat}"), None),
        (Method::GET, format!("/api/chats/{chat}/members"), None),
        (
            Method::POST,
            format!("/api/chats/{chat}/members"),
            Some(json!({"user_id": caller})),
        ),
        (
            Method::DELETE,
            format!("/api/chats/{chat}/members/{member}"),
            None,
        ),
        (Method::GET, format!("/api/chats/{chat}/messages"), None),
        (
            Method::POST,
            format!("/api/chats/{chat}/messages"),
            Some(json!({"content": "let me in"})),
        ),
        (
            Method::PATCH,
            message_path.clone(),
            Some(json!({"content": "edited"})),
        ),
        (Method::DELETE, message_path.clone(), None),
        (Method::PUT, format!("{message_path}/reactions/👍"), None),
        (Method::DELETE, format!("{message_path}/reactions/👍"), None),
        (Method::GET, format!("{message_path}/history"), None),
        (Method::PUT, format!("{message_path}/pin"), None),
        (Method::DELETE, format!("{message_path}/pin"), None),
        (Method::GET, format!("/api/chats/{chat}/pins"), None),
        (Method::GET, format!("{message_path}/thread"), None),
        (
            Method::POST,
            format!("{message_path}/thread/read"),
            Some(json!({"message_id": message})),
        ),
        (
            Method::POST,
            format!("/api/chats/{chat}/read"),
            Some(json!({"message_id": message})),
        ),
    ]
}

#[tokio::test]
async fn outsiders_get_404_and_members_without_the_role_get_403_on_every_chat_route() {
    let app = TestApp::spawn().await;
    let ann = app.owner("ann", "Acme").await;
    let bob = app.member(&ann, "bob").await;
    let eve = app.member(&ann, "eve").await;
    let zed = app.owner("zed", "Globex").await;
    let chat = app
        .chat(&ann, "private_channel", Some("board"), &[&bob])
        .await;
    let message = app.send(&ann, chat, "quarterly numbers").await;
    app.put(
        Some(&bob),
        &format!("/api/chats/{chat}/messages/{message}/reactions/👍"),
    )
    .await
    .expect(204);
    app.published_events().await;
    let before = snapshot(&app).await;

    for outsider in [&eve, &zed] {
        for (method, path, body) in chat_routes(chat, message, bob.id, outsider.id) {
            let reply = app.call(method.clone(), Some(outsider), &path, body).await;
            assert_eq!(
                (reply.status, reply.body["code"].as_str()),
                (404, Some("not_found")),
                "{method} {path} as {}: {}",
                outsider.handle,
                reply.body
            );
        }
    }
    // A chat id that exists nowhere answers the same.
    app.get(Some(&ann), "/api/chats/987654321")
        .await
        .expect_error(404, "not_found");

    let forbidden: Vec<(Method, String, Option<Value>)> = vec![
        (
            Method::PATCH,
            format!("/api/chats/{chat}"),
            Some(json!({"name": "mine"})),
        ),
        (Method::DELETE, format!("/api/chats/{chat}"), None),
        (
            Method::POST,
            format!("/api/chats/{chat}/members"),
            Some(json!({"user_id": eve.id})),
        ),
        (
            Method::DELETE,
            format!("/api/chats/{chat}/members/{}", ann.id),
            None,
        ),
        (
            Method::PATCH,
            format!("/api/chats/{chat}/messages/{message}"),
            Some(json!({"content": "x"})),
        ),
        (
            Method::DELETE,
            format!("/api/chats/{chat}/messages/{message}"),
            None,
        ),
        (
            Method::PUT,
            format!("/api/chats/{chat}/messages/{message}/pin"),
            None,
        ),
        (
            Method::DELETE,
            format!("/api/chats/{chat}/messages/{message}/pin"),
            None,
        ),
        (
            Method::POST,
            "/api/workspace/invites".to_owned(),
            Some(json!({})),
        ),
    ];
    for (method, path, body) in forbidden {
        let reply = app.call(method.clone(), Some(&bob), &path, body).await;
        assert_eq!(
            (reply.status, reply.body["code"].as_str()),
            (403, Some("forbidden")),
            "{method} {path}: {}",
            reply.body
        );
    }
    assert_eq!(
        snapshot(&app).await,
        before,
        "a rejected request changed the database"
    );

    // A public channel is open to its own workspace only.
    let lobby = app.chat(&ann, "public_channel", Some("lobby"), &[]).await;
    let join = |user: &TestUser| json!({"user_id": user.id});
    app.post(
        Some(&zed),
        &format!("/api/chats/{lobby}/members"),
        join(&zed),
    )
    .await
    .expect_error(404, "not_found");
    app.get(Some(&eve), &format!("/api/chats/{lobby}/messages"))
        .await
        .expect_error(404, "not_found");
    app.post(
        Some(&eve),
        &format!("/api/chats/{lobby}/members"),
        join(&eve),
    )
    .await
    .expect(201);
    app.get(Some(&eve), &format!("/api/chats/{lobby}/messages"))
        .await
        .expect(200);
    app.post(
        Some(&eve),
        &format!("/api/chats/{lobby}/members"),
        join(&eve),
    )
    .await
    .expect_error(409, "already_member");
}

/// `claims` signed with an Ed25519 private key (PEM).
fn token_with(claims: &Claims, private_pem: &str) -> String {
    let key = jsonwebtoken::EncodingKey::from_ed_pem(private_pem.as_bytes())
        .unwrap_or_else(|err| panic!("{err}"));
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA),
        claims,
        &key,
    )
    .unwrap_or_default()
}

fn with_token(user: &TestUser, token: &str) -> TestUser {
    TestUser {
        token: token.to_owned(),
        ..user.clone()
    }
}

#[tokio::test]
async fn missing_bad_expired_and_revoked_tokens_get_401_with_a_bearer_challenge() {
    let app = TestApp::spawn().await;
    let ann = app.owner("ann", "Acme").await;
    let (private, public) = token_keys();
    let valid = fechatter_auth::TokenVerifier::from_public_pem(public)
        .map(|verifier| verifier.verify(&ann.token))
        .unwrap_or_else(|err| panic!("{err}"))
        .unwrap_or_else(|err| panic!("{err}"));
    let (another_key, _) =
        fechatter_auth::generate_key_pair().unwrap_or_else(|err| panic!("{err}"));
    // Algorithm confusion: HS256 with the public key, which every service holds, as the secret.
    let confused = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &valid,
        &jsonwebtoken::EncodingKey::from_secret(public.as_bytes()),
    )
    .unwrap_or_default();
    let now = chrono::Utc::now().timestamp();
    let expired = Claims {
        iat: now - 3600,
        exp: now - 600,
        ..valid.clone()
    };
    let unknown_session = Claims {
        sid: Uuid::now_v7(),
        ..valid.clone()
    };
    let cases = [
        (None, "unauthenticated"),
        (Some("not-a-jwt".to_owned()), "invalid_token"),
        (Some(token_with(&valid, &another_key)), "invalid_token"),
        (Some(confused), "invalid_token"),
        (Some(token_with(&expired, private)), "token_expired"),
        (
            Some(token_with(&unknown_session, private)),
            "session_revoked",
        ),
    ];
    for (token, code) in cases {
        let user = token.map(|token| with_token(&ann, &token));
        let reply = app.get(user.as_ref(), "/api/chats").await;
        reply.expect_error(401, code);
        let challenge = reply
            .headers
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(
            challenge.starts_with("Bearer"),
            "{code}: challenge {challenge:?}"
        );
    }

    // Signing out ends that session's access tokens, and only that session's.
    let second = app
        .post(
            None,
            "/api/signin",
            json!({"email": ann.email, "password": crate::common::PASSWORD}),
        )
        .await;
    second.expect(200);
    let second = with_token(
        &ann,
        second.body["access_token"].as_str().unwrap_or_default(),
    );
    app.get(Some(&second), "/api/users/me").await.expect(200);
    app.post(Some(&second), "/api/signout", json!({}))
        .await
        .expect(204);
    app.get(Some(&second), "/api/users/me")
        .await
        .expect_error(401, "session_revoked");
    app.get(Some(&ann), "/api/users/me").await.expect(200);
}

#[tokio::test]
async fn reusing_a_rotated_refresh_token_revokes_the_whole_session() {
    let app = TestApp::spawn().await;
    let ann = app.owner("ann", "Acme").await;
    let refresh = |token: &str| app.post(None, "/api/refresh", json!({"refresh_token": token}));
    let rotated = refresh(&ann.refresh_token).await;
    rotated.expect(200);
    let newer_refresh = rotated.body["refresh_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_ne!(newer_refresh, ann.refresh_token);
    let newer = with_token(
        &ann,
        rotated.body["access_token"].as_str().unwrap_or_default(),
    );
    app.get(Some(&newer), "/api/users/me").await.expect(200);

    refresh(&ann.refresh_token)
        .await
        .expect_error(401, "refresh_token_reused");
    refresh(&newer_refresh)
        .await
        .expect_error(401, "session_revoked");
    app.get(Some(&newer), "/api/users/me")
        .await
        .expect_error(401, "session_revoked");
    app.get(Some(&ann), "/api/users/me")
        .await
        .expect_error(401, "session_revoked");
    refresh("never-issued")
        .await
        .expect_error(401, "invalid_token");
    assert_eq!(
        app.count("SELECT count(*) FROM sessions WHERE revoked_at IS NOT NULL")
            .await,
        1
    );
}
