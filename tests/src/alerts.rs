//! The repository's alert rules in a real Prometheus during fault tests: the same expressions,
//! labels and annotations, with `for:` shortened so an alert goes pending and fires within seconds.

use std::time::Duration;

use serde_norway::Value;
use test_support::{Prometheus, PrometheusConfig};

use crate::ops::repo_path;
use crate::ops::rules::yaml_files;

/// `prometheus/rules/alerts.yml` reduced to the alerts named `alerts`, each with `for: {for_}`.
pub fn short_for_rules(alerts: &[&str], for_: &str) -> String {
    let path = repo_path("prometheus/rules/alerts.yml");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("reading {}: {err}", path.display()));
    let mut file: Value =
        serde_norway::from_str(&text).unwrap_or_else(|err| panic!("parsing alerts.yml: {err}"));
    let groups = file["groups"]
        .as_sequence_mut()
        .unwrap_or_else(|| panic!("alerts.yml has no groups"));
    let mut found = Vec::new();
    for group in groups.iter_mut() {
        let Some(rules) = group["rules"].as_sequence_mut() else {
            continue;
        };
        rules.retain(|rule| {
            rule["alert"]
                .as_str()
                .is_some_and(|name| alerts.contains(&name))
        });
        for rule in rules.iter_mut() {
            found.extend(rule["alert"].as_str().map(str::to_owned));
            rule["for"] = Value::String(for_.to_owned());
        }
    }
    groups.retain(|group| group["rules"].as_sequence().is_some_and(|r| !r.is_empty()));
    for alert in alerts {
        assert!(
            found.iter().any(|name| name == alert),
            "alerts.yml has no alert {alert}"
        );
    }
    serde_norway::to_string(&file).unwrap_or_else(|err| panic!("writing rules: {err}"))
}

/// `config` plus the repository's recording rules and the alerts named `alerts` with a `for:` of
/// one second.
pub fn with_fast_alerts(mut config: PrometheusConfig, alerts: &[&str]) -> PrometheusConfig {
    for path in yaml_files(&repo_path("prometheus/rules")).unwrap_or_else(|err| panic!("{err:#}")) {
        if path.file_name().is_some_and(|name| name != "alerts.yml") {
            config = config.rule_file(path);
        }
    }
    config.rules("fast_alerts.yml", &short_for_rules(alerts, "1s"))
}

/// Waits until alert `name` is in `state` (`pending` or `firing`) with these labels; its labels.
pub async fn wait_for_alert(
    prometheus: &Prometheus,
    name: &str,
    state: &str,
    labels: &[(&str, &str)],
    timeout: Duration,
) -> serde_json::Value {
    test_support::eventually(
        &format!("alert {name}{labels:?} to be {state}"),
        timeout,
        || async {
            prometheus.alerts().await.into_iter().find(|alert| {
                alert["labels"]["alertname"] == name
                    && alert["state"] == state
                    && labels.iter().all(|(k, v)| alert["labels"][*k] == *v)
            })
        },
    )
    .await
}

/// Waits until no alert is firing; when `timeout` passes first, panics naming those still firing
/// (`what` says which ones the test expected to resolve).
pub async fn wait_until_none_firing(prometheus: &Prometheus, what: &str, timeout: Duration) {
    let resolved = test_support::try_eventually(timeout, || async {
        firing(prometheus).await.is_empty().then_some(())
    })
    .await;
    if resolved.is_none() {
        panic!(
            "timed out after {timeout:?} waiting for {what} to resolve; still firing: {:?}",
            firing(prometheus).await
        );
    }
}

/// The alerts that are firing right now, as `name{labels}` strings.
pub async fn firing(prometheus: &Prometheus) -> Vec<String> {
    prometheus
        .alerts()
        .await
        .into_iter()
        .filter(|alert| alert["state"] == "firing")
        .map(|alert| format!("{} {}", alert["labels"]["alertname"], alert["labels"]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_rules_keep_the_repository_expression_and_change_only_for() {
        let yaml = short_for_rules(&["ClickHouseDown"], "1s");
        let file: Value = serde_norway::from_str(&yaml).unwrap_or_else(|e| panic!("{e}"));
        let rules: Vec<&Value> = file["groups"]
            .as_sequence()
            .into_iter()
            .flatten()
            .flat_map(|g| g["rules"].as_sequence().into_iter().flatten())
            .collect();
        assert_eq!(rules.len(), 1, "{yaml}");
        assert_eq!(rules[0]["expr"], "analytics_clickhouse_up == 0");
        assert_eq!(rules[0]["for"], "1s");
        assert!(rules[0]["annotations"]["runbook_url"].is_string());
    }
}
