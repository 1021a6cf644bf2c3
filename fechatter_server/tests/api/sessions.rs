//! Sessions end everywhere and for good: sign-out, refresh-token reuse and account removal publish
//! `session.revoked`; sessions end at an absolute lifetime and are pruned; a cache load cannot undo
//! a sign-out; tokens stay out of URLs and caches; sign-in guessing is throttled per account.

use fechatter_events::payload::{RevocationReason, SessionRevoked};
use fechatter_events::{Envelope, EventKind, UserId};
use serde_json::json;
use uuid::Uuid;

use crate::common::{AppOptions, PASSWORD, TestApp, TestUser, token_keys};

fn session_of(user: &TestUser) -> Uuid {
    fechatter_auth::TokenVerifier::from_public_pem(&token_keys().1)
        .map(|verifier| verifier.verify(&user.token))
        .unwrap_or_else(|err| panic!("{err}"))
        .unwrap_or_else(|err| panic!("{err}"))
        .sid
}

fn revocations(events: &[Envelope]) -> Vec<(Vec<UserId>, SessionRevoked)> {
    events
        .iter()
        .filter(|event| event.kind == EventKind::SessionRevoked)
        .map(|event| {
            (
                event.recipients.clone(),
                event.payload().unwrap_or_else(|err| panic!("{err}")),
            )
        })
        .collect()
}

async fn sign_in(app: &TestApp, user: &TestUser) -> TestUser {
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
        refresh_token: reply.body["refresh_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        ..user.clone()
    }
}

#[tokio::test]
async fn sign_out_refresh_token_reuse_and_account_removal_each_publish_session_revoked_to_the_user_only()
 {
    let app = TestApp::spawn().await;
    let ann = app.owner("ann", "Acme").await;
    let bob = app.member(&ann, "bob").await;
    let mut seen = app.published_events().await.len();

    app.post(Some(&ann), "/api/signout", json!({}))
        .await
        .expect(204);
    let signed_out = revocations(&app.new_events(&mut seen).await);
    assert_eq!(
        signed_out,
        [(
            vec![UserId(ann.id)],
            SessionRevoked {
                session_id: session_of(&ann),
                user_id: UserId(ann.id),
                reason: RevocationReason::SignedOut,
            }
        )]
    );

    let phone = sign_in(&app, &bob).await;
    app.post(
        None,
        "/api/refresh",
        json!({"refresh_token": phone.refresh_token}),
    )
    .await
    .expect(200);
    app.post(
        None,
        "/api/refresh",
        json!({"refresh_token": phone.refresh_token}),
    )
    .await
    .expect_error(401, "refresh_token_reused");
    let reused = revocations(&app.new_events(&mut seen).await);
    assert_eq!(reused.len(), 1);
    assert_eq!(reused[0].0, [UserId(bob.id)]);
    assert_eq!(reused[0].1.session_id, session_of(&phone));
    assert_eq!(reused[0].1.reason, RevocationReason::RefreshTokenReused);

    // Bob's remaining sessions (the sign-up's and a laptop's) end with his account.
    let laptop = sign_in(&app, &bob).await;
    app.delete(Some(&laptop), "/api/users/me").await.expect(204);
    let mut removed = revocations(&app.new_events(&mut seen).await);
    removed.sort_by_key(|(_, revoked)| revoked.session_id);
    let mut expected = vec![session_of(&bob), session_of(&laptop)];
    expected.sort();
    assert_eq!(
        removed
            .iter()
            .map(|(recipients, revoked)| {
                assert_eq!(recipients, &[UserId(bob.id)]);
                assert_eq!(revoked.reason, RevocationReason::AccountRemoved);
                revoked.session_id
            })
            .collect::<Vec<_>>(),
        expected
    );
}

#[tokio::test]
async fn a_removed_account_cannot_sign_in_its_tokens_are_refused_and_its_email_is_free_again() {
    let app = TestApp::spawn().await;
    let ann = app.owner("ann", "Acme").await;
    let bob = app.member(&ann, "bob").await;
    let chat = app.chat(&ann, "group", Some("team"), &[&bob]).await;
    app.send(&bob, chat, "hello before leaving").await;

    app.delete(Some(&ann), "/api/users/me")
        .await
        .expect_error(409, "workspace_owner");
    app.get(Some(&ann), "/api/users/me").await.expect(200);

    app.delete(Some(&bob), "/api/users/me").await.expect(204);
    app.get(Some(&bob), "/api/users/me")
        .await
        .expect_error(401, "session_revoked");
    app.post(
        None,
        "/api/refresh",
        json!({"refresh_token": bob.refresh_token}),
    )
    .await
    .expect_error(401, "session_revoked");
    app.post(
        None,
        "/api/signin",
        json!({"email": bob.email, "password": PASSWORD}),
    )
    .await
    .expect_error(401, "invalid_credentials");
    // What he wrote stays; he is gone from the directory.
    let messages = app
        .get(Some(&ann), &format!("/api/chats/{chat}/messages"))
        .await;
    assert_eq!(messages.item_ids("id").len(), 1, "{}", messages.body);
    let directory = app.get(Some(&ann), "/api/users").await;
    assert!(
        !directory.item_ids("id").contains(&bob.id),
        "{}",
        directory.body
    );
    app.post(
        None,
        "/api/signup",
        json!({"fullname": "Bob again", "email": bob.email, "password": PASSWORD, "workspace": "New"}),
    )
    .await
    .expect(201);
}

