//! Domain events from the JetStream stream.

use async_nats::jetstream;
use chrono::Utc;
use fechatter_events::dead_letters::Selection;
use fechatter_events::payload::{ChatPayload, MessagePayload, UserSignedUp};
use fechatter_events::{ChatId, ChatType, Envelope, EventKind, MessageId, UserId, WorkspaceId};
use reqwest::StatusCode;
use serde_json::Value;
use test_support::{eventually, wait_until};

use crate::support::{TestApp, WAIT};

const WORKSPACE: i64 = 11;

fn signup(user: i64) -> Envelope {
    let payload = UserSignedUp {
        user_id: UserId(user),
        workspace_id: WorkspaceId(WORKSPACE),
        fullname: format!("User {user}"),
        joined_by_invite: user != 1,
    };
    Envelope::new(
        WorkspaceId(WORKSPACE),
        None,
        None,
        vec![],
        &fechatter_events::Event::UserSignedUp(payload.clone()),
    )
    .expect("an envelope")
}

fn chat(id: i64, chat_type: ChatType, members: &[i64]) -> Envelope {
    let members: Vec<UserId> = members.iter().map(|m| UserId(*m)).collect();
    let payload = ChatPayload {
        id: ChatId(id),
        workspace_id: WorkspaceId(WORKSPACE),
        chat_type,
        name: Some("team".into()),
        description: None,
        owner_id: members[0],
        member_ids: members.clone(),
        created_at: Utc::now(),
    };
    Envelope::new(
        WorkspaceId(WORKSPACE),
        Some(ChatId(id)),
        Some(members[0]),
        members,
        &fechatter_events::Event::ChatCreated(payload.clone()),
    )
    .expect("an envelope")
}

fn message(workspace: i64, chat: i64, chat_type: ChatType, sender: i64, id: i64) -> Envelope {
    let payload = MessagePayload {
        id: MessageId(id),
        chat_id: ChatId(chat),
        chat_type,
        sender_id: UserId(sender),
        sender_is_bot: false,
        content: "hello there".into(),
        reply_to: None,
        mentions: vec![],
        silenced_mentions: Vec::new(),
        files: vec![],
        created_at: Utc::now(),
        edited_at: None,
    };
    Envelope::new(
        WorkspaceId(workspace),
        Some(ChatId(chat)),
        Some(UserId(sender)),
        vec![UserId(sender)],
        &fechatter_events::Event::MessageCreated(payload.clone()),
    )
    .expect("an envelope")
}

pub async fn publish(js: &jetstream::Context, app: &TestApp, envelope: &Envelope, msg_id: &str) {
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("Nats-Msg-Id", msg_id);
    js.publish_with_headers(
        app.bus.subject(envelope.kind),
        headers,
        envelope.to_json().expect("json").into(),
    )
    .await
    .expect("publish")
    .await
    .expect("JetStream stored it");
}

pub async fn jetstream(app: &TestApp) -> jetstream::Context {
    let client = async_nats::connect(&app.nats_url)
        .await
        .expect("connect to NATS");
    let js = jetstream::new(client);
    app.bus.ensure_stream(&js).await.expect("the stream");
    js
}

/// Waits until the `analytics` consumer has nothing pending and nothing unacknowledged.
pub async fn wait_consumer_idle(js: &jetstream::Context, app: &TestApp) {
    wait_until("the analytics consumer to ack everything", WAIT, || async {
        let Ok(stream) = js.get_stream(&app.bus.stream).await else {
            return false;
        };
        let Ok(mut consumer) = stream.get_consumer::<jetstream::consumer::pull::Config>("analytics").await
        else {
            return false;
        };
        matches!(consumer.info().await, Ok(info) if info.num_pending == 0 && info.num_ack_pending == 0)
    })
    .await;
}

