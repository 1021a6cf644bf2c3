//! Reading the bot's Prometheus exposition.

use test_support::eventually;

use super::{Stack, WAIT};

impl Stack {
    pub async fn scrape(&self) -> String {
        let url = &self.bot().metrics;
        self.client
            .get(url)
            .send()
            .await
            .unwrap_or_else(|err| panic!("scraping {url}: {err}"))
            .text()
            .await
            .unwrap_or_default()
    }

    /// The sum of the samples of `name` with all of `labels`; 0 when there is none.
    pub async fn metric(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        value(&self.scrape().await, name, labels)
    }

    /// Waits until the metric reaches `at_least`.
    pub async fn wait_for_metric(&self, name: &str, labels: &[(&str, &str)], at_least: f64) {
        let what = format!("{name}{labels:?} to reach {at_least}");
        eventually(&what, WAIT, || async {
            (self.metric(name, labels).await >= at_least).then_some(())
        })
        .await;
    }
}

pub fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    let mut total = 0.0;
    for line in text.lines().filter(|line| !line.starts_with('#')) {
        let Some((series, sample)) = line.rsplit_once(' ') else {
            continue;
        };
        let (series_name, series_labels) = match series.split_once('{') {
            Some((series_name, rest)) => (series_name, rest.trim_end_matches('}')),
            None => (series, ""),
        };
        if series_name == name
            && labels
                .iter()
                .all(|(key, value)| series_labels.contains(&format!("{key}=\"{value}\"")))
        {
            total += sample.parse::<f64>().unwrap_or(0.0);
        }
    }
    total
}
