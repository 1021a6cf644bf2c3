//! The contract with bot_server: it asks this service to create its workspace's bot user
//! (`POST /api/bots/provision`; this service owns `users`), gets the bot's access tokens from `POST /api/bots/token` with its own credential (it holds no key that
//! could mint one), and posts like any member.

use fechatter_events::payload::{MemberChanged, MessagePayload};
use fechatter_events::{EventKind, UserId};
use serde_json::json;

use crate::common::events::only;
use crate::common::{AppOptions, BOT_API_KEY, TestApp, TestUser};

/// The workspace bot as `POST /api/bots/provision` creates it: a user row with `is_bot`.
async fn insert_bot(app: &TestApp, owner: &TestUser) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO users (workspace_id, fullname, handle, is_bot) VALUES ($1, 'Assistant', 'bot', true)
         RETURNING id",
    )
    .bind(owner.workspace_id)
    .fetch_one(&app.pool)
    .await
    .unwrap_or_else(|err| panic!("{err}"))
}

/// The bot's identity with a token from `POST /api/bots/token`, as bot_server gets it.
async fn bot_user(app: &TestApp, owner: &TestUser, bot_id: i64) -> TestUser {
    let reply = app
        .client
        .post(app.url("/api/bots/token"))
        .bearer_auth(BOT_API_KEY)
        .json(&json!({"workspace_id": owner.workspace_id}))
        .send()
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(reply.status(), 200);
    assert_eq!(
        reply
            .headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    let body: serde_json::Value = reply.json().await.unwrap_or_default();
    assert_eq!(body["user_id"], bot_id);
    TestUser {
        id: bot_id,
        workspace_id: owner.workspace_id,
        handle: "bot".to_owned(),
        email: String::new(),
        token: body["access_token"].as_str().unwrap_or_default().to_owned(),
        refresh_token: String::new(),
    }
}

#[tokio::test]
async fn the_bot_token_route_wants_the_bot_credential_and_issues_tokens_for_bots_only() {
    let app = TestApp::spawn().await;
    let ann = app.owner("ann", "Acme").await;
    let zed = app.owner("zed", "Globex").await;
    let token_for = |credential: Option<&'static str>, workspace: i64| {
        let mut request = app
            .client
            .post(app.url("/api/bots/token"))
            .json(&json!({"workspace_id": workspace}));
        if let Some(credential) = credential {
            request = request.bearer_auth(credential);
        }
        request.send()
    };
    for credential in [None, Some("not-the-bot-credential-but-32-bytes-long!")] {
        let reply = token_for(credential, ann.workspace_id)
            .await
            .unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(reply.status(), 401, "{credential:?}");
    }
    // A user's own access token is not the bot credential either.
    let reply = app
        .client
        .post(app.url("/api/bots/token"))
        .bearer_auth(&ann.token)
        .json(&json!({"workspace_id": ann.workspace_id}))
        .send()
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(reply.status(), 401);
    // A workspace without its bot yet: nothing to issue.
    let reply = token_for(Some(BOT_API_KEY), zed.workspace_id)
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(reply.status(), 404);

    let bot_id = insert_bot(&app, &ann).await;
    let first = bot_user(&app, &ann, bot_id).await;
    let second = bot_user(&app, &ann, bot_id).await;
    let me = app.get(Some(&first), "/api/users/me").await;
    me.expect(200);
    assert_eq!(
        (me.body["id"].as_i64(), me.body["is_bot"].as_bool()),
        (Some(bot_id), Some(true))
    );
    app.get(Some(&second), "/api/users/me").await.expect(200);
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM sessions WHERE user_id = {bot_id}"
        ))
        .await,
        1,
        "the bot's tokens share one open session"
    );
}

