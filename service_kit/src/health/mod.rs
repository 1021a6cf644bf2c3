//! `/health`, `/ready` and `/live`, exactly as `docs/design/health.md` describes them.
//!
//! Checks are registered with a name, a critical flag and a timeout; they run concurrently and each
//! run updates `{service}_health_check_status{check}` and `_health_check_duration_seconds{check}`.
//!
//! `/health` and `/ready` answer from a report at most [`REPORT_MAX_AGE`] old, and one run of the
//! checks at a time serves every caller waiting for a fresh one, so a flood of probes never
//! multiplies the work done against the dependencies. A failing check's cause goes to the log;
//! the unauthenticated endpoints show only a generic reason.

mod failure;
mod routes;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use futures::future::{BoxFuture, join_all};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::ServiceInfo;
use crate::shared::SharedMetrics;
use crate::supervise::Supervisor;

/// The check that reports the service's background tasks (see [`crate::supervise`]).
pub const BACKGROUND_TASKS: &str = "background_tasks";

pub use failure::CheckFailure;

/// How long a check may take unless registered with its own timeout.
pub const DEFAULT_CHECK_TIMEOUT: Duration = Duration::from_secs(1);
/// `/health` and `/ready` reuse a report at most this old.
pub const REPORT_MAX_AGE: Duration = Duration::from_secs(1);

type Probe = Arc<dyn Fn() -> BoxFuture<'static, Result<(), CheckFailure>> + Send + Sync>;

struct Check {
    name: &'static str,
    critical: bool,
    timeout: Duration,
    probe: Probe,
}

pub struct HealthBuilder {
    service: ServiceInfo,
    checks: Vec<Check>,
}

