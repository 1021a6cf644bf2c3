//! Everyone searches: each finds the messages of their own chats, as soon as the bot has indexed
//! them, and nothing of chats they are not in or of the other workspace.

use e2e::api::Api;
use e2e::{Service, Topology};
use test_support::wait_until;

use crate::WAIT;
use crate::chat::Told;

pub async fn search(topology: &Topology, told: &Told) {
    let api = Api::new(topology.url(Service::Fechatter));
    let (ann, bob, cat, zed) = (
        &told.cast.ann,
        &told.cast.bob,
        &told.cast.cat,
        &told.cast.zed,
    );
    let said = &told.said;
    // The bot indexes several events at once, so each message the story looks for is waited for.
    wait_until("the story's messages to be searchable", WAIT, || async {
        api.search(bob, "minute").await == [said.minute]
            && api.search(bob, "missed").await == [said.missed]
            && api.search(zed, "globex only").await == [said.globex_only]
    })
    .await;
    assert_eq!(api.search(ann, "minute").await, [said.minute]);
    assert!(
        api.search(cat, "minute").await.is_empty(),
        "cat is not in the direct chat"
    );
    assert!(api.search(zed, "minute").await.is_empty());
    assert!(api.search(zed, "missed").await.is_empty());
    assert!(api.search(ann, "globex").await.is_empty());
}
