//! Every change publishes exactly one event to JetStream, with the right kind, recipients and data.

use fechatter_events::EventKind;
use fechatter_events::payload::{
    ChatPayload, ChatRead, MemberChanged, MessagePayload, ReactionChanged, UserSignedUp,
};
use serde_json::json;

use crate::common::events::only;
use crate::common::{AppOptions, TestApp, TestUser};

fn ids(users: &[&TestUser]) -> Vec<i64> {
    users.iter().map(|user| user.id).collect()
}

#[tokio::test]
async fn every_change_publishes_one_event_to_the_chat_members_and_nobody_else() {
    // A poll far beyond the test's waits: events can only leave because the commit woke the relay.
    let app = TestApp::spawn_with(AppOptions {
        env: vec![("OUTBOX_POLL_INTERVAL_MS", "60000".to_owned())],
        ..AppOptions::default()
    })
    .await;
    let mut seen = 0;
    let ann = app.owner("ann", "Acme").await;
    let signed_up: UserSignedUp = only(
        &app.new_events(&mut seen).await,
        EventKind::UserSignedUp,
        &[ann.id],
    )
    .payload()
    .unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(
        (signed_up.user_id.0, signed_up.joined_by_invite),
        (ann.id, false)
    );
    let bob = app.member(&ann, "bob").await;
    let eve = app.member(&ann, "eve").await;
    let joined = app.new_events(&mut seen).await;
    assert_eq!(joined.len(), 2);
    let bob_joined: UserSignedUp = joined[0].payload().unwrap_or_else(|err| panic!("{err}"));
    assert!(bob_joined.joined_by_invite);

    let chat = app.chat(&ann, "group", Some("pair"), &[&bob]).await;
    let created = only(
        &app.new_events(&mut seen).await,
        EventKind::ChatCreated,
        &ids(&[&ann, &bob]),
    );
    assert_eq!(
        (
            created.workspace_id.0,
            created.chat_id.map(|c| c.0),
            created.actor_id.map(|a| a.0)
        ),
        (ann.workspace_id, Some(chat), Some(ann.id))
    );
    let data: ChatPayload = created.payload().unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(data.name.as_deref(), Some("pair"));

    let message = app.send(&bob, chat, "hi @ann").await;
    let event = only(
        &app.new_events(&mut seen).await,
        EventKind::MessageCreated,
        &ids(&[&ann, &bob]),
    );
    assert!(!event.is_for(fechatter_events::UserId(eve.id)));
    let data: MessagePayload = event.payload().unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(
        (data.id.0, data.content.as_str(), data.sender_is_bot),
        (message, "hi @ann", false)
    );
    assert_eq!(
        data.mentions.iter().map(|id| id.0).collect::<Vec<_>>(),
        vec![ann.id]
    );

    let path = format!("/api/chats/{chat}/messages/{message}");
    app.patch(Some(&bob), &path, json!({"content": "hello"}))
        .await
        .expect(200);
    let data: MessagePayload = only(
        &app.new_events(&mut seen).await,
        EventKind::MessageUpdated,
        &ids(&[&ann, &bob]),
    )
    .payload()
    .unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(data.content, "hello");
    assert!(data.edited_at.is_some() && data.mentions.is_empty());

    app.put(Some(&ann), &format!("{path}/reactions/👍"))
        .await
        .expect(204);
    app.put(Some(&ann), &format!("{path}/reactions/👍"))
        .await
        .expect(204);
    let data: ReactionChanged = only(
        &app.new_events(&mut seen).await,
        EventKind::MessageReactionAdded,
        &ids(&[&ann, &bob]),
    )
    .payload()
    .unwrap_or_else(|err| panic!("{err}"));
    assert_eq!((data.emoji.as_str(), data.user_id.0), ("👍", ann.id));
    app.delete(Some(&ann), &format!("{path}/reactions/👍"))
        .await
        .expect(204);
    app.delete(Some(&ann), &format!("{path}/reactions/👍"))
        .await
        .expect(204);
    only(
        &app.new_events(&mut seen).await,
        EventKind::MessageReactionRemoved,
        &ids(&[&ann, &bob]),
    );

    app.post(
        Some(&ann),
        &format!("/api/chats/{chat}/read"),
        json!({"message_id": message}),
    )
    .await
    .expect(200);
    app.post(
        Some(&ann),
        &format!("/api/chats/{chat}/read"),
        json!({"message_id": message}),
    )
    .await
    .expect(200);
    let read: ChatRead = only(
        &app.new_events(&mut seen).await,
        EventKind::ChatRead,
        &[ann.id],
    )
    .payload()
    .unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(read.last_read_message_id.0, message);

    app.post(
        Some(&ann),
        &format!("/api/chats/{chat}/members"),
        json!({"user_id": eve.id}),
    )
    .await
    .expect(201);
    let added: MemberChanged = only(
        &app.new_events(&mut seen).await,
        EventKind::ChatMemberAdded,
        &ids(&[&ann, &bob, &eve]),
    )
    .payload()
    .unwrap_or_else(|err| panic!("{err}"));
    assert_eq!((added.user_id.0, added.role.as_str()), (eve.id, "member"));
    app.delete(Some(&ann), &format!("/api/chats/{chat}/members/{}", eve.id))
        .await
        .expect(204);
    only(
        &app.new_events(&mut seen).await,
        EventKind::ChatMemberRemoved,
        &ids(&[&ann, &bob, &eve]),
    );

    app.patch(
        Some(&ann),
        &format!("/api/chats/{chat}"),
        json!({"description": "just us"}),
    )
    .await
    .expect(200);
    let updated: ChatPayload = only(
        &app.new_events(&mut seen).await,
        EventKind::ChatUpdated,
        &ids(&[&ann, &bob]),
    )
    .payload()
    .unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(updated.description.as_deref(), Some("just us"));

    app.delete(Some(&bob), &path).await.expect(204);
    only(
        &app.new_events(&mut seen).await,
        EventKind::MessageDeleted,
        &ids(&[&ann, &bob]),
    );
    app.delete(Some(&ann), &format!("/api/chats/{chat}"))
        .await
        .expect(204);
    only(
        &app.new_events(&mut seen).await,
        EventKind::ChatDeleted,
        &ids(&[&ann, &bob]),
    );

    // Rejected requests publish nothing.
    app.post(
        Some(&eve),
        &format!("/api/chats/{chat}/messages"),
        json!({"content": "x"}),
    )
    .await
    .expect(404);
    assert!(app.new_events(&mut seen).await.is_empty());
}

