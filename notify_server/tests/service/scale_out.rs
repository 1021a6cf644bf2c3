//! Several instances side by side: each reads the whole log, so a client may reconnect to any of
//! them with its cursor; an event published twice reaches nobody twice; a stream created anew
//! makes every cursor resync.

use fechatter_events::EventKind;
use futures::StreamExt;

use crate::support::{Producer, SseClient, TIMEOUT, TestApp, data, envelope, epoch, seq};

const CHAT: i64 = 700;

/// Stored events until `last`, as sequences; panics on a resync.
async fn until(client: &mut SseClient, last: u64) -> Vec<u64> {
    until_with_cursor(client, last).await.0
}

/// Stored events until `last`, and the cursor of the last one.
async fn until_with_cursor(client: &mut SseClient, last: u64) -> (Vec<u64>, String) {
    let mut seen = Vec::new();
    let mut cursor = String::new();
    while seen.last().is_none_or(|s| *s < last) {
        let event = client
            .next_except(&["presence.changed", "typing", "connected"])
            .await;
        assert_ne!(event.event, "resync", "{}", event.data);
        seen.push(seq(&event));
        cursor = event.id;
    }
    (seen, cursor)
}

/// `count` events for user 1 in `CHAT`, each followed by one for user 2 in another chat: user 1's
/// sequences, with gaps that are someone else's events.
async fn interleaved(producer: &Producer, count: i64) -> Vec<u64> {
    let mut mine = Vec::new();
    for n in 0..count {
        mine.push(
            producer
                .publish(EventKind::MessageCreated, CHAT, &[1])
                .await,
        );
        producer
            .publish(EventKind::MessageCreated, CHAT + n, &[2])
            .await;
    }
    mine
}

#[tokio::test]
async fn every_instance_delivers_every_event_and_a_cursor_of_one_resumes_on_another() {
    let first = TestApp::ready(&[]).await;
    let second = first.sibling(&[]).await;
    let producer = Producer::new(&first).await;
    let mut on_first = first.connect(1).await;
    let mut on_second = second.connect(1).await;
    let mut other = second.connect(2).await;

    let mine = interleaved(&producer, 4).await;
    let last = *mine.last().unwrap_or(&0);
    let (seen, cursor) = until_with_cursor(&mut on_first, last).await;
    assert_eq!(seen, mine);
    assert_eq!(until(&mut on_second, last).await, mine);
    let theirs = until(&mut other, last + 1).await;
    assert!(theirs.iter().all(|s| !mine.contains(s)), "{theirs:?}");

    // The client of the first instance goes away, events go on, it comes back to the second.
    drop(on_first);
    let mut missed = Vec::new();
    for _ in 0..3 {
        missed.push(
            producer
                .publish(EventKind::MessageCreated, CHAT, &[1])
                .await,
        );
    }
    // Both instances count into this process's one metrics registry and each reads every event, so
    // the second has the missed events in its ring only once the sum is twice the last sequence.
    second.wait_read(2 * missed[2]).await;
    let mut resumed = second.open(1, Some(&cursor)).await;
    assert_eq!(until(&mut resumed, missed[2]).await, missed);
}

#[tokio::test]
async fn an_event_published_again_under_a_new_sequence_is_pushed_and_replayed_once() {
    // Both apps record into this process's one metrics registry.
    for (count, ring) in [(1.0, "10000"), (2.0, "1")] {
        let app = TestApp::ready(&[("NOTIFY_RING_EVENTS", ring)]).await;
        let producer = Producer::new(&app).await;
        let mut client = app.connect(1).await;
        let original = envelope(EventKind::MessageCreated, CHAT, &[1], "once");
        let first = producer.publish_envelope(&original).await;
        let resume = client.next_domain().await;
        assert_eq!(seq(&resume), first);
        // The producer lost the ack and re-published after JetStream's de-duplication window:
        // another message id, the same event id.
        let payload = original.to_json().unwrap_or_default();
        producer
            .publish_raw(EventKind::MessageCreated, "a-later-retry", payload)
            .await;
        let marker = producer.publish(EventKind::ChatUpdated, CHAT, &[1]).await;
        let next = client.next_domain().await;
        assert_eq!(
            (next.event.as_str(), seq(&next)),
            ("chat.updated", marker),
            "ring {ring}"
        );
        assert_eq!(
            app.metric("notify_nats_errors_total{reason=\"duplicate\"}")
                .await,
            Some(count)
        );

        // A replay from before the original sends it once, from the ring or from JetStream.
        let before = format!("{}:{}", epoch(&resume), first - 1);
        let mut replayed = app.open(1, Some(&before)).await;
        assert_eq!(
            until(&mut replayed, marker).await,
            [first, marker],
            "ring {ring}"
        );
    }
}

#[tokio::test]
async fn a_replay_beyond_the_ring_reads_the_rest_from_jetstream() {
    let app = TestApp::ready(&[("NOTIFY_RING_EVENTS", "2")]).await;
    let producer = Producer::new(&app).await;
    let mut client = app.connect(1).await;
    let seen = producer
        .publish(EventKind::MessageCreated, CHAT, &[1])
        .await;
    let cursor = client.next_domain().await.id;
    assert!(cursor.ends_with(&format!(":{seen}")));
    drop(client);
    let missed = interleaved(&producer, 6).await;
    app.wait_read(13).await;
    let mut client = app.open(1, Some(&cursor)).await;
    let mut replayed = Vec::new();
    loop {
        let event = client.next_except(&["presence.changed"]).await;
        match event.event.as_str() {
            "connected" => break,
            "resync" => panic!("{}", event.data),
            _ => replayed.push(seq(&event)),
        }
    }
    assert_eq!(
        replayed, missed,
        "the stream's part, then the ring's, once each in order"
    );
}

