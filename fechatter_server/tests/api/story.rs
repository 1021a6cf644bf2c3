//! The full user story: workspaces, chats of every type, members and roles, messages through
//! several pages, edits, deletes, replies, reactions, and unread and mention counts.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::common::metrics::value;
use crate::common::{PASSWORD, TestApp, TestUser, WAIT};

fn chat_in(list: &Value, id: i64) -> &Value {
    list["items"]
        .as_array()
        .and_then(|items| items.iter().find(|chat| chat["id"] == id))
        .unwrap_or_else(|| panic!("chat {id} not in {list}"))
}

async fn counts(app: &TestApp, user: &TestUser, chat: i64) -> (i64, i64) {
    let list = app.get(Some(user), "/api/chats").await;
    list.expect(200);
    let chat = chat_in(&list.body, chat);
    (
        chat["unread_count"].as_i64().unwrap_or(-1),
        chat["mention_count"].as_i64().unwrap_or(-1),
    )
}

async fn all_messages(app: &TestApp, user: &TestUser, chat: i64, limit: usize) -> Vec<i64> {
    let mut ids = Vec::new();
    let mut path = format!("/api/chats/{chat}/messages?limit={limit}");
    for _ in 0..100 {
        let page = app.get(Some(user), &path).await;
        page.expect(200);
        let items = page.item_ids("id");
        assert!(items.len() <= limit);
        ids.extend(items);
        match page.body["next_before"].as_i64() {
            Some(before) => {
                assert_eq!(page.body["has_more"], true);
                path = format!("/api/chats/{chat}/messages?limit={limit}&before={before}");
            }
            None => {
                assert_eq!(page.body["has_more"], false);
                return ids;
            }
        }
    }
    panic!("paging never ended")
}

