//! Observability truth: after real traffic, what the catalogues declare, the dashboards show and the
//! alerts watch is really in Prometheus.

use std::collections::BTreeSet;

use test_support::Prometheus;

use crate::Service;
use crate::ops::dashboards::{Dashboard, Intervals, variable_expr};
use crate::ops::prometheus_api::PrometheusApi;
use crate::ops::promql::metric_names;
use crate::ops::repo_path;

/// Series that move only when something fails or a client misbehaves. The story does neither, so
/// after it these may be absent (labelled counters appear with their first increment) or zero;
/// each is asserted by the test file named beside it (a unit test below keeps that true).
pub const FAULT_ONLY_SERIES: &[(&str, &str)] = &[
    ("fechatter_http_errors_total", "faults/postgres.rs"),
    ("fechatter_db_errors_total", "faults/postgres.rs"),
    ("bot_db_errors_total", "faults/postgres.rs"),
    ("fechatter_events_publish_errors_total", "faults/nats.rs"),
    // A client over its rate: a password-guessing one.
    ("fechatter_rate_limited_total", "security/main.rs"),
    // A client posting events too fast.
    ("analytics_rate_limited_total", "security/main.rs"),
    ("notify_nats_errors_total", "faults/nats.rs"),
    // A stored event nobody can read; the WebSocket's reader counts it too.
    ("fechatter_websocket_log_errors_total", "faults/poison.rs"),
    // Connections refused: a full notify; a user over their socket cap.
    (
        "notify_sse_connections_refused_total",
        "faults/slow_reader.rs",
    ),
    (
        "fechatter_websocket_connections_refused_total",
        "faults/slow_reader.rs",
    ),
    ("notify_broadcast_failures_total", "faults/slow_reader.rs"),
    // A notify that holds all the connections it may refuses the next.
    ("notify_http_errors_total", "faults/slow_reader.rs"),
    ("analytics_http_errors_total", "faults/clickhouse.rs"),
    ("analytics_clickhouse_errors_total", "faults/clickhouse.rs"),
    ("analytics_events_dead_lettered_total", "faults/poison.rs"),
    ("bot_events_dead_lettered_total", "faults/poison.rs"),
    // A background task that panics: only a test's hook makes one.
    (
        "fechatter_background_task_restarts_total",
        "faults/supervision.rs",
    ),
    (
        "notify_background_task_restarts_total",
        "faults/supervision.rs",
    ),
    (
        "bot_background_task_restarts_total",
        "faults/supervision.rs",
    ),
    (
        "analytics_background_task_restarts_total",
        "faults/supervision.rs",
    ),
];

/// Declared series that nothing can move today, each with the reason; reported to the lead, not
/// hidden: a name leaves this list when its code path exists.
pub const UNREACHABLE_SERIES: &[(&str, &str)] = &[];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// A series a service declares.
#[derive(Debug, Clone)]
pub struct Declared {
    pub name: String,
    pub kind: Kind,
}

fn excused(name: &str) -> bool {
    FAULT_ONLY_SERIES
        .iter()
        .chain(UNREACHABLE_SERIES)
        .any(|(excused, _)| *excused == name)
}

/// What one look at Prometheus found.
#[derive(Debug, Default)]
pub struct Truth {
    /// Declared series without samples or that never moved, jobs not up, panel queries without
    /// data, alerts firing.
    pub failures: Vec<String>,
    /// Declared series held to the check (the excused ones are not).
    pub series_checked: usize,
    /// Panel queries that returned data.
    pub queries_with_data: usize,
    /// Panel queries allowed to be empty (pending or fault-only series) that were.
    pub queries_excused: usize,
}

