//! The durable consumer: redeliveries are recognised, late events never undo newer ones, events
//! that can never be read are parked on the dead-letter subject, and the lag is exported.

use chrono::Utc;
use fechatter_events::payload::MessagePayload;
use fechatter_events::{ChatId, EventId, EventKind, UserId, WorkspaceId};
use serde_json::json;
use test_support::{assert_metrics_conform, eventually};

use crate::support::{Stack, StackOptions, WAIT};

#[tokio::test]
async fn the_same_event_twice_is_applied_once_and_an_older_version_never_overwrites_an_edit_or_a_delete()
 {
    let stack = Stack::start().await;
    let ann = stack.owner("ann", "Acme").await;
    let chat = stack.chat(&ann, "group", Some("ops"), &[]).await;
    let message = stack.send(&ann, chat, "first words").await;
    stack.edit(&ann, chat, message, "second words").await;
    stack.wait_for_search(&ann, "q=second", &[message]).await;
    // Both events handled. Handled concurrently, the creation may land after the edit: it is then
    // stale, and the edit stays.
    let applied = || async {
        let indexed = stack
            .metric("bot_index_messages_total", &[("result", "indexed")])
            .await;
        let stale = stack
            .metric("bot_index_messages_total", &[("result", "stale")])
            .await;
        (indexed, stale)
    };
    let (indexed, stale) = eventually("both events to be applied", WAIT, || async {
        let (indexed, stale) = applied().await;
        (indexed + stale == 2.0).then_some((indexed, stale))
    })
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
        .wait_for_metric(
            "bot_index_messages_total",
            &[("result", "stale")],
            stale + 1.0,
        )
        .await;

    assert_eq!(
        applied().await,
        (indexed, stale + 1.0),
        "the repeated event changed nothing, the late one was stale"
    );
    assert_eq!(stack.search_ids(&ann, "q=second").await, [message]);
    assert_eq!(stack.search_ids(&ann, "q=first").await, Vec::<i64>::new());

    // The same for a delete: its redelivery is a duplicate, and no later version of the message
    // brings its text back.
    stack.delete(&ann, chat, message).await;
    stack
        .wait_for_metric("bot_index_messages_total", &[("result", "deleted")], 1.0)
        .await;
    let events = stack.stream_events().await;
    let of_message = |kind: EventKind| {
        events
            .iter()
            .find(|event| {
                event.kind == kind
                    && event
                        .payload::<serde_json::Value>()
                        .is_ok_and(|payload| payload["id"] == json!(message))
            })
            .cloned()
            .unwrap_or_else(|| panic!("no {kind} for {message}"))
    };
    let deleted = of_message(EventKind::MessageDeleted);
    stack
        .publish(
            stack.bus.subject(EventKind::MessageDeleted),
            deleted.to_json().unwrap_or_default(),
        )
        .await;
    stack
        .wait_for_metric("bot_index_messages_total", &[("result", "duplicate")], 2.0)
        .await;
    let mut edit_after_delete = of_message(EventKind::MessageUpdated);
    edit_after_delete.id = EventId::generate();
    stack
        .publish(
            stack.bus.subject(EventKind::MessageUpdated),
            edit_after_delete.to_json().unwrap_or_default(),
        )
        .await;
    stack
        .wait_for_metric(
            "bot_index_messages_total",
            &[("result", "stale")],
            stale + 2.0,
        )
        .await;
    let metrics = &stack;
    let counted = |result: &'static str| async move {
        metrics
            .metric("bot_index_messages_total", &[("result", result)])
            .await
    };
    assert_eq!(
        (
            counted("indexed").await,
            counted("deleted").await,
            counted("duplicate").await
        ),
        (indexed, 1.0, 2.0),
        "the repeated delete changed nothing"
    );
    let (content, tombstone): (String, bool) = sqlx::query_as(
        "SELECT content, deleted_at IS NOT NULL FROM search_documents WHERE message_id = $1",
    )
    .bind(message)
    .fetch_one(&stack.pool)
    .await
    .unwrap_or_else(|err| panic!("{err}"));
    assert_eq!((content.as_str(), tombstone), ("", true));
    assert_eq!(stack.search_ids(&ann, "q=second").await, Vec::<i64>::new());
}

