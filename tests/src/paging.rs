//! Paging end to end: a webhook receiver standing in for the incident tool (a local HTTP server
//! keeping every notification Alertmanager posts), and the repository's Alertmanager configuration
//! pointed at it, with timings short enough for a test.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::post;
use serde_json::Value;
use serde_norway::Value as Yaml;
use tokio::task::JoinHandle;

use crate::ops::repo_path;

/// One notification: the receiver it was routed to and Alertmanager's JSON body (`status`,
/// `alerts[]` with `labels`, `annotations`, `status`).
#[derive(Debug, Clone)]
pub struct Notification {
    pub receiver: String,
    pub body: Value,
}

impl Notification {
    /// The alerts of this notification named `alertname` whose labels include `labels`.
    pub fn alerts(&self, alertname: &str, labels: &[(&str, &str)]) -> Vec<Value> {
        self.body["alerts"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|alert| alert["labels"]["alertname"] == alertname)
            .filter(|alert| labels.iter().all(|(k, v)| alert["labels"][*k] == *v))
            .cloned()
            .collect()
    }
}

type Received = Arc<Mutex<Vec<Notification>>>;

pub struct WebhookReceiver {
    url: String,
    received: Received,
    server: JoinHandle<()>,
}

async fn receive(
    State(received): State<Received>,
    Path(receiver): Path<String>,
    body: axum::Json<Value>,
) {
    received
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(Notification {
            receiver,
            body: body.0,
        });
}

impl WebhookReceiver {
    pub async fn start() -> WebhookReceiver {
        let received = Received::default();
        let app = Router::new()
            .route("/{receiver}", post(receive))
            .with_state(received.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|err| panic!("bind the webhook receiver: {err}"));
        let address = listener
            .local_addr()
            .unwrap_or_else(|err| panic!("its address: {err}"));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        WebhookReceiver {
            url: format!("http://{address}"),
            received,
            server,
        }
    }

    /// `http://127.0.0.1:PORT`; receiver `NAME` posts to `/NAME`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Every notification so far.
    pub fn received(&self) -> Vec<Notification> {
        self.received
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Waits for a notification that `wanted` accepts.
    pub async fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        wanted: impl Fn(&Notification) -> bool,
    ) -> Notification {
        // The outer bound fires first, so the failure can list what did arrive.
        let found = tokio::time::timeout(
            timeout,
            test_support::eventually(what, timeout * 2, || async {
                self.received().into_iter().find(|n| wanted(n))
            }),
        )
        .await;
        found.unwrap_or_else(|_| {
            panic!(
                "no notification {what} within {timeout:?}; received: {:#?}",
                self.received()
            )
        })
    }
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// `alertmanager/alertmanager.yml` with its routes, grouping and inhibitions as they are, every
/// webhook receiver posting to `{webhook}/{receiver name}`, and the waits of every route (group
/// wait and interval) at `timing` so a notification and its resolution arrive within seconds.
pub fn alertmanager_config(webhook: &str, timing: &str) -> String {
    let path = repo_path("alertmanager/alertmanager.yml");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("reading {}: {err}", path.display()));
    let mut config: Yaml = serde_norway::from_str(&text)
        .unwrap_or_else(|err| panic!("parsing alertmanager.yml: {err}"));
    let mut routes = vec![&mut config["route"]];
    while let Some(route) = routes.pop() {
        for key in ["group_wait", "group_interval"] {
            route[key] = Yaml::String(timing.to_owned());
        }
        if let Some(children) = route.get_mut("routes").and_then(Yaml::as_sequence_mut) {
            routes.extend(children.iter_mut());
        }
    }
    let receivers = config["receivers"]
        .as_sequence_mut()
        .unwrap_or_else(|| panic!("alertmanager.yml has no receivers"));
    for receiver in receivers {
        let name = receiver["name"].as_str().unwrap_or_default().to_owned();
        let hooks = receiver["webhook_configs"]
            .as_sequence_mut()
            .unwrap_or_else(|| panic!("receiver {name} is not a webhook"));
        for hook in hooks {
            hook["url"] = Yaml::String(format!("{webhook}/{name}"));
        }
    }
    serde_norway::to_string(&config).unwrap_or_else(|err| panic!("writing the config: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_test_config_keeps_the_routes_and_points_every_webhook_at_the_receiver() {
        let yaml = alertmanager_config("http://127.0.0.1:1", "1s");
        let config: Yaml = serde_norway::from_str(&yaml).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config["route"]["group_wait"], "1s");
        let routes = config["route"]["routes"]
            .as_sequence()
            .cloned()
            .unwrap_or_default();
        assert!(routes.iter().all(|r| r["group_wait"] == "1s"), "{yaml}");
        assert!(
            yaml.contains("http://127.0.0.1:1/page") && yaml.contains("http://127.0.0.1:1/ticket")
        );
        assert!(
            !config["inhibit_rules"]
                .as_sequence()
                .unwrap_or(&Vec::new())
                .is_empty()
        );
    }
}
