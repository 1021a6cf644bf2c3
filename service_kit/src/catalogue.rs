//! Metric declarations, the naming convention they must follow, and the Markdown rendering of a
//! service's catalogue.
//!
//! A service declares every metric once, as a `MetricDef` constant in `src/observability/metrics.rs`,
//! and records it only through the typed helpers here, never by a string name elsewhere.

use std::fmt;

use metrics::{Counter, Gauge, Histogram, Label, SharedString};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    Counter,
    Gauge,
    Histogram,
}

impl fmt::Display for MetricKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
            MetricKind::Histogram => "histogram",
        })
    }
}

/// The base unit of a metric; the name must end in it (`docs/design/metrics.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Seconds,
    Bytes,
    /// A plain count of things: the name says what it counts.
    Count,
}

impl Unit {
    fn suffix(self) -> Option<&'static str> {
        match self {
            Unit::Seconds => Some("_seconds"),
            Unit::Bytes => Some("_bytes"),
            Unit::Count => None,
        }
    }

    fn describe(self) -> Option<metrics::Unit> {
        match self {
            Unit::Seconds => Some(metrics::Unit::Seconds),
            Unit::Bytes => Some(metrics::Unit::Bytes),
            Unit::Count => None,
        }
    }
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Unit::Seconds => "seconds",
            Unit::Bytes => "bytes",
            Unit::Count => "—",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricDef {
    pub name: &'static str,
    pub kind: MetricKind,
    pub unit: Unit,
    pub help: &'static str,
    pub labels: &'static [&'static str],
    /// Explicit buckets; required for histograms, absent otherwise.
    pub buckets: Option<&'static [f64]>,
}

