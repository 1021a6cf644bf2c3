//! The desktop app reports its own events, and the analytics reports count everything the story
//! did: messages per day and chat type, active users, busiest chats, sessions and searches, each
//! workspace only its own.

use e2e::analytics::{client_event, post_events, report, total};
use e2e::api::Api;
use e2e::{Service, Topology};
use serde_json::{Value, json};
use test_support::wait_until;

use crate::WAIT;
use crate::chat::Told;

pub async fn check(topology: &Topology, told: &Told) {
    let analytics = Api::new(topology.url(Service::Analytics));
    let ann = &told.cast.ann;
    let session = format!("session-{}", uuid::Uuid::now_v7());
    let start = client_event("app_start", &session, json!({}));
    let events = [
        start.clone(),
        client_event(
            "chat_opened",
            &session,
            json!({"chat_id": told.chats.general}),
        ),
        client_event("search_performed", &session, json!({"results": 0})),
        client_event("app_exit", &session, json!({})),
    ];
    let posted = post_events(&analytics, Some(ann), &events).await;
    posted.expect(202);
    assert_eq!(
        (
            posted.body["accepted"].as_u64(),
            posted.body["duplicates"].as_u64()
        ),
        (Some(4), Some(0)),
        "{}",
        posted.body
    );
    // A retry after a lost answer is taken again but stored once. analytics_server knows an event
    // once its consumer has buffered it from the client-event stream, after the `202`
    // (`ingest::client`, `buffer`): the retry comes once the events are stored.
    let stored_once = || async {
        let by_type = report(&analytics, ann, "events-by-type").await;
        let count = |event_type: &'static str, source: &'static str| {
            total(&by_type, "events", |row| {
                row["event_type"] == event_type && row["source"] == source
            })
        };
        ["app_start", "chat_opened", "search_performed", "app_exit"]
            .into_iter()
            .all(|event_type| count(event_type, "http") == 1)
    };
    wait_until("the client events to be stored", WAIT, stored_once).await;
    let retried = post_events(&analytics, Some(ann), &[start]).await;
    retried.expect(202);
    assert_eq!(retried.body["duplicates"], 1, "{}", retried.body);
    let bogus = post_events(
        &analytics,
        Some(ann),
        &[client_event("teleported", &session, json!({}))],
    )
    .await;
    bogus.expect(422);
    assert_eq!(bogus.body["code"], "no_valid_events", "{}", bogus.body);
    // Nobody reports anonymously: the app keeps what it records before sign-in until it has a token.
    let anonymous = post_events(
        &analytics,
        None,
        &[client_event("app_start", "anonymous-launch", json!({}))],
    )
    .await;
    anonymous.expect(401);
    assert_eq!(
        anonymous.body["code"], "unauthenticated",
        "{}",
        anonymous.body
    );

    let expected =
        |owner: &str, chat_type: &str| told.messages.get(&(owner, chat_type)).copied().unwrap_or(0);
    let of_type = |chat_type: &'static str| move |row: &Value| row["chat_type"] == chat_type;
    wait_until(
        "the messages report to count every message",
        WAIT,
        || async {
            let acme = report(&analytics, ann, "messages").await;
            let globex = report(&analytics, &told.cast.zed, "messages").await;
            total(&acme, "messages", of_type("public_channel")) == expected("ann", "public_channel")
                && total(&acme, "messages", of_type("direct")) == expected("ann", "direct")
                && total(&acme, "messages", of_type("group")) == 0
                && total(&globex, "messages", of_type("group")) == expected("zed", "group")
                && total(&globex, "messages", |_| true) == expected("zed", "group")
        },
    )
    .await;
    assert!(stored_once().await, "each client event is stored once");

    let top = report(&analytics, ann, "top-chats").await;
    top.expect(200);
    assert_eq!(
        top.body["rows"],
        json!([
            {"chat_id": told.chats.general, "chat_type": "public_channel",
             "messages": expected("ann", "public_channel"), "senders": 4},
            {"chat_id": told.chats.dm, "chat_type": "direct",
             "messages": expected("ann", "direct"), "senders": 2},
        ]),
        "#general is busiest, with ann, bob, cat and the bot talking"
    );
    let active = report(&analytics, ann, "active-users").await;
    let days: Vec<u64> = active.body["rows"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|row| row["users"].as_u64())
        .collect();
    // ann, bob, cat and the bot; two rows only if the story crossed midnight UTC.
    assert!(
        days == [4]
            || (days.len() == 2 && days.iter().all(|n| *n <= 4) && days.iter().sum::<u64>() >= 4),
        "{}",
        active.body
    );
    let sessions = report(&analytics, ann, "sessions").await;
    assert_eq!(sessions.body["sessions"], 1, "{}", sessions.body);
    let search = report(&analytics, ann, "search").await;
    assert_eq!(
        (
            total(&search, "searches", |_| true),
            total(&search, "without_results", |_| true)
        ),
        (1, 1),
        "{}",
        search.body
    );
}
