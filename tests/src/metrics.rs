//! A service's `/metrics` page read directly, for assertions that must not wait for a scrape.

use std::collections::BTreeMap;

/// One sample of a Prometheus text page.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// Every sample of a text page (label values are taken as written; the services never escape).
pub fn parse(page: &str) -> Vec<Sample> {
    page.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let value = value.parse().ok()?;
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => (name, labels(rest.trim_end_matches('}'))),
                None => (series, BTreeMap::new()),
            };
            Some(Sample {
                name: name.to_owned(),
                labels,
                value,
            })
        })
        .collect()
}

fn labels(text: &str) -> BTreeMap<String, String> {
    text.split("\",")
        .filter_map(|pair| {
            let (key, value) = pair.split_once("=\"")?;
            Some((
                key.trim().to_owned(),
                value.trim_end_matches('"').to_owned(),
            ))
        })
        .collect()
}

/// The sum of the samples named `name` whose labels include `with`; `None` when there is none.
pub fn value(page: &str, name: &str, with: &[(&str, &str)]) -> Option<f64> {
    let matching: Vec<f64> = parse(page)
        .into_iter()
        .filter(|s| s.name == name)
        .filter(|s| {
            with.iter()
                .all(|(k, v)| s.labels.get(*k).is_some_and(|got| got == v))
        })
        .map(|s| s.value)
        .collect();
    (!matching.is_empty()).then(|| matching.iter().sum())
}

/// The page at `url`; empty when the service does not answer (it may be stopped).
pub async fn scrape(url: &str) -> String {
    let response = reqwest::Client::new()
        .get(url)
        .timeout(std::time::Duration::from_secs(5))
        .send()
        .await;
    match response {
        Ok(response) => response.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = "# HELP a_total A.\n# TYPE a_total counter\n\
        a_total{route=\"/api/x\",status=\"200\"} 3\na_total{route=\"/api/y\",status=\"503\"} 2\nb 1.5\n";

    #[test]
    fn samples_are_summed_over_the_matching_labels() {
        assert_eq!(value(PAGE, "a_total", &[]), Some(5.0));
        assert_eq!(value(PAGE, "a_total", &[("status", "503")]), Some(2.0));
        assert_eq!(value(PAGE, "b", &[]), Some(1.5));
        assert_eq!(value(PAGE, "a_total", &[("status", "500")]), None);
        assert_eq!(value(PAGE, "c", &[]), None);
    }
}