impl HealthBuilder {
    /// Registers a check with the default timeout. `probe` answers `Err(reason)` when the dependency
    /// is unusable: a `String` reason is logged and `/health` shows "unavailable" in its place;
    /// [`CheckFailure::public`] gives a fixed reason that may be shown as it is.
    pub fn check<F, Fut, E>(self, name: &'static str, critical: bool, probe: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: Into<CheckFailure>,
    {
        self.check_with_timeout(name, critical, DEFAULT_CHECK_TIMEOUT, probe)
    }

    pub fn check_with_timeout<F, Fut, E>(
        mut self,
        name: &'static str,
        critical: bool,
        timeout: Duration,
        probe: F,
    ) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: Into<CheckFailure>,
    {
        let probe: Probe = Arc::new(move || {
            let run = probe();
            Box::pin(async move { run.await.map_err(Into::into) })
        });
        self.checks.push(Check {
            name,
            critical,
            timeout,
            probe,
        });
        self
    }

    /// The health of the service, with the non-critical check of its background tasks added: a
    /// task that failed recently makes the service `degraded`.
    pub fn build(self) -> Health {
        let metrics = SharedMetrics::for_prefix(self.service.prefix);
        let supervisor = Supervisor::new(metrics);
        let tasks = supervisor.clone();
        let this = self.check(BACKGROUND_TASKS, false, move || {
            // Task names, counts and how they failed: fixed words, safe to show in `/health`.
            let outcome = tasks.check().map_err(CheckFailure::public_owned);
            async move { outcome }
        });
        Health {
            inner: Arc::new(Inner {
                service: this.service,
                metrics,
                started: Instant::now(),
                checks: this.checks,
                supervisor,
                lifecycle: AtomicU8::new(Lifecycle::Starting as u8),
                last: Mutex::new(None),
                running: tokio::sync::Mutex::new(()),
                logged_failures: Mutex::new(HashMap::new()),
            }),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Lifecycle {
    Starting = 0,
    Serving = 1,
    Draining = 2,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    Up,
    Down,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckResult {
    pub status: CheckStatus,
    pub critical: bool,
    pub latency_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OverallStatus {
    Healthy,
    Degraded,
    Unhealthy,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HealthReport {
    pub service: &'static str,
    pub version: &'static str,
    pub status: OverallStatus,
    pub uptime_seconds: f64,
    pub checks: BTreeMap<&'static str, CheckResult>,
}

impl HealthReport {
    fn failing_critical(&self) -> Vec<&'static str> {
        self.checks
            .iter()
            .filter(|(_, c)| c.critical && c.status == CheckStatus::Down)
            .map(|(name, _)| *name)
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Readiness {
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failing: Vec<&'static str>,
}

impl Readiness {
    pub fn is_ready(&self) -> bool {
        self.reason.is_none()
    }
}

struct Inner {
    service: ServiceInfo,
    metrics: &'static SharedMetrics,
    started: Instant,
    checks: Vec<Check>,
    lifecycle: AtomicU8,
    /// The latest report and when its run ended.
    last: Mutex<Option<(Instant, HealthReport)>>,
    /// Held while the checks run: callers that find no fresh report wait here for one run.
    running: tokio::sync::Mutex<()>,
    /// The cause last logged per failing check, so an outage is logged when it starts or
    /// changes, not at every run.
    logged_failures: Mutex<HashMap<&'static str, String>>,
    supervisor: Supervisor,
}

/// The health state of one service; cheap to clone.
#[derive(Clone)]
pub struct Health {
    inner: Arc<Inner>,
}

impl Health {
    pub fn builder(service: ServiceInfo) -> HealthBuilder {
        HealthBuilder {
            service,
            checks: Vec::new(),
        }
    }

    /// Where the service's background tasks run (see [`crate::supervise`]).
    pub fn supervisor(&self) -> &Supervisor {
        &self.inner.supervisor
    }

    pub fn lifecycle(&self) -> Lifecycle {
        match self.inner.lifecycle.load(Ordering::SeqCst) {
            0 => Lifecycle::Starting,
            1 => Lifecycle::Serving,
            _ => Lifecycle::Draining,
        }
    }

    /// Start-up is complete: `/ready` now follows the critical checks.
    pub fn mark_serving(&self) {
        // Never leave Draining: shutdown wins over a late start-up.
        let _ = self.inner.lifecycle.compare_exchange(
            Lifecycle::Starting as u8,
            Lifecycle::Serving as u8,
            Ordering::SeqCst,
            Ordering::SeqCst,
        );
    }

    /// Shutdown has begun: `/ready` answers 503 from now on.
    pub fn mark_draining(&self) {
        self.inner
            .lifecycle
            .store(Lifecycle::Draining as u8, Ordering::SeqCst);
    }

    async fn run_check(&self, check: &Check) -> CheckResult {
        let started = Instant::now();
        let outcome = tokio::time::timeout(check.timeout, (check.probe)()).await;
        let elapsed = started.elapsed();
        let failure = match outcome {
            Ok(Ok(())) => None,
            Ok(Err(failure)) => Some(failure),
            Err(_) => Some(CheckFailure::public_owned(format!(
                "timed out after {}",
                humanize(check.timeout)
            ))),
        };
        self.log_transition(check.name, failure.as_ref());
        let error = failure.map(CheckFailure::into_public);
        let metrics = self.inner.metrics;
        metrics
            .health_check_status
            .gauge_with([("check", check.name)])
            .set(if error.is_none() { 1.0 } else { 0.0 });
        metrics
            .health_check_duration
            .histogram_with([("check", check.name)])
            .record(elapsed.as_secs_f64());
        CheckResult {
            status: if error.is_none() {
                CheckStatus::Up
            } else {
                CheckStatus::Down
            },
            critical: check.critical,
            latency_ms: (elapsed.as_secs_f64() * 1000.0 * 10.0).round() / 10.0,
            error,
        }
    }

    /// Logs a check's cause when it starts failing or its cause changes, and its recovery.
    fn log_transition(&self, check: &'static str, failure: Option<&CheckFailure>) {
        let mut logged = self
            .inner
            .logged_failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match failure {
            Some(failure) => {
                if logged.get(check) != Some(&failure.detail) {
                    tracing::warn!(check, error = %failure.detail, "health check failing");
                    logged.insert(check, failure.detail.clone());
                }
            }
            None => {
                if logged.remove(check).is_some() {
                    tracing::info!(check, "health check recovered");
                }
            }
        }
    }

    /// The latest report if it is at most [`REPORT_MAX_AGE`] old, its uptime brought up to date.
    fn fresh_report(&self) -> Option<HealthReport> {
        let last = self
            .inner
            .last
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let (_, report) = last
            .as_ref()
            .filter(|(at, _)| at.elapsed() <= REPORT_MAX_AGE)?;
        let mut report = report.clone();
        report.uptime_seconds = self.uptime_seconds();
        Some(report)
    }

    fn uptime_seconds(&self) -> f64 {
        (self.inner.started.elapsed().as_secs_f64() * 10.0).round() / 10.0
    }

    /// The health of every dependency from a run at most [`REPORT_MAX_AGE`] old; when there is
    /// none, one run serves every concurrent caller.
    pub async fn report(&self) -> HealthReport {
        if let Some(report) = self.fresh_report() {
            return report;
        }
        let _running = self.inner.running.lock().await;
        // Whoever held the lock before may have just finished a run.
        if let Some(report) = self.fresh_report() {
            return report;
        }
        self.run_checks().await
    }

    /// Runs the checks now (after any run in progress), whatever the age of the last report.
    pub async fn refresh(&self) -> HealthReport {
        let _running = self.inner.running.lock().await;
        self.run_checks().await
    }

    /// Runs every check concurrently, records the results and keeps the report.
    async fn run_checks(&self) -> HealthReport {
        let results = join_all(self.inner.checks.iter().map(|c| self.run_check(c))).await;
        let checks: BTreeMap<_, _> = self
            .inner
            .checks
            .iter()
            .map(|c| c.name)
            .zip(results)
            .collect();
        let down = |critical: bool| {
            checks
                .values()
                .any(|c| c.critical == critical && c.status == CheckStatus::Down)
        };
        let status = if down(true) {
            OverallStatus::Unhealthy
        } else if down(false) {
            OverallStatus::Degraded
        } else {
            OverallStatus::Healthy
        };
        let report = HealthReport {
            service: self.inner.service.name,
            version: self.inner.service.version,
            status,
            uptime_seconds: self.uptime_seconds(),
            checks,
        };
        *self
            .inner
            .last
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) =
            Some((Instant::now(), report.clone()));
        report
    }

    /// Whether to take traffic now; reuses a report up to [`REPORT_MAX_AGE`] old.
    pub async fn readiness(&self) -> Readiness {
        let reason = match self.lifecycle() {
            Lifecycle::Starting => Some("starting"),
            Lifecycle::Draining => Some("draining"),
            Lifecycle::Serving => None,
        };
        if let Some(reason) = reason {
            return Readiness {
                status: "not_ready",
                reason: Some(reason),
                failing: Vec::new(),
            };
        }
        let failing = self.report().await.failing_critical();
        Readiness {
            status: if failing.is_empty() {
                "ready"
            } else {
                "not_ready"
            },
            reason: (!failing.is_empty()).then_some("dependency_down"),
            failing,
        }
    }

    /// Runs the checks every `every`, so the status gauges stay current even when nobody calls
    /// `/health`.
    pub fn spawn_monitor(&self, every: Duration, shutdown: CancellationToken) {
        let health = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tick.tick() => { health.refresh().await; }
                }
            }
        });
    }

    pub(crate) fn count(&self, endpoint: &'static str, status: StatusCode) {
        self.inner
            .metrics
            .health_requests
            .counter_with([
                ("endpoint", endpoint.to_owned()),
                ("status", status.as_u16().to_string()),
            ])
            .increment(1);
    }
}

fn humanize(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{}s", duration.as_secs())
    } else {
        format!("{}ms", duration.as_millis())
    }
}
