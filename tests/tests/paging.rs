//! A fault in the running system pages a person: notify_server is killed, its `ServiceDown` alert
//! (the repository's rule, `for:` shortened) travels from a real Prometheus through a real
//! Alertmanager (the repository's routes and inhibitions, timings shortened) to the `page` webhook
//! with its labels, summary and absolute runbook link; when notify_server is back the resolved
//! notification follows. Meanwhile the synthetic probe counts the outage and the recovery.

use std::time::Duration;

use e2e::alerts::with_fast_alerts;
use e2e::ops::prometheus_api::PrometheusApi;
use e2e::ops::repo_root;
use e2e::paging::{Notification, WebhookReceiver, alertmanager_config};
use e2e::{Service, Topology};
use test_support::{Alertmanager, AlertmanagerConfig, Prometheus, eventually};

const WAIT: Duration = Duration::from_secs(45);

/// The value of a one-sample PromQL query once it is there.
async fn value(prometheus: &Prometheus, promql: &str) -> f64 {
    let api = PrometheusApi::new(&prometheus.url());
    eventually(&format!("{promql} in Prometheus"), WAIT, || async {
        let samples = api.query(promql).await.ok()?;
        samples.first()?.value.parse().ok()
    })
    .await
}

fn notify_down(notification: &Notification, status: &str) -> bool {
    notification.body["status"] == status
        && !notification
            .alerts("ServiceDown", &[("service", "notify_server")])
            .is_empty()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_service_pages_through_alertmanager_with_an_absolute_runbook_link_and_resolves() {
    let webhook = WebhookReceiver::start().await;
    let topology =
        Topology::start_with(&[("BOT_PROBE_PASSWORD", "a-canary-password-for-paging")]).await;
    let alertmanager = Alertmanager::start(AlertmanagerConfig::new(alertmanager_config(
        webhook.url(),
        "1s",
    )))
    .await;
    let prometheus = Prometheus::start(
        with_fast_alerts(topology.prometheus_config(), &["ServiceDown"])
            .alertmanager(&alertmanager.url()),
    )
    .await;
    for service in Service::ALL {
        prometheus.wait_for_up(service.name(), WAIT).await;
    }
    value(
        &prometheus,
        r#"sum(bot_probe_checks_total{result="success"}) > 0"#,
    )
    .await;

    topology.kill_service(Service::Notify).await;
    let page = webhook
        .wait_for("paging notify_server down", WAIT, |n| {
            notify_down(n, "firing")
        })
        .await;
    assert_eq!(
        page.receiver, "page",
        "critical alerts page: {:?}",
        page.body
    );
    let alert = &page.alerts("ServiceDown", &[("service", "notify_server")])[0];
    assert_eq!(alert["labels"]["severity"], "critical");
    assert_eq!(alert["labels"]["job"], "notify_server");
    assert_eq!(alert["annotations"]["summary"], "notify_server is down");
    let base = xtask::runbook_links::base(&repo_root()).unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(
        alert["annotations"]["runbook_url"],
        format!("{base}#servicedown"),
        "an absolute link to the alert's runbook section"
    );
    assert!(base.starts_with("http"), "{base}");
    // What users would see: the canary's messages stop arriving.
    value(
        &prometheus,
        r#"sum(increase(bot_probe_checks_total{result="failure"}[1m])) > 0"#,
    )
    .await;

    topology.start_service(Service::Notify).await;
    topology.wait_ready(Service::Notify).await;
    let resolved = webhook
        .wait_for("notify_server's page resolved", WAIT, |n| {
            notify_down(n, "resolved")
        })
        .await;
    assert_eq!(resolved.receiver, "page");
    assert_eq!(
        resolved.alerts("ServiceDown", &[("service", "notify_server")])[0]["status"],
        "resolved"
    );
    // Only the service that died paged.
    let others: Vec<Notification> = webhook
        .received()
        .into_iter()
        .filter(|n| {
            n.alerts("ServiceDown", &[("service", "notify_server")])
                .is_empty()
        })
        .collect();
    assert!(others.is_empty(), "unexpected notifications: {others:#?}");
    // And the probe succeeds again.
    let before = value(
        &prometheus,
        r#"sum(bot_probe_checks_total{result="success"})"#,
    )
    .await;
    value(
        &prometheus,
        &format!(r#"sum(bot_probe_checks_total{{result="success"}}) > {before}"#),
    )
    .await;
}
