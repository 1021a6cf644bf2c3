use chrono::Utc;
use fechatter_events::payload::Typing;
use fechatter_events::{ChatId, EphemeralKind, EventKind, UserId};

use crate::support::{Producer, SseClient, TestApp, WS, data, seq};

const CHAT: i64 = 400;

/// The next event that is not presence.
async fn next_event(client: &mut SseClient) -> eventsource_stream::Event {
    client.next_except(&["presence.changed"]).await
}

#[tokio::test]
async fn typing_reaches_the_other_members_of_the_chat_only_and_is_never_stored() {
    let app = TestApp::ready(&[("NOTIFY_TYPING_TTL_MS", "4000")]).await;
    let producer = Producer::new(&app).await;
    let mut typer = app.connect(1).await;
    let mut member = app.connect(2).await;
    let mut outsider = app.connect(3).await;
    let nats = async_nats::connect(test_support::Nats::shared().await.url())
        .await
        .unwrap_or_else(|err| panic!("connect to NATS: {err}"));
    let subject = app.bus.ephemeral_subject(EphemeralKind::Typing);
    let signal = serde_json::to_vec(&Typing {
        workspace_id: WS,
        chat_id: ChatId(CHAT),
        user_id: UserId(1),
        recipients: vec![UserId(1), UserId(2)],
        occurred_at: Utc::now(),
    })
    .unwrap_or_default();
    let head_before = producer
        .jetstream()
        .get_stream(&app.bus.stream)
        .await
        .map(|stream| stream.cached_info().state.last_sequence)
        .unwrap_or_else(|err| panic!("{err}"));

    // Core NATS drops signals nobody listens to yet, so send until the first one arrives.
    let typing = tokio::time::timeout(crate::support::TIMEOUT, async {
        loop {
            let published = nats.publish(subject.clone(), signal.clone().into()).await;
            published.unwrap_or_else(|err| panic!("publish typing: {err}"));
            nats.flush()
                .await
                .unwrap_or_else(|err| panic!("flush: {err}"));
            let wait = std::time::Duration::from_millis(200);
            if let Ok(event) = tokio::time::timeout(wait, next_event(&mut member)).await {
                return event;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no typing event within {:?}", crate::support::TIMEOUT));
    assert_eq!(typing.event, "typing");
    let body = data(&typing);
    assert_eq!(
        (body["chat_id"].as_i64(), body["user_id"].as_i64()),
        (Some(CHAT), Some(1))
    );
    let expires_at: chrono::DateTime<Utc> = serde_json::from_value(body["expires_at"].clone())
        .unwrap_or_else(|err| panic!("expires_at: {err}"));
    assert!(expires_at > Utc::now() && expires_at <= Utc::now() + chrono::Duration::seconds(5));

    // A stored event to everyone marks the end: the typer and the outsider got nothing before it.
    let marker = producer
        .publish(EventKind::ChatUpdated, CHAT, &[1, 2, 3])
        .await;
    for client in [&mut typer, &mut outsider] {
        let next = next_event(client).await;
        assert_eq!((next.event.as_str(), seq(&next)), ("chat.updated", marker));
    }
    assert_eq!(
        marker,
        head_before + 1,
        "typing signals are not stored in the stream"
    );
}
