//! Something publishes an event no consumer can read: the bot and analytics each store it in the
//! dead-letter stream and count it, the repository's EventsDeadLettered alert fires for each; the
//! live readers (notify's SSE, fechatter's WebSocket) skip it and count it; the chat goes on for
//! everyone, and the operator's `dead_letters` command lists it and re-drives it (back to the
//! consumers, which park it again).

use e2e::alerts::{wait_for_alert, with_fast_alerts};
use e2e::metrics::{scrape, value};
use e2e::{Service, Topology};
use fechatter_events::{EventBus, EventKind};
use test_support::{Prometheus, eventually, wait_until};

use crate::{Pair, WAIT, prometheus_value, stored_dead_letters};

const POISON: &str = "this is not an envelope";

/// Waits until `series` (a gauge without labels) is 1 on `service`'s metrics port.
async fn wait_for_gauge(topology: &Topology, service: Service, series: &str) {
    let url = topology.metrics_url(service);
    wait_until(&format!("{series} to be 1"), WAIT, || async {
        value(&scrape(&url).await, series, &[]) == Some(1.0)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_event_is_stored_by_each_consumer_and_the_redrive_command_brings_it_back() {
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
    // Every consumer pulls before the poison is published, so the waits below measure the
    // handling, not a start-up on a loaded machine.
    wait_for_gauge(&topology, Service::Bot, "bot_nats_subscription_active").await;
    wait_for_gauge(
        &topology,
        Service::Analytics,
        "analytics_nats_subscription_active",
    )
    .await;
    let bus = EventBus::default();
    let nats = async_nats::ConnectOptions::new()
        .user_and_password(
            "operator".to_owned(),
            topology.nats_operator_password().to_owned(),
        )
        .connect(topology.nats.url())
        .await
        .unwrap_or_else(|err| panic!("connect to NATS as the operator: {err}"));
    let jetstream = async_nats::jetstream::new(nats.clone());
    jetstream
        .publish(bus.subject(EventKind::MessageCreated), POISON.into())
        .await
        .unwrap_or_else(|err| panic!("publish: {err}"))
        .await
        .unwrap_or_else(|err| panic!("JetStream ack: {err}"));
    let after = pair
        .api
        .send(&pair.ann, pair.chat, "ann says she is still chatting")
        .await;
    pair.bob_sees_exactly(&[after]).await;
    pair.indexed_exactly(&[after]).await;
    wait_until("the message in ClickHouse", WAIT, || async {
        topology
            .analytics_rows("event_type = 'message.created'")
            .await
            == (1, 1)
    })
    .await;

    // Stored with its headers, one per consumer that gave up on it.
    let listed = eventually("the dead letters of bot and analytics", WAIT, || async {
        let listed = topology.dead_letters(&["list"]).await;
        let parked = |consumer: &str| {
            listed.lines().any(|line| {
                line.split('\t').nth(2) == Some(consumer)
                    && line.contains(&bus.subject(EventKind::MessageCreated))
                    && line.contains("malformed: ")
                    && line.ends_with(POISON)
            })
        };
        (parked("bot") && parked("analytics")).then_some(listed)
    })
    .await;
    assert_eq!(stored_dead_letters(&topology).await, 2, "{listed}");
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

    // Re-driven, the bot's copy reaches the consumers again; the bot parks it once more.
    let redriven = topology
        .dead_letters(&["redrive", "--consumer", "bot"])
        .await;
    assert!(
        redriven.starts_with("re-drove 1 dead letter(s)"),
        "{redriven}"
    );
    let bot = topology.metrics_url(Service::Bot);
    wait_until(
        "the bot to park the re-driven event again",
        WAIT,
        || async {
            value(
                &scrape(&bot).await,
                "bot_events_dead_lettered_total",
                &[("reason", "malformed")],
            ) == Some(2.0)
        },
    )
    .await;
    let bots = topology.dead_letters(&["list", "--consumer", "bot"]).await;
    assert!(bots.starts_with("1 dead letter(s)"), "{bots}");
    // The bot goes on indexing after all of it.
    let last = pair.api.send(&pair.ann, pair.chat, "says goodbye").await;
    pair.indexed_exactly(&[after, last]).await;
}