#[tokio::test]
async fn a_bot_user_made_in_the_database_posts_with_its_token_and_is_mentioned_as_bot() {
    let app = TestApp::spawn().await;
    let ann = app.owner("ann", "Acme").await;
    let bot_id = insert_bot(&app, &ann).await;
    let bot = bot_user(&app, &ann, bot_id).await;

    let chat = app.chat(&ann, "group", Some("ask"), &[&bot]).await;
    let mut seen = app.published_events().await.len();
    app.send(&ann, chat, "@bot summary please").await;
    let asked: MessagePayload = only(
        &app.new_events(&mut seen).await,
        EventKind::MessageCreated,
        &[ann.id, bot_id],
    )
    .payload()
    .unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(asked.mentions, vec![UserId(bot_id)]);
    assert!(!asked.sender_is_bot);

    app.send(&bot, chat, "Here is a summary.").await;
    let answer: MessagePayload = only(
        &app.new_events(&mut seen).await,
        EventKind::MessageCreated,
        &[ann.id, bot_id],
    )
    .payload()
    .unwrap_or_else(|err| panic!("{err}"));
    assert!(answer.sender_is_bot);

    // It is listed in the directory as a bot.
    let directory = app.get(Some(&ann), "/api/users").await;
    let listed_bot = directory.body["items"]
        .as_array()
        .and_then(|users| users.iter().find(|user| user["id"] == bot_id).cloned())
        .unwrap_or_default();
    assert_eq!(
        (
            listed_bot["is_bot"].as_bool(),
            listed_bot["handle"].as_str()
        ),
        (Some(true), Some("bot"))
    );
}

#[tokio::test]
async fn an_owners_mention_adds_the_bot_before_the_message_but_a_plain_members_or_a_direct_chats_does_not()
 {
    let app = TestApp::spawn().await;
    let ann = app.owner("ann", "Acme").await;
    let bob = app.member(&ann, "bob").await;
    let bot = insert_bot(&app, &ann).await;
    let group = app.chat(&ann, "group", Some("ops"), &[&bob]).await;
    let direct = app.chat(&ann, "direct", None, &[&bob]).await;
    let mut seen = app.published_events().await.len();

    // Bob may not add members to ann's group, so his mention brings nobody in.
    app.send(&bob, group, "@bot are you there?").await;
    only(
        &app.new_events(&mut seen).await,
        EventKind::MessageCreated,
        &[ann.id, bob.id],
    );

    app.send(&ann, group, "@bot when is the deployment?").await;
    let events = app.new_events(&mut seen).await;
    let kinds: Vec<EventKind> = events.iter().map(|event| event.kind).collect();
    assert_eq!(
        kinds,
        [EventKind::ChatMemberAdded, EventKind::MessageCreated]
    );
    for event in &events {
        let mut recipients: Vec<i64> = event.recipients.iter().map(|user| user.0).collect();
        recipients.sort_unstable();
        assert_eq!(recipients, [ann.id, bob.id, bot], "{:?}", event.kind);
    }
    let added: MemberChanged = events[0].payload().unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(
        (added.user_id, added.role.as_str()),
        (UserId(bot), "member")
    );
    let members = app
        .get(Some(&ann), &format!("/api/chats/{group}/members"))
        .await;
    assert!(
        members.item_ids("user_id").contains(&bot),
        "{}",
        members.body
    );

    // Once a member, a mention adds nothing.
    app.send(&ann, group, "thanks @bot").await;
    only(
        &app.new_events(&mut seen).await,
        EventKind::MessageCreated,
        &[ann.id, bob.id, bot],
    );

    // A direct chat stays between its two people.
    app.send(&ann, direct, "@bot are you here?").await;
    only(
        &app.new_events(&mut seen).await,
        EventKind::MessageCreated,
        &[ann.id, bob.id],
    );
    let members = app
        .get(Some(&ann), &format!("/api/chats/{direct}/members"))
        .await;
    assert_eq!(members.item_ids("user_id").len(), 2);

    // Mentioning a human who is not a member adds nobody.
    let cat = app.member(&ann, "cat").await;
    seen = app.published_events().await.len();
    app.send(&ann, group, "@cat have a look").await;
    only(
        &app.new_events(&mut seen).await,
        EventKind::MessageCreated,
        &[ann.id, bob.id, bot],
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM chat_members WHERE chat_id = {group} AND user_id = {}",
            cat.id
        ))
        .await,
        0
    );
}

