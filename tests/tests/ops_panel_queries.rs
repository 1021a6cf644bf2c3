//! The dashboards' queries against a real Prometheus scraping the four services, started from their
//! binaries on real Postgres, NATS and ClickHouse, after a burst of requests.
//!
//! Every query must run; every query over series this short run produces must return data. That the
//! queries over the domain series (messages, SSE, index, ingest…) return data after a full product
//! story is checked by the end-to-end suite, which drives that story.

use std::collections::BTreeSet;
use std::time::Duration;

use e2e::ops::dashboards::{Dashboard, Intervals, variable_expr};
use e2e::ops::prometheus_api::PrometheusApi;
use e2e::ops::promql::metric_names;
use e2e::ops::repo_path;
use e2e::ops::rules::{load_rules, yaml_files};
use e2e::ops::topology::SERVICES;
use e2e::{Service, Topology};
use test_support::{Prometheus, eventually};

/// Series every service exports from start-up, before any product traffic: after this test's run,
/// Prometheus must hold each of them.
fn baseline_series() -> BTreeSet<String> {
    let mut names: BTreeSet<String> = [
        "up",
        "process_resident_memory_bytes",
        "process_cpu_seconds_total",
        "process_open_fds",
        "fechatter_db_connections_active",
        "fechatter_db_connections_idle",
        "fechatter_db_connections_max",
        "bot_db_connections_active",
        "bot_db_connections_max",
        "analytics_clickhouse_up",
        // Postgres's exporter, part of the topology as of compose.
        "pg_up",
        "pg_stat_activity_count",
        "pg_settings_max_connections",
        "pg_settings_max_wal_size_bytes",
        "pg_database_size_bytes",
        "pg_wal_directory_size_bytes",
        "pg_stat_database_xact_commit",
    ]
    .map(String::from)
    .into();
    for service in SERVICES {
        let p = service.metric_prefix;
        names.extend([
            format!("{p}_build_info"),
            format!("{p}_health_check_status"),
            format!("{p}_health_check_duration_seconds_bucket"),
            format!("{p}_health_requests_total"),
        ]);
        if service.name != "bot_server" {
            names.extend([
                format!("{p}_http_requests_total"),
                format!("{p}_http_request_duration_seconds_bucket"),
                format!("{p}_http_requests_in_flight"),
            ]);
        }
    }
    names
}

/// The services with an HTTP API (bot_server's port serves only health).
const HTTP_SERVICES: [Service; 3] = [Service::Fechatter, Service::Notify, Service::Analytics];

async fn burst(topology: &Topology) {
    let client = reqwest::Client::new();
    for service in HTTP_SERVICES {
        for _ in 0..20 {
            client
                .get(format!("{}/api/no-such-route", topology.url(service)))
                .timeout(Duration::from_secs(5))
                .send()
                .await
                .unwrap_or_else(|err| panic!("{}: {err}", service.name()));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_dashboard_query_runs_and_returns_data_for_the_series_the_services_export() {
    let topology = Topology::start().await;
    let mut config = topology.prometheus_config().scrape_self("prometheus");
    for rules in yaml_files(&repo_path("prometheus/rules")).unwrap_or_else(|err| panic!("{err:#}"))
    {
        config = config.rule_file(rules);
    }
    let prometheus = Prometheus::start(config).await;
    for service in Service::ALL {
        prometheus
            .wait_for_up(service.name(), Duration::from_secs(30))
            .await;
    }
    prometheus
        .wait_for_up("postgres", Duration::from_secs(30))
        .await;

    // Two bursts of API requests (an unknown path is served and counted as `unmatched`): a counter
    // first seen after the first burst only shows an increase once the second one is scraped.
    let api = PrometheusApi::new(&prometheus.url());
    burst(&topology).await;
    let requests = r#"sum by (job) (fechatter_http_requests_total{route="unmatched"} or notify_http_requests_total{route="unmatched"} or analytics_http_requests_total{route="unmatched"})"#;
    eventually(
        "the first burst scraped",
        Duration::from_secs(30),
        || async {
            let samples = api.query(requests).await.ok()?;
            (samples.len() == HTTP_SERVICES.len()).then_some(())
        },
    )
    .await;
    burst(&topology).await;

    // The recording rules need an evaluation after the second burst is scraped.
    // Recording rules over the baseline: not those of series this run does not produce (the
    // delivery SLO needs messages delivered).
    let baseline = baseline_series();
    let recorded: BTreeSet<String> = load_rules(&repo_path("prometheus/rules"))
        .unwrap_or_else(|err| panic!("{err:#}"))
        .into_iter()
        .filter(|rule| {
            metric_names(&rule.expr)
                .unwrap_or_default()
                .iter()
                .any(|name| baseline.contains(name) || name.contains(':'))
        })
        .filter_map(|rule| rule.record)
        .collect();
    let expected: BTreeSet<String> = baseline.union(&recorded).cloned().collect();
    let last = std::sync::Mutex::new((BTreeSet::new(), Vec::new()));
    let settled = tokio::time::timeout(
        Duration::from_secs(30),
        eventually(
            "Prometheus to hold every series",
            Duration::from_secs(60),
            || async {
                let present = api.series_names().await.unwrap_or_default();
                let rates = api
                    .query("service:http_requests:rate5m > 0")
                    .await
                    .unwrap_or_default();
                let done = expected.is_subset(&present) && rates.len() == HTTP_SERVICES.len();
                *last
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = (present.clone(), rates);
                done.then_some(present)
            },
        ),
    )
    .await;
    let present = settled.unwrap_or_else(|_| {
        let (present, rates) = last
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let missing: Vec<&String> = expected.difference(&present).collect();
        panic!("after 30 s Prometheus lacks {missing:?}; request rates {rates:?}")
    });

    let dashboards = Dashboard::load_dir(&repo_path("grafana/dashboards"))
        .unwrap_or_else(|err| panic!("{err:#}"));
    let outcomes = api
        .evaluate_panels(&dashboards, &Intervals::default())
        .await;
    let mut failures = Vec::new();
    let mut checked = 0;
    for outcome in &outcomes {
        let q = &outcome.query;
        let place = format!(
            "{} panel {} {:?} {}",
            q.dashboard, q.panel_id, q.panel_title, q.ref_id
        );
        let names = metric_names(&q.expr).unwrap_or_else(|err| panic!("{place}: {err:#}"));
        match &outcome.result {
            Err(err) => failures.push(format!("{place}: {} failed: {err}", outcome.promql)),
            Ok(0) if names.is_subset(&present) => {
                failures.push(format!("{place}: no series for {}", outcome.promql));
            }
            Ok(_) => {}
        }
        if names.is_subset(&present) {
            checked += 1;
        }
    }
    for dashboard in &dashboards {
        for var in dashboard.variables() {
            let expr = variable_expr(&var.query);
            match api.query(expr).await {
                Ok(samples) if !samples.is_empty() => {}
                other => failures.push(format!(
                    "{} variable ${}: {expr} gave {other:?}",
                    dashboard.file_name(),
                    var.name
                )),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The overview's health, traffic and resource panels and each service's HTTP, health and
    // process panels at least.
    assert!(checked >= 40, "only {checked} queries had all their series");
}
