//! Every series an alert, a recording rule or a dashboard panel names is one a service declares, one
//! every exporter or Prometheus provides, a recording rule, or a design-catalogue name still pending.

use std::collections::BTreeSet;

use e2e::ops::catalogue::{KnownSeries, PENDING_DESIGN_METRICS};
use e2e::ops::dashboards::{Dashboard, variable_expr};
use e2e::ops::promql::metric_names;
use e2e::ops::repo_path;
use e2e::ops::rules::load_rules;
use observability::MetricKind;

/// (where, PromQL) for every rule expression and every dashboard query and variable query.
fn expressions() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let rules = load_rules(&repo_path("prometheus/rules")).unwrap_or_else(|err| panic!("{err:#}"));
    for rule in rules {
        let name = rule.alert.or(rule.record).unwrap_or_default();
        out.push((format!("rule {name}"), rule.expr));
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
            ));
        }
        for var in dashboard.variables() {
            out.push((
                format!("{} variable ${}", dashboard.file_name(), var.name),
                variable_expr(&var.query).to_owned(),
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
