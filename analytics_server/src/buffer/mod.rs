//! The one in-process buffer between the JetStream consumers and ClickHouse.
//!
//! Bounded: a consumer waits for room and learns when its rows are durably written, so it acks
//! only then (client events reach it from their stream too: they are stored before the HTTP
//! `202`). Idempotent: an event whose key is already buffered or recently written is dropped as a
//! duplicate (a redelivery of a buffered event waits for the buffered copy). The key is the event
//! id within its workspace and source: a client cannot suppress another workspace's events, or a
//! domain event, by reporting an event under the same id.

pub mod flusher;
mod recent;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use tokio::sync::{Notify, Semaphore, oneshot};
use uuid::Uuid;

use crate::events::{EventRow, EventType, Source};
use crate::observability::metrics::{BufferMetrics, IngestMetrics};
use recent::RecentIds;

/// What makes two events the same event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DedupKey {
    workspace_id: i64,
    source: Source,
    event_id: Uuid,
}

impl DedupKey {
    pub fn of(row: &EventRow, source: Source) -> Self {
        Self {
            workspace_id: row.workspace_id,
            source,
            event_id: row.event_id,
        }
    }
}

/// An event waiting to be written.
#[derive(Debug)]
pub struct Pending {
    pub row: EventRow,
    pub source: Source,
    pub event_type: EventType,
    pub received: Instant,
}

impl Pending {
    pub fn new(row: EventRow, source: Source, event_type: EventType) -> Self {
        Self {
            row,
            source,
            event_type,
            received: Instant::now(),
        }
    }