#[tokio::test]
async fn an_access_token_in_the_query_string_is_refused_everywhere_but_the_websocket() {
    let app = TestApp::spawn().await;
    let ann = app.owner("ann", "Acme").await;
    for path in ["/api/users/me", "/api/chats", "/api/users"] {
        app.get(None, &format!("{path}?access_token={}", ann.token))
            .await
            .expect_error(401, "unauthenticated");
    }
    // The WebSocket still takes one (its upgrade is refused for want of upgrade headers, after
    // authentication).
    app.get(None, &format!("/api/ws?access_token={}", ann.token))
        .await
        .expect_error(400, "websocket_upgrade_required");
}

#[tokio::test]
async fn every_response_carrying_tokens_forbids_caching() {
    let app = TestApp::spawn().await;
    let ann = app.owner("ann", "Acme").await;
    let email = format!("cat.{}@example.com", Uuid::new_v4().simple());
    let signup = app
        .post(
            None,
            "/api/signup",
            json!({"fullname": "Cat", "email": email, "password": PASSWORD, "workspace": "Cats"}),
        )
        .await;
    let signin = app
        .post(
            None,
            "/api/signin",
            json!({"email": ann.email, "password": PASSWORD}),
        )
        .await;
    let refresh = app
        .post(
            None,
            "/api/refresh",
            json!({"refresh_token": ann.refresh_token}),
        )
        .await;
    for (name, reply) in [("signup", signup), ("signin", signin), ("refresh", refresh)] {
        assert!(reply.status < 300, "{name}: {}", reply.status);
        assert_eq!(
            reply
                .headers
                .get("cache-control")
                .and_then(|v| v.to_str().ok()),
            Some("no-store"),
            "{name}"
        );
    }
}

#[tokio::test]
async fn sign_in_guesses_at_one_account_are_throttled_from_any_number_of_addresses() {
    let app = TestApp::spawn_with(AppOptions {
        env: vec![
            ("SIGNIN_ATTEMPTS_PER_ACCOUNT_PER_HOUR", "3".to_owned()),
            ("RATE_LIMIT_AUTH_PER_MINUTE", "2".to_owned()),
            ("TRUSTED_PROXY_HOPS", "1".to_owned()),
        ],
        ..AppOptions::default()
    })
    .await;
    let ann = app.owner("ann", "Acme").await;
    let guess = |address: &'static str, email: String| {
        let request = app
            .client
            .post(app.url("/api/signin"))
            .header("x-forwarded-for", address)
            .json(&json!({"email": email, "password": "not her password"}));
        app.send_request(request)
    };
    // Three addresses, one guess each: each address is well within its own limit.
    for address in ["198.51.100.1", "198.51.100.2", "2001:db8:7:1::1"] {
        guess(address, ann.email.clone())
            .await
            .expect_error(401, "invalid_credentials");
    }
    let refused = guess("198.51.100.3", ann.email.to_uppercase()).await;
    refused.expect_error(429, "rate_limited");
    assert!(refused.headers.contains_key("retry-after"));
    // Another account from a fresh address is not affected.
    guess("198.51.100.4", "someone.else@example.com".to_owned())
        .await
        .expect_error(401, "invalid_credentials");

    // Addresses of one IPv6 /64 share the per-address bucket (2 a minute).
    guess("2001:db8:9:1::1", "a@example.com".to_owned())
        .await
        .expect_error(401, "invalid_credentials");
    guess("2001:db8:9:1:ffff::2", "b@example.com".to_owned())
        .await
        .expect_error(401, "invalid_credentials");
    guess(
        "2001:db8:9:1:1234:5678:9abc:def0",
        "c@example.com".to_owned(),
    )
    .await
    .expect_error(429, "rate_limited");
}

