//! `PUT`/`DELETE /api/users/me/status`: shown in the directory and `/api/users/me`, announced to the
//! workspace and nobody else, expiring by itself, and do-not-disturb silencing mention alerts.

use fechatter_events::EventKind;
use fechatter_events::payload::{MessagePayload, UserStatusChanged};
use serde_json::{Value, json};

use crate::common::events::only;
use crate::common::{TestApp, TestUser};

/// The status the directory shows for `user`, as `viewer` sees it.
async fn listed_status(app: &TestApp, viewer: &TestUser, user: &TestUser) -> Value {
    let directory = app.get(Some(viewer), "/api/users?limit=100").await;
    directory.expect(200);
    directory.body["items"]
        .as_array()
        .and_then(|items| items.iter().find(|item| item["id"] == user.id))
        .map(|item| item["status"].clone())
        .unwrap_or_else(|| panic!("{} is not in the directory", user.handle))
}

#[tokio::test]
async fn a_status_is_shown_to_the_workspace_announced_to_it_alone_and_dnd_silences_mentions() {
    let story = test_support::story::Story::new(
        "a_status_is_shown_to_the_workspace_announced_to_it_alone_and_dnd_silences_mentions",
    );
    let app = TestApp::spawn().await;
    let ann = app.owner("ann", "Acme").await;
    let bob = app.member(&ann, "bob").await;
    let zed = app.owner("zed", "Globex").await;
    let chat = app.chat(&ann, "group", Some("release"), &[&bob]).await;
    let workspace: Vec<i64> = {
        let directory = app.get(Some(&ann), "/api/users?limit=100").await;
        directory.item_ids("id")
    };
    let mut ann_ws = app.ws(&ann).await;
    let mut zed_ws = app.ws(&zed).await;
    let mut seen = app.published_events().await.len();

    let set = app
        .call(
            reqwest::Method::PUT,
            Some(&bob),
            "/api/users/me/status",
            Some(json!({"availability": "dnd", "text": "  Focusing  ", "expires_at": "2099-01-01T00:00:00Z"})),
        )
        .await;
    set.expect(200);
    let expected =
        json!({"availability": "dnd", "text": "Focusing", "expires_at": "2099-01-01T00:00:00Z"});
    assert_eq!(set.body, expected);
    assert_eq!(listed_status(&app, &ann, &bob).await, expected);
    assert_eq!(
        app.get(Some(&bob), "/api/users/me").await.body["status"],
        expected
    );
    assert_eq!(listed_status(&app, &ann, &ann).await, Value::Null);

    story.step("everyone of Acme");
    // Everyone of Acme (the bot included) hears of it; Globex does not.
    let event = only(
        &app.new_events(&mut seen).await,
        EventKind::UserStatusChanged,
        &workspace,
    );
    let data: UserStatusChanged = event.payload().unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(
        (data.user_id.0, data.text.as_deref()),
        (bob.id, Some("Focusing"))
    );
    let pushed = ann_ws.event("user.status_changed").await;
    assert_eq!(pushed["data"]["availability"], "dnd");

    story.step("mentioning Bob while he is in do-not-disturb");
    // Mentioning Bob while he is in do-not-disturb: still a mention, but a silenced one.
    let mention = app.send(&ann, chat, "@bob the build is green").await;
    let created = only(
        &app.new_events(&mut seen).await,
        EventKind::MessageCreated,
        &[ann.id, bob.id],
    );
    let message: MessagePayload = created.payload().unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(message.id.0, mention);
    assert_eq!(
        message.mentions.iter().map(|id| id.0).collect::<Vec<_>>(),
        vec![bob.id]
    );
    assert_eq!(
        message
            .silenced_mentions
            .iter()
            .map(|id| id.0)
            .collect::<Vec<_>>(),
        vec![bob.id]
    );

    story.step("away is not do-not-disturb");
    // Away is not do-not-disturb: mentions alert again.
    app.call(
        reqwest::Method::PUT,
        Some(&bob),
        "/api/users/me/status",
        Some(json!({"availability": "away"})),
    )
    .await
    .expect(200);
    app.send(&ann, chat, "@bob lunch?").await;
    let events = app.new_events(&mut seen).await;
    let created = events
        .iter()
        .find(|event| event.kind == EventKind::MessageCreated)
        .unwrap_or_else(|| panic!("no message.created in {events:?}"));
    let message: MessagePayload = created.payload().unwrap_or_else(|err| panic!("{err}"));
    assert!(message.silenced_mentions.is_empty());

    story.step("an expired status reads as none");
    // An expired status reads as none.
    sqlx::query(
        "UPDATE user_statuses SET expires_at = now() - interval '1 second' WHERE user_id = $1",
    )
    .bind(bob.id)
    .execute(&app.pool)
    .await
    .unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(listed_status(&app, &ann, &bob).await, Value::Null);

    story.step("clearing");
    // Clearing: announced when a status was in force, silent otherwise.
    app.call(
        reqwest::Method::PUT,
        Some(&ann),
        "/api/users/me/status",
        Some(json!({"availability": "away", "text": "out"})),
    )
    .await
    .expect(200);
    app.new_events(&mut seen).await;
    app.delete(Some(&ann), "/api/users/me/status")
        .await
        .expect(204);
    let cleared = only(
        &app.new_events(&mut seen).await,
        EventKind::UserStatusChanged,
        &workspace,
    );
    assert_eq!(cleared.data["availability"], "active");
    app.delete(Some(&ann), "/api/users/me/status")
        .await
        .expect(204);
    app.delete(Some(&bob), "/api/users/me/status")
        .await
        .expect(204);
    assert!(app.new_events(&mut seen).await.is_empty());
    story.step("zed's own status is the first one his socket gets");
    // Zed's own status is the first one his socket gets: none of Acme's reached him.
    app.call(
        reqwest::Method::PUT,
        Some(&zed),
        "/api/users/me/status",
        Some(json!({"availability": "away"})),
    )
    .await
    .expect(200);
    let first = zed_ws.event("user.status_changed").await;
    assert_eq!(first["data"]["user_id"], zed.id);
    app.new_events(&mut seen).await;

    story.step("bad input");
    // Bad input: clear codes, nothing stored.
    let put = |body: Value| {
        app.call(
            reqwest::Method::PUT,
            Some(&ann),
            "/api/users/me/status",
            Some(body),
        )
    };
    put(json!({"availability": "asleep"}))
        .await
        .expect_error(422, "invalid_body");
    put(json!({"availability": "away", "text": "x".repeat(101)}))
        .await
        .expect_error(422, "status_too_long");
    put(json!({"availability": "away", "expires_at": "2001-01-01T00:00:00Z"}))
        .await
        .expect_error(422, "invalid_expiry");
    app.call(
        reqwest::Method::PUT,
        None,
        "/api/users/me/status",
        Some(json!({"availability": "away"})),
    )
    .await
    .expect(401);
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM user_statuses WHERE user_id = {}",
            ann.id
        ))
        .await,
        0
    );
}
