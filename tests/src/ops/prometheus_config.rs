//! `prometheus/prometheus.yml` with other targets: for tests that scrape services on free ports, the
//! same rewrite `scripts/render-prometheus-config` does for the native runner.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, anyhow, bail};
use serde_norway::{Mapping, Value};

/// The config of `source` scraping `targets` (job name → `host:port` list) instead of the compose
/// hosts. Jobs not in `targets` are dropped (their compose hosts would only ever be down); a job of
/// `targets` that the file lacks is an error. Rule files become absolute, so the result can be
/// written anywhere; `scrape_interval` also sets the evaluation interval when given.
pub fn render(
    source: &Path,
    targets: &BTreeMap<String, Vec<String>>,
    scrape_interval: Option<&str>,
) -> anyhow::Result<String> {
    let text =
        std::fs::read_to_string(source).with_context(|| format!("reading {}", source.display()))?;
    let mut doc: Value = serde_norway::from_str(&text)?;
    let dir = source
        .parent()
        .ok_or_else(|| anyhow!("{} has no directory", source.display()))?
        .canonicalize()?;

    if let Some(rule_files) = doc["rule_files"].as_sequence_mut() {
        for file in rule_files.iter_mut() {
            let relative = file.as_str().ok_or_else(|| anyhow!("rule file {file:?}"))?;
            *file = Value::from(dir.join(relative).to_string_lossy().into_owned());
        }
    }
    if let Some(interval) = scrape_interval {
        let global = doc
            .as_mapping_mut()
            .ok_or_else(|| anyhow!("the config is not a mapping"))?
            .entry(Value::from("global"))
            .or_insert_with(|| Value::Mapping(Mapping::new()));
        global["scrape_interval"] = Value::from(interval);
        global["evaluation_interval"] = Value::from(interval);
        if let Some(timeout) = global.get_mut("scrape_timeout") {
            // The timeout may not exceed the interval.
            *timeout = Value::from(interval);
        }
    }

    let jobs = doc["scrape_configs"]
        .as_sequence_mut()
        .ok_or_else(|| anyhow!("no scrape_configs"))?;
    jobs.retain(|job| {
        job["job_name"]
            .as_str()
            .is_some_and(|name| targets.contains_key(name))
    });
    for (name, addresses) in targets {
        let job = jobs
            .iter_mut()
            .find(|job| job["job_name"].as_str() == Some(name))
            .ok_or_else(|| anyhow!("{} has no job {name}", source.display()))?;
        if addresses.is_empty() {
            bail!("no targets for job {name}");
        }
        let mut static_config = Mapping::new();
        static_config.insert(
            Value::from("targets"),
            Value::Sequence(addresses.iter().map(|a| Value::from(a.as_str())).collect()),
        );
        job["static_configs"] = Value::Sequence(vec![Value::Mapping(static_config)]);
    }
    Ok(serde_norway::to_string(&doc)?)
}
