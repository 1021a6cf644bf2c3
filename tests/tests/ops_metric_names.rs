//! Every series an alert, a recording rule or a dashboard panel names is one a service declares, one
//! every exporter or Prometheus provides, a recording rule, or a design-catalogue name still pending.

use std::collections::{BTreeMap, BTreeSet};

use e2e::ops::catalogue::{BUILTIN_SERIES, KnownSeries, PENDING_DESIGN_METRICS};
use e2e::ops::dashboards::{Dashboard, variable_expr};
use e2e::ops::promql::{metric_names, references};
use e2e::ops::repo_path;
use e2e::ops::rules::load_rules;
use service_kit::MetricKind;

/// (where, PromQL) for every rule expression and every dashboard query and variable query.
fn expressions() -> Vec<(String, String)> {
    expressions_with_legends()
        .into_iter()
        .map(|(place, expr, _)| (place, expr))
        .collect()
}

/// (where, PromQL, legend format) — the legend is empty for rules and variables.
fn expressions_with_legends() -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let rules = load_rules(&repo_path("prometheus/rules")).unwrap_or_else(|err| panic!("{err:#}"));
    for rule in rules {
        let name = rule.alert.or(rule.record).unwrap_or_default();
        out.push((format!("rule {name}"), rule.expr, String::new()));
    }
    let dashboards = Dashboard::load_dir(&repo_path("grafana/dashboards"))
        .unwrap_or_else(|err| panic!("{err:#}"));
    for dashboard in &dashboards {
        for query in dashboard.queries() {
            out.push((
                format!(
                    "{} panel {} {:?} {}",
                    query.dashboard, query.panel_id, query.panel_title, query.ref_id
                ),
                query.expr,
                query.legend,
            ));
        }
        for var in dashboard.variables() {
            out.push((
                format!("{} variable ${}", dashboard.file_name(), var.name),
                variable_expr(&var.query).to_owned(),
                String::new(),
            ));
        }
    }
    out
}

fn known_series() -> KnownSeries {
    let mut declared = BTreeSet::new();
    let mut histograms = BTreeSet::new();
    for (_, defs) in xtask::catalogues() {
        for def in defs {
            declared.insert(def.name.to_owned());
            if def.kind == MetricKind::Histogram {
                histograms.insert(def.name.to_owned());
            }
        }
    }
    let recorded = load_rules(&repo_path("prometheus/rules"))
        .unwrap_or_else(|err| panic!("{err:#}"))
        .into_iter()
        .filter_map(|rule| rule.record)
        .collect();
    KnownSeries {
        declared,
        histograms,
        recorded,
        pending: PENDING_DESIGN_METRICS
            .iter()
            .map(|n| n.to_string())
            .collect(),
    }
}

fn used_names() -> BTreeSet<String> {
    expressions()
        .iter()
        .flat_map(|(_, expr)| metric_names(expr).unwrap_or_default())
        .collect()
}

#[test]
fn every_series_a_rule_or_panel_names_is_declared_recorded_builtin_or_pending() {
    let known = known_series();
    let mut problems = Vec::new();
    for (place, expr) in expressions() {
        match metric_names(&expr) {
            Ok(names) => problems.extend(
                names
                    .iter()
                    .filter_map(|name| known.problem(name))
                    .map(|problem| format!("{place}: {problem}")),
            ),
            Err(err) => problems.push(format!("{place}: {err:#}")),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn no_pending_design_metric_is_declared_yet() {
    let declared: BTreeSet<&str> = xtask::declared_names().into_iter().collect();
    let landed: Vec<&&str> = PENDING_DESIGN_METRICS
        .iter()
        .filter(|name| declared.contains(**name))
        .collect();
    assert!(
        landed.is_empty(),
        "now declared by a service: delete from PENDING_DESIGN_METRICS in tests/src/ops/catalogue.rs: {landed:?}"
    );
}

#[test]
fn every_pending_design_metric_is_used_by_a_rule_or_a_panel() {
    let used = used_names();
    let unused: Vec<&&str> = PENDING_DESIGN_METRICS
        .iter()
        .filter(|name| {
            !used.contains(**name)
                && !["_bucket", "_sum", "_count"]
                    .iter()
                    .any(|suffix| used.contains(&format!("{name}{suffix}")))
        })
        .collect();
    assert!(
        unused.is_empty(),
        "pending names no rule or panel uses (drop them from PENDING_DESIGN_METRICS): {unused:?}"
    );
}

#[test]
fn recording_rules_are_named_level_metric_operations() {
    let rules = load_rules(&repo_path("prometheus/rules")).unwrap_or_else(|err| panic!("{err:#}"));
    let bad: Vec<String> = rules
        .into_iter()
        .filter_map(|rule| rule.record)
        .filter(|name| {
            let parts: Vec<&str> = name.split(':').collect();
            parts.len() != 3
                || parts.iter().any(|part| {
                    part.is_empty()
                        || !part
                            .chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                })
        })
        .collect();
    assert!(bad.is_empty(), "not level:metric:operations: {bad:?}");
}

/// The labels each declared series carries (histograms' `_bucket` series also `le`), and each
/// recording rule's from its level (`service_route:` → `service`, `route`).
fn labels_by_series() -> BTreeMap<String, BTreeSet<String>> {
    let mut labels: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (_, defs) in xtask::catalogues() {
        for def in defs {
            let own: BTreeSet<String> = def.labels.iter().map(|l| l.to_string()).collect();
            if def.kind == MetricKind::Histogram {
                let mut bucket = own.clone();
                bucket.insert("le".into());
                labels.insert(format!("{}_bucket", def.name), bucket);
                labels.insert(format!("{}_sum", def.name), own.clone());
                labels.insert(format!("{}_count", def.name), own);
            } else {
                labels.insert(def.name.to_owned(), own);
            }
        }
    }
    for rule in load_rules(&repo_path("prometheus/rules")).unwrap_or_else(|err| panic!("{err:#}")) {
        if let Some(record) = rule.record {
            let level = record.split(':').next().unwrap_or_default();
            let own = level.split('_').map(str::to_owned).collect();
            labels.insert(record, own);
        }
    }
    for name in BUILTIN_SERIES
        .iter()
        .filter(|name| !name.starts_with("ALERTS"))
    {
        labels.insert(name.to_string(), BTreeSet::new());
    }
    labels
}

#[test]
fn every_label_a_query_or_legend_names_is_a_label_of_one_of_its_series() {
    let labels = labels_by_series();
    let placeholder = regex::Regex::new(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
        .unwrap_or_else(|err| panic!("{err}"));
    let mut problems = Vec::new();
    for (place, expr, legend) in expressions_with_legends() {
        let refs = references(&expr).unwrap_or_else(|err| panic!("{place}: {err:#}"));
        // Series whose labels are not known yet (pending) or not fixed (ALERTS) are not checked.
        let Some(series_labels) = refs
            .metrics
            .iter()
            .map(|name| labels.get(name))
            .collect::<Option<Vec<_>>>()
        else {
            continue;
        };
        // Every scraped series has the target labels.
        let mut allowed: BTreeSet<String> = ["job", "instance"].map(String::from).into();
        allowed.extend(series_labels.into_iter().flatten().cloned());
        let legend_labels = placeholder
            .captures_iter(&legend)
            .map(|capture| capture[1].to_owned());
        for label in refs.labels.into_iter().chain(legend_labels) {
            if !allowed.contains(&label) {
                problems.push(format!(
                    "{place}: no series of {expr} has a label {label:?}"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
