//! What the subscribers saw, counted across all connections: opens, `connected` events, the end
//! of streams, and for fan-out the publish→receive latency of every delivery.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use super::client::Listener;
use crate::latency;

/// The event name of a new message, in notify and in the peer hub.
pub const MESSAGE_CREATED: &[u8] = b"message.created";

/// Publish times of the fan-out events, by index, in nanoseconds since `epoch`.
pub struct Deliveries {
    epoch: Instant,
    /// SSE id of event index 0 is `base + 1`.
    base: AtomicU64,
    published: Vec<AtomicU64>,
    pub received: AtomicU64,
    /// Deliveries whose id matched no published event.
    pub unexpected: AtomicU64,
    last_ns: AtomicU64,
    latency: Mutex<Histogram<u64>>,
}

impl Deliveries {
    pub fn new(events: usize) -> Self {
        Self {
            epoch: Instant::now(),
            base: AtomicU64::new(0),
            published: (0..events).map(|_| AtomicU64::new(0)).collect(),
            received: AtomicU64::new(0),
            unexpected: AtomicU64::new(0),
            last_ns: AtomicU64::new(0),
            latency: Mutex::new(latency::histogram()),
        }
    }

    fn now_ns(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    pub fn set_base(&self, base: u64) {
        self.base.store(base, Ordering::SeqCst);
    }

    /// Stamps event `index` just before it is published.
    pub fn publishing(&self, index: usize) {
        if let Some(slot) = self.published.get(index) {
            slot.store(self.now_ns().max(1), Ordering::Release);
        }
    }

    fn delivered(&self, id: Option<u64>) {
        let now = self.now_ns();
        let index = id
            .and_then(|id| id.checked_sub(self.base.load(Ordering::Acquire) + 1))
            .and_then(|index| usize::try_from(index).ok());
        let published = index
            .and_then(|index| self.published.get(index))
            .map(|slot| slot.load(Ordering::Acquire))
            .filter(|at| *at > 0);
        let Some(published) = published else {
            self.unexpected.fetch_add(1, Ordering::Relaxed);
            return;
        };
        self.received.fetch_add(1, Ordering::Relaxed);
        self.last_ns.fetch_max(now, Ordering::Relaxed);
        let mut histogram = self
            .latency
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        latency::record(
            &mut histogram,
            Duration::from_nanos(now.saturating_sub(published)),
        );
    }

    /// From the first publish to the last delivery.
    pub fn window(&self) -> Duration {
        let first = self
            .published
            .first()
            .map_or(0, |slot| slot.load(Ordering::Acquire));
        Duration::from_nanos(self.last_ns.load(Ordering::Relaxed).saturating_sub(first))
    }

    pub fn histogram(&self) -> Histogram<u64> {
        self.latency
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

#[derive(Default)]
pub struct Tally {
    pub opened: AtomicUsize,
    pub connected: AtomicUsize,
    pub events: AtomicU64,
    /// Streams the server ended.
    pub ended: AtomicUsize,
    /// Connections that failed to open or broke.
    pub failed: AtomicUsize,
    pub first_error: Mutex<Option<String>>,
    pub deliveries: Option<Deliveries>,
}

impl Tally {
    pub fn with_deliveries(events: usize) -> Self {
        Self {
            deliveries: Some(Deliveries::new(events)),
            ..Self::default()
        }
    }

    pub fn first_error(&self) -> Option<String> {
        self.first_error
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

impl Listener for Tally {
    fn opened(&self, _connection: usize) {
        self.opened.fetch_add(1, Ordering::Relaxed);
    }

    fn event(&self, _connection: usize, event: &[u8], id: Option<u64>) {
        self.events.fetch_add(1, Ordering::Relaxed);
        if event == b"connected" {
            self.connected.fetch_add(1, Ordering::Relaxed);
        } else if event == MESSAGE_CREATED
            && let Some(deliveries) = &self.deliveries
        {
            deliveries.delivered(id);
        }
    }

    fn ended(&self, _connection: usize, error: Option<String>) {
        match error {
            None => {
                self.ended.fetch_add(1, Ordering::Relaxed);
            }
            Some(error) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                self.first_error
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .get_or_insert(error);
            }
        }
    }
}
