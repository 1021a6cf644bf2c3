use fechatter_events::EventKind;

use crate::support::{Producer, SseClient, TIMEOUT, TestApp, data, envelope, seq};

const CHAT: i64 = 300;

/// The stored events replayed before the `connected` that ends a catch-up.
async fn replayed_until_connected(client: &mut SseClient) -> Vec<u64> {
    let mut seen = Vec::new();
    loop {
        let event = client.next_except(&["presence.changed", "typing"]).await;
        match event.event.as_str() {
            "connected" => return seen,
            "resync" => panic!("unexpected resync: {}", event.data),
            _ => seen.push(seq(&event)),
        }
    }
}

#[tokio::test]
async fn a_reconnect_gets_exactly_what_it_missed_in_order_then_live_events() {
    let app = TestApp::ready(&[]).await;
    let producer = Producer::new(&app).await;
    let mut client = app.connect(1).await;
    let seen = producer
        .publish(EventKind::MessageCreated, CHAT, &[1, 2])
        .await;
    let last_seen = client.next_domain().await;
    assert_eq!(seq(&last_seen), seen);
    drop(client);

    let mut missed = Vec::new();
    for n in 0..5 {
        missed.push(
            producer
                .publish(EventKind::MessageCreated, CHAT, &[1, 2])
                .await,
        );
        // Someone else's events in between are not replayed to user 1.
        producer
            .publish(EventKind::MessageCreated, CHAT + n, &[2, 3])
            .await;
    }

    app.wait_read(11).await;
    let mut client = app.open(1, Some(&last_seen.id)).await;
    assert_eq!(replayed_until_connected(&mut client).await, missed);
    let live = producer
        .publish(EventKind::MessageUpdated, CHAT, &[1])
        .await;
    let next = client.next_domain().await;
    assert_eq!((next.event.as_str(), seq(&next)), ("message.updated", live));
    assert!(app.metric("notify_events_replayed_total").await >= Some(5.0));
}

#[tokio::test]
async fn events_published_while_a_client_reconnects_arrive_once_each_in_order() {
    let app = TestApp::ready(&[]).await;
    let producer = Producer::new(&app).await;
    let mut client = app.connect(1).await;
    let first = producer
        .publish(EventKind::MessageCreated, CHAT, &[1])
        .await;
    let resume_from = client.next_domain().await.id;
    drop(client);
    let mut expected = Vec::new();
    for _ in 0..5 {
        expected.push(
            producer
                .publish(EventKind::MessageCreated, CHAT, &[1])
                .await,
        );
    }

    // Publishing goes on while the client reconnects, so some events land on each side of the seam.
    let concurrent = tokio::spawn({
        let producer = Producer::new(&app).await;
        async move {
            let mut sequences = Vec::new();
            for _ in 0..30 {
                sequences.push(
                    producer
                        .publish(EventKind::MessageCreated, CHAT, &[1])
                        .await,
                );
            }
            sequences
        }
    });
    let mut client = app.open(1, Some(&resume_from)).await;
    let concurrent = concurrent.await.unwrap_or_default();
    expected.extend(&concurrent);
    let last = concurrent.last().copied().unwrap_or(first);

    let mut received = Vec::new();
    while received.last().is_none_or(|s| *s < last) {
        received.push(seq(&client.next_domain().await));
    }
    assert_eq!(received, expected, "no gap and no duplicate at the seam");
}

/// Connects, sees one event, disconnects while `mine` events for the user and `theirs` for others
/// are published, reconnects: the first event must be one `resync` that moves the cursor to the
/// head, and live events follow without any replay.
async fn assert_resync_after(settings: &[(&str, &str)], mine: usize, theirs: usize) {
    let app = TestApp::ready(settings).await;
    let producer = Producer::new(&app).await;
    let mut client = app.connect(1).await;
    producer
        .publish(EventKind::MessageCreated, CHAT, &[1])
        .await;
    let resume_from = client.next_domain().await.id;
    drop(client);
    let mut head = 0;
    for recipients in std::iter::repeat_n(&[1], mine).chain(std::iter::repeat_n(&[2], theirs)) {
        head = producer
            .publish(EventKind::MessageCreated, CHAT, recipients)
            .await;
    }
    app.wait_read(head).await;

    let mut client = app.open(1, Some(&resume_from)).await;
    let resync = client.next_except(&["presence.changed"]).await;
    assert_eq!(resync.event, "resync");
    assert_eq!(data(&resync)["reason"], "too_many");
    assert_eq!(seq(&resync), head, "the client's cursor moves to the head");
    let live = producer
        .publish(EventKind::MessageCreated, CHAT, &[1])
        .await;
    assert_eq!(seq(&client.next_domain().await), live, "nothing replayed");
}