/// Looks at everything once. `pending` are the design names no service declares yet (their
/// panels may be empty).
pub async fn look(prometheus: &Prometheus, declared: &[Declared], pending: &[&str]) -> Truth {
    let api = PrometheusApi::new(&prometheus.url());
    let mut truth = Truth::default();
    let (series, failures) = series_violations(&api, declared).await;
    truth.series_checked = series;
    let mut failures = failures;
    for service in Service::ALL {
        let up = api
            .query(&format!(r#"up{{job="{}"}}"#, service.name()))
            .await
            .unwrap_or_default();
        if up.is_empty() || up.iter().any(|sample| sample.value != "1") {
            failures.push(format!("up of {} is {up:?}", service.name()));
        }
    }
    panel_violations(&api, pending, &mut truth).await;
    failures.append(&mut truth.failures);
    failures.extend(
        crate::alerts::firing(prometheus)
            .await
            .into_iter()
            .map(|alert| format!("alert firing: {alert}")),
    );
    truth.failures = failures;
    truth
}

/// How many series were checked, and the failures.
async fn series_violations(api: &PrometheusApi, declared: &[Declared]) -> (usize, Vec<String>) {
    let mut failures = Vec::new();
    let mut checked = 0;
    for series in declared {
        if excused(&series.name) {
            continue;
        }
        checked += 1;
        let sampled = match series.kind {
            Kind::Histogram => format!("{}_count", series.name),
            Kind::Counter | Kind::Gauge => series.name.clone(),
        };
        let samples = match api.query(&format!("sum({sampled})")).await {
            Ok(samples) => samples,
            Err(err) => {
                failures.push(format!("{sampled}: {err:#}"));
                continue;
            }
        };
        let total: Option<f64> = samples.first().and_then(|s| s.value.parse().ok());
        match (series.kind, total) {
            (_, None) => failures.push(format!("{} has no sample in Prometheus", series.name)),
            (Kind::Counter | Kind::Histogram, Some(total)) if total <= 0.0 => {
                failures.push(format!("{} never moved (it is {total})", series.name));
            }
            _ => {}
        }
    }
    (checked, failures)
}

async fn panel_violations(api: &PrometheusApi, pending: &[&str], truth: &mut Truth) {
    let dashboards = Dashboard::load_dir(&repo_path("grafana/dashboards"))
        .unwrap_or_else(|err| panic!("{err:#}"));
    let may_be_empty = |names: &BTreeSet<String>| {
        names.iter().any(|name| {
            let base = ["_bucket", "_count", "_sum"]
                .iter()
                .find_map(|suffix| name.strip_suffix(suffix))
                .unwrap_or(name);
            excused(name)
                || excused(base)
                || crate::ops::catalogue::compose_only(name)
                || pending.contains(&name.as_str())
                || pending.contains(&base)
        })
    };
    let failures = &mut truth.failures;
    for outcome in api
        .evaluate_panels(&dashboards, &Intervals::default())
        .await
    {
        let q = &outcome.query;
        let place = format!("{} panel {:?} {}", q.dashboard, q.panel_title, q.ref_id);
        let names = metric_names(&q.expr).unwrap_or_else(|err| panic!("{place}: {err:#}"));
        match &outcome.result {
            Err(err) => failures.push(format!("{place}: {} failed: {err}", outcome.promql)),
            Ok(0) if !may_be_empty(&names) => {
                failures.push(format!("{place}: no data for {}", outcome.promql));
            }
            Ok(0) => truth.queries_excused += 1,
            Ok(_) => truth.queries_with_data += 1,
        }
    }
    for dashboard in &dashboards {
        for var in dashboard.variables() {
            let expr = variable_expr(&var.query);
            if !matches!(api.query(expr).await, Ok(samples) if !samples.is_empty()) {
                failures.push(format!(
                    "{} variable ${}: no values for {expr}",
                    dashboard.file_name(),
                    var.name
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fault_only_series_is_asserted_by_the_fault_test_named_for_it() {
        for (name, file) in FAULT_ONLY_SERIES {
            let path = repo_path("tests/tests").join(file);
            let source = std::fs::read_to_string(&path)
                .unwrap_or_else(|err| panic!("{name}: {}: {err}", path.display()));
            assert!(
                source.contains(name),
                "{name} is excused from the story's truth check as fault-only, but {} never \
                 asserts it",
                path.display()
            );
        }
    }
}
