//! How a service records what its NATS subscriptions and its consumers' delivery policy do, the
//! same way in every service. Each service declares the series in its own
//! `observability/metrics.rs` under its own prefix (`docs/design/metrics.md`) and names them here
//! in one constant.

use std::time::Duration;

use service_kit::MetricDef;

use crate::delivery::{DeadLetterReason, DeadLetterRecorder};

/// `{service}_events_dead_lettered_total{reason}`, moved by the delivery policy.
#[derive(Debug, Clone, Copy)]
pub struct DeadLetterCounter(pub MetricDef);

impl DeadLetterCounter {
    /// Makes every reason's series exist from start-up: the dead-letter alerts compare with zero.
    pub fn prime(&self) {
        for reason in DeadLetterReason::ALL {
            self.0
                .counter_with([("reason", reason.as_str())])
                .increment(0);
        }
    }
}

impl DeadLetterRecorder for DeadLetterCounter {
    fn dead_lettered(&self, reason: DeadLetterReason) {
        self.0
            .counter_with([("reason", reason.as_str())])
            .increment(1);
    }
}

/// The series of a service's subscription to events.
#[derive(Debug, Clone, Copy)]
pub struct SubscriptionMetrics {
    /// A counter by `event`: messages delivered (redeliveries included).
    pub received: MetricDef,
    /// A histogram by `event`: how long handling one took, where the service declares it.
    pub processing: Option<MetricDef>,
    /// A gauge: 1 while subscribed, where the service declares it.
    pub active: Option<MetricDef>,
}

impl SubscriptionMetrics {
    /// `event` is an `EventKind::as_str`, another fixed name, or `unknown`.
    pub fn received(&self, event: &'static str) {
        self.received.counter_with([("event", event)]).increment(1);
    }

    pub fn processed(&self, event: &'static str, took: Duration) {
        if let Some(processing) = self.processing {
            processing
                .histogram_with([("event", event)])
                .record(took.as_secs_f64());
        }
    }

    pub fn active(&self, active: bool) {
        if let Some(gauge) = self.active {
            gauge.as_gauge().set(if active { 1.0 } else { 0.0 });
        }
    }
}
