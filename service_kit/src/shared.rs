//! The metrics every service exports under its own prefix: HTTP requests, health checks and build
//! info. Names are built once per prefix (`fechatter_http_requests_total`, …) and live for the process.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use crate::buckets::LATENCY_SECONDS;
use crate::catalogue::{MetricDef, Unit};

#[derive(Debug)]
pub struct SharedMetrics {
    pub prefix: &'static str,
    pub http_requests: MetricDef,
    pub http_request_duration: MetricDef,
    pub http_requests_in_flight: MetricDef,
    pub http_errors: MetricDef,
    pub health_check_status: MetricDef,
    pub health_check_duration: MetricDef,
    pub health_requests: MetricDef,
    pub build_info: MetricDef,
    pub background_task_restarts: MetricDef,
}

fn leak(prefix: &str, rest: &str) -> &'static str {
    Box::leak(format!("{prefix}_{rest}").into_boxed_str())
}

const HTTP_LABELS: &[&str] = &["method", "route", "status"];

impl SharedMetrics {
    /// The shared metrics of the service with metric prefix `prefix`, built once per process.
    pub fn for_prefix(prefix: &str) -> &'static SharedMetrics {
        static ALL: OnceLock<Mutex<HashMap<String, &'static SharedMetrics>>> = OnceLock::new();
        let mut all = ALL
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        all.entry(prefix.to_owned())
            .or_insert_with(|| Box::leak(Box::new(Self::build(prefix))))
    }

    fn build(prefix: &str) -> Self {
        let prefix: &'static str = Box::leak(prefix.to_owned().into_boxed_str());
        Self {
            prefix,
            http_requests: MetricDef::counter(
                leak(prefix, "http_requests_total"),
                "HTTP requests served by the API, by method, route template and status.",
                HTTP_LABELS,
            ),
            http_request_duration: MetricDef::histogram(
                leak(prefix, "http_request_duration_seconds"),
                Unit::Seconds,
                "Time from request to response headers, by method, route template and status.",
                HTTP_LABELS,
                LATENCY_SECONDS,
            ),
            http_requests_in_flight: MetricDef::gauge(
                leak(prefix, "http_requests_in_flight"),
                Unit::Count,
                "HTTP requests being served right now.",
                &[],
            ),
            http_errors: MetricDef::counter(
                leak(prefix, "http_errors_total"),
                "HTTP responses with a status of 500 or more.",
                HTTP_LABELS,
            ),
            health_check_status: MetricDef::gauge(
                leak(prefix, "health_check_status"),
                Unit::Count,
                "Result of the last run of each health check: 1 up, 0 down.",
                &["check"],
            ),
            health_check_duration: MetricDef::histogram(
                leak(prefix, "health_check_duration_seconds"),
                Unit::Seconds,
                "Time each health check took, timeouts included.",
                &["check"],
                LATENCY_SECONDS,
            ),
            health_requests: MetricDef::counter(
                leak(prefix, "health_requests_total"),
                "Requests to /health, /ready and /live, by endpoint and status.",
                &["endpoint", "status"],
            ),
            build_info: MetricDef::gauge(
                leak(prefix, "build_info"),
                Unit::Count,
                "Always 1; the version label says which build is running.",
                &["version"],
            ),
            background_task_restarts: MetricDef::counter(
                leak(prefix, "background_task_restarts_total"),
                "Background tasks restarted after they panicked or ended before shutdown, by task.",
                &["task"],
            ),
        }
    }

    /// The shared declarations of a service that serves an HTTP API.
    pub fn with_http(&self) -> Vec<MetricDef> {
        let mut defs = vec![
            self.http_requests,
            self.http_request_duration,
            self.http_requests_in_flight,
            self.http_errors,
        ];
        defs.extend(self.without_http());
        defs
    }

    /// The shared declarations of a service whose only HTTP endpoints are the health checks.
    pub fn without_http(&self) -> Vec<MetricDef> {
        vec![
            self.health_check_status,
            self.health_check_duration,
            self.health_requests,
            self.build_info,
            self.background_task_restarts,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::violations;

    #[test]
    fn shared_metrics_follow_the_convention_for_every_service() {
        for prefix in ["fechatter", "notify", "bot", "analytics"] {
            let defs = SharedMetrics::for_prefix(prefix).with_http();
            assert_eq!(violations(prefix, &defs), Vec::<String>::new());
        }
    }

    #[test]
    fn the_same_prefix_yields_the_same_instance() {
        let a = SharedMetrics::for_prefix("notify");
        let b = SharedMetrics::for_prefix("notify");
        assert!(std::ptr::eq(a, b));
        assert_eq!(a.http_requests.name, "notify_http_requests_total");
    }
}
