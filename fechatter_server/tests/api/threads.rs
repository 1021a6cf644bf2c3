//! Threads: replies join their root's thread, lists carry reply counts, authors and mentioned
//! members follow threads with unread counts, and `thread.updated` / `thread.read` reach exactly
//! the followers who are members (the stream and the WebSocket).

use fechatter_events::EventKind;
use fechatter_events::payload::ThreadUpdated;
use serde_json::{Value, json};

use crate::common::events::only;
use crate::common::{TestApp, TestUser};

async fn reply(app: &TestApp, user: &TestUser, chat: i64, to: i64, content: &str) -> i64 {
    let reply = app
        .post(
            Some(user),
            &format!("/api/chats/{chat}/messages"),
            json!({"content": content, "reply_to": to}),
        )
        .await;
    reply.expect(201);
    reply.id()
}

fn of_kind(
    events: &[fechatter_events::Envelope],
    kind: EventKind,
) -> Vec<fechatter_events::Envelope> {
    events
        .iter()
        .filter(|event| event.kind == kind)
        .cloned()
        .collect()
}

fn ids(body: &Value, key: &str) -> Vec<i64> {
    body[key]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|item| item["id"].as_i64())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn replies_join_the_roots_thread_and_only_its_followers_hear_of_them() {
    let app = TestApp::spawn().await;
    let ann = app.owner("ann", "Acme").await;
    let bob = app.member(&ann, "bob").await;
    let cat = app.member(&ann, "cat").await;
    let dan = app.member(&ann, "dan").await;
    let eve = app.member(&ann, "eve").await;
    let chat = app
        .chat(&ann, "group", Some("release"), &[&bob, &cat, &dan])
        .await;
    let root = app.send(&ann, chat, "the release plan").await;
    let mut ann_ws = app.ws(&ann).await;
    let mut cat_ws = app.ws(&cat).await;
    let mut seen = app.published_events().await.len();

    // Bob answers, mentioning Dan: Ann (the root's author), Bob and Dan follow; Cat does not.
    let first = reply(&app, &bob, chat, root, "@dan can you check the date?").await;
    let events = app.new_events(&mut seen).await;
    let created = of_kind(&events, EventKind::MessageCreated);
    assert_eq!(created.len(), 1);
    assert_eq!(
        created[0].recipients.len(),
        4,
        "every member sees the reply"
    );
    let updated = only(
        &of_kind(&events, EventKind::ThreadUpdated),
        EventKind::ThreadUpdated,
        &[ann.id, bob.id, dan.id],
    );
    let data: ThreadUpdated = updated.payload().unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(
        (
            data.root_id.0,
            data.reply_id.0,
            data.sender_id.0,
            data.reply_count,
            data.deleted
        ),
        (root, first, bob.id, 1, false)
    );
    assert_eq!(
        data.mentions.iter().map(|u| u.0).collect::<Vec<_>>(),
        vec![dan.id]
    );
    let pushed = ann_ws.event("thread.updated").await;
    assert_eq!(pushed["data"]["reply_id"], first);

    // A reply to the reply joins the same thread; Cat now follows it too.
    let second = reply(&app, &cat, chat, first, "the 12th works").await;
    let events = app.new_events(&mut seen).await;
    only(
        &of_kind(&events, EventKind::ThreadUpdated),
        EventKind::ThreadUpdated,
        &[ann.id, bob.id, cat.id, dan.id],
    );
    let own = cat_ws.event("thread.updated").await;
    assert_eq!(own["data"]["reply_id"], second);
    // Cat's socket delivers in stream order: the thread.updated of Bob's reply never reached him.
    assert!(
        cat_ws
            .unread()
            .iter()
            .all(|frame| frame["event"]["kind"] != "thread.updated"),
        "a non-follower heard of the thread: {:?}",
        cat_ws.unread()
    );

    // The thread, asked for by its root or by any reply: replies newest first, paged.
    let thread = format!("/api/chats/{chat}/messages/{first}/thread");
    let page = app.get(Some(&ann), &thread).await;
    page.expect(200);
    assert_eq!(page.body["root_id"], root);
    assert_eq!(page.body["root"]["content"], "the release plan");
    assert_eq!(page.body["reply_count"], 2);
    assert_eq!(ids(&page.body, "items"), vec![second, first]);
    assert_eq!(page.body["items"][0]["thread_root_id"], root);
    assert_eq!(page.body["items"][0]["reply_to"], first);
    assert_eq!(
        (
            page.body["following"].clone(),
            page.body["unread_count"].clone()
        ),
        (json!(true), json!(2))
    );
    let one = app.get(Some(&ann), &format!("{thread}?limit=1")).await;
    assert_eq!(
        (ids(&one.body, "items"), one.body["has_more"].clone()),
        (vec![second], json!(true))
    );
    let rest = app
        .get(
            Some(&ann),
            &format!("{thread}?limit=1&before={}", one.body["next_before"]),
        )
        .await;
    assert_eq!(
        (ids(&rest.body, "items"), rest.body["has_more"].clone()),
        (vec![first], json!(false))
    );
    let bobs = app.get(Some(&bob), &thread).await;
    assert_eq!(
        bobs.body["unread_count"], 1,
        "his own reply is read, Cat's is not"
    );

    // The message list and the chat list carry the counts.
    let messages = app
        .get(Some(&cat), &format!("/api/chats/{chat}/messages"))
        .await;
    let root_view = messages.body["items"]
        .as_array()
        .and_then(|items| items.iter().find(|m| m["id"] == root).cloned())
        .unwrap_or_default();
    assert_eq!(root_view["reply_count"], 2);
    assert!(root_view["last_reply_at"].is_string());
    let chats = app.get(Some(&ann), "/api/chats").await;
    let listed = chats.body["items"]
        .as_array()
        .and_then(|items| items.iter().find(|c| c["id"] == chat).cloned())
        .unwrap_or_default();
    assert_eq!(
        (
            listed["reply_count"].clone(),
            listed["thread_unread_count"].clone()
        ),
        (json!(2), json!(2))
    );
    assert!(listed["last_reply_at"].is_string());

    // Followed threads with unread counts; Eve, not in the chat, follows nothing and sees nothing.
    let dans = app.get(Some(&dan), "/api/threads").await;
    dans.expect(200);
    assert_eq!(dans.body["items"][0]["root_id"], root);
    assert_eq!(dans.body["items"][0]["unread_count"], 2);
    let eves = app.get(Some(&eve), "/api/threads").await;
    assert_eq!(eves.body["items"], json!([]));
    app.get(Some(&eve), &thread)
        .await
        .expect_error(404, "not_found");

    // Ann reads up to Cat's reply: only her sessions hear of it; reading again changes nothing.
    let read = format!("/api/chats/{chat}/messages/{root}/thread/read");
    let marked = app
        .post(Some(&ann), &read, json!({"message_id": second}))
        .await;
    marked.expect(200);
    assert_eq!(
        (
            marked.body["last_read_reply_id"].clone(),
            marked.body["unread_count"].clone()
        ),
        (json!(second), json!(0))
    );
    let event = only(
        &app.new_events(&mut seen).await,
        EventKind::ThreadRead,
        &[ann.id],
    );
    assert_eq!(event.data["last_read_reply_id"], second);
    assert_eq!(ann_ws.event("thread.read").await["data"]["root_id"], root);
    app.post(Some(&ann), &read, json!({"message_id": first}))
        .await
        .expect(200);
    assert!(app.new_events(&mut seen).await.is_empty());
    let chats = app.get(Some(&ann), "/api/chats").await;
    assert_eq!(chats.body["items"][0]["thread_unread_count"], 0);

    // Deleting a reply recounts the thread and tells its followers.
    app.delete(Some(&cat), &format!("/api/chats/{chat}/messages/{second}"))
        .await
        .expect(204);
    let events = app.new_events(&mut seen).await;
    let updated = only(
        &of_kind(&events, EventKind::ThreadUpdated),
        EventKind::ThreadUpdated,
        &[ann.id, bob.id, cat.id, dan.id],
    );
    assert_eq!(
        (
            updated.data["deleted"].clone(),
            updated.data["reply_count"].clone()
        ),
        (json!(true), json!(1))
    );
    assert_eq!(app.get(Some(&ann), &thread).await.body["reply_count"], 1);

    // A follower who leaves the chat hears of the thread no more and no longer lists it.
    app.delete(Some(&ann), &format!("/api/chats/{chat}/members/{}", dan.id))
        .await
        .expect(204);
    app.new_events(&mut seen).await;
    reply(&app, &bob, chat, root, "moving on").await;
    let events = app.new_events(&mut seen).await;
    only(
        &of_kind(&events, EventKind::ThreadUpdated),
        EventKind::ThreadUpdated,
        &[ann.id, bob.id, cat.id],
    );
    assert_eq!(
        app.get(Some(&dan), "/api/threads").await.body["items"],
        json!([])
    );
}

