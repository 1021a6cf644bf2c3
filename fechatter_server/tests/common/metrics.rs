//! Reading the app's Prometheus exposition.

use super::TestApp;

impl TestApp {
    pub async fn scrape(&self) -> String {
        self.client
            .get(&self.metrics_url)
            .send()
            .await
            .unwrap_or_else(|err| panic!("scraping {}: {err}", self.metrics_url))
            .text()
            .await
            .unwrap_or_default()
    }
}

/// The sum of the samples of `name` whose labels include all of `labels`; `None` when there is
/// no such sample.
pub fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let mut found = None;
    for line in text.lines().filter(|line| !line.starts_with('#')) {
        let Some((series, sample)) = line.rsplit_once(' ') else {
            continue;
        };
        let (series_name, series_labels) = match series.split_once('{') {
            Some((series_name, rest)) => (series_name, rest.trim_end_matches('}')),
            None => (series, ""),
        };
        if series_name != name {
            continue;
        }
        let matches = labels
            .iter()
            .all(|(key, value)| series_labels.contains(&format!("{key}=\"{value}\"")));
        if matches {
            let sample: f64 = sample.parse().unwrap_or(f64::NAN);
            found = Some(found.unwrap_or(0.0) + sample);
        }
    }
    found
}
