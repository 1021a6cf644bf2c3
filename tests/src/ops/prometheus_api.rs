//! Just enough of Prometheus's HTTP API to evaluate the dashboards' queries against a running
//! Prometheus (the compose one, the native runner's, or a test's).

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, anyhow, bail};
use serde::Deserialize;

use super::dashboards::{Dashboard, Intervals, PanelQuery};

pub struct PrometheusApi {
    base_url: String,
    client: reqwest::Client,
}

#[derive(Debug, Clone)]
pub struct Sample {
    pub labels: BTreeMap<String, String>,
    pub value: String,
}

#[derive(Deserialize)]
struct Response<T> {
    status: String,
    data: Option<T>,
    error: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct QueryData {
    result_type: String,
    result: serde_json::Value,
}

#[derive(Deserialize)]
struct VectorSample {
    metric: BTreeMap<String, String>,
    value: (f64, String),
}

/// One dashboard query as Prometheus answered it.
#[derive(Debug)]
pub struct QueryOutcome {
    pub query: PanelQuery,
    /// The query after variable substitution, as sent.
    pub promql: String,
    /// How many series came back, or why the query failed.
    pub result: Result<usize, String>,
}

impl PrometheusApi {
    /// `base_url` like `http://127.0.0.1:9099`.
    pub fn new(base_url: &str) -> Self {
        Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            client: reqwest::Client::new(),
        }
    }

    async fn get<T: for<'de> Deserialize<'de>>(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> anyhow::Result<T> {
        let response: Response<T> = self
            .client
            .get(format!("{}{path}", self.base_url))
            .query(query)
            .timeout(std::time::Duration::from_secs(10))
            .send()
            .await
            .with_context(|| format!("GET {path}"))?
            .json()
            .await?;
        match (response.status.as_str(), response.data) {
            ("success", Some(data)) => Ok(data),
            _ => bail!(
                "{path}: {}",
                response.error.unwrap_or_else(|| response.status.clone())
            ),
        }
    }

    /// An instant query; a scalar or string result counts as one unlabelled sample.
    pub async fn query(&self, promql: &str) -> anyhow::Result<Vec<Sample>> {
        let data: QueryData = self.get("/api/v1/query", &[("query", promql)]).await?;
        match data.result_type.as_str() {
            "vector" => {
                let samples: Vec<VectorSample> = serde_json::from_value(data.result)?;
                Ok(samples
                    .into_iter()
                    .map(|s| Sample {
                        labels: s.metric,
                        value: s.value.1,
                    })
                    .collect())
            }
            "scalar" | "string" => {
                let (_, value): (f64, String) = serde_json::from_value(data.result)?;
                Ok(vec![Sample {
                    labels: BTreeMap::new(),
                    value,
                }])
            }
            other => Err(anyhow!("unexpected result type {other} for {promql}")),
        }
    }

    /// Every series name Prometheus holds.
    pub async fn series_names(&self) -> anyhow::Result<BTreeSet<String>> {
        self.get("/api/v1/label/__name__/values", &[]).await
    }

    /// Every query of every panel of `dashboards`, substituted and evaluated.
    pub async fn evaluate_panels(
        &self,
        dashboards: &[Dashboard],
        intervals: &Intervals,
    ) -> Vec<QueryOutcome> {
        let mut outcomes = Vec::new();
        for dashboard in dashboards {
            for query in dashboard.queries() {
                let (promql, result) = match dashboard.substitute(&query.expr, intervals) {
                    Ok(promql) => {
                        let result = self
                            .query(&promql)
                            .await
                            .map(|samples| samples.len())
                            .map_err(|err| format!("{err:#}"));
                        (promql, result)
                    }
                    Err(err) => (query.expr.clone(), Err(format!("{err:#}"))),
                };
                outcomes.push(QueryOutcome {
                    query,
                    promql,
                    result,
                });
            }
        }
        outcomes
    }
}