#[tokio::test]
async fn a_client_that_missed_more_events_than_a_replay_holds_gets_one_resync_then_live_events() {
    assert_resync_after(&[("NOTIFY_REPLAY_MAX_EVENTS", "3")], 4, 0).await;
}

#[tokio::test]
async fn a_client_further_behind_than_a_replay_scans_gets_one_resync_then_live_events() {
    assert_resync_after(&[("NOTIFY_REPLAY_MAX_SCAN", "3")], 1, 3).await;
}

#[tokio::test]
async fn a_client_whose_missed_events_are_too_old_gets_resync() {
    let app = TestApp::ready(&[("NOTIFY_REPLAY_MAX_AGE_SECONDS", "60")]).await;
    let producer = Producer::new(&app).await;
    let mut client = app.connect(1).await;
    producer
        .publish(EventKind::MessageCreated, CHAT, &[1])
        .await;
    let resume_from = client.next_domain().await.id;
    drop(client);
    // The producer stamped this event long ago (it waited in an outbox).
    let mut old = envelope(EventKind::MessageCreated, CHAT, &[1], "old");
    old.occurred_at -= chrono::Duration::hours(2);
    producer.publish_envelope(&old).await;
    app.wait_read(2).await;

    let mut client = app.open(1, Some(&resume_from)).await;
    let resync = client.next_except(&["presence.changed"]).await;
    assert_eq!(
        (resync.event.as_str(), &data(&resync)["reason"]),
        ("resync", &serde_json::json!("too_old"))
    );
}

#[tokio::test]
async fn a_client_whose_missed_events_left_the_stream_gets_resync() {
    let app = TestApp::ready(&[]).await;
    let producer = Producer::new(&app).await;
    let mut client = app.connect(1).await;
    producer
        .publish(EventKind::MessageCreated, CHAT, &[1])
        .await;
    let resume_from = client.next_domain().await.id;
    drop(client);
    producer
        .publish(EventKind::MessageCreated, CHAT, &[1])
        .await;
    app.wait_read(2).await;
    let stream = producer
        .jetstream()
        .get_stream(&app.bus.stream)
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    stream
        .purge()
        .await
        .unwrap_or_else(|err| panic!("purge: {err}"));

    // The instance still holds the purged event in memory; it learns of the purge from the
    // stream's info (read every second) and from then on refuses to replay it.
    test_support::wait_until("a resync after the purge", TIMEOUT, || async {
        let mut client = app.open(1, Some(&resume_from)).await;
        let first = client.next_except(&["presence.changed"]).await;
        if first.event != "resync" {
            return false;
        }
        assert_eq!(data(&first)["reason"], "too_old");
        true
    })
    .await;
}

#[tokio::test]
async fn a_malformed_last_event_id_is_treated_as_a_fresh_connect() {
    let app = TestApp::ready(&[]).await;
    let producer = Producer::new(&app).await;
    let earlier = producer
        .publish(EventKind::MessageCreated, CHAT, &[1])
        .await;
    app.wait_read(1).await;

    let mut client = app.open(1, Some("not-a-cursor")).await;
    let connected = client.next().await;
    assert_eq!(connected.event, "connected", "no resync, no replay");
    assert_eq!(
        seq(&connected),
        earlier,
        "live from where the reader stands"
    );
    let live = producer
        .publish(EventKind::MessageCreated, CHAT, &[1])
        .await;
    assert_eq!(seq(&client.next_domain().await), live);
}

#[tokio::test]
async fn the_delivery_lag_runs_from_the_commit_to_the_live_write_and_replays_are_not_counted() {
    let app = TestApp::ready(&[]).await;
    let producer = Producer::new(&app).await;
    let mut client = app.connect(1).await;
    let mut late = envelope(EventKind::MessageCreated, CHAT, &[1], "committed 3 s ago");
    late.occurred_at = chrono::Utc::now() - chrono::Duration::seconds(3);
    let live = producer.publish_envelope(&late).await;
    let delivered = client.next_domain().await;
    assert_eq!(seq(&delivered), live);
    let lag = |le: &str| {
        format!(r#"notify_event_delivery_lag_seconds_bucket{{event="message.created",le="{le}"}}"#)
    };
    let count = r#"notify_event_delivery_lag_seconds_count{event="message.created"}"#;
    app.wait_for_metric(count, 1.0).await;
    assert_eq!(
        app.metric(&lag("1")).await,
        Some(0.0),
        "3 s late is not within 1 s"
    );
    assert_eq!(app.metric(&lag("5")).await, Some(1.0));
    drop(client);

    let missed = producer
        .publish(EventKind::MessageCreated, CHAT, &[1])
        .await;
    let mut again = app.open(1, Some(&delivered.id)).await;
    assert_eq!(replayed_until_connected(&mut again).await, [missed]);
    assert_eq!(
        app.metric(count).await,
        Some(1.0),
        "a replay measures how long the client was away, not the delivery"
    );
}
