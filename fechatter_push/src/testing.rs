//! A recorder that records nothing, for unit tests.

use std::time::Duration;

use crate::metrics::{LogError, PushMetrics, Refusal, ReplayOutcome};

pub struct NoMetrics;

impl PushMetrics for NoMetrics {
    fn event_received(&self, _: &'static str) {}
    fn event_processed(&self, _: &'static str, _: Duration) {}
    fn log_error(&self, _: LogError) {}
    fn log_subscribed(&self, _: bool) {}
    fn broadcast(&self, _: &'static str) {}
    fn buffer_full(&self) {}
    fn replay(&self, _: ReplayOutcome, _: usize) {}
    fn users_online(&self, _: usize) {}
    fn refused(&self, _: Refusal) {}
}
