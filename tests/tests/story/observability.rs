//! Observability truth after the story: every declared series has samples in a real Prometheus
//! (and every counter moved), all four jobs and Postgres's exporter are up, every dashboard query
//! returns data, the probe succeeded and no alert fires.

use std::time::Duration;

use e2e::ops::catalogue::PENDING_DESIGN_METRICS;
use e2e::ops::prometheus_api::PrometheusApi;
use e2e::ops::repo_path;
use e2e::ops::rules::yaml_files;
use e2e::truth::{Declared, FAULT_ONLY_SERIES, Kind, UNREACHABLE_SERIES, look};
use e2e::{Service, Topology};
use service_kit::MetricKind;
use test_support::Prometheus;

/// Long enough for the last scrapes, rule evaluations and sampled gauges after the story.
const SETTLE: Duration = Duration::from_secs(30);

/// A Prometheus scraping the four services with the repository's recording and alert rules.
pub async fn start_prometheus(topology: &Topology) -> Prometheus {
    let mut config = topology.prometheus_config();
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
}

fn declared() -> Vec<Declared> {
    xtask::catalogues()
        .into_iter()
        .flat_map(|(_, defs)| defs)
        .map(|def| Declared {
            name: def.name.to_owned(),
            kind: match def.kind {
                MetricKind::Counter => Kind::Counter,
                MetricKind::Gauge => Kind::Gauge,
                MetricKind::Histogram => Kind::Histogram,
            },
        })
        .collect()
}

pub async fn check(prometheus: &Prometheus) {
    let declared = declared();
    let deadline = tokio::time::Instant::now() + SETTLE;
    let excused = FAULT_ONLY_SERIES.len() + UNREACHABLE_SERIES.len();
    loop {
        let mut truth = look(prometheus, &declared, PENDING_DESIGN_METRICS).await;
        for (what, promql) in [
            (
                "the probe succeeded",
                r#"sum(bot_probe_checks_total{result="success"}) > 0"#,
            ),
            (
                "the probe measured",
                "sum(bot_probe_duration_seconds_count) > 0",
            ),
            (
                "Postgres's exporter is up",
                r#"up{job="postgres"} == 1 and pg_up == 1"#,
            ),
        ] {
            let found = PrometheusApi::new(&prometheus.url())
                .query(promql)
                .await
                .unwrap_or_default();
            if found.is_empty() {
                truth.failures.push(format!("not true: {what} ({promql})"));
            }
        }
        if truth.failures.is_empty() {
            assert_eq!(truth.series_checked, declared.len() - excused);
            eprintln!(
                "{} declared series checked; {} panel queries returned data, {} were empty \
                 over pending or fault-only series",
                truth.series_checked, truth.queries_with_data, truth.queries_excused
            );
            // Everything but the bot's panels (pending) and the fault panels.
            assert!(truth.queries_with_data >= 120, "{truth:?}");
            return;
        }
        if tokio::time::Instant::now() >= deadline {
            panic!(
                "after the story and {SETTLE:?} to settle:\n{}",
                truth.failures.join("\n")
            );
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
