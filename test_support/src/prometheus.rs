//! Prometheus: always dedicated, because every test scrapes its own targets.

use std::path::PathBuf;
use std::process::Command;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use serde_json::Value;

mod config;

pub use config::{PrometheusConfig, ScrapeJob};

use crate::commands::find_binary;
use crate::process::{Instance, Launch};

pub struct Prometheus {
    inner: Instance<Server>,
}

struct Server {
    dir: PathBuf,
    port: u16,
    /// The latest configuration, rewritten by [`Prometheus::reconfigure`].
    config: Mutex<PrometheusConfig>,
}

impl Launch for Server {
    const NAME: &'static str = "prometheus";
    const PORTS: usize = 1;
    type Config = PrometheusConfig;

    fn new(dir: PathBuf, ports: &[u16], config: &PrometheusConfig) -> Self {
        Server {
            dir,
            port: ports[0],
            config: Mutex::new(config.clone()),
        }
    }

    async fn prepare(&self) {
        let config = self
            .config
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        config.write(&self.dir, self.port);
    }

    fn command(&self) -> Command {
        let mut command = Command::new(find_binary("prometheus", "prometheus"));
        command
            .arg(format!(
                "--config.file={}",
                self.dir.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                self.dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{}", self.port))
            // Lets tests reload changed rules without a restart.
            .arg("--web.enable-lifecycle")
            // Alertmanagers are discovered a few seconds after start; firing alerts sent before
            // that are lost until the next resend (1 min by default).
            .arg("--rules.alert.resend-delay=1s");
        command
    }

    async fn ready(&self) -> bool {
        crate::http::get_ok(&format!("http://127.0.0.1:{}/-/ready", self.port))
            .await
            .is_some()
    }
}

impl Prometheus {
    /// Starts a Prometheus of the caller's own; killed and deleted on drop.
    pub async fn start(config: PrometheusConfig) -> Prometheus {
        Prometheus {
            inner: Instance::dedicated(&config).await,
        }
    }

    pub fn port(&self) -> u16 {
        self.inner.ports[0]
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port())
    }

    /// `data.result` of an instant query; panics when Prometheus rejects it.
    pub async fn query(&self, promql: &str) -> Value {
        self.try_query(promql)
            .await
            .unwrap_or_else(|e| panic!("query {promql} failed: {e}"))
    }

    /// `data.result` of an instant query, or why there is none.
    pub async fn try_query(&self, promql: &str) -> Result<Value, String> {
        let url = format!("{}/api/v1/query", self.url());
        let body = get_json(
            crate::http::client(Duration::from_secs(10))
                .get(url)
                .query(&[("query", promql)]),
        )
        .await?;
        Ok(body["data"]["result"].clone())
    }

    /// Waits until the last scrape of every target of `job` succeeded (`up == 1`).
    pub async fn wait_for_up(&self, job: &str, timeout: Duration) {
        let promql = format!(r#"up{{job="{job}"}}"#);
        let found = crate::wait::try_eventually(timeout, || async {
            let result = self.try_query(&promql).await.ok()?;
            let series = result.as_array()?;
            let all_up = !series.is_empty() && series.iter().all(|s| s["value"][1] == "1");
            all_up.then_some(())
        });
        if found.await.is_none() {
            let targets = get_json(
                crate::http::client(Duration::from_secs(5))
                    .get(format!("{}/api/v1/targets", self.url())),
            )
            .await
            .map_or_else(|e| e, |t| t["data"]["activeTargets"].to_string());
            panic!(
                "job {job} was not up after {timeout:?}; targets: {targets}\n{}",
                self.inner.log_tail()
            );
        }
    }

    /// `data.alerts` of `/api/v1/alerts`: pending and firing alerts with labels and state.
    pub async fn alerts(&self) -> Vec<Value> {
        let url = format!("{}/api/v1/alerts", self.url());
        let body = get_json(crate::http::client(Duration::from_secs(10)).get(url))
            .await
            .unwrap_or_else(|e| panic!("listing alerts failed: {e}"));
        body["data"]["alerts"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Makes Prometheus re-read its configuration and rule files.
    pub async fn reload(&self) {
        let url = format!("{}/-/reload", self.url());
        let response = crate::http::client(Duration::from_secs(30))
            .post(url)
            .send()
            .await
            .unwrap_or_else(|e| panic!("reload request failed: {e}"));
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            panic!(
                "reload failed with {status}: {body}\n{}",
                self.inner.log_tail()
            );
        }
    }

    /// Replaces the configuration (jobs, rules, interval) and reloads.
    pub async fn reconfigure(&self, config: PrometheusConfig) {
        let server = &self.inner.launch;
        config.write(&server.dir, server.port);
        *server.config.lock().unwrap_or_else(PoisonError::into_inner) = config;
        self.reload().await;
    }
}

/// The JSON body of a Prometheus API call whose `status` is `success`.
async fn get_json(request: reqwest::RequestBuilder) -> Result<Value, String> {
    let response = request
        .send()
        .await
        .map_err(|e| format!("request failed: {e}"))?;
    let status = response.status();
    let body: Value = response
        .json()
        .await
        .map_err(|e| format!("{status}, body is not JSON: {e}"))?;
    if body["status"] == "success" {
        Ok(body)
    } else {
        Err(format!("{status}: {body}"))
    }
}
