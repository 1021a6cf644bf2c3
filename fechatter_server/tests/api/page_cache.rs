//! The cache of message-list pages on two instances: a page a reader gets is never older than the
//! last event that reached that instance, and a lost event feed drops every page.

use serde_json::{Value, json};
use test_support::{Nats, wait_until};

use crate::common::{AppOptions, TestApp, TestUser, WAIT};

/// Pages that only an event, never expiry, can drop within a test.
fn long_lived_pages() -> Vec<(&'static str, String)> {
    vec![("PAGE_CACHE_TTL_SECONDS", "3600".to_owned())]
}

async fn page(app: &TestApp, user: &TestUser, chat: i64) -> Value {
    let reply = app
        .get(Some(user), &format!("/api/chats/{chat}/messages"))
        .await;
    reply.expect(200);
    reply.body
}

fn ids(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .map(|items| items.iter().filter_map(|m| m["id"].as_i64()).collect())
        .unwrap_or_default()
}

/// Changes a message's text in Postgres without an event: only a page read afresh shows it.
async fn change_behind_the_cache(app: &TestApp, message: i64, content: &str) {
    sqlx::query("UPDATE messages SET content = $2 WHERE id = $1")
        .bind(message)
        .bind(content)
        .execute(&app.pool)
        .await
        .unwrap_or_else(|err| panic!("{err}"));
}

#[tokio::test]
async fn a_reader_on_either_instance_sees_each_change_once_its_event_reached_that_instance() {
    let first = TestApp::spawn_with(AppOptions {
        env: long_lived_pages(),
        ..AppOptions::default()
    })
    .await;
    let second = TestApp::spawn_with(AppOptions {
        database_url: Some(first.database_url.clone()),
        bus: Some(first.bus.clone()),
        env: long_lived_pages(),
        ..AppOptions::default()
    })
    .await;
    let ann = first.owner("ann", "Acme").await;
    let bob = first.member(&ann, "bob").await;
    let chat = first.chat(&ann, "group", Some("cached"), &[&bob]).await;
    // Bob's sockets show when an event of the chat has reached each instance.
    let mut on_first = first.ws(&bob).await;
    let mut on_second = second.ws(&bob).await;
    let older = first.send(&ann, chat, "hello").await;
    on_first.event("message.created").await;
    on_second.event("message.created").await;

    // Each instance serves the page from memory once read: a change without an event stays unseen.
    for app in [&first, &second] {
        assert_eq!(ids(&page(app, &bob, chat).await), vec![older]);
    }
    change_behind_the_cache(&first, older, "changed behind the cache").await;
    for app in [&first, &second] {
        assert_eq!(page(app, &bob, chat).await["items"][0]["content"], "hello");
    }

    // A send on the first instance: its writer reads it at once; the second once the event is there.
    let message = first.send(&ann, chat, "new").await;
    assert_eq!(ids(&page(&first, &ann, chat).await), vec![message, older]);
    let created = on_second.event("message.created").await;
    assert_eq!(created["data"]["id"], message);
    let seen = page(&second, &bob, chat).await;
    assert_eq!(ids(&seen), vec![message, older]);
    assert_eq!(seen["items"][1]["content"], "changed behind the cache");
    on_first.event("message.created").await;

    // An edit on the second instance, read on the first.
    second
        .patch(
            Some(&ann),
            &format!("/api/chats/{chat}/messages/{message}"),
            json!({"content": "edited"}),
        )
        .await
        .expect(200);
    on_first.event("message.updated").await;
    assert_eq!(
        page(&first, &bob, chat).await["items"][0]["content"],
        "edited"
    );
    on_second.event("message.updated").await;

    // Bob's reaction on the first instance: on the second, he sees it as his and Ann does not.
    let reaction = format!("/api/chats/{chat}/messages/{message}/reactions/👍");
    first.put(Some(&bob), &reaction).await.expect(204);
    on_second.event("message.reaction_added").await;
    for (user, me) in [(&bob, true), (&ann, false), (&bob, true)] {
        assert_eq!(
            page(&second, user, chat).await["items"][0]["reactions"],
            json!([{"emoji": "👍", "count": 1, "me": me}]),
            "as {}",
            user.handle
        );
    }
    on_first.event("message.reaction_added").await;
    assert_eq!(
        page(&first, &ann, chat).await["items"][0]["reactions"][0]["me"],
        false
    );

    // Its removal on the second instance, read on the first.
    second.delete(Some(&bob), &reaction).await.expect(204);
    on_first.event("message.reaction_removed").await;
    assert_eq!(
        page(&first, &bob, chat).await["items"][0]["reactions"],
        json!([])
    );
    on_second.event("message.reaction_removed").await;

    // A deletion on the first instance, read on the second.
    first
        .delete(Some(&ann), &format!("/api/chats/{chat}/messages/{message}"))
        .await
        .expect(204);
    on_second.event("message.deleted").await;
    assert_eq!(ids(&page(&second, &bob, chat).await), vec![older]);
    assert_eq!(ids(&page(&first, &bob, chat).await), vec![older]);
}

#[tokio::test]
async fn pages_are_read_afresh_while_the_event_feed_is_down_and_after_it_returns() {
    let nats = Nats::dedicated().await;
    let app = TestApp::spawn_with(AppOptions {
        nats_url: Some(nats.url()),
        env: long_lived_pages(),
        ..AppOptions::default()
    })
    .await;
    let ann = app.owner("ann", "Acme").await;
    let chat = app.chat(&ann, "group", Some("feed"), &[]).await;
    // The send's own event must have arrived first, or it would drop the page cached below.
    let mut socket = app.ws(&ann).await;
    let message = app.send(&ann, chat, "hello").await;
    socket.event("message.created").await;
    drop(socket);
    let content = |page: Value| page["items"][0]["content"].clone();
    assert_eq!(content(page(&app, &ann, chat).await), "hello");
    change_behind_the_cache(&app, message, "during the outage").await;
    assert_eq!(content(page(&app, &ann, chat).await), "hello", "cached");

    let feed_is = |up: bool| {
        let app = &app;
        async move {
            let health = app.get(None, "/health").await;
            (health.body["checks"]["websocket_events"]["status"] == "up") == up
        }
    };
    nats.stop().await;
    wait_until("the event feed to be lost", WAIT, || feed_is(false)).await;
    assert_eq!(
        content(page(&app, &ann, chat).await),
        "during the outage",
        "no page is served from memory while events may be missed"
    );
    change_behind_the_cache(&app, message, "after the outage").await;
    nats.start().await;
    wait_until("the event feed to return", WAIT, || feed_is(true)).await;
    assert_eq!(
        content(page(&app, &ann, chat).await),
        "after the outage",
        "the pages held before the gap are gone"
    );
}
