//! NATS stops for twenty seconds while ann keeps sending: every send succeeds (the outbox holds the
//! events), fechatter is degraded, notify and bot are not ready, `NATSSubscriptionDown` goes off
//! for each consumer; when NATS returns every message reaches bob's app, the search index and
//! ClickHouse exactly once, and everything is healthy again without a restart.

use std::time::Duration;

use e2e::alerts::{wait_for_alert, with_fast_alerts};
use e2e::traffic::Sender;
use e2e::{Service, Topology};
use test_support::{Prometheus, wait_until};

use crate::{Pair, WAIT, prometheus_value};

/// Long enough for every NATS client to notice, miss its heartbeats and back off to its slowest
/// retry: the outage is the scenario, not a wait for something.
const OUTAGE: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_nats_down_for_twenty_seconds_sends_succeed_and_every_message_arrives_once_after() {
    let topology = Topology::start().await;
    let prometheus = Prometheus::start(with_fast_alerts(
        topology.prometheus_config(),
        &["NATSSubscriptionDown", "NATSDown"],
    ))
    .await;
    let mut pair = Pair::meet(&topology).await;
    let sender = Sender::start(
        pair.api.clone(),
        pair.ann.clone(),
        pair.chat,
        Duration::from_millis(100),
    );
    wait_until("a few messages before the outage", WAIT, || async {
        sender.stored() >= 5
    })
    .await;

    topology.nats.stop().await;
    let stopped = tokio::time::Instant::now();
    let before_outage = sender.stored();
    wait_until("fechatter to report NATS down, degraded", WAIT, || async {
        let (status, health) = topology.health(Service::Fechatter).await;
        status == 200
            && health["status"] == "degraded"
            && health["checks"]["nats"]["status"] == "down"
    })
    .await;
    for service in [Service::Notify, Service::Bot] {
        topology.wait_ready_status(service, 503, WAIT).await;
    }
    for service in ["notify_server", "bot_server", "analytics_server"] {
        wait_for_alert(
            &prometheus,
            "NATSSubscriptionDown",
            "firing",
            &[("service", service)],
            WAIT,
        )
        .await;
    }
    // The root cause, which Alertmanager lets silence the consumers' alerts.
    wait_for_alert(&prometheus, "NATSDown", "firing", &[], WAIT).await;
    prometheus_value(&prometheus, "fechatter_outbox_pending_events > 0").await;
    prometheus_value(
        &prometheus,
        "sum(fechatter_events_publish_errors_total) > 0",
    )
    .await;
    tokio::time::sleep_until(stopped + OUTAGE).await;
    topology.nats.start().await;

    let during_outage = sender.stored() - before_outage;
    assert!(
        during_outage >= 50,
        "ann kept sending through the outage: {during_outage} messages"
    );
    for service in Service::ALL {
        topology.wait_ready_status(service, 200, WAIT).await;
    }
    let at_return = sender.stored();
    wait_until("a few messages after the outage", WAIT, || async {
        sender.stored() >= at_return + 10
    })
    .await;
    let sent = sender.stop().await;
    assert!(
        sent.failures.is_empty(),
        "sends failed: {:?}",
        sent.failures
    );

    pair.bob_sees_exactly(&sent.ids).await;
    pair.indexed_exactly(&sent.ids).await;
    let total = sent.ids.len() as u64;
    wait_until("ClickHouse to hold every message once", WAIT, || async {
        topology
            .analytics_rows("event_type = 'message.created'")
            .await
            == (total, total)
    })
    .await;
    // Readiness needs only the critical checks; the sockets' reader of the stream resubscribes on
    // its own once NATS answers again.
    let healthy = test_support::try_eventually(WAIT, || async {
        let (status, health) = topology.health(Service::Fechatter).await;
        (status == 200 && health["status"] == "healthy").then_some(())
    })
    .await;
    if healthy.is_none() {
        let (status, health) = topology.health(Service::Fechatter).await;
        panic!("fechatter_server is not healthy after the outage: {status} {health}");
    }
    // The reconnections counted as subscription errors, and the alerts resolved.
    prometheus_value(&prometheus, "sum(notify_nats_errors_total) > 0").await;
    e2e::alerts::wait_until_none_firing(&prometheus, "NATSSubscriptionDown and NATSDown", WAIT)
        .await;
}
