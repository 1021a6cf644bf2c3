//! What the subscribers saw, counted across all connections: opens, `connected` events, the end
//! of streams, and for fan-out the publish→receive latency of every delivery.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
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
    /// Deliveries received by each connection, and whether its stream ended, to tell a delivery
    /// still on its way from one the server will never send.
    per_connection: Vec<AtomicU64>,
    stream_ended: Vec<AtomicBool>,
}

/// The deliveries not received, by the state of their connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Missing {
    /// On streams still open: queued in the server or in flight, late rather than dropped.
    pub on_open_streams: u64,
    /// On streams the server ended (cut off); a real client would reconnect and get a replay.
    pub on_ended_streams: u64,
}

impl Deliveries {
    pub fn new(events: usize, connections: usize) -> Self {
        Self {
            epoch: Instant::now(),
            base: AtomicU64::new(0),
            published: (0..events).map(|_| AtomicU64::new(0)).collect(),
            received: AtomicU64::new(0),
            unexpected: AtomicU64::new(0),
            last_ns: AtomicU64::new(0),
            latency: Mutex::new(latency::histogram()),
            per_connection: (0..connections).map(|_| AtomicU64::new(0)).collect(),
            stream_ended: (0..connections).map(|_| AtomicBool::new(false)).collect(),
        }
    }

    fn ended(&self, connection: usize) {
        if let Some(ended) = self.stream_ended.get(connection) {
            ended.store(true, Ordering::Release);
        }
    }

    /// Every published event counts once per connection.
    pub fn missing(&self) -> Missing {
        let events = self.published.len() as u64;
        let mut missing = Missing {
            on_open_streams: 0,
            on_ended_streams: 0,
        };
        for (received, ended) in self.per_connection.iter().zip(&self.stream_ended) {
            let short = events.saturating_sub(received.load(Ordering::Relaxed));
            if ended.load(Ordering::Acquire) {
                missing.on_ended_streams += short;
            } else {
                missing.on_open_streams += short;
            }
        }
        missing
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

    fn delivered(&self, connection: usize, id: Option<u64>) {
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
        if let Some(received) = self.per_connection.get(connection) {
            received.fetch_add(1, Ordering::Relaxed);
        }
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
    pub fn with_deliveries(events: usize, connections: usize) -> Self {
        Self {
            deliveries: Some(Deliveries::new(events, connections)),
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

    fn event(&self, connection: usize, event: &[u8], id: Option<u64>) {
        self.events.fetch_add(1, Ordering::Relaxed);
        if event == b"connected" {
            self.connected.fetch_add(1, Ordering::Relaxed);
        } else if event == MESSAGE_CREATED
            && let Some(deliveries) = &self.deliveries
        {
            deliveries.delivered(connection, id);
        }
    }

    fn ended(&self, connection: usize, error: Option<String>) {
        if let Some(deliveries) = &self.deliveries {
            deliveries.ended(connection);
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delivery_missing_on_an_open_stream_is_late_and_on_an_ended_one_cut_off() {
        let tally = Tally::with_deliveries(2, 3);
        let Some(deliveries) = &tally.deliveries else {
            panic!("a fan-out tally counts deliveries");
        };
        deliveries.publishing(0);
        deliveries.publishing(1);
        for (connection, id) in [(0, 1), (0, 2), (1, 1)] {
            tally.event(connection, MESSAGE_CREATED, Some(id));
        }
        tally.ended(2, None);
        assert_eq!(
            deliveries.missing(),
            Missing {
                on_open_streams: 1,
                on_ended_streams: 2
            }
        );
    }
}