impl MetricDef {
    pub const fn counter(
        name: &'static str,
        help: &'static str,
        labels: &'static [&'static str],
    ) -> Self {
        Self {
            name,
            kind: MetricKind::Counter,
            unit: Unit::Count,
            help,
            labels,
            buckets: None,
        }
    }

    pub const fn gauge(
        name: &'static str,
        unit: Unit,
        help: &'static str,
        labels: &'static [&'static str],
    ) -> Self {
        Self {
            name,
            kind: MetricKind::Gauge,
            unit,
            help,
            labels,
            buckets: None,
        }
    }

    pub const fn histogram(
        name: &'static str,
        unit: Unit,
        help: &'static str,
        labels: &'static [&'static str],
        buckets: &'static [f64],
    ) -> Self {
        Self {
            name,
            kind: MetricKind::Histogram,
            unit,
            help,
            labels,
            buckets: Some(buckets),
        }
    }

    fn labels<V: Into<SharedString>>(
        &self,
        values: impl IntoIterator<Item = (&'static str, V)>,
    ) -> Vec<Label> {
        let labels: Vec<Label> = values
            .into_iter()
            .map(|(key, value)| Label::new(key, value.into()))
            .collect();
        debug_assert!(
            labels.len() == self.labels.len()
                && labels.iter().zip(self.labels).all(|(l, k)| l.key() == *k),
            "{}: labels {:?} do not match the declaration {:?}",
            self.name,
            labels.iter().map(Label::key).collect::<Vec<_>>(),
            self.labels
        );
        labels
    }

    /// The counter with these label values (in declaration order).
    pub fn counter_with<V: Into<SharedString>>(
        &self,
        labels: impl IntoIterator<Item = (&'static str, V)>,
    ) -> Counter {
        debug_assert_eq!(self.kind, MetricKind::Counter, "{}", self.name);
        metrics::counter!(self.name, self.labels(labels))
    }

    pub fn gauge_with<V: Into<SharedString>>(
        &self,
        labels: impl IntoIterator<Item = (&'static str, V)>,
    ) -> Gauge {
        debug_assert_eq!(self.kind, MetricKind::Gauge, "{}", self.name);
        metrics::gauge!(self.name, self.labels(labels))
    }

    pub fn histogram_with<V: Into<SharedString>>(
        &self,
        labels: impl IntoIterator<Item = (&'static str, V)>,
    ) -> Histogram {
        debug_assert_eq!(self.kind, MetricKind::Histogram, "{}", self.name);
        metrics::histogram!(self.name, self.labels(labels))
    }

    /// The unlabelled counter.
    pub fn as_counter(&self) -> Counter {
        self.counter_with::<&'static str>([])
    }

    /// The unlabelled gauge.
    pub fn as_gauge(&self) -> Gauge {
        self.gauge_with::<&'static str>([])
    }

    /// The unlabelled histogram.
    pub fn as_histogram(&self) -> Histogram {
        self.histogram_with::<&'static str>([])
    }

    /// Registers help text and unit with the installed recorder.
    pub fn describe(&self) {
        let help = self.help;
        match (self.kind, self.unit.describe()) {
            (MetricKind::Counter, Some(unit)) => metrics::describe_counter!(self.name, unit, help),
            (MetricKind::Counter, None) => metrics::describe_counter!(self.name, help),
            (MetricKind::Gauge, Some(unit)) => metrics::describe_gauge!(self.name, unit, help),
            (MetricKind::Gauge, None) => metrics::describe_gauge!(self.name, help),
            (MetricKind::Histogram, Some(unit)) => {
                metrics::describe_histogram!(self.name, unit, help)
            }
            (MetricKind::Histogram, None) => metrics::describe_histogram!(self.name, help),
        }
    }
}

/// Label names that would carry unbounded values.
const FORBIDDEN_LABELS: &[&str] = &[
    "id",
    "user",
    "user_id",
    "chat_id",
    "message_id",
    "request_id",
    "session_id",
    "client_id",
    "workspace_id",
    "email",
    "path",
    "url",
];

/// Units that must be converted to base units before they reach a name.
const NON_BASE_UNITS: &[&str] = &[
    "ms",
    "milliseconds",
    "us",
    "microseconds",
    "ns",
    "minutes",
    "hours",
    "kb",
    "kib",
    "mb",
    "mib",
    "kilobytes",
    "megabytes",
];

fn is_snake_case(text: &str) -> bool {
    !text.is_empty()
        && text.starts_with(|c: char| c.is_ascii_lowercase())
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !text.contains("__")
        && !text.ends_with('_')
}

/// Every way `defs` breaks the convention of `docs/design/metrics.md` for service prefix `prefix`; empty when
/// the catalogue is clean.
pub fn violations(prefix: &str, defs: &[MetricDef]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for def in defs {
        let name = def.name;
        let mut problem = |text: String| problems.push(format!("{name}: {text}"));
        if !seen.insert(name) {
            problem("declared twice".into());
        }
        if !is_snake_case(name) {
            problem("not lower snake_case".into());
        }
        let Some(rest) = name.strip_prefix(prefix).and_then(|r| r.strip_prefix('_')) else {
            problem(format!(
                "does not start with the service prefix '{prefix}_'"
            ));
            continue;
        };
        if rest.split('_').count() < 2 {
            problem("needs a domain and a metric after the prefix".into());
        }
        if def.help.trim().is_empty() {
            problem("has no help text".into());
        }
        let words: Vec<&str> = name.split('_').collect();
        if words.iter().any(|word| NON_BASE_UNITS.contains(word)) {
            problem("uses a unit that is not a base unit (seconds, bytes)".into());
        }
        let without_total = name.strip_suffix("_total");
        match def.kind {
            MetricKind::Counter if without_total.is_none() => {
                problem("is a counter but does not end in _total".into())
            }
            MetricKind::Gauge | MetricKind::Histogram if without_total.is_some() => {
                problem(format!("is a {} but ends in _total", def.kind))
            }
            _ => {}
        }
        let stem = without_total.unwrap_or(name);
        match def.unit.suffix() {
            Some(suffix) if !stem.ends_with(suffix) => problem(format!(
                "has unit {} but does not end in {suffix}",
                def.unit
            )),
            None if stem.ends_with("_seconds") || stem.ends_with("_bytes") => {
                problem("ends in a unit but is declared without one".into())
            }
            _ => {}
        }
        match (def.kind, def.buckets) {
            (MetricKind::Histogram, None) => problem("is a histogram without buckets".into()),
            (MetricKind::Histogram, Some(buckets))
                if buckets.is_empty() || buckets.windows(2).any(|w| w[0] >= w[1]) =>
            {
                problem("has buckets that are empty or not strictly increasing".into());
            }
            (MetricKind::Histogram, Some(_)) => {}
            (_, Some(_)) => problem("has buckets but is not a histogram".into()),
            _ => {}
        }
        for label in def.labels {
            if !is_snake_case(label) {
                problem(format!("label '{label}' is not snake_case"));
            }
            if FORBIDDEN_LABELS.contains(label) {
                problem(format!("label '{label}' would carry unbounded values"));
            }
            if label.starts_with("__") || *label == "le" || *label == "quantile" {
                problem(format!("label '{label}' is reserved"));
            }
        }
    }
    problems
}

/// One service's catalogue as a Markdown section, for `docs/metrics.md`.
pub fn render_markdown(service: &str, defs: &[MetricDef]) -> String {
    let mut out = format!(
        "## {service}\n\n| series | kind | unit | labels | buckets | help |\n|---|---|---|---|---|---|\n"
    );
    for def in defs {
        let labels = if def.labels.is_empty() {
            "—".to_owned()
        } else {
            def.labels
                .iter()
                .map(|l| format!("`{l}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let buckets = def.buckets.map_or_else(
            || "—".to_owned(),
            |b| {
                let first = b.first().copied().unwrap_or_default();
                let last = b.last().copied().unwrap_or_default();
                format!("{} ({first} … {last})", b.len())
            },
        );
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {} |\n",
            def.name, def.kind, def.unit, labels, buckets, def.help
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buckets::LATENCY_SECONDS;

    #[test]
    fn a_conventional_catalogue_has_no_violations() {
        let defs = [
            MetricDef::counter("svc_http_requests_total", "Requests.", &["method", "route"]),
            MetricDef::histogram(
                "svc_http_request_duration_seconds",
                Unit::Seconds,
                "Latency.",
                &["route"],
                LATENCY_SECONDS,
            ),
            MetricDef::gauge("svc_sse_connections_active", Unit::Count, "Open.", &[]),
        ];
        assert_eq!(violations("svc", &defs), Vec::<String>::new());
    }

    #[test]
    fn each_convention_break_is_reported() {
        let defs = [
            MetricDef::counter("svc_requests", "No total suffix.", &[]),
            MetricDef::gauge(
                "svc_queue_depth_total",
                Unit::Count,
                "Gauge with total.",
                &[],
            ),
            MetricDef::histogram("svc_db_latency_ms", Unit::Seconds, "ms.", &[], &[0.1]),
            MetricDef::gauge("other_cache_entries", Unit::Count, "Wrong prefix.", &[]),
            MetricDef::counter("svc_sends_total", "Unbounded label.", &["user_id"]),
            MetricDef::histogram(
                "svc_x_seconds",
                Unit::Seconds,
                "Bad buckets.",
                &[],
                &[2.0, 1.0],
            ),
            MetricDef::gauge("svc_cache_entries", Unit::Count, "", &[]),
        ];
        let problems = violations("svc", &defs).join("\n");
        for expected in [
            "svc_requests: is a counter but does not end in _total",
            "svc_queue_depth_total: is a gauge but ends in _total",
            "svc_db_latency_ms: uses a unit that is not a base unit",
            "svc_db_latency_ms: has unit seconds but does not end in _seconds",
            "other_cache_entries: does not start with the service prefix",
            "svc_sends_total: label 'user_id' would carry unbounded values",
            "svc_x_seconds: has buckets that are empty or not strictly increasing",
            "svc_cache_entries: has no help text",
        ] {
            assert!(
                problems.contains(expected),
                "missing {expected:?} in\n{problems}"
            );
        }
    }

    #[test]
    fn a_duplicate_declaration_is_reported() {
        let def = MetricDef::counter("svc_a_total", "A.", &[]);
        assert_eq!(
            violations("svc", &[def, def]),
            vec!["svc_a_total: declared twice".to_owned()]
        );
    }

    #[test]
    fn the_markdown_lists_every_series() {
        let defs = [MetricDef::counter("svc_a_total", "Things.", &["kind"])];
        let text = render_markdown("svc_server", &defs);
        assert!(text.contains("| `svc_a_total` | counter | — | `kind` | — | Things. |"));
    }
}
