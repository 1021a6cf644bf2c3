//! Which series names the alerts, recording rules and dashboards may use: the four services'
//! declared catalogues, the series every exporter or Prometheus itself provides, the infrastructure
//! exporters' series (by job and prefix), the recording rules, and — while the services are still
//! being built — the design-catalogue names not declared yet.

use std::collections::BTreeSet;

/// Series no service declares: the process metrics every exporter adds (`metrics-process`) and the
/// ones Prometheus makes itself.
pub const BUILTIN_SERIES: &[&str] = &[
    "up",
    "ALERTS",
    "ALERTS_FOR_STATE",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "process_cpu_seconds_total",
    "process_open_fds",
    "process_max_fds",
    "process_virtual_memory_bytes",
    "process_virtual_memory_max_bytes",
    "process_resident_memory_bytes",
    "process_start_time_seconds",
    "process_threads",
];

/// The infrastructure's exporters, which no service catalogue describes: (Prometheus job, the
/// prefixes of their series). A name with one of these prefixes is theirs; every other name must be
/// declared (service prefixes never start like these, a unit test checks).
pub const EXPORTER_SERIES: &[(&str, &[&str])] = &[
    // prometheus-postgres-exporter, and the queries of prometheus/postgres-exporter/queries.yml.
    ("postgres", &["pg_"]),
    // prometheus-nats-exporter: `-varz` as gnatsd_varz_*, `-jsz` as jetstream_* (compose only).
    ("nats", &["gnatsd_", "jetstream_"]),
    // ClickHouse's own /metrics (compose only): ClickHouseMetrics_*, ClickHouseProfileEvents_*, …
    ("clickhouse", &["ClickHouse"]),
];

/// The exporter job whose series `name` is, if any.
pub fn exporter_of(name: &str) -> Option<&'static str> {
    EXPORTER_SERIES
        .iter()
        .find(|(_, prefixes)| prefixes.iter().any(|prefix| name.starts_with(prefix)))
        .map(|(job, _)| *job)
}

/// Exporters that run in compose only (Debian packages none for NATS, and its ClickHouse 18.16 has
/// no Prometheus endpoint): their panels are empty in the end-to-end topology.
pub const COMPOSE_ONLY_EXPORTERS: &[&str] = &["nats", "clickhouse"];

/// Whether `name` is a series of an exporter that runs in compose only.
pub fn compose_only(name: &str) -> bool {
    exporter_of(name).is_some_and(|job| COMPOSE_ONLY_EXPORTERS.contains(&job))
}

/// Names from `docs/design/metrics.md` (or asked for by an issue, or declared on a service branch
/// not merged yet) that the alerts and dashboards already use but no service declares YET: the services implementing them are being written. A
/// test fails as soon as one of these becomes declared, so this list only shrinks; delete a name
/// when its service lands, and the list when it is empty.
pub const PENDING_DESIGN_METRICS: &[&str] = &[];

/// The suffixes of a histogram's series.
const HISTOGRAM_SUFFIXES: &[&str] = &["_bucket", "_sum", "_count"];

/// The names a query may use.
pub struct KnownSeries {
    pub declared: BTreeSet<String>,
    /// Declared histograms (base names), whose `_bucket`, `_sum` and `_count` series exist.
    pub histograms: BTreeSet<String>,
    pub recorded: BTreeSet<String>,
    /// Names not declared yet: [`PENDING_DESIGN_METRICS`] outside unit tests.
    pub pending: BTreeSet<String>,
}

impl KnownSeries {
    /// Why `name` is not a series anyone provides, or `None` when it is fine.
    pub fn problem(&self, name: &str) -> Option<String> {
        if self.histograms.contains(name) {
            return Some(format!(
                "{name} is a histogram: query {name}_bucket, _sum or _count"
            ));
        }
        if BUILTIN_SERIES.contains(&name)
            || exporter_of(name).is_some()
            || self.declared.contains(name)
            || self.recorded.contains(name)
            || self.pending.contains(name)
        {
            return None;
        }
        for suffix in HISTOGRAM_SUFFIXES {
            if let Some(base) = name.strip_suffix(suffix) {
                if self.histograms.contains(base) || self.pending.contains(base) {
                    return None;
                }
                if self.declared.contains(base) {
                    return Some(format!("{base} is declared but is not a histogram"));
                }
            }
        }
        Some(format!(
            "{name} is not declared in any service catalogue, not a recording rule and not pending"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> KnownSeries {
        KnownSeries {
            declared: ["a_total", "b_seconds", "c"].map(String::from).into(),
            histograms: ["b_seconds"].map(String::from).into(),
            recorded: ["service:a:rate5m"].map(String::from).into(),
            pending: ["d_users", "e_rows"].map(String::from).into(),
        }
    }

    #[test]
    fn declared_recorded_builtin_and_histogram_series_are_known() {
        let known = known();
        for name in [
            "a_total",
            "b_seconds_bucket",
            "b_seconds_count",
            "service:a:rate5m",
            "up",
            "process_resident_memory_bytes",
            "d_users",
            "e_rows_bucket",
        ] {
            assert_eq!(known.problem(name), None, "{name}");
        }
    }

    #[test]
    fn exporter_series_are_known_by_prefix_and_no_service_prefix_looks_like_one() {
        let known = known();
        for name in [
            "pg_stat_activity_count",
            "gnatsd_varz_slow_consumers",
            "jetstream_consumer_num_pending",
            "ClickHouseMetrics_Query",
        ] {
            assert_eq!(known.problem(name), None, "{name}");
        }
        for service in ["fechatter_", "notify_", "bot_", "analytics_"] {
            assert_eq!(exporter_of(service), None, "{service}");
        }
        // A service series is still checked: a typo is reported, not taken for an exporter's.
        assert!(known.problem("bot_probe_checks_totl").is_some());
    }

    #[test]
    fn typos_and_misused_histograms_are_reported() {
        let known = known();
        for name in ["a_totl", "c_bucket", "b_seconds", "process_rss_bytes"] {
            assert!(known.problem(name).is_some(), "{name}");
        }
    }
}
