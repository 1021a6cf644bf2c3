//! Alertmanager: always dedicated, because every test routes alerts to a receiver of its own.
//! Prometheus sends to it with [`PrometheusConfig::alertmanager`](crate::PrometheusConfig::alertmanager).

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::commands::find_any_binary;
use crate::process::{Instance, Launch};

/// The configuration file's text (`alertmanager.yml`), e.g. the repository's with its receivers
/// pointed at the test's webhook.
#[derive(Clone, Debug)]
pub struct AlertmanagerConfig {
    pub yaml: String,
}

impl AlertmanagerConfig {
    pub fn new(yaml: impl Into<String>) -> Self {
        Self { yaml: yaml.into() }
    }
}

pub struct Alertmanager {
    inner: Instance<Server>,
}

struct Server {
    dir: PathBuf,
    port: u16,
    yaml: String,
}

impl Launch for Server {
    const NAME: &'static str = "alertmanager";
    const PORTS: usize = 1;
    type Config = AlertmanagerConfig;

    fn new(dir: PathBuf, ports: &[u16], config: &AlertmanagerConfig) -> Self {
        Server {
            dir,
            port: ports[0],
            yaml: config.yaml.clone(),
        }
    }

    async fn prepare(&self) {
        let path = self.dir.join("alertmanager.yml");
        std::fs::write(&path, &self.yaml)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }

    fn command(&self) -> Command {
        // Debian names the binary after its package; upstream builds call it `alertmanager`.
        let binary = find_any_binary(
            &["prometheus-alertmanager", "alertmanager"],
            "prometheus-alertmanager",
        );
        let mut command = Command::new(binary);
        command
            .arg(format!(
                "--config.file={}",
                self.dir.join("alertmanager.yml").display()
            ))
            .arg(format!(
                "--storage.path={}",
                self.dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{}", self.port))
            // A single instance: no gossip port to collide with other tests.
            .arg("--cluster.listen-address=");
        command
    }

    async fn ready(&self) -> bool {
        crate::http::get_ok(&format!("http://127.0.0.1:{}/-/ready", self.port))
            .await
            .is_some()
    }
}

impl Alertmanager {
    /// Starts an Alertmanager of the caller's own; killed and deleted on drop.
    pub async fn start(config: AlertmanagerConfig) -> Alertmanager {
        Alertmanager {
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

    /// The alerts it holds (`GET /api/v2/alerts`), each with `labels`, `annotations` and `status`.
    pub async fn alerts(&self) -> Vec<Value> {
        let url = format!("{}/api/v2/alerts", self.url());
        let response = crate::http::client(Duration::from_secs(10))
            .get(url)
            .send()
            .await
            .unwrap_or_else(|e| panic!("listing Alertmanager's alerts failed: {e}"));
        response
            .json::<Value>()
            .await
            .unwrap_or_else(|e| panic!("Alertmanager's alerts are not JSON: {e}"))
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The last lines of its log, for a test's failure message.
    pub fn log_tail(&self) -> String {
        self.inner.log_tail()
    }
}