#[tokio::test]
async fn two_workspaces_chat_from_sign_up_to_reading_their_unread_messages() {
    let story = test_support::story::Story::new(
        "two_workspaces_chat_from_sign_up_to_reading_their_unread_messages",
    );
    let app = TestApp::spawn().await;
    let ann = app.owner("ann", "Acme").await;
    let bob = app.member(&ann, "bob").await;
    let cat = app.member(&ann, "cat").await;
    let dan = app.member(&ann, "dan").await;
    let zed = app.owner("zed", "Globex").await;
    assert_ne!(ann.workspace_id, zed.workspace_id);
    assert_eq!(bob.workspace_id, ann.workspace_id);

    story.step("sign-in and profile");
    // Sign-in and profile.
    let signin = app
        .post(
            None,
            "/api/signin",
            json!({"email": bob.email, "password": PASSWORD}),
        )
        .await;
    signin.expect(200);
    assert_eq!(signin.body["user"]["id"], bob.id);
    assert!(signin.body["access_token"].is_string() && signin.body["refresh_token"].is_string());
    app.post(
        None,
        "/api/signin",
        json!({"email": bob.email, "password": "wrong password"}),
    )
    .await
    .expect_error(401, "invalid_credentials");
    let me = app.get(Some(&ann), "/api/users/me").await;
    me.expect(200);
    assert_eq!(
        (
            me.body["workspace_name"].as_str(),
            me.body["workspace_role"].as_str()
        ),
        (Some("Acme"), Some("owner"))
    );

    story.step("the directory pages through Acme only");
    // The directory pages through Acme only.
    let first = app.get(Some(&ann), "/api/users?limit=3").await;
    first.expect(200);
    assert_eq!(first.body["has_more"], true);
    let before = first.body["next_before"].as_i64().unwrap_or_default();
    let second = app
        .get(Some(&ann), &format!("/api/users?limit=3&before={before}"))
        .await;
    let mut directory = first.item_ids("id");
    directory.extend(second.item_ids("id"));
    assert_eq!(directory, vec![dan.id, cat.id, bob.id, ann.id]);

    story.step("one chat of each type");
    // One chat of each type; a direct chat is one per pair.
    let direct = app.chat(&ann, "direct", None, &[&bob]).await;
    let again = app
        .post(
            Some(&bob),
            "/api/chats",
            json!({"chat_type": "direct", "members": [ann.id]}),
        )
        .await;
    again.expect(200);
    assert_eq!(again.id(), direct);
    let trio = app.chat(&ann, "group", Some("Trio"), &[&bob, &cat]).await;
    let secret = app
        .chat(&ann, "private_channel", Some("secret"), &[&bob])
        .await;
    let general = app.chat(&ann, "public_channel", Some("general"), &[]).await;
    let trio_view = app.get(Some(&cat), &format!("/api/chats/{trio}")).await;
    trio_view.expect(200);
    assert_eq!(
        (
            trio_view.body["role"].as_str(),
            trio_view.body["member_count"].as_i64()
        ),
        (Some("member"), Some(3))
    );
    app.patch(
        Some(&ann),
        &format!("/api/chats/{direct}"),
        json!({"name": "x"}),
    )
    .await
    .expect_error(422, "direct_chat_immutable");

    story.step("members and roles in the private channel");
    // Members and roles in the private channel.
    let add = |chat: i64, actor: &TestUser, user: &TestUser, role: &str| {
        let path = format!("/api/chats/{chat}/members");
        let body = json!({"user_id": user.id, "role": role});
        let actor = actor.clone();
        let app = &app;
        async move { app.post(Some(&actor), &path, body).await }
    };
    let made_admin = add(secret, &ann, &cat, "admin").await;
    made_admin.expect(201);
    assert_eq!(made_admin.body["role"], "admin");
    add(secret, &cat, &dan, "admin")
        .await
        .expect_error(403, "forbidden");
    add(secret, &cat, &dan, "member").await.expect(201);
    add(secret, &cat, &zed, "member")
        .await
        .expect_error(422, "unknown_user");
    app.delete(
        Some(&dan),
        &format!("/api/chats/{secret}/members/{}", bob.id),
    )
    .await
    .expect_error(403, "forbidden");
    app.delete(
        Some(&cat),
        &format!("/api/chats/{secret}/members/{}", dan.id),
    )
    .await
    .expect(204);
    app.patch(
        Some(&bob),
        &format!("/api/chats/{secret}"),
        json!({"name": "nope"}),
    )
    .await
    .expect_error(403, "forbidden");
    let renamed = app
        .patch(
            Some(&cat),
            &format!("/api/chats/{secret}"),
            json!({"name": "secret-2"}),
        )
        .await;
    renamed.expect(200);
    assert_eq!(renamed.body["name"], "secret-2");
    app.delete(
        Some(&bob),
        &format!("/api/chats/{secret}/members/{}", bob.id),
    )
    .await
    .expect(204);
    app.delete(
        Some(&ann),
        &format!("/api/chats/{secret}/members/{}", ann.id),
    )
    .await
    .expect_error(422, "owner_cannot_leave");
    let members = app
        .get(Some(&ann), &format!("/api/chats/{secret}/members"))
        .await;
    members.expect(200);
    assert_eq!(members.item_ids("user_id"), vec![cat.id, ann.id]);
    app.delete(Some(&cat), &format!("/api/chats/{secret}"))
        .await
        .expect_error(403, "forbidden");
    app.delete(Some(&ann), &format!("/api/chats/{secret}"))
        .await
        .expect(204);
    app.get(Some(&ann), &format!("/api/chats/{secret}"))
        .await
        .expect_error(404, "not_found");

    story.step("messages in the group, read back through pages of three");
    // Messages in the group, read back through pages of three: no duplicates, no gaps.
    let mut sent = Vec::new();
    for n in 0..7 {
        sent.push(app.send(&ann, trio, &format!("update number {n}")).await);
    }
    let ping = app.send(&bob, trio, "@ann and @cat: look at this").await;
    sent.push(ping);
    let listed = all_messages(&app, &cat, trio, 3).await;
    let mut expected = sent.clone();
    expected.reverse();
    assert_eq!(listed, expected);
    assert_eq!(listed.iter().collect::<BTreeSet<_>>().len(), listed.len());

    story.step("edit, delete, reply, react");
    // Edit, delete, reply, react.
    let edited = app
        .patch(
            Some(&ann),
            &format!("/api/chats/{trio}/messages/{}", sent[0]),
            json!({"content": "fixed"}),
        )
        .await;
    edited.expect(200);
    assert_eq!(edited.body["content"], "fixed");
    assert!(edited.body["edited_at"].is_string());
    app.patch(
        Some(&bob),
        &format!("/api/chats/{trio}/messages/{}", sent[0]),
        json!({"content": "mine"}),
    )
    .await
    .expect_error(403, "forbidden");
    app.delete(
        Some(&ann),
        &format!("/api/chats/{trio}/messages/{}", sent[1]),
    )
    .await
    .expect(204);
    app.patch(
        Some(&ann),
        &format!("/api/chats/{trio}/messages/{}", sent[1]),
        json!({"content": "back"}),
    )
    .await
    .expect_error(404, "not_found");
    let reply = app
        .post(
            Some(&cat),
            &format!("/api/chats/{trio}/messages"),
            json!({"content": "on it", "reply_to": ping}),
        )
        .await;
    reply.expect(201);
    assert_eq!(reply.body["reply_to"], ping);
    let reaction = |user: &TestUser, emoji: &str| {
        (
            user.clone(),
            format!("/api/chats/{trio}/messages/{}/reactions/{emoji}", sent[0]),
        )
    };
    for (user, path) in [
        reaction(&bob, "👍"),
        reaction(&cat, "👍"),
        reaction(&cat, "🎉"),
        reaction(&bob, "👍"),
    ] {
        app.put(Some(&user), &path).await.expect(204);
    }
    let (user, path) = reaction(&cat, "👍");
    app.delete(Some(&user), &path).await.expect(204);
    let page = app
        .get(Some(&bob), &format!("/api/chats/{trio}/messages?limit=100"))
        .await;
    let items = page.body["items"].as_array().cloned().unwrap_or_default();
    assert!(
        !items.iter().any(|message| message["id"] == sent[1]),
        "deleted message listed"
    );
    let first = items
        .iter()
        .find(|message| message["id"] == sent[0])
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        first["reactions"],
        json!([{"emoji": "👍", "count": 1, "me": true}, {"emoji": "🎉", "count": 1, "me": false}])
    );
    let ping_view = items
        .iter()
        .find(|message| message["id"] == ping)
        .cloned()
        .unwrap_or_default();
    let mut mentioned: Vec<i64> = ping_view["mentions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_i64)
        .collect();
    mentioned.sort_unstable();
    assert_eq!(mentioned, vec![ann.id, cat.id]);

    story.step("unread and mention counts, before and after reading");
    // Unread and mention counts, before and after reading; reads never go backwards.
    assert_eq!(
        counts(&app, &cat, trio).await,
        (7, 1),
        "cat: 6 live from ann + bob's ping"
    );
    assert_eq!(
        counts(&app, &ann, trio).await,
        (2, 1),
        "ann: bob's ping + cat's reply"
    );
    let read = app
        .post(
            Some(&cat),
            &format!("/api/chats/{trio}/read"),
            json!({"message_id": ping}),
        )
        .await;
    read.expect(200);
    assert_eq!(read.body["last_read_message_id"], ping);
    assert_eq!(counts(&app, &cat, trio).await, (0, 0));
    let back = app
        .post(
            Some(&cat),
            &format!("/api/chats/{trio}/read"),
            json!({"message_id": sent[2]}),
        )
        .await;
    assert_eq!(back.body["last_read_message_id"], ping);
    app.send(&ann, trio, "one more").await;
    assert_eq!(counts(&app, &cat, trio).await, (1, 0));
    app.post(
        Some(&ann),
        &format!("/api/chats/{trio}/read"),
        json!({"message_id": reply.id()}),
    )
    .await
    .expect(200);
    assert_eq!(counts(&app, &ann, trio).await, (0, 0));

    story.step("a public channel anyone in the workspace finds and joins");
    // A public channel anyone in the workspace finds and joins; history before joining is not unread.
    app.send(&ann, general, "welcome").await;
    let channels = app.get(Some(&dan), "/api/chats/public").await;
    channels.expect(200);
    assert_eq!(channels.item_ids("id"), vec![general]);
    assert_eq!(channels.body["items"][0]["joined"], false);
    assert!(
        app.get(Some(&zed), "/api/chats/public")
            .await
            .item_ids("id")
            .is_empty()
    );
    add(general, &dan, &dan, "member").await.expect(201);
    assert_eq!(counts(&app, &dan, general).await, (0, 0));
    app.send(&ann, general, "hello @dan").await;
    assert_eq!(counts(&app, &dan, general).await, (1, 1));
    assert_eq!(counts(&app, &ann, general).await, (0, 0));

    story.step("each user lists exactly their chats");
    // Each user lists exactly their chats.
    let listed: BTreeSet<i64> = app
        .get(Some(&bob), "/api/chats")
        .await
        .item_ids("id")
        .into_iter()
        .collect();
    assert_eq!(listed, BTreeSet::from([direct, trio]));
    assert!(
        app.get(Some(&zed), "/api/chats")
            .await
            .item_ids("id")
            .is_empty()
    );

    assert_metrics_moved(&app).await;
}

