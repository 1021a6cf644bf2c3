//! Prometheus: always dedicated, because every test scrapes its own targets.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use serde_json::{Value, json};

use crate::commands::find_binary;
use crate::process::{Instance, Launch};

/// Stands for Prometheus' own address, which is only known once its port is chosen.
const SELF_TARGET: &str = "$self";

/// What a test's Prometheus scrapes and evaluates.
#[derive(Clone, Debug)]
pub struct PrometheusConfig {
    pub scrape_jobs: Vec<ScrapeJob>,
    /// Rule files used in place (canonicalised), e.g. the repository's `prometheus/rules/*.yml`.
    pub rule_files: Vec<PathBuf>,
    /// Rule files written for this server: (file name, YAML).
    pub rules: Vec<(String, String)>,
    /// Scrape and evaluation interval (and scrape timeout); short so tests see data quickly.
    pub interval: Duration,
}

#[derive(Clone, Debug)]
pub struct ScrapeJob {
    pub name: String,
    /// `host:port`, e.g. `127.0.0.1:9090`.
    pub targets: Vec<String>,
    pub metrics_path: String,
}

impl Default for PrometheusConfig {
    fn default() -> Self {
        Self {
            scrape_jobs: Vec::new(),
            rule_files: Vec::new(),
            rules: Vec::new(),
            interval: Duration::from_secs(1),
        }
    }
}

impl PrometheusConfig {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `target` (`host:port`, scraped at `/metrics`) to job `job`.
    pub fn scrape(mut self, job: &str, target: impl Into<String>) -> Self {
        let target = target.into();
        match self.scrape_jobs.iter_mut().find(|j| j.name == job) {
            Some(existing) => existing.targets.push(target),
            None => self.scrape_jobs.push(ScrapeJob {
                name: job.to_owned(),
                targets: vec![target],
                metrics_path: "/metrics".to_owned(),
            }),
        }
        self
    }

    /// Scrapes Prometheus' own `/metrics` as job `job`: a target that is always up.
    pub fn scrape_self(self, job: &str) -> Self {
        self.scrape(job, SELF_TARGET)
    }

    pub fn rule_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.rule_files.push(path.into());
        self
    }

    /// A rule file given as text, e.g. a single alert for a test.
    pub fn rules(mut self, file_name: &str, yaml: &str) -> Self {
        self.rules.push((file_name.to_owned(), yaml.to_owned()));
        self
    }

    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// Writes `prometheus.yml` (JSON, which is YAML) and the inline rule files into `dir`.
    fn write(&self, dir: &Path, port: u16) {
        let rules_dir = dir.join("rules");
        crate::scope::create_dir(&rules_dir);
        let mut rule_files: Vec<String> = self
            .rule_files
            .iter()
            .map(|path| {
                let path = path
                    .canonicalize()
                    .unwrap_or_else(|e| panic!("rule file {}: {e}", path.display()));
                path.display().to_string()
            })
            .collect();
        for (name, yaml) in &self.rules {
            let path = rules_dir.join(name);
            std::fs::write(&path, yaml)
                .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
            rule_files.push(path.display().to_string());
        }
        let myself = format!("127.0.0.1:{port}");
        let interval = format!("{}ms", self.interval.as_millis().max(1));
        let jobs: Vec<Value> = self
            .scrape_jobs
            .iter()
            .map(|job| {
                let targets: Vec<&str> =
                    job.targets.iter().map(|t| if t == SELF_TARGET { myself.as_str() } else { t }).collect();
                json!({"job_name": job.name, "metrics_path": job.metrics_path, "static_configs": [{"targets": targets}]})
            })
            .collect();
        let config = json!({
            "global": {"scrape_interval": interval, "scrape_timeout": interval, "evaluation_interval": interval},
            "rule_files": rule_files,
            "scrape_configs": jobs,
        });
        let path = dir.join("prometheus.yml");
        std::fs::write(&path, config.to_string())
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }
}

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
            .arg("--web.enable-lifecycle");
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