#[tokio::test]
async fn the_bot_posts_under_a_send_limit_of_its_own_not_the_one_meant_for_people() {
    let app = TestApp::spawn_with(AppOptions {
        env: vec![
            ("RATE_LIMIT_SEND_PER_MINUTE", "2".to_owned()),
            ("RATE_LIMIT_BOT_SEND_PER_MINUTE", "5".to_owned()),
        ],
        ..AppOptions::default()
    })
    .await;
    let ann = app.owner("ann", "Acme").await;
    let bot_id = insert_bot(&app, &ann).await;
    let bot = bot_user(&app, &ann, bot_id).await;
    let chat = app.chat(&ann, "group", Some("ask"), &[&bot]).await;
    let path = format!("/api/chats/{chat}/messages");
    let mut people = Vec::new();
    let mut bots = Vec::new();
    for n in 0..6 {
        let body = json!({"content": format!("message {n}")});
        people.push(app.post(Some(&ann), &path, body.clone()).await.status);
        bots.push(app.post(Some(&bot), &path, body).await.status);
    }
    assert_eq!(people, [201, 201, 429, 429, 429, 429], "people: 2 a minute");
    assert_eq!(bots, [201, 201, 201, 201, 201, 429], "the bot: 5 a minute");
}

#[tokio::test]
async fn a_bot_removed_from_a_chat_is_not_brought_back_by_a_mention_only_by_an_explicit_add() {
    let app = TestApp::spawn().await;
    let ann = app.owner("ann", "Acme").await;
    let bob = app.member(&ann, "bob").await;
    let bot = insert_bot(&app, &ann).await;
    let group = app.chat(&ann, "group", Some("ops"), &[&bob]).await;
    let is_member = || async {
        app.count(&format!(
            "SELECT count(*) FROM chat_members WHERE chat_id = {group} AND user_id = {bot}"
        ))
        .await
            == 1
    };
    app.send(&ann, group, "@bot hello").await;
    assert!(is_member().await);

    app.delete(Some(&ann), &format!("/api/chats/{group}/members/{bot}"))
        .await
        .expect(204);
    let mut seen = app.published_events().await.len();
    app.send(&ann, group, "@bot are you back?").await;
    only(
        &app.new_events(&mut seen).await,
        EventKind::MessageCreated,
        &[ann.id, bob.id],
    );
    assert!(!is_member().await, "the owner's removal sticks");

    // Added back on purpose, the bot is a member again, and mentions work as before.
    app.post(
        Some(&ann),
        &format!("/api/chats/{group}/members"),
        json!({"user_id": bot}),
    )
    .await
    .expect(201);
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM chat_bot_removals WHERE chat_id = {group}"
        ))
        .await,
        0
    );
    seen = app.published_events().await.len();
    app.send(&ann, group, "@bot thanks").await;
    only(
        &app.new_events(&mut seen).await,
        EventKind::MessageCreated,
        &[ann.id, bob.id, bot],
    );
}

#[tokio::test]
async fn provisioning_gives_a_workspace_one_bot_once_and_only_for_the_bot_credential() {
    let app = TestApp::spawn().await;
    let ann = app.owner("ann", "Acme").await;
    let provision = |credential: &'static str, workspace: i64| {
        app.client
            .post(app.url("/api/bots/provision"))
            .bearer_auth(credential)
            .json(&json!({"workspace_id": workspace}))
            .send()
    };
    let refused = provision(
        "not-the-bot-credential-but-32-bytes-long!",
        ann.workspace_id,
    )
    .await
    .unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(refused.status(), 401);
    let bots = "SELECT count(*) FROM users WHERE is_bot";
    assert_eq!(
        app.count(bots).await,
        0,
        "a refused request creates nothing"
    );

    let mut ids = Vec::new();
    for _ in 0..2 {
        let reply = provision(BOT_API_KEY, ann.workspace_id)
            .await
            .unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(reply.status(), 200);
        let body: serde_json::Value = reply.json().await.unwrap_or_default();
        ids.push(body["user_id"].as_i64().unwrap_or_default());
    }
    assert_eq!(ids[0], ids[1], "asking again returns the same bot");
    assert_eq!(app.count(bots).await, 1);
    let bot = bot_user(&app, &ann, ids[0]).await;
    assert_eq!(bot.id, ids[0], "the provisioned bot gets tokens");

    let unknown = provision(BOT_API_KEY, ann.workspace_id + 1000)
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(unknown.status(), 404);
    assert_eq!(app.count(bots).await, 1);
}
