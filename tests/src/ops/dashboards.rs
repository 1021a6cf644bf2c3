//! The provisioned Grafana dashboards as data: panels (rows flattened), their queries, template
//! variables, and each query turned into plain PromQL the way Grafana would send it.

use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, bail};
use serde_json::Value;

pub struct Dashboard {
    pub path: PathBuf,
    pub json: Value,
}

/// One query of one panel.
#[derive(Debug, Clone)]
pub struct PanelQuery {
    pub dashboard: String,
    pub panel_id: i64,
    pub panel_title: String,
    pub ref_id: String,
    pub expr: String,
    /// `legendFormat`: `{{label}}` placeholders or `__auto`.
    pub legend: String,
}

/// A query template variable; `all_value` is what "All" stands for in a query.
#[derive(Debug, Clone)]
pub struct Variable {
    pub name: String,
    pub query: String,
    pub all_value: Option<String>,
}

/// What Grafana substitutes for its built-in interval variables.
#[derive(Debug, Clone)]
pub struct Intervals {
    pub rate_interval: String,
    pub interval: String,
    pub range: String,
}

impl Default for Intervals {
    /// What Grafana uses with the datasource's 15 s scrape interval: `$__rate_interval` is four
    /// scrape intervals.
    fn default() -> Self {
        Self {
            rate_interval: "1m".to_owned(),
            interval: "15s".to_owned(),
            range: "1h".to_owned(),
        }
    }
}

impl Dashboard {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let json = serde_json::from_str(&text)
            .with_context(|| format!("{} is not valid JSON", path.display()))?;
        Ok(Self {
            path: path.to_owned(),
            json,
        })
    }

    /// Every `*.json` file of `dir`, sorted by name.
    pub fn load_dir(dir: &Path) -> anyhow::Result<Vec<Self>> {
        let mut paths = Vec::new();
        for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
            let path = entry?.path();
            if path.extension().is_some_and(|ext| ext == "json") {
                paths.push(path);
            }
        }
        paths.sort();
        paths.iter().map(|path| Self::load(path)).collect()
    }

    pub fn file_name(&self) -> String {
        self.path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    pub fn uid(&self) -> Option<&str> {
        self.json["uid"].as_str()
    }

    /// Every panel, including those nested in collapsed rows.
    pub fn panels(&self) -> Vec<&Value> {
        let mut out = Vec::new();
        for panel in self.json["panels"].as_array().into_iter().flatten() {
            out.push(panel);
            out.extend(panel["panels"].as_array().into_iter().flatten());
        }
        out
    }

    pub fn queries(&self) -> Vec<PanelQuery> {
        let mut out = Vec::new();
        for panel in self.panels() {
            for target in panel["targets"].as_array().into_iter().flatten() {
                out.push(PanelQuery {
                    dashboard: self.file_name(),
                    panel_id: panel["id"].as_i64().unwrap_or(-1),
                    panel_title: panel["title"].as_str().unwrap_or_default().to_owned(),
                    ref_id: target["refId"].as_str().unwrap_or_default().to_owned(),
                    expr: target["expr"].as_str().unwrap_or_default().to_owned(),
                    legend: target["legendFormat"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                });
            }
        }
        out
    }

    pub fn variables(&self) -> Vec<Variable> {
        self.json["templating"]["list"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|var| Variable {
                name: var["name"].as_str().unwrap_or_default().to_owned(),
                query: var["query"]["query"]
                    .as_str()
                    .or_else(|| var["query"].as_str())
                    .unwrap_or_default()
                    .to_owned(),
                all_value: var["allValue"].as_str().map(str::to_owned),
            })
            .collect()
    }

    /// `expr` with every variable replaced: template variables by their "All" value, built-ins by
    /// `intervals`. A variable that cannot be resolved is an error.
    pub fn substitute(&self, expr: &str, intervals: &Intervals) -> anyhow::Result<String> {
        let mut values: Vec<(String, String)> = vec![
            ("__rate_interval".into(), intervals.rate_interval.clone()),
            ("__interval".into(), intervals.interval.clone()),
            ("__range".into(), intervals.range.clone()),
        ];
        for var in self.variables() {
            let value = var.all_value.clone().ok_or_else(|| {
                anyhow!(
                    "variable ${} has no allValue, so its \"All\" depends on the data",
                    var.name
                )
            })?;
            values.push((var.name, value));
        }
        // Longer names first, so `$instance_type` is never read as `$instance` + `_type`.
        values.sort_by_key(|(name, _)| std::cmp::Reverse(name.len()));
        let mut out = expr.to_owned();
        for (name, value) in &values {
            out = out
                .replace(&format!("${{{name}}}"), value)
                .replace(&format!("[[{name}]]"), value)
                .replace(&format!("${name}"), value);
        }
        // `$1` in a `label_replace` replacement is PromQL's own; `$name` or `${…}` is a leftover.
        let leftover = out.match_indices('$').any(|(at, _)| {
            out[at + 1..]
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '{')
        });
        if leftover || out.contains("[[") {
            bail!("unresolved variable in {out:?}");
        }
        Ok(out)
    }
}

/// The metric expression of a `label_values(expr, label)` variable query, or the query itself.
pub fn variable_expr(query: &str) -> &str {
    query
        .trim()
        .strip_prefix("label_values(")
        .and_then(|rest| rest.strip_suffix(')'))
        .and_then(|args| args.rsplit_once(','))
        .map_or(query, |(expr, _label)| expr.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dashboard(json: Value) -> Dashboard {
        Dashboard {
            path: PathBuf::from("x.json"),
            json,
        }
    }

    #[test]
    fn variables_and_intervals_are_substituted() {
        let d = dashboard(serde_json::json!({
            "templating": {"list": [
                {"name": "instance", "query": {"query": "label_values(up, instance)"}, "allValue": ".+"},
                {"name": "instance_kind", "query": "label_values(up, kind)", "allValue": "a|b"}
            ]}
        }));
        let expr =
            r#"rate(x_total{instance=~"$instance",kind=~"${instance_kind}"}[$__rate_interval])"#;
        assert_eq!(
            d.substitute(expr, &Intervals::default()).ok().as_deref(),
            Some(r#"rate(x_total{instance=~".+",kind=~"a|b"}[1m])"#)
        );
        assert!(
            d.substitute("x{y=~\"$nope\"}", &Intervals::default())
                .is_err()
        );
    }

    #[test]
    fn a_variable_without_an_all_value_is_refused() {
        let d = dashboard(serde_json::json!({
            "templating": {"list": [{"name": "job", "query": "label_values(up, job)"}]}
        }));
        assert!(d.substitute("up", &Intervals::default()).is_err());
    }

    #[test]
    fn label_values_queries_yield_their_expression() {
        assert_eq!(
            variable_expr(r#"label_values(up{job="bot_server"}, instance)"#),
            r#"up{job="bot_server"}"#
        );
        assert_eq!(variable_expr("up"), "up");
    }

    #[test]
    fn panels_in_collapsed_rows_are_found() {
        let d = dashboard(serde_json::json!({"panels": [
            {"id": 1, "type": "row", "panels": [{"id": 2, "targets": [{"refId": "A", "expr": "up"}]}]},
            {"id": 3, "targets": [{"refId": "A", "expr": "x"}, {"refId": "B", "expr": "y"}]}
        ]}));
        let ids: Vec<i64> = d.panels().iter().filter_map(|p| p["id"].as_i64()).collect();
        assert_eq!(ids, [1, 2, 3]);
        assert_eq!(d.queries().len(), 3);
    }
}
