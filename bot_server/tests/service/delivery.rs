//! The durable consumer: redeliveries are recognised, late events never undo newer ones, events
//! that can never be read are parked on the dead-letter subject, and the lag is exported.

use fechatter_events::payload::MessagePayload;
use fechatter_events::{ChatId, EventId, EventKind, WorkspaceId};
use futures::StreamExt;
use serde_json::json;
use test_support::assert_metrics_conform;

use crate::support::{Stack, WAIT};

#[tokio::test]
async fn the_same_event_twice_is_indexed_once_and_an_older_version_never_overwrites_an_edit() {
    let stack = Stack::start().await;
    let ann = stack.owner("ann", "Acme").await;
    let chat = stack.chat(&ann, "group", Some("ops"), &[]).await;
    let message = stack.send(&ann, chat, "first words").await;
    stack.edit(&ann, chat, message, "second words").await;
    stack.wait_for_search(&ann, "q=second", &[message]).await;
    stack
        .wait_for_metric("bot_index_messages_total", &[("result", "indexed")], 2.0)
        .await;

    let created = stack
        .stream_events()
        .await
        .into_iter()
        .find(|event| {
            event.kind == EventKind::MessageCreated
                && event
                    .payload::<MessagePayload>()
                    .is_ok_and(|payload| payload.id.0 == message)
        })
        .unwrap_or_else(|| panic!("no message.created for {message}"));
    let subject = stack.bus.subject(EventKind::MessageCreated);
    let bytes = created.to_json().unwrap_or_default();
    // A redelivery: the same event again.
    stack.publish(subject.clone(), bytes).await;
    stack
        .wait_for_metric("bot_index_messages_total", &[("result", "duplicate")], 1.0)
        .await;
    // Another event carrying the message's first version, arriving after its edit.
    let mut late = created.clone();
    late.id = EventId::generate();
    stack
        .publish(subject, late.to_json().unwrap_or_default())
        .await;
    stack
        .wait_for_metric("bot_index_messages_total", &[("result", "stale")], 1.0)
        .await;

    assert_eq!(
        stack
            .metric("bot_index_messages_total", &[("result", "indexed")])
            .await,
        2.0,
        "created and edited, nothing more"
    );
    assert_eq!(stack.search_ids(&ann, "q=second").await, [message]);
    assert_eq!(stack.search_ids(&ann, "q=first").await, Vec::<i64>::new());
}

#[tokio::test]
async fn an_event_that_cannot_be_read_lands_on_the_dead_letter_subject_and_the_consumer_goes_on() {
    let stack = Stack::start().await;
    let ann = stack.owner("ann", "Acme").await;
    let chat = stack.chat(&ann, "group", Some("ops"), &[]).await;
    let nats = stack.nats().await;
    let mut parked = nats
        .subscribe(stack.bus.dead_letter_subject("bot"))
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    nats.flush().await.unwrap_or_else(|err| panic!("{err}"));

    let subject = stack.bus.subject(EventKind::MessageCreated);
    stack.publish(subject.clone(), b"{not json".to_vec()).await;
    // A well-formed envelope whose payload is not a message.
    let wrong = fechatter_events::Envelope::new(
        EventKind::MessageCreated,
        WorkspaceId(ann.workspace_id),
        Some(ChatId(chat)),
        None,
        Vec::new(),
        &json!({"unexpected": true}),
    )
    .unwrap_or_else(|err| panic!("{err}"));
    let wrong = wrong.to_json().unwrap_or_default();
    stack.publish(subject.clone(), wrong.clone()).await;

    for expected in [b"{not json".to_vec(), wrong] {
        let message = tokio::time::timeout(WAIT, parked.next())
            .await
            .unwrap_or_else(|_| panic!("nothing reached the dead-letter subject"))
            .unwrap_or_else(|| panic!("the subscription ended"));
        assert_eq!(message.payload.to_vec(), expected);
        let original = message
            .headers
            .as_ref()
            .and_then(|headers| headers.get("Fechatter-Original-Subject"))
            .map(|value| value.as_str().to_owned());
        assert_eq!(original.as_deref(), Some(subject.as_str()));
    }
    assert_eq!(
        stack
            .metric("bot_events_dead_lettered_total", &[("reason", "malformed")])
            .await,
        2.0
    );

    // The consumer carries on with the next events and catches up completely.
    let message = stack.send(&ann, chat, "still indexing").await;
    stack.wait_for_search(&ann, "q=indexing", &[message]).await;
    test_support::wait_until("the lag to be zero", WAIT, || async {
        stack.metric("bot_consumer_pending_events", &[]).await == 0.0
            && stack.metric("bot_nats_subscription_active", &[]).await == 1.0
    })
    .await;

    let url = stack.bot().metrics.clone();
    tokio::task::spawn_blocking(move || {
        assert_metrics_conform(
            "bot",
            &url,
            &[
                "bot_nats_events_received_total",
                "bot_nats_event_processing_duration_seconds",
                "bot_nats_subscription_active",
                "bot_consumer_pending_events",
                "bot_events_dead_lettered_total",
                "bot_index_messages_total",
                "bot_index_duration_seconds",
                "bot_search_documents_indexed",
                "bot_embeddings_generated_total",
                "bot_embedding_duration_seconds",
                "bot_embedding_dimensions",
                "bot_agent_tokens_total",
                "bot_db_query_duration_seconds",
                "bot_db_connections_active",
            ],
        );
    })
    .await
    .unwrap_or_else(|err| panic!("{err}"));
}
