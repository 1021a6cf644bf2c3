use test_support::{Prometheus, PrometheusConfig, eventually};

use crate::TIMEOUT;

const ALWAYS_FIRING: &str = r#"
groups:
  - name: test
    rules:
      - alert: SelfScraped
        expr: up{job="self"} == 1
        labels: {severity: info}
"#;

/// Rule changes apply on reload without waiting for target discovery (about 5 s in Prometheus 2.x).
const RELOADED: &str = r#"
groups:
  - name: reloaded
    rules:
      - alert: Reloaded
        expr: vector(1)
"#;

#[tokio::test]
async fn prometheus_scrapes_itself_fires_rules_and_reloads() {
    let config = PrometheusConfig::new()
        .scrape_self("self")
        .rules("test.yml", ALWAYS_FIRING);
    let prometheus = Prometheus::start(config.clone()).await;
    prometheus.wait_for_up("self", TIMEOUT).await;

    let firing = eventually("SelfScraped to fire", TIMEOUT, || async {
        let alerts = prometheus.alerts().await;
        alerts
            .into_iter()
            .find(|a| a["labels"]["alertname"] == "SelfScraped" && a["state"] == "firing")
    })
    .await;
    assert_eq!(firing["labels"]["severity"], "info");

    prometheus
        .reconfigure(config.rules("reloaded.yml", RELOADED))
        .await;
    eventually("Reloaded to fire", TIMEOUT, || async {
        let alerts = prometheus.alerts().await;
        alerts
            .into_iter()
            .find(|a| a["labels"]["alertname"] == "Reloaded" && a["state"] == "firing")
    })
    .await;
    let result = prometheus.query(r#"up{job="self"}"#).await;
    assert_eq!(result[0]["value"][1], "1");
}
