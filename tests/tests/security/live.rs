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
