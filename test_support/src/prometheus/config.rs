//! What a test's Prometheus scrapes and evaluates, rendered to `prometheus.yml`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};

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
    /// Alertmanagers the alerts are sent to (`host:port`).
    pub alertmanagers: Vec<String>,
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
            alertmanagers: Vec::new(),
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

    /// Sends the alerts to the Alertmanager at `url` (`http://127.0.0.1:PORT`).
    pub fn alertmanager(mut self, url: &str) -> Self {
        let target = url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        self.alertmanagers.push(target);
        self
    }

    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// Writes `prometheus.yml` (JSON, which is YAML) and the inline rule files into `dir`.
    pub(super) fn write(&self, dir: &Path, port: u16) {
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
        let mut config = json!({
            "global": {"scrape_interval": interval, "scrape_timeout": interval, "evaluation_interval": interval},
            "rule_files": rule_files,
            "scrape_configs": jobs,
        });
        if !self.alertmanagers.is_empty() {
            config["alerting"] =
                json!({"alertmanagers": [{"static_configs": [{"targets": self.alertmanagers}]}]});
        }
        let path = dir.join("prometheus.yml");
        std::fs::write(&path, config.to_string())
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }
}
