//! Questions the tests ask a running topology: is a service ready, how healthy, what is stored.

use std::time::Duration;

use test_support::wait_until;

use super::{Service, Topology};

impl Topology {
    /// The status of `/ready` (0 when the service does not answer).
    pub async fn ready_status(&self, service: Service) -> u16 {
        let url = format!("{}/ready", self.url(service));
        match reqwest::Client::new()
            .get(url)
            .timeout(Duration::from_secs(5))
            .send()
            .await
        {
            Ok(response) => response.status().as_u16(),
            Err(_) => 0,
        }
    }

    /// `/health` as status and JSON body.
    pub async fn health(&self, service: Service) -> (u16, serde_json::Value) {
        let url = format!("{}/health", self.url(service));
        let response = reqwest::Client::new()
            .get(url)
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .unwrap_or_else(|err| panic!("{} /health: {err}", service.name()));
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or_default())
    }

    /// Waits until `/ready` answers `status`.
    pub async fn wait_ready_status(&self, service: Service, status: u16, timeout: Duration) {
        let what = format!("{} /ready to answer {status}", service.name());
        wait_until(&what, timeout, || async {
            self.ready_status(service).await == status
        })
        .await;
    }

    /// `count()` and `uniqExact(event_id)` of analytics_server's stored events matching `filter`
    /// (SQL), read from ClickHouse itself.
    pub async fn analytics_rows(&self, filter: &str) -> (u64, u64) {
        let text = self
            .clickhouse
            .query(&format!(
                "SELECT count(), uniqExact(event_id) FROM fechatter_analytics.events \
                 WHERE {filter} FORMAT TSV"
            ))
            .await;
        let mut numbers = text.split_whitespace().map(|n| n.parse().unwrap_or(0));
        (numbers.next().unwrap_or(0), numbers.next().unwrap_or(0))
    }
}
