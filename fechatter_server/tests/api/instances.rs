//! Two instances on one database: cache invalidations reach the other instance, and their relays
//! together publish each event once, in order.

use serde_json::json;
use test_support::wait_until;

use crate::common::{AppOptions, TestApp, WAIT};

/// A cache long enough that only an invalidation, never expiry, can explain a change being seen,
/// and an outbox poll beyond the test's waits, so events leave only because a relay was woken.
fn long_cache() -> Vec<(&'static str, String)> {
    vec![
        ("CACHE_TTL_SECONDS", "3600".to_owned()),
        ("OUTBOX_POLL_INTERVAL_MS", "60000".to_owned()),
    ]
}

#[tokio::test]
async fn a_second_instance_sees_removals_and_sign_outs_at_once_and_events_go_out_once_in_order() {
    let first = TestApp::spawn_with(AppOptions {
        env: long_cache(),
        ..AppOptions::default()
    })
    .await;
    let second = TestApp::spawn_with(AppOptions {
        database_url: Some(first.database_url.clone()),
        bus: Some(first.bus.clone()),
        env: long_cache(),
        ..AppOptions::default()
    })
    .await;
    let ann = first.owner("ann", "Acme").await;
    let bob = first.member(&ann, "bob").await;
    let chat = first.chat(&ann, "group", Some("both"), &[&bob]).await;
    let messages = format!("/api/chats/{chat}/messages");

    second.get(Some(&bob), &messages).await.expect(200);
    second.get(Some(&bob), "/api/users/me").await.expect(200);
    first
        .delete(Some(&ann), &format!("/api/chats/{chat}/members/{}", bob.id))
        .await
        .expect(204);
    wait_until(
        "the second instance to forget the removed member",
        WAIT,
        || async { second.get(Some(&bob), &messages).await.status == 404 },
    )
    .await;
    first
        .post(Some(&bob), "/api/signout", json!({}))
        .await
        .expect(204);
    wait_until(
        "the second instance to refuse the signed-out token",
        WAIT,
        || async { second.get(Some(&bob), "/api/users/me").await.status == 401 },
    )
    .await;

    let mut sent = Vec::new();
    for n in 0..10 {
        let app = if n % 2 == 0 { &first } else { &second };
        sent.push(app.send(&ann, chat, &format!("message {n}")).await);
    }
    let events = first.published_events().await;
    let mut ids: Vec<_> = events.iter().map(|event| event.id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), events.len(), "an event was published twice");
    let delivered: Vec<i64> = events
        .iter()
        .filter_map(|event| {
            event
                .payload::<fechatter_events::payload::MessagePayload>()
                .ok()
        })
        .map(|message| message.id.0)
        .collect();
    assert_eq!(delivered, sent);
}