#[tokio::test]
async fn domain_events_from_jetstream_become_rows_and_feed_the_reports() {
    let app = TestApp::ready(&[]).await;
    let js = jetstream(&app).await;
    let mut envelopes = vec![
        signup(1),
        signup(2),
        chat(100, ChatType::Group, &[1, 2]),
        chat(101, ChatType::Direct, &[1, 2]),
    ];
    for (id, sender) in [(1, 1), (2, 1), (3, 1), (4, 2), (5, 2)] {
        envelopes.push(message(WORKSPACE, 100, ChatType::Group, sender, id));
    }
    for id in [6, 7] {
        envelopes.push(message(WORKSPACE, 101, ChatType::Direct, 2, id));
    }
    // Another workspace's message must not show in this workspace's reports.
    envelopes.push(message(12, 200, ChatType::Group, 5, 8));
    for envelope in &envelopes {
        publish(&js, &app, envelope, &envelope.id.to_string()).await;
    }
    // The same event published again under another message id (a producer retry JetStream
    // cannot recognise) is still one row.
    publish(&js, &app, &envelopes[4], "a-retry").await;

    let total = envelopes.len() as u64;
    app.wait_for_number(
        "every domain event to be stored",
        "SELECT count() FROM events",
        total,
    )
    .await;
    wait_consumer_idle(&js, &app).await;
    assert_eq!(
        app.number("SELECT uniqExact(event_id) FROM events").await,
        total
    );
    let kinds = app
        .sql("SELECT event_type, count() FROM events WHERE source = 'nats' GROUP BY event_type ORDER BY event_type FORMAT TSV")
        .await;
    assert_eq!(
        kinds,
        "chat.created\t2\nmessage.created\t8\nuser.signed_up\t2\n"
    );
    let text = app
        .number("SELECT count() FROM events WHERE properties LIKE '%hello%'")
        .await;
    assert_eq!(text, 0, "message text must never be stored");

    // The workspace's owner: per-chat figures are theirs to see.
    let token = app.token_with(
        1,
        WORKSPACE,
        fechatter_auth::WorkspaceRole::Owner,
        uuid::Uuid::now_v7(),
    );
    let (status, body) = app.get("/api/reports/messages", Some(&token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let per_type: Vec<(String, u64)> = body["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            (
                r["chat_type"].as_str().unwrap_or("").to_owned(),
                r["messages"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    // All sent just now, so one day (two near midnight); sum per chat type.
    let sum = |chat_type: &str| -> u64 {
        per_type
            .iter()
            .filter(|(t, _)| t == chat_type)
            .map(|(_, n)| n)
            .sum()
    };
    assert_eq!(
        (sum("group"), sum("direct"), per_type.len() <= 4),
        (5, 2, true)
    );

    let (status, body) = app
        .get("/api/reports/top-chats?limit=5", Some(&token))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let chats: Vec<(i64, &str, u64, u64)> = body["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r: &Value| {
            (
                r["chat_id"].as_i64().unwrap_or(0),
                r["chat_type"].as_str().unwrap_or(""),
                r["messages"].as_u64().unwrap_or(0),
                r["senders"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(chats, vec![(100, "group", 5, 2), (101, "direct", 2, 1)]);

    let (_, body) = app.get("/api/reports/active-users", Some(&token)).await;
    let most = body["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|r| r["users"].as_u64())
        .max();
    assert_eq!(most, Some(2), "{body}");

    // A stored event is counted just after its waiter (which acks it) is woken.
    wait_until("the stored messages to be counted", WAIT, || async {
        app.metric(
            "analytics_events_ingested_total",
            &[("source", "nats"), ("event_type", "message.created")],
        )
        .await
            >= 8.0
    })
    .await;
    assert_eq!(
        app.metric(
            "analytics_nats_messages_received_total",
            &[("event", "message.created")]
        )
        .await,
        9.0
    );
    assert_eq!(
        app.metric(
            "analytics_events_ingested_total",
            &[("source", "nats"), ("event_type", "message.created")]
        )
        .await,
        8.0
    );
    assert_eq!(
        app.metric("analytics_events_duplicate_total", &[("source", "nats")])
            .await,
        1.0
    );
    assert_eq!(
        app.metric("analytics_nats_subscription_active", &[]).await,
        1.0
    );
}

#[tokio::test]
async fn an_unreadable_event_is_stored_as_a_dead_letter_and_its_corrected_redrive_is_counted_once()
{
    let app = TestApp::ready(&[("ANALYTICS_NATS_MAX_DELIVER", "2")]).await;
    let js = jetstream(&app).await;
    let subject = app.bus.subject(EventKind::MessageCreated);
    for (subject, body) in [
        (subject.clone(), "{not an envelope"),
        (app.bus.client_event_subject(), "[{\"not\": \"a row\"}]"),
    ] {
        js.publish(subject, body.into())
            .await
            .expect("publish")
            .await
            .expect("JetStream stored it");
    }
    let analytics = Selection {
        consumer: Some("analytics".to_owned()),
        ids: Vec::new(),
    };
    let letters = eventually("both dead letters to be stored", WAIT, || async {
        let letters = app.dead_letters(&analytics).await;
        (letters.len() == 2).then_some(letters)
    })
    .await;
    let mut seen: Vec<(String, String, String)> = letters
        .iter()
        .map(|letter| {
            assert!(
                letter.reason.starts_with("malformed: "),
                "{}",
                letter.reason
            );
            assert_eq!(letter.deliveries, "1", "an unreadable event is not retried");
            (
                letter.consumer.clone(),
                letter.original_subject.clone(),
                String::from_utf8_lossy(&letter.payload).into_owned(),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            (
                "analytics".to_owned(),
                subject.clone(),
                "{not an envelope".to_owned()
            ),
            (
                "analytics_client_events".to_owned(),
                app.bus.client_event_subject(),
                "[{\"not\": \"a row\"}]".to_owned()
            ),
        ]
    );
    assert_eq!(
        app.metric(
            "analytics_events_dead_lettered_total",
            &[("reason", "malformed")]
        )
        .await,
        2.0
    );

    // Re-driven as it is, the domain event comes back and is parked again.
    let domain = letters
        .iter()
        .find(|letter| letter.consumer == "analytics")
        .map(|letter| letter.sequence)
        .unwrap_or_default();
    let one = |sequence| Selection {
        consumer: None,
        ids: vec![sequence],
    };
    assert_eq!(app.redrive(&one(domain), None).await, [domain]);
    let again = eventually("the re-driven event to be parked again", WAIT, || async {
        let letters = app.dead_letters(&analytics).await;
        letters
            .iter()
            .find(|letter| letter.consumer == "analytics" && letter.sequence != domain)
            .map(|letter| letter.sequence)
    })
    .await;
    // Corrected by the operator and re-driven, it is counted once, even when it comes twice.
    let corrected = message(1, 1, ChatType::Group, 1, 7);
    let body = corrected.to_json().expect("json");
    assert_eq!(app.redrive(&one(again), Some(body.clone())).await, [again]);
    app.wait_for_number(
        "the corrected event to be stored",
        "SELECT count() FROM events",
        1,
    )
    .await;
    publish(&js, &app, &corrected, "a repeated re-drive").await;
    wait_consumer_idle(&js, &app).await;
    assert_eq!(app.number("SELECT count() FROM events").await, 1);
    assert_eq!(
        app.dead_letters(&analytics)
            .await
            .iter()
            .filter(|letter| letter.consumer == "analytics")
            .count(),
        0
    );
}