#[tokio::test]
async fn a_session_past_its_lifetime_can_be_neither_refreshed_nor_used_and_is_pruned() {
    let app = TestApp::spawn().await;
    let ann = app.owner("ann", "Acme").await;
    let bob = app.member(&ann, "bob").await;
    let session = session_of(&ann);
    sqlx::query("UPDATE sessions SET created_at = now() - interval '91 days' WHERE id = $1")
        .bind(session)
        .execute(&app.pool)
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    app.state.caches().clear().await;
    app.post(
        None,
        "/api/refresh",
        json!({"refresh_token": ann.refresh_token}),
    )
    .await
    .expect_error(401, "session_expired");
    app.get(Some(&ann), "/api/users/me")
        .await
        .expect_error(401, "session_revoked");

    // Bob's session: signed out long ago; a refresh token of his that expired.
    let old_signout = session_of(&bob);
    app.post(Some(&bob), "/api/signout", json!({}))
        .await
        .expect(204);
    sqlx::query("UPDATE sessions SET revoked_at = now() - interval '2 days' WHERE id = $1")
        .bind(old_signout)
        .execute(&app.pool)
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    let current = sign_in(&app, &bob).await;
    app.post(
        None,
        "/api/refresh",
        json!({"refresh_token": current.refresh_token}),
    )
    .await
    .expect(200);
    sqlx::query(
        "UPDATE refresh_tokens SET expires_at = now() - interval '1 second'
         WHERE session_id = $1 AND rotated_at IS NOT NULL",
    )
    .bind(session_of(&current))
    .execute(&app.pool)
    .await
    .unwrap_or_else(|err| panic!("{err}"));

    let (sessions, tokens) =
        fechatter_server::service::sessions::prune(app.state.pool(), &app.state.config().auth)
            .await
            .unwrap_or_else(|err| panic!("{err}"));
    assert_eq!((sessions, tokens), (2, 1));
    let left: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM sessions ORDER BY id")
        .fetch_all(&app.pool)
        .await
        .unwrap_or_default();
    assert_eq!(left, [session_of(&current)]);
    assert_eq!(
        app.count("SELECT count(*) FROM refresh_tokens WHERE expires_at < now()")
            .await,
        0
    );
}

#[tokio::test]
async fn a_session_load_that_raced_a_sign_out_cannot_reopen_the_session() {
    let app = TestApp::spawn().await;
    let ann = app.owner("ann", "Acme").await;
    let session = session_of(&ann);
    let sessions = app.state.caches().sessions.clone();
    sessions.invalidate(&session).await;
    let (read_tx, read) = tokio::sync::oneshot::channel::<()>();
    let (release_tx, release) = tokio::sync::oneshot::channel::<()>();
    let pool = app.pool.clone();
    // A request's session load that reads the session as open, then stalls before caching it.
    let racing = tokio::spawn(async move {
        sessions
            .get_or_load(session, || async move {
                let found = fechatter_server::repo::sessions::find(&pool, session).await;
                let _ = read_tx.send(());
                let _ = release.await;
                found
            })
            .await
    });
    tokio::time::timeout(crate::common::WAIT, read)
        .await
        .unwrap_or_else(|_| panic!("the load did not read the session"))
        .unwrap_or_else(|err| panic!("{err}"));

    app.post(Some(&ann), "/api/signout", json!({}))
        .await
        .expect(204);
    // The sign-out's own announcement came back over NOTIFY and emptied the entry, or arrived
    // before the handler's own after-commit step marked it revoked (either bumps the generation
    // the stalled load began under). Waiting for an empty entry alone hung when the NOTIFY won.
    test_support::wait_until(
        "the invalidation to arrive",
        crate::common::WAIT,
        || async {
            app.state
                .caches()
                .sessions
                .peek(&session)
                .await
                .is_none_or(|cached| cached.revoked)
        },
    )
    .await;
    let _ = release_tx.send(());
    let loaded = racing
        .await
        .unwrap_or_else(|err| panic!("{err}"))
        .unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(
        loaded.map(|state| state.revoked),
        Some(false),
        "the load read it open"
    );

    app.get(Some(&ann), "/api/users/me")
        .await
        .expect_error(401, "session_revoked");
}

#[tokio::test]
async fn a_signed_out_token_is_refused_though_its_signature_check_is_remembered() {
    // Every request of a token after its first is answered from the verifier's memory of checked
    // signatures (`fechatter_auth`'s verified tokens): the session is still checked each time.
    let app = TestApp::spawn().await;
    let ann = app.owner("ann", "Acme").await;
    let bob = app.member(&ann, "bob").await;
    let chat = app
        .chat(&ann, "private_channel", Some("lunch"), &[&bob])
        .await;
    app.send(&ann, chat, "first").await;
    let page = format!("/api/chats/{chat}/messages?limit=50");
    for user in [&ann, &bob, &ann, &bob] {
        app.get(Some(user), &page).await.expect(200);
    }
    app.post(Some(&ann), "/api/signout", json!({}))
        .await
        .expect(204);
    app.get(Some(&ann), &page)
        .await
        .expect_error(401, "session_revoked");
    app.get(Some(&ann), "/api/users/me")
        .await
        .expect_error(401, "session_revoked");
    app.get(Some(&bob), &page).await.expect(200);
}
