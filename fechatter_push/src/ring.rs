//! The instance's memory of the log: where its reader stands (the epoch and the last sequence it
//! saw), a bounded ring of the most recent events for cheap replays, and the ids of recently
//! delivered events so an event re-published after JetStream's de-duplication window is not pushed
//! twice.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use fechatter_events::{EventId, UserId};

use crate::cursor::{Cursor, Epoch};
use crate::frame::Frame;

/// One stored event as held for replays.
#[derive(Debug)]
pub struct Entry {
    pub seq: u64,
    pub recipients: Box<[UserId]>,
    pub frame: Arc<Frame>,
}

impl Entry {
    pub fn is_for(&self, user: UserId) -> bool {
        self.recipients.contains(&user)
    }
}

/// What the reader should do with an event it read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepted {
    /// New: deliver it.
    Fresh,
    /// Its id was delivered before under `first`: drop it.
    Duplicate { first: u64 },
    /// At or below the head: a consumer restart read it again; drop it.
    Stale,
}

pub struct Ring {
    epoch: Option<Epoch>,
    /// The last sequence the reader saw; 0 before the first.
    head: u64,
    /// Every sequence from here to `head` passed the reader, and every event among them that was
    /// delivered is held (or was evicted, which moves this up).
    covered_from: u64,
    /// The stream's first sequence, as last read from its info (0 until then).
    stream_first: u64,
    entries: VecDeque<Arc<Entry>>,
    capacity: usize,
    ids: RecentIds,
}

/// What a catch-up needs from the ring, taken at once under its lock.
#[derive(Debug)]
pub struct Snapshot {
    pub position: Cursor,
    pub covered_from: u64,
    /// The stream's first sequence as last seen: anything before it is gone.
    pub stream_first: u64,
    /// The held events after the client's cursor, in order.
    pub entries: Vec<Arc<Entry>>,
}

impl Ring {
    /// A ring holding at most `capacity` events and remembering `ids` event ids.
    pub fn new(capacity: usize, ids: usize) -> Self {
        Self {
            epoch: None,
            head: 0,
            covered_from: 1,
            stream_first: 0,
            entries: VecDeque::new(),
            capacity: capacity.max(1),
            ids: RecentIds::new(ids.max(capacity)),
        }
    }

    /// Where the reader stands, once it has found the stream.
    pub fn position(&self) -> Option<Cursor> {
        self.epoch.map(|epoch| Cursor {
            epoch,
            seq: self.head,
        })
    }

    pub fn epoch(&self) -> Option<Epoch> {
        self.epoch
    }

    /// Starts over on a stream incarnation whose last sequence is `head`: nothing held, the reader
    /// continues after `head`.
    pub fn reset(&mut self, epoch: Epoch, head: u64) {
        self.epoch = Some(epoch);
        self.head = head;
        self.covered_from = head + 1;
        self.stream_first = 0;
        self.entries.clear();
        self.ids.clear();
    }

    /// Records that the reader saw `seq`; returns whether it is new.
    fn advance(&mut self, seq: u64) -> bool {
        if seq <= self.head {
            return false;
        }
        if seq > self.head + 1 {
            // The stream no longer has the sequences in between (retention, a purge): a cursor
            // among them cannot be replayed from here.
            self.entries.clear();
            self.covered_from = seq;
        }
        self.head = seq;
        true
    }

    /// The stream no longer holds sequences below `first` (a purge, retention): events below it
    /// are not replayed from here either, so a cursor among them resyncs as too old.
    pub fn trim(&mut self, first: u64) {
        self.stream_first = self.stream_first.max(first);
        if first <= self.covered_from {
            return;
        }
        self.covered_from = first;
        let keep_from = self.entries.partition_point(|entry| entry.seq < first);
        self.entries.drain(..keep_from);
    }

    /// A sequence that is not delivered (a malformed message).
    pub fn skip(&mut self, seq: u64) {
        self.advance(seq);
    }

    /// An event the reader read; held when fresh.
    pub fn accept(
        &mut self,
        seq: u64,
        id: EventId,
        recipients: &[UserId],
        frame: &Arc<Frame>,
    ) -> Accepted {
        if !self.advance(seq) {
            return Accepted::Stale;
        }
        if let Some(first) = self.ids.first_seq(id) {
            return Accepted::Duplicate { first };
        }
        self.ids.insert(id, seq);
        self.entries.push_back(Arc::new(Entry {
            seq,
            recipients: recipients.into(),
            frame: Arc::clone(frame),
        }));
        while self.entries.len() > self.capacity {
            if let Some(evicted) = self.entries.pop_front() {
                self.covered_from = evicted.seq + 1;
            }
        }
        Accepted::Fresh
    }

    /// The position and the held events after `after`, for a catch-up.
    pub fn snapshot(&self, after: u64) -> Option<Snapshot> {
        let position = self.position()?;
        let start = self.entries.partition_point(|entry| entry.seq <= after);
        Some(Snapshot {
            position,
            covered_from: self.covered_from,
            stream_first: self.stream_first,
            entries: self.entries.range(start..).cloned().collect(),
        })
    }

