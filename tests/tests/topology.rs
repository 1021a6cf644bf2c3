//! The whole topology comes up from the built binaries and is observable from the first scrape,
//! Postgres through its exporter too.

use std::time::Duration;

use e2e::{Service, Topology};
use test_support::{Prometheus, assert_metrics_conform, try_eventually};

#[tokio::test]
async fn all_four_services_become_healthy_and_prometheus_scrapes_every_job() {
    let topology = Topology::start().await;
    let client = reqwest::Client::new();
    for service in Service::ALL {
        let health = || async {
            let response = client
                .get(format!("{}/health", topology.url(service)))
                .send()
                .await
                .expect("health answers");
            let status = response.status();
            let body: serde_json::Value = response.json().await.expect("health is JSON");
            (status, body)
        };
        // Ready needs the critical checks only: a stream reader may still be subscribing.
        let healthy = try_eventually(Duration::from_secs(30), || async {
            let (status, body) = health().await;
            (status == 200 && body["status"] == "healthy").then_some(body)
        })
        .await;
        let Some(body) = healthy else {
            let (status, body) = health().await;
            panic!("{} is not healthy: {status} {body}", service.name());
        };
        assert_eq!(body["service"], service.name());
    }

    let prometheus = Prometheus::start(topology.prometheus_config()).await;
    for service in Service::ALL {
        prometheus
            .wait_for_up(service.name(), Duration::from_secs(30))
            .await;
    }
    prometheus
        .wait_for_up("postgres", Duration::from_secs(30))
        .await;
    let up = prometheus.query("sum(up)").await;
    assert_eq!(
        up[0]["value"][1], "5",
        "the four services and Postgres's exporter: {up}"
    );
    let pg_up = prometheus.query("pg_up").await;
    assert_eq!(pg_up[0]["value"][1], "1", "{pg_up}");

    for service in Service::ALL {
        let url = topology.metrics_url(service);
        let prefix = service.metric_prefix();
        tokio::task::spawn_blocking(move || assert_metrics_conform(prefix, &url, &[]))
            .await
            .expect("check-metrics ran");
    }
}
