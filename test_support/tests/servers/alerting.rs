use test_support::{
    Alertmanager, AlertmanagerConfig, Postgres, PostgresExporter, PostgresExporterConfig,
    Prometheus, PrometheusConfig, eventually,
};

use crate::TIMEOUT;

/// Everything to one receiver that nothing listens on: the test looks at Alertmanager's own view.
const ALERTMANAGER: &str = r#"
route:
  receiver: nowhere
  group_wait: 1s
receivers:
  - name: nowhere
"#;

const FIRING: &str = r#"
groups:
  - name: test
    rules:
      - alert: AlwaysFiring
        expr: vector(1)
        labels: {severity: critical}
        annotations: {summary: "always"}
"#;

#[tokio::test]
async fn prometheus_sends_its_alerts_to_the_alertmanager_it_is_given() {
    let alertmanager = Alertmanager::start(AlertmanagerConfig::new(ALERTMANAGER)).await;
    let prometheus = Prometheus::start(
        PrometheusConfig::new()
            .rules("firing.yml", FIRING)
            .alertmanager(&alertmanager.url()),
    )
    .await;
    let received = eventually("the alert in Alertmanager", TIMEOUT, || async {
        alertmanager
            .alerts()
            .await
            .into_iter()
            .find(|alert| alert["labels"]["alertname"] == "AlwaysFiring")
    })
    .await;
    assert_eq!(received["labels"]["severity"], "critical");
    assert_eq!(received["annotations"]["summary"], "always");
    drop(prometheus);
}

#[tokio::test]
async fn the_postgres_exporter_reports_its_server_up_and_down() {
    let postgres = Postgres::dedicated().await;
    let exporter = PostgresExporter::start(PostgresExporterConfig {
        url: postgres.url("postgres"),
        queries: None,
    })
    .await;
    let prometheus =
        // The exporter takes a second to give up on a Postgres that is down: longer scrapes.
        Prometheus::start(
            PrometheusConfig::new()
                .scrape("postgres", exporter.target())
                .interval(std::time::Duration::from_secs(3)),
        )
        .await;
    prometheus.wait_for_up("postgres", TIMEOUT).await;
    let pg_up = |expected: &'static str| {
        let prometheus = &prometheus;
        async move {
            eventually(&format!("pg_up to be {expected}"), TIMEOUT, || async {
                let result = prometheus.try_query("pg_up").await.ok()?;
                (result[0]["value"][1] == expected).then_some(())
            })
            .await
        }
    };
    pg_up("1").await;
    postgres.stop().await;
    pg_up("0").await;
}