    /// Whether `seq` carried a repeat of an event delivered under an earlier sequence.
    pub fn is_repeat(&self, id: EventId, seq: u64) -> bool {
        self.ids.first_seq(id).is_some_and(|first| first < seq)
    }
}

/// A bounded memory of event ids and the sequence each was first delivered under.
struct RecentIds {
    first_seq: HashMap<EventId, u64>,
    order: VecDeque<EventId>,
    capacity: usize,
}

impl RecentIds {
    fn new(capacity: usize) -> Self {
        Self {
            first_seq: HashMap::new(),
            order: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    fn first_seq(&self, id: EventId) -> Option<u64> {
        self.first_seq.get(&id).copied()
    }

    fn insert(&mut self, id: EventId, seq: u64) {
        self.first_seq.insert(id, seq);
        self.order.push_back(id);
        while self.order.len() > self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.first_seq.remove(&old);
            }
        }
    }

    fn clear(&mut self) {
        self.first_seq.clear();
        self.order.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fechatter_events::EventKind;

    const EPOCH: Epoch = Epoch(7);

    fn frame(seq: u64) -> Arc<Frame> {
        let cursor = Cursor { epoch: EPOCH, seq };
        Arc::new(Frame::event(
            EventKind::MessageCreated,
            cursor,
            chrono::Utc::now(),
            "{}",
        ))
    }

    fn accept(ring: &mut Ring, seq: u64, id: EventId) -> Accepted {
        ring.accept(seq, id, &[UserId(1)], &frame(seq))
    }

    #[test]
    fn the_ring_holds_the_most_recent_events_and_knows_what_it_covers() {
        let mut ring = Ring::new(3, 10);
        assert_eq!(
            ring.position(),
            None,
            "no position before the stream is found"
        );
        ring.reset(EPOCH, 10);
        for seq in 11..=15 {
            assert_eq!(accept(&mut ring, seq, EventId::generate()), Accepted::Fresh);
        }
        let snapshot = ring.snapshot(12).unwrap_or_else(|| panic!("a snapshot"));
        assert_eq!(
            snapshot.position,
            Cursor {
                epoch: EPOCH,
                seq: 15
            }
        );
        assert_eq!(snapshot.covered_from, 13, "11 and 12 were evicted");
        let held: Vec<u64> = snapshot.entries.iter().map(|e| e.seq).collect();
        assert_eq!(held, [13, 14, 15]);
        let after_14: Vec<u64> = ring
            .snapshot(14)
            .map(|s| s.entries.iter().map(|e| e.seq).collect())
            .unwrap_or_default();
        assert_eq!(after_14, [15]);
    }

    #[test]
    fn a_repeated_event_id_under_a_new_sequence_is_a_duplicate() {
        let mut ring = Ring::new(10, 10);
        ring.reset(EPOCH, 0);
        let id = EventId::generate();
        assert_eq!(accept(&mut ring, 1, id), Accepted::Fresh);
        assert_eq!(accept(&mut ring, 2, EventId::generate()), Accepted::Fresh);
        assert_eq!(accept(&mut ring, 3, id), Accepted::Duplicate { first: 1 });
        assert!(ring.is_repeat(id, 3) && !ring.is_repeat(id, 1));
        assert_eq!(ring.position().map(|c| c.seq), Some(3), "the head moves on");
        assert_eq!(accept(&mut ring, 2, EventId::generate()), Accepted::Stale);
    }

    #[test]
    fn a_gap_in_the_stream_restarts_what_the_ring_covers() {
        let mut ring = Ring::new(10, 10);
        ring.reset(EPOCH, 0);
        accept(&mut ring, 1, EventId::generate());
        accept(&mut ring, 5, EventId::generate());
        let snapshot = ring.snapshot(0).unwrap_or_else(|| panic!("a snapshot"));
        assert_eq!(snapshot.covered_from, 5);
        assert_eq!(snapshot.entries.len(), 1);
    }

    #[test]
    fn a_purged_stream_is_not_replayed_from_memory_either() {
        let mut ring = Ring::new(10, 10);
        ring.reset(EPOCH, 0);
        for seq in 1..=4 {
            accept(&mut ring, seq, EventId::generate());
        }
        ring.trim(3);
        let snapshot = ring.snapshot(0).unwrap_or_else(|| panic!("a snapshot"));
        assert_eq!((snapshot.covered_from, snapshot.stream_first), (3, 3));
        assert_eq!(snapshot.entries.len(), 2);
        ring.trim(2);
        assert_eq!(ring.snapshot(0).map(|s| s.covered_from), Some(3));
    }

    #[test]
    fn a_new_epoch_forgets_everything() {
        let mut ring = Ring::new(10, 10);
        ring.reset(EPOCH, 0);
        let id = EventId::generate();
        accept(&mut ring, 1, id);
        ring.reset(Epoch(8), 0);
        assert_eq!(accept(&mut ring, 1, id), Accepted::Fresh);
        assert_eq!(ring.epoch(), Some(Epoch(8)));
    }
}
