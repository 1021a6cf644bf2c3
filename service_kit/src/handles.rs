//! Handles of a metric with one label, kept by label value: for series recorded so often that
//! building the metric's key each time shows in a profile (notify_server records two per event per
//! connection: 200 000 a second at a 10 000-member chat's fan-out, docs/benchmarks.md).
//!
//! A handle is registered with the recorder installed when it is first asked for, and found
//! again by comparing the few label values seen so far (no key built, no hashing, no allocation).
//! Services install their recorder before they serve, so no handle is taken from the no-op
//! recorder.

use std::sync::RwLock;

use metrics::{Counter, Histogram};

use crate::MetricDef;

/// A counter's handles by label value.
pub type CountersByLabel = ByLabel<Counter>;
/// A histogram's handles by label value.
pub type HistogramsByLabel = ByLabel<Histogram>;

/// The handles of `def` (a metric with exactly one label), by the label's value.
pub struct ByLabel<H> {
    def: MetricDef,
    handles: RwLock<Vec<(&'static str, H)>>,
}

impl<H: Clone> ByLabel<H> {
    fn get(&self, value: &'static str, register: impl FnOnce(&MetricDef) -> H) -> H {
        let known = self
            .handles
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .iter()
            .find(|(known, _)| *known == value)
            .map(|(_, handle)| handle.clone());
        if let Some(handle) = known {
            return handle;
        }
        let handle = register(&self.def);
        self.handles
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push((value, handle.clone()));
        handle
    }
}

impl MetricDef {
    /// The name of its one label (checked against the declaration when the handle is made).
    fn label(&self) -> &'static str {
        self.labels.first().copied().unwrap_or_default()
    }
}

impl ByLabel<Counter> {
    pub const fn counter(def: MetricDef) -> Self {
        Self {
            def,
            handles: RwLock::new(Vec::new()),
        }
    }

    /// Adds `by` to the series whose label is `value`.
    pub fn increment(&self, value: &'static str, by: u64) {
        self.get(value, |def| def.counter_with([(def.label(), value)]))
            .increment(by);
    }
}

impl ByLabel<Histogram> {
    pub const fn histogram(def: MetricDef) -> Self {
        Self {
            def,
            handles: RwLock::new(Vec::new()),
        }
    }

    /// Records `sample` in the series whose label is `value`.
    pub fn record(&self, value: &'static str, sample: f64) {
        self.get(value, |def| def.histogram_with([(def.label(), value)]))
            .record(sample);
    }
}

#[cfg(test)]
mod tests {
    use metrics_exporter_prometheus::PrometheusBuilder;

    use super::*;

    const DELIVERED: MetricDef = MetricDef::counter(
        "test_events_delivered_total",
        "Events delivered, by event.",
        &["event"],
    );

    #[test]
    fn each_label_value_counts_in_its_own_series() {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        let delivered = ByLabel::counter(DELIVERED);
        metrics::with_local_recorder(&recorder, || {
            delivered.increment("message.created", 2);
            delivered.increment("typing", 1);
            delivered.increment("message.created", 3);
        });
        let text = handle.render();
        assert!(
            text.contains("test_events_delivered_total{event=\"message.created\"} 5"),
            "{text}"
        );
        assert!(
            text.contains("test_events_delivered_total{event=\"typing\"} 1"),
            "{text}"
        );
    }
}
