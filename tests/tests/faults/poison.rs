//! Something publishes an event no consumer can read: bot and analytics each park it on their
//! dead-letter subject and count it and the repository's EventsDeadLettered alert fires for each;
//! the live readers (notify's SSE, fechatter's WebSocket) skip it and count it; and the chat goes
//! on for everyone.

use e2e::alerts::{wait_for_alert, with_fast_alerts};
use e2e::{Service, Topology};
use fechatter_events::{EventBus, EventKind};
use futures::StreamExt;
use test_support::{Prometheus, wait_until};

use crate::{Pair, WAIT, prometheus_value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_event_is_dead_lettered_by_each_work_consumer_skipped_live_and_the_chat_goes_on()
 {
    let topology = Topology::start().await;
    let prometheus = Prometheus::start(with_fast_alerts(
        topology.prometheus_config(),
        &["EventsDeadLettered"],
    ))
    .await;
    // Scraped at 0 first: a window's increase starts from a sample.
    for service in Service::ALL {
        prometheus.wait_for_up(service.name(), WAIT).await;
    }
    let mut pair = Pair::meet(&topology).await;
    let bus = EventBus::default();
    let nats = async_nats::ConnectOptions::new()
        .user_and_password(
            "operator".to_owned(),
            topology.nats_operator_password().to_owned(),
        )
        .connect(topology.nats.url())
        .await
        .unwrap_or_else(|err| panic!("connect to NATS as the operator: {err}"));
    let mut dead_letters = nats
        .subscribe(format!("{}.dlq.>", bus.subject_prefix))
        .await
        .unwrap_or_else(|err| panic!("subscribe to the dead-letter subjects: {err}"));
    nats.flush()
        .await
        .unwrap_or_else(|err| panic!("flush: {err}"));

    let jetstream = async_nats::jetstream::new(nats.clone());
    jetstream
        .publish(
            bus.subject(EventKind::MessageCreated),
            "this is not an envelope".into(),
        )
        .await
        .unwrap_or_else(|err| panic!("publish: {err}"))
        .await
        .unwrap_or_else(|err| panic!("JetStream ack: {err}"));
    let after = pair.api.send(&pair.ann, pair.chat, "still chatting").await;
    pair.bob_sees_exactly(&[after]).await;
    wait_until("the message in ClickHouse", WAIT, || async {
        topology
            .analytics_rows("event_type = 'message.created'")
            .await
            == (1, 1)
    })
    .await;

    let mut parked = Vec::new();
    while parked.len() < 2 {
        let message = tokio::time::timeout(WAIT, dead_letters.next())
            .await
            .unwrap_or_else(|_| panic!("dead letters so far: {parked:?}"))
            .unwrap_or_else(|| panic!("the dead-letter subscription ended"));
        assert_eq!(message.payload.as_ref(), b"this is not an envelope");
        parked.push(message.subject.to_string());
    }
    parked.sort();
    assert_eq!(
        parked,
        ["analytics", "bot"].map(|consumer| bus.dead_letter_subject(consumer))
    );
    prometheus_value(
        &prometheus,
        r#"sum(notify_nats_errors_total{reason="malformed"}) > 0"#,
    )
    .await;
    prometheus_value(
        &prometheus,
        r#"sum(fechatter_websocket_log_errors_total{reason="malformed"}) > 0"#,
    )
    .await;
    prometheus_value(&prometheus, "sum(analytics_events_dead_lettered_total) > 0").await;
    prometheus_value(&prometheus, "sum(bot_events_dead_lettered_total) > 0").await;
    for service in ["analytics_server", "bot_server"] {
        wait_for_alert(
            &prometheus,
            "EventsDeadLettered",
            "firing",
            &[("service", service)],
            WAIT,
        )
        .await;
    }
}