    fn key(&self) -> DedupKey {
        DedupKey::of(&self.row, self.source)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BufferFull {
    #[error("the ingestion buffer is full")]
    Full,
    #[error("the ingestion buffer is closed")]
    Closed,
}

/// What happened to each event handed to [`Buffer::try_accept`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Queued,
    Duplicate,
}

/// Resolves once the row is durably in ClickHouse; an error means the buffer shut down first.
pub type Written = oneshot::Receiver<()>;

#[derive(Clone)]
pub struct Buffer {
    shared: Arc<Shared>,
}

struct Shared {
    capacity: usize,
    flush_rows: usize,
    /// One permit per free place; taken on admission, given back once written.
    room: Semaphore,
    state: Mutex<State>,
    /// Wakes the flusher when a full batch is waiting.
    batch_ready: Notify,
}

struct State {
    queued: VecDeque<Pending>,
    /// Events queued or being written, with whoever waits for them to be written.
    unwritten: HashMap<DedupKey, Vec<oneshot::Sender<()>>>,
    written: RecentIds<DedupKey>,
}

impl Buffer {
    pub fn new(capacity: usize, flush_rows: usize, dedup_window: usize) -> Self {
        Self {
            shared: Arc::new(Shared {
                capacity,
                flush_rows: flush_rows.max(1),
                room: Semaphore::new(capacity),
                state: Mutex::new(State {
                    queued: VecDeque::new(),
                    unwritten: HashMap::new(),
                    written: RecentIds::new(dedup_window),
                }),
                batch_ready: Notify::new(),
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.shared
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Events accepted and not yet written.
    pub fn pending(&self) -> usize {
        self.shared.capacity - self.shared.room.available_permits()
    }

    /// Sets the pending gauge while `state` is still locked: read outside the lock, two threads
    /// could set it in the opposite order to their reads and leave an old count standing.
    fn publish_pending(&self, state: MutexGuard<'_, State>) {
        BufferMetrics::pending(self.pending());
        drop(state);
    }

    pub fn capacity(&self) -> usize {
        self.shared.capacity
    }

    /// Whether an event with this key is buffered or was written recently.
    pub fn knows(&self, key: &DedupKey) -> bool {
        let state = self.state();
        state.written.contains(key) || state.unwritten.contains_key(key)
    }

    /// Admits all of `events` or none, without waiting (a test's way in).
    #[cfg(test)]
    pub fn try_accept(&self, events: Vec<Pending>) -> Result<Vec<Admission>, BufferFull> {
        let wanted = u32::try_from(events.len()).map_err(|_| BufferFull::Full)?;
        let permits = self
            .shared
            .room
            .try_acquire_many(wanted)
            .map_err(|err| match err {
                tokio::sync::TryAcquireError::Closed => BufferFull::Closed,
                tokio::sync::TryAcquireError::NoPermits => BufferFull::Full,
            })?;
        permits.forget();
        let mut state = self.state();
        let admissions: Vec<Admission> = events
            .into_iter()
            .map(|event| self.admit(&mut state, event, None))
            .collect();
        self.publish_pending(state);
        Ok(admissions)
    }

    /// Waits for room, then admits `event`; the returned [`Written`] resolves once it (or an earlier
    /// copy with the same id) is durably written.
    pub async fn accept_and_wait(&self, event: Pending) -> Result<Written, BufferFull> {
        let permit = self
            .shared
            .room
            .acquire()
            .await
            .map_err(|_| BufferFull::Closed)?;
        permit.forget();
        let (done, written) = oneshot::channel();
        let mut state = self.state();
        self.admit(&mut state, event, Some(done));
        self.publish_pending(state);
        Ok(written)
    }

    /// Waits for room for all of `events` (at most the capacity), then admits them; each
    /// [`Written`] resolves once its event is durably written.
    pub async fn accept_all_and_wait(
        &self,
        events: Vec<Pending>,
    ) -> Result<Vec<Written>, BufferFull> {
        let wanted =
            u32::try_from(events.len().min(self.shared.capacity)).map_err(|_| BufferFull::Full)?;
        if wanted as usize != events.len() {
            return Err(BufferFull::Full);
        }
        let permits = self
            .shared
            .room
            .acquire_many(wanted)
            .await
            .map_err(|_| BufferFull::Closed)?;
        permits.forget();
        let mut state = self.state();
        let written = events
            .into_iter()
            .map(|event| {
                let (done, written) = oneshot::channel();
                self.admit(&mut state, event, Some(done));
                written
            })
            .collect();
        self.publish_pending(state);
        Ok(written)
    }

    /// Called with one permit already taken for `event`.
    fn admit(
        &self,
        state: &mut State,
        event: Pending,
        done: Option<oneshot::Sender<()>>,
    ) -> Admission {
        let id = event.key();
        if state.written.contains(&id) {
            self.shared.room.add_permits(1);
            IngestMetrics::duplicate(event.source);
            if let Some(done) = done {
                let _ = done.send(());
            }
            return Admission::Duplicate;
        }
        if let Some(waiters) = state.unwritten.get_mut(&id) {
            self.shared.room.add_permits(1);
            IngestMetrics::duplicate(event.source);
            waiters.extend(done);
            return Admission::Duplicate;
        }
        state.unwritten.insert(id, done.into_iter().collect());
        state.queued.push_back(event);
        if state.queued.len() >= self.shared.flush_rows {
            self.shared.batch_ready.notify_one();
        }
        Admission::Queued
    }

    /// Up to one flush worth of the oldest queued events; they stay "unwritten" until
    /// [`Buffer::written`] is called with them.
    pub fn take_batch(&self) -> Vec<Pending> {
        let mut state = self.state();
        let take = state.queued.len().min(self.shared.flush_rows);
        state.queued.drain(..take).collect()
    }

    /// Puts back a batch that could not be written, ahead of everything queued after it.
    pub fn requeue(&self, batch: Vec<Pending>) {
        let mut state = self.state();
        for event in batch.into_iter().rev() {
            state.queued.push_front(event);
        }
    }

    pub fn has_full_batch(&self) -> bool {
        self.state().queued.len() >= self.shared.flush_rows
    }

    pub async fn full_batch_waiting(&self) {
        self.shared.batch_ready.notified().await;
    }

    /// `batch` is durably in ClickHouse: wake its waiters, remember its ids, free its room.
    pub fn written(&self, batch: &[Pending]) {
        let mut state = self.state();
        for event in batch {
            let id = event.key();
            for waiter in state.unwritten.remove(&id).unwrap_or_default() {
                let _ = waiter.send(());
            }
            state.written.insert(id);
            IngestMetrics::written(event.source, event.event_type, event.received.elapsed());
        }
        self.shared.room.add_permits(batch.len());
        self.publish_pending(state);
    }

    /// Shuts the buffer: new events are refused and everyone still waiting learns their event was
    /// not written (so the JetStream consumer naks it for redelivery). Returns how many events
    /// were left unwritten.
    pub fn close(&self) -> usize {
        self.shared.room.close();
        let mut state = self.state();
        state.queued.clear();
        let left = state.unwritten.len();
        state.unwritten.clear();
        left
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
