//! The contract with bot_server: it creates its workspace's bot user and a session row in the
//! database, mints access tokens with the shared secret, and posts like any member.

use std::time::Duration;

use fechatter_auth::TokenKeys;
use fechatter_events::payload::MessagePayload;
use fechatter_events::{EventKind, UserId, WorkspaceId};
use secrecy::SecretString;
use uuid::Uuid;

use crate::common::events::only;
use crate::common::{JWT_SECRET, TestApp, TestUser};

#[tokio::test]
async fn a_bot_user_made_in_the_database_posts_with_a_minted_token_and_is_mentioned_as_bot() {
    let app = TestApp::spawn().await;
    let ann = app.owner("ann", "Acme").await;
    let bot_id: i64 = sqlx::query_scalar(
        "INSERT INTO users (workspace_id, fullname, handle, is_bot) VALUES ($1, 'Assistant', 'bot', true)
         RETURNING id",
    )
    .bind(ann.workspace_id)
    .fetch_one(&app.pool)
    .await
    .unwrap_or_else(|err| panic!("{err}"));
    let session = Uuid::now_v7();
    sqlx::query("INSERT INTO sessions (id, user_id) VALUES ($1, $2)")
        .bind(session)
        .bind(bot_id)
        .execute(&app.pool)
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    let keys = TokenKeys::new(
        &SecretString::from(JWT_SECRET.to_owned()),
        Duration::from_secs(60),
    );
    let bot = TestUser {
        id: bot_id,
        workspace_id: ann.workspace_id,
        handle: "bot".to_owned(),
        email: String::new(),
        token: keys.issue(UserId(bot_id), WorkspaceId(ann.workspace_id), session),
        refresh_token: String::new(),
    };

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
