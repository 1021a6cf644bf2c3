use fechatter_events::EventKind;

use crate::support::{Producer, TestApp, envelope, seq};

const CHAT: i64 = 500;

#[tokio::test]
async fn a_client_too_slow_to_keep_up_is_cut_off_without_affecting_the_others() {
    // The write timeout closes the unread socket once the hub has cut it off; it must be long
    // enough for the hub to fill its buffer first on a loaded machine (else the close counts as
    // the client's).
    let app = TestApp::ready(&[
        ("NOTIFY_SSE_BUFFER", "16"),
        ("NOTIFY_SSE_WRITE_TIMEOUT_MS", "3000"),
    ])
    .await;
    let producer = Producer::new(&app).await;
    let mut fast = app.connect(2).await;
    app.wait_for_metric("notify_sse_connections_active", 1.0)
        .await;

    // Never read: once the socket buffers are full, notify's buffer for it fills and the hub cuts it
    // off; the server then closes the socket it can no longer write to.
    let slow = app.open(1, None).await;
    app.wait_for_metric("notify_sse_connections_active", 2.0)
        .await;

    let reader = tokio::spawn(async move {
        let mut received = Vec::new();
        loop {
            let event = fast.next_domain().await;
            if event.event == "chat.updated" {
                return (received, seq(&event));
            }
            received.push(seq(&event));
        }
    });
    let big = "x".repeat(64 * 1024);
    let mut published = Vec::new();
    let cut_off = "notify_sse_connections_closed_total{reason=\"slow_consumer\"}";
    for _ in 0..2_000 {
        let event = envelope(EventKind::MessageCreated, CHAT, &[1, 2], &big);
        published.push(producer.publish_envelope(&event).await);
        if published.len() % 10 == 0 && app.metric(cut_off).await == Some(1.0) {
            break;
        }
    }
    app.wait_for_metric(cut_off, 1.0).await;
    app.wait_for_metric("notify_sse_connections_active", 1.0)
        .await;
    assert!(
        app.metric("notify_broadcast_failures_total{reason=\"buffer_full\"}")
            .await
            >= Some(1.0)
    );

    let marker = producer
        .publish(EventKind::ChatUpdated, CHAT, &[1, 2])
        .await;
    let (received, last) = tokio::time::timeout(crate::support::TIMEOUT, reader)
        .await
        .unwrap_or_else(|_| panic!("the fast client did not get the marker"))
        .unwrap_or_else(|err| panic!("reader: {err}"));
    assert_eq!(last, marker);
    assert_eq!(
        received, published,
        "the fast client got every event, in order"
    );
    drop(slow);
}