#[tokio::test]
async fn thread_routes_answer_bad_input_with_clear_errors_and_change_nothing() {
    let app = TestApp::spawn().await;
    let ann = app.owner("ann", "Acme").await;
    let bob = app.member(&ann, "bob").await;
    let fay = app.member(&ann, "fay").await;
    let chat = app.chat(&ann, "group", Some("ops"), &[&bob, &fay]).await;
    let other = app.chat(&ann, "group", Some("elsewhere"), &[]).await;
    let root = app.send(&ann, chat, "incident review").await;
    let answer = reply(&app, &bob, chat, root, "timeline attached").await;
    let stray = app.send(&ann, chat, "unrelated").await;
    let elsewhere = app.send(&ann, other, "another chat").await;
    let mut seen = app.published_events().await.len();
    let read = format!("/api/chats/{chat}/messages/{root}/thread/read");

    // Replying to a message of another chat, or one that does not exist.
    for to in [elsewhere, 987_654_321] {
        app.post(
            Some(&bob),
            &format!("/api/chats/{chat}/messages"),
            json!({"content": "hm", "reply_to": to}),
        )
        .await
        .expect_error(422, "invalid_reply_to");
    }
    // A thread of a message that is not in this chat, or a malformed id.
    app.get(
        Some(&ann),
        &format!("/api/chats/{chat}/messages/{elsewhere}/thread"),
    )
    .await
    .expect_error(404, "not_found");
    app.get(Some(&ann), &format!("/api/chats/{chat}/messages/x/thread"))
        .await
        .expect_error(400, "invalid_path");
    app.get(
        Some(&ann),
        &format!("/api/chats/{chat}/messages/{root}/thread?limit=0"),
    )
    .await
    .expect_error(400, "invalid_limit");
    app.get(Some(&ann), "/api/threads?before=-1")
        .await
        .expect_error(400, "invalid_cursor");
    // Marking read: not a reply of the thread, not following, a malformed body.
    for not_a_reply in [root, stray, elsewhere] {
        app.post(Some(&ann), &read, json!({"message_id": not_a_reply}))
            .await
            .expect_error(422, "not_in_thread");
    }
    app.post(Some(&fay), &read, json!({"message_id": answer}))
        .await
        .expect_error(422, "not_following");
    let bad = app
        .post(Some(&ann), &read, json!({"message_id": "four"}))
        .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert!(bad.body["code"].is_string());
    app.post(Some(&ann), &read, json!({"message_id": answer, "extra": 1}))
        .await
        .expect(422);
    app.get(None, "/api/threads").await.expect(401);

    assert!(
        app.new_events(&mut seen).await.is_empty(),
        "bad input wrote events"
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM thread_followers WHERE root_id = {root} AND last_read_reply_id IS NOT NULL AND user_id <> {}",
            bob.id
        ))
        .await,
        0
    );
    assert_eq!(
        app.count("SELECT count(*) FROM messages WHERE thread_root_id IS NOT NULL")
            .await,
        1
    );
}
