//! Pinned messages: who may pin where, the list, the limit, and `message.pinned` /
//! `message.unpinned` reaching the chat's members (stream and WebSocket) and nobody else.

use fechatter_events::EventKind;
use fechatter_events::payload::PinChanged;
use serde_json::Value;

use crate::common::events::only;
use crate::common::{AppOptions, TestApp};

fn pinned_ids(body: &Value) -> Vec<i64> {
    body["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|pin| pin["message"]["id"].as_i64())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn members_pin_in_a_group_and_every_member_and_only_they_hear_of_it() {
    let app = TestApp::spawn_with(AppOptions {
        env: vec![("MAX_PINS_PER_CHAT", "2".to_owned())],
        ..AppOptions::default()
    })
    .await;
    let ann = app.owner("ann", "Acme").await;
    let bob = app.member(&ann, "bob").await;
    let cat = app.member(&ann, "cat").await;
    let chat = app.chat(&ann, "group", Some("launch"), &[&bob]).await;
    let first = app.send(&ann, chat, "the plan").await;
    let second = app.send(&ann, chat, "the budget").await;
    let third = app.send(&bob, chat, "the date").await;
    let mut ann_ws = app.ws(&ann).await;
    let mut cat_ws = app.ws(&cat).await;
    let mut seen = app.published_events().await.len();

    // Bob, a plain member, pins Ann's message; pinning again changes nothing.
    let pin = |message: i64| format!("/api/chats/{chat}/messages/{message}/pin");
    app.put(Some(&bob), &pin(first)).await.expect(204);
    let event = only(
        &app.new_events(&mut seen).await,
        EventKind::MessagePinned,
        &[ann.id, bob.id],
    );
    let data: PinChanged = event.payload().unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(
        (data.message_id.0, data.chat_id.0, data.user_id.0),
        (first, chat, bob.id)
    );
    assert!(data.pinned_at.is_some());
    let pushed = ann_ws.event("message.pinned").await;
    assert_eq!(pushed["data"]["message_id"], first);
    app.put(Some(&bob), &pin(first)).await.expect(204);
    assert!(app.new_events(&mut seen).await.is_empty());

    // The list shows the message with who pinned it, the latest pin first.
    app.put(Some(&ann), &pin(second)).await.expect(204);
    app.new_events(&mut seen).await;
    let pins = app
        .get(Some(&bob), &format!("/api/chats/{chat}/pins"))
        .await;
    pins.expect(200);
    assert_eq!(pinned_ids(&pins.body), vec![second, first]);
    assert_eq!(pins.body["items"][1]["pinned_by"], bob.id);
    assert_eq!(pins.body["items"][1]["message"]["content"], "the plan");

    // Beyond the chat's limit: a clear 422 and nothing stored.
    app.put(Some(&bob), &pin(third))
        .await
        .expect_error(422, "too_many_pins");
    assert!(app.new_events(&mut seen).await.is_empty());

    // Unpinning frees a place; a deleted message leaves the list with its pin.
    app.delete(Some(&ann), &pin(first)).await.expect(204);
    let event = only(
        &app.new_events(&mut seen).await,
        EventKind::MessageUnpinned,
        &[ann.id, bob.id],
    );
    assert_eq!(event.data["message_id"], first);
    assert_eq!(
        ann_ws.event("message.unpinned").await["data"]["message_id"],
        first
    );
    app.delete(Some(&ann), &pin(first)).await.expect(204);
    assert!(app.new_events(&mut seen).await.is_empty());
    app.delete(Some(&ann), &format!("/api/chats/{chat}/messages/{second}"))
        .await
        .expect(204);
    let pins = app
        .get(Some(&ann), &format!("/api/chats/{chat}/pins"))
        .await;
    assert_eq!(pinned_ids(&pins.body), Vec::<i64>::new());
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM message_pins WHERE chat_id = {chat}"
        ))
        .await,
        0
    );

    // Cat is not a member: nothing about this chat reached him, and its pins do not exist for him.
    let cats_own = app.chat(&cat, "group", Some("cat's"), &[]).await;
    let note = app.send(&cat, cats_own, "note to self").await;
    app.put(
        Some(&cat),
        &format!("/api/chats/{cats_own}/messages/{note}/pin"),
    )
    .await
    .expect(204);
    let own = cat_ws.event("message.pinned").await;
    assert_eq!(own["data"]["chat_id"], cats_own);
    assert!(
        cat_ws
            .unread()
            .iter()
            .all(|frame| frame["event"]["data"]["chat_id"] != chat),
        "a non-member heard of the chat: {:?}",
        cat_ws.unread()
    );
    app.get(Some(&cat), &format!("/api/chats/{chat}/pins"))
        .await
        .expect_error(404, "not_found");
    app.put(Some(&cat), &pin(third))
        .await
        .expect_error(404, "not_found");
    // A message of another chat, or one that does not exist, is not found in this one.
    app.put(Some(&ann), &pin(note))
        .await
        .expect_error(404, "not_found");
    app.put(Some(&ann), &format!("/api/chats/{chat}/messages/abc/pin"))
        .await
        .expect_error(400, "invalid_path");
}

#[tokio::test]
async fn in_a_channel_only_the_owner_and_admins_pin() {
    let app = TestApp::spawn().await;
    let ann = app.owner("ann", "Acme").await;
    let bob = app.member(&ann, "bob").await;
    let ada = app.member(&ann, "ada").await;
    let channel = app
        .chat(&ann, "public_channel", Some("news"), &[&bob])
        .await;
    app.post(
        Some(&ann),
        &format!("/api/chats/{channel}/members"),
        serde_json::json!({"user_id": ada.id, "role": "admin"}),
    )
    .await
    .expect(201);
    let message = app.send(&bob, channel, "release notes").await;
    let pin = format!("/api/chats/{channel}/messages/{message}/pin");

    app.put(Some(&bob), &pin)
        .await
        .expect_error(403, "forbidden");
    app.put(Some(&ada), &pin).await.expect(204);
    app.delete(Some(&bob), &pin)
        .await
        .expect_error(403, "forbidden");
    // Members still read the pins.
    let pins = app
        .get(Some(&bob), &format!("/api/chats/{channel}/pins"))
        .await;
    pins.expect(200);
    assert_eq!(pinned_ids(&pins.body), vec![message]);
    app.delete(Some(&ann), &pin).await.expect(204);
}
