//! Live events and presence stay inside a workspace: an outsider's connection, even one that asks
//! for a replay of the whole stream, carries only what is addressed to them.

use e2e::api::{Api, User};
use e2e::sse::{Delivered, Sse};
use e2e::{Service, Topology};
use serde_json::json;

use crate::WAIT;

fn only_for(user: &User, events: &[Delivered], chats: &[i64]) {
    assert!(!events.is_empty());
    for event in events {
        assert!(
            event.belongs_to(user.id, chats),
            "{} got {} (seq {}): {}",
            user.handle,
            event.kind,
            event.seq,
            event.envelope
        );
        assert!(
            event.envelope.get("recipients").is_none(),
            "{} learnt who else receives {}",
            user.handle,
            event.kind
        );
    }
}

pub async fn outsider_hears_nothing(
    topology: &Topology,
    api: &Api,
    ann: &User,
    bob: &User,
    zed: &User,
    general: i64,
    globex: i64,
) {
    let notify = topology.url(Service::Notify);
    let (mut zeds_app, _) = Sse::connect(&notify, &zed.access_token, None, WAIT).await;
    let mut bobs_browser = Sse::connect_with_query_token(&notify, &bob.access_token, WAIT).await;
    let said = api.send(ann, general, "for acme only").await;
    let latest = api.send(zed, globex, "for globex only").await;
    bobs_browser.until_message(said, WAIT).await;
    api.post(
        Some(&zed.access_token),
        &format!("/api/chats/{globex}/read"),
        json!({"message_id": latest}),
    )
    .await
    .expect(200);
    let live = zeds_app
        .until("zed's own read", WAIT, |d| {
            d.kind == "chat.read" && d.envelope["actor_id"] == zed.id
        })
        .await;
    only_for(zed, &live, &[globex]);

    // Asking for everything since the start of the stream replays only zed's own events.
    let seen = zeds_app
        .last_event_id
        .clone()
        .unwrap_or_else(|| panic!("zed's app has seen events"));
    let (epoch, _) = seen
        .split_once(':')
        .unwrap_or_else(|| panic!("{seen:?} is not a cursor"));
    let start = format!("{epoch}:0");
    let (_, replayed) = Sse::connect(&notify, &zed.access_token, Some(&start), WAIT).await;
    only_for(zed, &replayed, &[globex]);
    assert!(
        replayed.iter().any(|d| d.message_id() == Some(latest)),
        "the replay reached zed's latest message"
    );

    let online = Api::new(&notify)
        .get(Some(&zed.access_token), "/online-users")
        .await;
    assert_eq!(online.body["user_ids"], json!([zed.id]), "{}", online.body);
}

/// Pins and statuses reach the chat's members and the workspace over SSE, and never another
/// workspace: Zed's first status event is his own.
pub async fn pins_and_statuses_stay_inside(
    topology: &Topology,
    api: &Api,
    ann: &User,
    bob: &User,
    zed: &User,
    general: i64,
    hello: i64,
) {
    let notify = topology.url(Service::Notify);
    let (mut bobs_app, _) = Sse::connect(&notify, &bob.access_token, None, WAIT).await;
    let (mut zeds_app, _) = Sse::connect(&notify, &zed.access_token, None, WAIT).await;
    let put = |user: &User, path: String, body: Option<serde_json::Value>| {
        let token = user.access_token.clone();
        async move {
            api.call(reqwest::Method::PUT, Some(&token), &path, body.as_ref())
                .await
        }
    };
    put(
        ann,
        format!("/api/chats/{general}/messages/{hello}/pin"),
        None,
    )
    .await
    .expect(204);
    bobs_app
        .until("the pin", WAIT, |d| {
            d.kind == "message.pinned" && d.envelope["data"]["message_id"] == hello
        })
        .await;
    put(
        ann,
        "/api/users/me/status".to_owned(),
        Some(json!({"availability": "dnd", "text": "board meeting"})),
    )
    .await
    .expect(200);
    bobs_app
        .until("ann's status", WAIT, |d| {
            d.kind == "user.status_changed" && d.envelope["data"]["user_id"] == ann.id
        })
        .await;
    put(
        zed,
        "/api/users/me/status".to_owned(),
        Some(json!({"availability": "away"})),
    )
    .await
    .expect(200);
    let heard = zeds_app
        .until("zed's own status", WAIT, |d| {
            d.kind == "user.status_changed"
        })
        .await;
    only_for(zed, &heard, &[]);
    assert!(
        heard.iter().all(|d| d.kind != "message.pinned"),
        "zed heard of acme's pin"
    );
}

