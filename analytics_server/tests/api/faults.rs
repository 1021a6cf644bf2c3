//! ClickHouse going away mid-ingest, on a ClickHouse of the test's own: ingestion goes on (client
//! events are stored in their stream), the consumers stop taking events and hold the ones in hand
//! without spending deliveries, and when ClickHouse returns everything is written once and
//! nothing was dead-lettered.

use chrono::Utc;
use fechatter_events::payload::MessagePayload;
use fechatter_events::{ChatId, ChatType, Envelope, MessageId, UserId, WorkspaceId};
use reqwest::StatusCode;
use serde_json::{Value, json};
use test_support::{ClickHouse, Nats, wait_until};

use crate::ingest_nats::{jetstream, publish, wait_consumer_idle};
use crate::support::{TestApp, WAIT, event};

const CAPACITY: usize = 2_000;
const BATCH: usize = 500;
const DOMAIN_EVENTS: usize = 20;
const ACK_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

fn batch() -> Value {
    let events: Vec<Value> = (0..BATCH)
        .map(|_| event("navigation", "s", Utc::now()))
        .collect();
    json!({ "events": events })
}

fn message(id: i64) -> Envelope {
    let payload = MessagePayload {
        id: MessageId(id),
        chat_id: ChatId(1),
        chat_type: ChatType::Group,
        sender_id: UserId(1),
        sender_is_bot: false,
        content: "while ClickHouse is away".into(),
        reply_to: None,
        mentions: vec![],
        silenced_mentions: Vec::new(),
        files: vec![],
        created_at: Utc::now(),
        edited_at: None,
    };
    Envelope::new(
        WorkspaceId(1),
        Some(ChatId(1)),
        Some(UserId(1)),
        vec![UserId(1)],
        &fechatter_events::Event::MessageCreated(payload.clone()),
    )
    .expect("an envelope")
}

#[tokio::test]
async fn with_clickhouse_stopped_events_are_still_accepted_wait_in_jetstream_and_are_all_written_once_it_returns()
 {
    let story = test_support::story::Story::new(
        "with_clickhouse_stopped_events_are_still_accepted_wait_in_jetstream_and_are_all_written_once_it_returns",
    );
    let clickhouse = ClickHouse::dedicated().await;
    let database = clickhouse.create_database().await;
    let nats = Nats::shared().await;
    let capacity = CAPACITY.to_string();
    let batch_max = BATCH.to_string();
    let app = TestApp::start(
        &clickhouse.http_url(),
        &database,
        &nats.url(),
        &[
            ("ANALYTICS_BUFFER_CAPACITY", capacity.as_str()),
            ("ANALYTICS_BATCH_MAX_EVENTS", batch_max.as_str()),
            ("ANALYTICS_FLUSH_MAX_ROWS", "1000"),
            ("ANALYTICS_NATS_ACK_WAIT_MS", "2000"),
        ],
    )
    .await;
    app.wait_ready().await;
    let js = jetstream(&app).await;
    let token = app.token(1, 1);

    let (status, _) = app.post("/api/events", &batch(), Some(&token)).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    app.wait_for_number(
        "the first batch to be stored",
        "SELECT count() FROM events",
        BATCH as u64,
    )
    .await;

    clickhouse.stop().await;
    wait_until("/ready to answer 503", WAIT, || async {
        app.status("/ready").await == StatusCode::SERVICE_UNAVAILABLE
    })
    .await;
    wait_until("analytics_clickhouse_up to drop to 0", WAIT, || async {
        app.metric("analytics_clickhouse_up", &[]).await == 0.0
    })
    .await;

    story.step("more than the buffer holds");
    // More than the buffer holds: the events are stored in JetStream, not in memory.
    let mut accepted = Vec::new();
    for _ in 0..CAPACITY / BATCH + 2 {
        let batch = batch();
        let (status, body) = app.post("/api/events", &batch, Some(&token)).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        accepted.push(batch);
    }
    assert!(app.metric("analytics_buffer_pending_events", &[]).await <= CAPACITY as f64);

    story.step("domain events are delivered but wait, unacknowledged, for ClickHouse");
    // Domain events are delivered but wait, unacknowledged, for ClickHouse.
    for id in 0..DOMAIN_EVENTS {
        let envelope = message(id as i64);
        publish(&js, &app, &envelope, &envelope.id.to_string()).await;
    }
    wait_until(
        "the domain events to be delivered and held",
        WAIT,
        || async {
            let Ok(stream) = js.get_stream(&app.bus.stream).await else {
                return false;
            };
            let Ok(mut consumer) = stream
                .get_consumer::<async_nats::jetstream::consumer::pull::Config>("analytics")
                .await
            else {
                return false;
            };
            matches!(consumer.info().await, Ok(info) if info.num_ack_pending == DOMAIN_EVENTS)
        },
    )
    .await;

    story.step("the outage outlasts the ack wait");
    // The outage outlasts the ack wait: progress acks must keep JetStream from redelivering.
    let redelivery = tokio::time::timeout(
        ACK_WAIT * 3,
        wait_until("a redelivery", ACK_WAIT * 10, || async {
            let Ok(stream) = js.get_stream(&app.bus.stream).await else {
                return false;
            };
            let Ok(mut consumer) = stream
                .get_consumer::<async_nats::jetstream::consumer::pull::Config>("analytics")
                .await
            else {
                return false;
            };
            matches!(consumer.info().await, Ok(info) if info.num_redelivered > 0)
        }),
    )
    .await;
    assert!(
        redelivery.is_err(),
        "JetStream redelivered held events while they were being worked on"
    );
    clickhouse.start().await;
    let expected = (BATCH * (accepted.len() + 1) + DOMAIN_EVENTS) as u64;
    app.wait_for_number(
        "everything held to be written",
        "SELECT count() FROM events",
        expected,
    )
    .await;
    wait_consumer_idle(&js, &app).await;
    app.wait_ready().await;
    assert_eq!(app.number("SELECT count() FROM events").await, expected);
    assert_eq!(
        app.number("SELECT uniqExact(event_id) FROM events").await,
        expected
    );
    assert_eq!(
        app.number("SELECT count() FROM events WHERE source = 'nats'")
            .await,
        DOMAIN_EVENTS as u64
    );
    assert_eq!(
        app.metric(
            "analytics_nats_messages_received_total",
            &[("event", "message.created")]
        )
        .await,
        DOMAIN_EVENTS as f64,
        "no domain event was redelivered"
    );
    assert_eq!(app.metric("analytics_clickhouse_up", &[]).await, 1.0);
    // The buffer frees an insert's places once the insert has returned, after ClickHouse already
    // shows its rows; the last insert holds client events only, which the domain consumer's
    // idleness does not cover.
    wait_until("the buffer to be empty", WAIT, || async {
        app.metric("analytics_buffer_pending_events", &[]).await == 0.0
    })
    .await;
    assert!(
        app.metric(
            "analytics_clickhouse_errors_total",
            &[("operation", "insert")]
        )
        .await
            >= 1.0
    );

    assert!(
        app.dead_letters(&Default::default()).await.is_empty(),
        "nothing was dead-lettered"
    );
    assert_eq!(
        app.metric(
            "analytics_events_dead_lettered_total",
            &[("reason", "failed")]
        )
        .await,
        0.0
    );

    story.step("an accepted batch, retried, is not stored twice");
    // An accepted batch, retried, is not stored twice.
    let (_, body) = app.post("/api/events", &accepted[0], Some(&token)).await;
    assert_eq!(body["duplicates"], BATCH);
    assert_eq!(app.number("SELECT count() FROM events").await, expected);
}
