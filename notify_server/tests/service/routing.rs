use fechatter_events::EventKind;

use crate::support::{Producer, SseClient, TestApp, data, epoch, seq};

const CHAT_A: i64 = 100;
const CHAT_B: i64 = 200;
const A_MEMBERS: &[i64] = &[1, 2];
const B_MEMBERS: &[i64] = &[2, 3];
const EVERYONE: &[i64] = &[1, 2, 3];

/// Collects a client's domain events up to and including the one with sequence `last`.
async fn events_until(client: &mut SseClient, last: u64) -> Vec<(String, u64)> {
    let mut seen = Vec::new();
    loop {
        let event = client.next_domain().await;
        let entry = (event.event.clone(), seq(&event));
        assert_eq!(data(&event)["kind"], event.event, "named after its kind");
        seen.push(entry);
        if seen.last().is_some_and(|(_, s)| *s >= last) {
            return seen;
        }
    }
}

#[tokio::test]
async fn each_event_reaches_every_connection_of_its_recipients_and_nobody_else() {
    let app = TestApp::ready(&[]).await;
    let producer = Producer::new(&app).await;
    let mut user1_tab1 = app.connect(1).await;
    let mut user1_tab2 = app.connect(1).await;
    let mut user2 = app.connect(2).await;
    let mut user3 = app.connect(3).await;

    let kinds = [
        EventKind::MessageCreated,
        EventKind::MessageUpdated,
        EventKind::MessageDeleted,
        EventKind::MessageReactionAdded,
        EventKind::MessageReactionRemoved,
        EventKind::ChatMemberAdded,
        EventKind::ChatMemberRemoved,
    ];
    let mut published: Vec<(String, u64, &[i64])> = Vec::new();
    for kind in kinds {
        for (chat, members) in [(CHAT_A, A_MEMBERS), (CHAT_B, B_MEMBERS)] {
            let seq = producer.publish(kind, chat, members).await;
            published.push((kind.as_str().to_owned(), seq, members));
        }
    }
    // Only the reader's own sessions see a read marker.
    let read = producer.publish(EventKind::ChatRead, CHAT_A, &[1]).await;
    published.push(("chat.read".to_owned(), read, &[1]));
    // Everyone gets the last one, so each client's list ends at the same point.
    let last = producer
        .publish(EventKind::ChatUpdated, CHAT_A, EVERYONE)
        .await;
    published.push(("chat.updated".to_owned(), last, EVERYONE));

    let expected = |user: i64| -> Vec<(String, u64)> {
        published
            .iter()
            .filter(|(_, _, recipients)| recipients.contains(&user))
            .map(|(kind, seq, _)| (kind.clone(), *seq))
            .collect()
    };
    assert_eq!(events_until(&mut user1_tab1, last).await, expected(1));
    assert_eq!(events_until(&mut user1_tab2, last).await, expected(1));
    assert_eq!(events_until(&mut user2, last).await, expected(2));
    assert_eq!(events_until(&mut user3, last).await, expected(3));
}

/// The envelope as published, as a JSON object without its `recipients`.
fn without_recipients(envelope: &fechatter_events::Envelope) -> serde_json::Value {
    let mut value = serde_json::to_value(envelope).unwrap_or_default();
    let removed = value
        .as_object_mut()
        .and_then(|object| object.remove("recipients"));
    assert!(removed.is_some(), "the published envelope lists recipients");
    value
}

#[tokio::test]
async fn an_event_arrives_live_and_replayed_as_its_envelope_without_recipients() {
    let app = TestApp::ready(&[]).await;
    let producer = Producer::new(&app).await;
    let mut client = app.connect(7).await;
    let envelope = crate::support::envelope(EventKind::MessageCreated, CHAT_A, &[7, 8], "hi there");
    let sequence = producer.publish_envelope(&envelope).await;

    let live = client.next_domain().await;
    assert_eq!(live.event, "message.created");
    assert_eq!(seq(&live), sequence);
    assert_eq!(data(&live), without_recipients(&envelope));
    assert!(!live.data.contains("recipients"), "{}", live.data);

    let before = format!("{}:{}", epoch(&live), sequence - 1);
    let mut resumed = app.open(7, Some(&before)).await;
    let replayed = resumed.next_domain().await;
    assert_eq!(replayed.id, live.id);
    assert_eq!(replayed.data, live.data, "replay sends the same frame");
}