#[tokio::test]
async fn a_cursor_of_a_stream_created_anew_or_a_bare_sequence_gets_one_resync_epoch() {
    let app = TestApp::ready(&[]).await;
    let producer = Producer::new(&app).await;
    let mut open = app.connect(1).await;
    producer
        .publish(EventKind::MessageCreated, CHAT, &[1])
        .await;
    let old = open.next_domain().await;

    let mut bare = app.open(1, Some(&seq(&old).to_string())).await;
    let resync = bare.next_except(&["presence.changed"]).await;
    assert_eq!(
        (resync.event.as_str(), &data(&resync)["reason"]),
        ("resync", &serde_json::json!("epoch"))
    );

    let jetstream = producer.jetstream();
    jetstream
        .delete_stream(&app.bus.stream)
        .await
        .unwrap_or_else(|err| panic!("delete the stream: {err}"));
    let producer = Producer::new(&app).await;
    // The open stream is told at once: its cursor belongs to the old stream.
    let told = open.next_except(&["presence.changed"]).await;
    assert_eq!(
        (told.event.as_str(), &data(&told)["reason"]),
        ("resync", &serde_json::json!("epoch"))
    );
    assert_ne!(epoch(&told), epoch(&old));
    let fresh = producer
        .publish(EventKind::MessageCreated, CHAT, &[1])
        .await;
    let live = open.next_domain().await;
    assert_eq!((seq(&live), epoch(&live)), (fresh, epoch(&told)));

    // A client that kept the old cursor is told so on reconnect, then gets live events.
    let mut stale = app.open(1, Some(&old.id)).await;
    let resync = stale.next_except(&["presence.changed"]).await;
    assert_eq!(
        (resync.event.as_str(), &data(&resync)["reason"]),
        ("resync", &serde_json::json!("epoch"))
    );
    let next = producer
        .publish(EventKind::MessageCreated, CHAT, &[1])
        .await;
    assert_eq!(seq(&stale.next_domain().await), next);
}

#[tokio::test]
async fn a_reader_whose_consumer_vanishes_without_a_word_resumes_after_the_last_event_it_saw() {
    let app = TestApp::ready(&[]).await;
    let producer = Producer::new(&app).await;
    let mut client = app.connect(1).await;
    let seen = producer
        .publish(EventKind::MessageCreated, CHAT, &[1])
        .await;
    assert_eq!(seq(&client.next_domain().await), seen);

    // The consumer's node forgets it (as when that node dies): no status comes, only silence.
    let stream = producer
        .jetstream()
        .get_stream(&app.bus.stream)
        .await
        .unwrap_or_else(|err| panic!("the stream: {err}"));
    let consumers: Vec<String> = stream
        .consumer_names()
        .filter_map(|name| async move { name.ok() })
        .collect()
        .await;
    assert!(!consumers.is_empty(), "the reader has a consumer");
    for name in consumers {
        stream
            .delete_consumer(&name)
            .await
            .unwrap_or_else(|err| panic!("delete consumer {name}: {err}"));
    }
    let missed = producer
        .publish(EventKind::MessageCreated, CHAT, &[1])
        .await;
    assert_eq!(
        seq(&client.next_domain().await),
        missed,
        "the reader noticed the silence and read on from where it was"
    );
}

#[tokio::test]
async fn typing_on_one_instance_reaches_members_on_every_instance() {
    let first = TestApp::ready(&[]).await;
    let second = first.sibling(&[]).await;
    let mut on_first = first.connect(2).await;
    let mut on_second = second.connect(3).await;
    let nats = async_nats::connect(test_support::Nats::shared().await.url())
        .await
        .unwrap_or_else(|err| panic!("connect to NATS: {err}"));
    let signal = serde_json::to_vec(&fechatter_events::payload::Typing {
        workspace_id: crate::support::WS,
        chat_id: fechatter_events::ChatId(CHAT),
        user_id: fechatter_events::UserId(1),
        recipients: vec![1, 2, 3]
            .into_iter()
            .map(fechatter_events::UserId)
            .collect(),
        occurred_at: chrono::Utc::now(),
    })
    .unwrap_or_default();
    let subject = first
        .bus
        .ephemeral_subject(fechatter_events::EphemeralKind::Typing);
    // Core NATS drops signals nobody listens to yet, so send until both have one.
    let (mut first_got, mut second_got) = (false, false);
    tokio::time::timeout(TIMEOUT, async {
        while !(first_got && second_got) {
            nats.publish(subject.clone(), signal.clone().into())
                .await
                .unwrap_or_else(|err| panic!("publish: {err}"));
            let wait = std::time::Duration::from_millis(200);
            for (client, got) in [
                (&mut on_first, &mut first_got),
                (&mut on_second, &mut second_got),
            ] {
                if let Ok(event) =
                    tokio::time::timeout(wait, client.next_except(&["presence.changed"])).await
                {
                    assert_eq!(event.event, "typing");
                    *got = true;
                }
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("typing did not reach both instances' members"));
}