#[tokio::test]
async fn events_that_cannot_be_read_or_keep_failing_are_stored_as_dead_letters_and_a_redrive_brings_them_back()
 {
    let story = test_support::story::Story::new(
        "events_that_cannot_be_read_or_keep_failing_are_stored_as_dead_letters_and_a_redrive_brings_them_back",
    );
    let stack = Stack::start_with(StackOptions {
        bot_env: vec![("CONSUMER_MAX_DELIVER", "2".to_owned())],
        ..StackOptions::default()
    })
    .await;
    let ann = stack.owner("ann", "Acme").await;
    let chat = stack.chat(&ann, "group", Some("ops"), &[]).await;
    let sent = stack.send(&ann, chat, "an ordinary message").await;
    stack.wait_for_search(&ann, "q=ordinary", &[sent]).await;

    let envelope = |kind: EventKind, data: serde_json::Value| {
        fechatter_events::Envelope::unchecked(
            kind,
            WorkspaceId(ann.workspace_id),
            Some(ChatId(chat)),
            Some(UserId(ann.id)),
            vec![UserId(ann.id)],
            &data,
        )
        .unwrap_or_else(|err| panic!("{err}"))
        .to_json()
        .unwrap_or_default()
    };
    let unreadable = b"{not json".to_vec();
    story.step("a well-formed envelope whose payload is not a message");
    // A well-formed envelope whose payload is not a message.
    let not_a_message = envelope(EventKind::MessageCreated, json!({"unexpected": true}));
    story.step("an edit Postgres refuses every time");
    // An edit Postgres refuses every time (text cannot hold NUL): retried, then given up on.
    let refused = envelope(
        EventKind::MessageUpdated,
        json!({"id": sent, "chat_id": chat, "chat_type": "group", "sender_id": ann.id,
               "content": "bad \u{0} text", "reply_to": null, "mentions": [], "files": [],
               "created_at": Utc::now(), "edited_at": Utc::now()}),
    );
    for payload in [&unreadable, &not_a_message] {
        stack
            .publish(
                stack.bus.subject(EventKind::MessageCreated),
                payload.clone(),
            )
            .await;
    }
    stack
        .publish(
            stack.bus.subject(EventKind::MessageUpdated),
            refused.clone(),
        )
        .await;

    story.step("stored once each");
    // Stored once each (the assistant, which reads message.created too, leaves them to `bot`).
    let stored = stack.wait_for_dead_letters("bot", 3).await;
    let mut arrived: Vec<(Vec<u8>, String, String)> = stored
        .iter()
        .map(|letter| {
            assert_eq!(letter.consumer, "bot");
            (
                letter.payload.to_vec(),
                letter.original_subject.clone(),
                letter.reason.clone(),
            )
        })
        .collect();
    arrived.sort();
    let mut expected = vec![
        (
            unreadable.clone(),
            stack.bus.subject(EventKind::MessageCreated),
        ),
        (not_a_message, stack.bus.subject(EventKind::MessageCreated)),
        (
            refused.clone(),
            stack.bus.subject(EventKind::MessageUpdated),
        ),
    ];
    expected.sort();
    let got: Vec<(Vec<u8>, String)> = arrived
        .iter()
        .map(|(payload, subject, _)| (payload.clone(), subject.clone()))
        .collect();
    assert_eq!(got, expected);
    let refused_letter = stored
        .iter()
        .find(|letter| letter.payload.as_ref() == refused.as_slice())
        .unwrap_or_else(|| panic!("the refused edit is not stored"));
    assert!(
        refused_letter.reason.starts_with("failed: database"),
        "{}",
        refused_letter.reason
    );
    assert_eq!(refused_letter.deliveries, "2", "given up at max-deliver");
    // The bot counts a dead letter once the stream has acknowledged storing it: wait for the count.
    for (reason, count) in [("malformed", 2.0), ("failed", 1.0)] {
        stack
            .wait_for_metric(
                "bot_events_dead_lettered_total",
                &[("reason", reason)],
                count,
            )
            .await;
        assert_eq!(
            stack
                .metric("bot_events_dead_lettered_total", &[("reason", reason)])
                .await,
            count
        );
    }

    story.step("a re-drive brings the unreadable one back to the bot, which parks it again");
    // A re-drive brings the unreadable one back to the bot, which parks it again.
    let unreadable_letter = stored
        .iter()
        .find(|letter| letter.payload.as_ref() == unreadable.as_slice())
        .map(|letter| letter.sequence)
        .unwrap_or_default();
    let selection = fechatter_events::dead_letters::Selection {
        consumer: None,
        ids: vec![unreadable_letter],
    };
    assert_eq!(stack.redrive(&selection, None).await, [unreadable_letter]);
    stack
        .wait_for_metric(
            "bot_events_dead_lettered_total",
            &[("reason", "malformed")],
            3.0,
        )
        .await;
    let again = stack.wait_for_dead_letters("bot", 3).await;
    assert!(
        again
            .iter()
            .all(|letter| letter.sequence != unreadable_letter),
        "the re-driven dead letter was deleted and stored anew"
    );
    assert_eq!(stack.search_ids(&ann, "q=ordinary").await, [sent]);

    story.step("the consumer carries on with the next events and catches up completely");
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

#[tokio::test]
async fn a_message_dead_lettered_for_a_cause_since_fixed_is_indexed_exactly_once_after_a_redrive() {
    let stack = Stack::start_with(StackOptions {
        bot_env: vec![("CONSUMER_MAX_DELIVER", "2".to_owned())],
        ..StackOptions::default()
    })
    .await;
    let ann = stack.owner("ann", "Acme").await;
    let chat = stack.chat(&ann, "group", Some("ops"), &[]).await;
    // The cause: the index refuses this message's text (as a bad deploy or a schema change would).
    let pool = &stack.pool;
    let execute = |sql: &'static str| async move {
        sqlx::query(sql)
            .execute(pool)
            .await
            .unwrap_or_else(|err| panic!("{sql}: {err}"));
    };
    execute(
        "ALTER TABLE search_documents ADD CONSTRAINT refuses_pickles \
         CHECK (content NOT LIKE '%pickle%') NOT VALID",
    )
    .await;
    let refused = stack.send(&ann, chat, "a jar of pickles").await;
    let letters = stack.wait_for_dead_letters("bot", 1).await;
    assert_eq!(
        (
            letters[0].original_subject.as_str(),
            letters[0].deliveries.as_str()
        ),
        (stack.bus.subject(EventKind::MessageCreated).as_str(), "2")
    );
    assert!(
        letters[0].reason.starts_with("failed: database"),
        "{}",
        letters[0].reason
    );
    let event: fechatter_events::Envelope =
        fechatter_events::Envelope::from_json(&letters[0].payload)
            .unwrap_or_else(|err| panic!("{err}"));
    let recorded: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM bot_processed_events WHERE event_id = $1)",
    )
    .bind(event.id)
    .fetch_one(&stack.pool)
    .await
    .unwrap_or_else(|err| panic!("{err}"));
    assert!(!recorded, "a dead-lettered event is not recorded as done");
    let indexed = stack
        .metric("bot_index_messages_total", &[("result", "indexed")])
        .await;

    // Fixed, then re-driven: indexed once, and the dead letter is gone.
    execute("ALTER TABLE search_documents DROP CONSTRAINT refuses_pickles").await;
    let everything_of_the_bot = fechatter_events::dead_letters::Selection {
        consumer: Some("bot".to_owned()),
        ids: Vec::new(),
    };
    assert_eq!(
        stack.redrive(&everything_of_the_bot, None).await,
        [letters[0].sequence]
    );
    stack.wait_for_search(&ann, "q=pickles", &[refused]).await;
    assert!(stack.dead_letters(&everything_of_the_bot).await.is_empty());
    // A second copy (a re-drive repeated by hand) changes nothing.
    stack
        .publish(
            stack.bus.subject(EventKind::MessageCreated),
            letters[0].payload.to_vec(),
        )
        .await;
    stack
        .wait_for_metric("bot_index_messages_total", &[("result", "duplicate")], 1.0)
        .await;
    // The re-driven copy is counted after its write, which search may show first.
    stack
        .wait_for_metric(
            "bot_index_messages_total",
            &[("result", "indexed")],
            indexed + 1.0,
        )
        .await;
    assert_eq!(
        stack
            .metric("bot_index_messages_total", &[("result", "indexed")])
            .await,
        indexed + 1.0,
        "indexed exactly once"
    );
    assert_eq!(stack.search_ids(&ann, "q=pickles").await, [refused]);
}