#[tokio::test]
async fn a_send_retried_with_the_same_idempotency_key_returns_the_original_and_writes_one_event() {
    let app = TestApp::spawn().await;
    let ann = app.owner("ann", "Acme").await;
    let chat = app.chat(&ann, "group", None, &[]).await;
    let other = app.chat(&ann, "group", None, &[]).await;
    let mut seen = app.published_events().await.len();
    let send = |chat: i64| {
        app.client
            .post(app.url(&format!("/api/chats/{chat}/messages")))
            .bearer_auth(&ann.token)
            .header("Idempotency-Key", "send-1")
            .json(&json!({"content": "exactly once"}))
    };
    let first = app.send_request(send(chat)).await;
    first.expect(201);
    let retry = app.send_request(send(chat)).await;
    retry.expect(201);
    assert_eq!(retry.id(), first.id());
    assert_eq!(
        retry
            .headers
            .get("idempotent-replayed")
            .map(|v| v.as_bytes()),
        Some(&b"true"[..])
    );
    assert!(first.headers.get("idempotent-replayed").is_none());
    assert_eq!(app.count("SELECT count(*) FROM messages").await, 1);
    only(
        &app.new_events(&mut seen).await,
        EventKind::MessageCreated,
        &[ann.id],
    );
    app.send_request(send(other))
        .await
        .expect_error(409, "idempotency_key_reused");
    assert_eq!(app.count("SELECT count(*) FROM messages").await, 1);
    assert!(app.new_events(&mut seen).await.is_empty());
}

#[tokio::test]
async fn a_plain_message_and_its_event_are_written_in_one_statement_and_the_event_says_what_the_reply_says()
 {
    let app = TestApp::spawn().await;
    let ann = app.owner("ann", "Acme").await;
    let bob = app.member(&ann, "bob").await;
    let eve = app.member(&ann, "eve").await;
    let chat = app.chat(&ann, "group", None, &[&bob]).await;
    let mut seen = app.published_events().await.len();

    // No reply, files or mentions: the one-statement send (`repo::sends`).
    let reply = app
        .post(
            Some(&bob),
            &format!("/api/chats/{chat}/messages"),
            json!({"content": "plain words, no handle"}),
        )
        .await;
    reply.expect(201);
    let event = only(
        &app.new_events(&mut seen).await,
        EventKind::MessageCreated,
        &ids(&[&ann, &bob]),
    );
    assert!(!event.is_for(fechatter_events::UserId(eve.id)));
    assert_eq!(
        (
            event.workspace_id.0,
            event.chat_id.map(|c| c.0),
            event.actor_id.map(|a| a.0)
        ),
        (ann.workspace_id, Some(chat), Some(bob.id))
    );
    for field in [
        "id",
        "chat_id",
        "sender_id",
        "content",
        "reply_to",
        "created_at",
    ] {
        assert_eq!(event.data[field], reply.body[field], "{field}");
    }
    let data: MessagePayload = event.payload().unwrap_or_else(|err| panic!("{err}"));
    assert!(data.mentions.is_empty() && data.files.is_empty() && data.edited_at.is_none());
    assert!(!data.sender_is_bot);

    // An outsider writes nothing; the same key again returns the message and writes no event.
    let send = |user: &TestUser| {
        app.client
            .post(app.url(&format!("/api/chats/{chat}/messages")))
            .bearer_auth(&user.token)
            .header("Idempotency-Key", "plain-1")
            .json(&json!({"content": "once"}))
    };
    app.send_request(send(&eve)).await.expect(404);
    let first = app.send_request(send(&bob)).await;
    first.expect(201);
    assert_eq!(app.send_request(send(&bob)).await.id(), first.id());
    only(
        &app.new_events(&mut seen).await,
        EventKind::MessageCreated,
        &ids(&[&ann, &bob]),
    );

    // The statement writes `created_at` as chrono does, whatever the fraction.
    let times = [
        "2026-01-02T03:04:05Z",
        "2026-01-02T03:04:05.120Z",
        "2026-01-02T03:04:05.000001Z",
        "2026-12-31T23:59:59.999990Z",
    ]
    .map(|text| {
        text.parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap_or_else(|err| panic!("{text}: {err}"))
    });
    let written: Vec<String> = sqlx::query_scalar(&format!(
        "SELECT {} FROM unnest($1::timestamptz[]) WITH ORDINALITY AS inserted (created_at, n)
         ORDER BY n",
        fechatter_server::repo::sends::CREATED_AT_TEXT
    ))
    .bind(&times[..])
    .fetch_all(&app.pool)
    .await
    .unwrap_or_else(|err| panic!("{err}"));
    let chrono_writes: Vec<String> = times
        .iter()
        .map(|time| {
            serde_json::to_value(time)
                .ok()
                .and_then(|value| value.as_str().map(str::to_owned))
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(written, chrono_writes);
}