/// A series, label values it must have, and the least value it must reach.
type Expected = (&'static str, &'static [(&'static str, &'static str)], f64);

/// After the story the business, database, cache and event series have moved.
async fn assert_metrics_moved(app: &TestApp) {
    app.published_events().await;
    // Gauges are sampled every second.
    test_support::wait_until("the sampled gauges", WAIT, || async {
        let scrape = app.scrape().await;
        value(&scrape, "fechatter_users_active", &[]) == Some(5.0)
            && value(&scrape, "fechatter_cache_entries", &[("cache", "sessions")])
                .is_some_and(|n| n >= 5.0)
            && value(&scrape, "fechatter_outbox_pending_events", &[]) == Some(0.0)
    })
    .await;
    let scrape = app.scrape().await;
    let expected: &[Expected] = &[
        ("fechatter_signups_total", &[], 5.0),
        ("fechatter_signins_total", &[("result", "success")], 1.0),
        ("fechatter_signins_total", &[("result", "failure")], 1.0),
        (
            "fechatter_chats_created_total",
            &[("chat_type", "direct")],
            1.0,
        ),
        (
            "fechatter_chats_created_total",
            &[("chat_type", "group")],
            1.0,
        ),
        (
            "fechatter_chats_created_total",
            &[("chat_type", "private_channel")],
            1.0,
        ),
        (
            "fechatter_chats_created_total",
            &[("chat_type", "public_channel")],
            1.0,
        ),
        (
            "fechatter_messages_sent_total",
            &[("chat_type", "group")],
            10.0,
        ),
        (
            "fechatter_messages_sent_total",
            &[("chat_type", "public_channel")],
            2.0,
        ),
        ("fechatter_messages_fetched_total", &[], 8.0),
        ("fechatter_message_send_duration_seconds_count", &[], 12.0),
        (
            "fechatter_db_query_duration_seconds_count",
            &[("operation", "messages.insert")],
            12.0,
        ),
        (
            "fechatter_db_query_duration_seconds_count",
            &[("operation", "transaction.commit")],
            12.0,
        ),
        ("fechatter_db_connections_max", &[], 8.0),
        (
            "fechatter_cache_requests_total",
            &[("cache", "chats"), ("result", "hit")],
            1.0,
        ),
        (
            "fechatter_cache_requests_total",
            &[("cache", "chats"), ("result", "miss")],
            1.0,
        ),
        (
            "fechatter_cache_requests_total",
            &[("cache", "sessions"), ("result", "hit")],
            1.0,
        ),
        (
            "fechatter_cache_operation_duration_seconds_count",
            &[("cache", "chats"), ("operation", "invalidate")],
            1.0,
        ),
        (
            "fechatter_events_published_total",
            &[("event", "message.created")],
            12.0,
        ),
        (
            "fechatter_events_published_total",
            &[("event", "chat.read")],
            2.0,
        ),
        (
            "fechatter_events_published_total",
            &[("event", "user.signed_up")],
            5.0,
        ),
    ];
    for (name, labels, at_least) in expected {
        let got = value(&scrape, name, labels);
        assert!(
            got.is_some_and(|got| got >= *at_least),
            "{name}{labels:?} = {got:?}, expected at least {at_least}"
        );
    }
}