/// A thread's events over SSE: `thread.updated` reaches its followers (the root's author and the
/// reply's), not a member who neither wrote in it nor was mentioned, and nothing reaches another
/// workspace; `thread.read` reaches only the reader.
pub async fn threads_reach_their_followers(
    topology: &Topology,
    api: &Api,
    ann: &User,
    bob: &User,
    cat: &User,
    zed: &User,
) {
    let notify = topology.url(Service::Notify);
    let crew = api
        .create_chat(ann, "group", Some("crew"), &[bob, cat])
        .await;
    let root = api.send(ann, crew, "who takes the night shift?").await;
    let (mut anns_app, _) = Sse::connect(&notify, &ann.access_token, None, WAIT).await;
    let (mut cats_app, _) = Sse::connect(&notify, &cat.access_token, None, WAIT).await;
    let (mut zeds_app, _) = Sse::connect(&notify, &zed.access_token, None, WAIT).await;
    let reply = |user: &User, to: i64, content: &'static str| {
        let token = user.access_token.clone();
        async move {
            let reply = api
                .post(
                    Some(&token),
                    &format!("/api/chats/{crew}/messages"),
                    json!({"content": content, "reply_to": to}),
                )
                .await;
            reply.expect(201);
            reply.id()
        }
    };
    let bobs = reply(bob, root, "I can").await;
    anns_app
        .until("bob's reply in ann's thread", WAIT, |d| {
            d.kind == "thread.updated" && d.envelope["data"]["reply_id"] == bobs
        })
        .await;
    // Cat hears of the reply as a member, and of the thread only once she writes in it.
    let cats = reply(cat, bobs, "I'll take the weekend").await;
    let heard = cats_app
        .until("cat's own thread update", WAIT, |d| {
            d.kind == "thread.updated" && d.envelope["data"]["reply_id"] == cats
        })
        .await;
    assert!(
        heard.iter().any(|d| d.message_id() == Some(bobs)),
        "cat saw bob's reply as a member"
    );
    let updates: Vec<_> = heard
        .iter()
        .filter(|d| d.kind == "thread.updated")
        .collect();
    assert_eq!(
        updates.len(),
        1,
        "cat heard of the thread before following it"
    );
    // Ann reads the thread: only her sessions hear of it.
    api.post(
        Some(&ann.access_token),
        &format!("/api/chats/{crew}/messages/{root}/thread/read"),
        json!({"message_id": cats}),
    )
    .await
    .expect(200);
    anns_app
        .until("ann's thread read", WAIT, |d| d.kind == "thread.read")
        .await;
    // Zed, in another workspace, only ever hears his own things.
    api.call(
        reqwest::Method::PUT,
        Some(&zed.access_token),
        "/api/users/me/status",
        Some(&json!({"availability": "active"})),
    )
    .await
    .expect(200);
    let zeds = zeds_app
        .until("zed's own status", WAIT, |d| {
            d.kind == "user.status_changed"
        })
        .await;
    only_for(zed, &zeds, &[]);
    assert!(
        zeds.iter().all(|d| d.envelope["chat_id"] != crew),
        "zed heard of acme's thread"
    );
    let later = api.send(ann, crew, "thanks both").await;
    let rest = cats_app.until_message(later, WAIT).await;
    assert!(
        rest.iter().all(|d| d.kind != "thread.read"),
        "cat heard of ann's read marker"
    );
}
