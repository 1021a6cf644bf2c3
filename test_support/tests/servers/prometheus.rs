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

    prometheus.reconfigure(config.scrape_self("again")).await;
    prometheus.wait_for_up("again", TIMEOUT).await;
    let result = prometheus.query("count(up)").await;
    assert_eq!(result[0]["value"][1], "2");
}
