//! The instance's memory of the log: where its reader stands (the epoch and the last sequence it
//! saw), a bounded ring of the most recent events for cheap replays, and the ids of recently
//! delivered events so an event re-published after JetStream's de-duplication window is not pushed
//! twice.

mod by_recipient;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use fechatter_events::{EventId, UserId};

use crate::cursor::{Cursor, Epoch};
use crate::frame::Frame;
use by_recipient::ByRecipient;

/// One stored event as held for replays.
#[derive(Debug)]
pub struct Entry {
    pub seq: u64,
    pub recipients: Box<[UserId]>,
    pub frame: Arc<Frame>,
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
    /// The held events of each user: a replay reads its user's events, not every held one.
    by_recipient: ByRecipient,
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
    /// When the first held event after the client's cursor (anyone's) occurred.
    pub first_missed_at: Option<DateTime<Utc>>,
    /// The held events after the client's cursor addressed to the client's user, in order.
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
            by_recipient: ByRecipient::default(),
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
        self.by_recipient.clear();
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
            self.by_recipient.clear();
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
        for evicted in self.entries.drain(..keep_from) {
            self.by_recipient
                .remove_oldest(evicted.seq, &evicted.recipients);
        }
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
        self.by_recipient.insert(seq, recipients);
        self.entries.push_back(Arc::new(Entry {
            seq,
            recipients: recipients.into(),
            frame: Arc::clone(frame),
        }));
        while self.entries.len() > self.capacity {
            if let Some(evicted) = self.entries.pop_front() {
                self.covered_from = evicted.seq + 1;
                self.by_recipient
                    .remove_oldest(evicted.seq, &evicted.recipients);
            }
        }
        Accepted::Fresh
    }

    /// The position and `user`'s held events after `after`, for a catch-up. Costs a lookup per
    /// event of the user's, however many events of others the ring holds.
    pub fn snapshot(&self, after: u64, user: UserId) -> Option<Snapshot> {
        let position = self.position()?;
        let start = self.entries.partition_point(|entry| entry.seq <= after);
        let entries = self
            .by_recipient
            .after(user, after)
            .filter_map(|seq| self.held(seq))
            .collect();
        Some(Snapshot {
            position,
            covered_from: self.covered_from,
            stream_first: self.stream_first,
            first_missed_at: self.entries.get(start).and_then(|e| e.frame.occurred_at),
            entries,
        })
    }

    /// The held event `seq`: every sequence in the index is held.
    fn held(&self, seq: u64) -> Option<Arc<Entry>> {
        let found = self.entries.binary_search_by_key(&seq, |entry| entry.seq);
        debug_assert!(
            found.is_ok(),
            "the index names {seq}, which the ring does not hold"
        );
        found.ok().and_then(|at| self.entries.get(at).cloned())
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
        let snapshot = ring
            .snapshot(12, UserId(1))
            .unwrap_or_else(|| panic!("a snapshot"));
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
            .snapshot(14, UserId(1))
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
        let snapshot = ring
            .snapshot(0, UserId(1))
            .unwrap_or_else(|| panic!("a snapshot"));
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
        let snapshot = ring
            .snapshot(0, UserId(1))
            .unwrap_or_else(|| panic!("a snapshot"));
        assert_eq!((snapshot.covered_from, snapshot.stream_first), (3, 3));
        assert_eq!(snapshot.entries.len(), 2);
        ring.trim(2);
        assert_eq!(ring.snapshot(0, UserId(1)).map(|s| s.covered_from), Some(3));
    }

    /// The held events of `user` after `after`, by the index.
    fn replayed(ring: &Ring, after: u64, user: i64) -> Vec<u64> {
        ring.snapshot(after, UserId(user))
            .map(|s| s.entries.iter().map(|e| e.seq).collect())
            .unwrap_or_default()
    }

    /// The same, by reading every held event (what a replay did before the index).
    fn scanned(ring: &Ring, after: u64, user: i64) -> Vec<u64> {
        ring.entries
            .iter()
            .filter(|e| e.seq > after && e.recipients.contains(&UserId(user)))
            .map(|e| e.seq)
            .collect()
    }

    fn accept_for(ring: &mut Ring, seq: u64, users: &[i64]) -> Accepted {
        let users: Vec<UserId> = users.iter().copied().map(UserId).collect();
        ring.accept(seq, EventId::generate(), &users, &frame(seq))
    }

    #[test]
    fn a_replay_from_the_ring_gets_only_its_users_events_after_the_cursor_in_order() {
        let mut ring = Ring::new(100, 100);
        ring.reset(EPOCH, 0);
        accept_for(&mut ring, 1, &[1, 2]);
        accept_for(&mut ring, 2, &[2]);
        accept_for(&mut ring, 3, &[1]);
        accept_for(&mut ring, 4, &[3, 1, 3]);
        assert_eq!(replayed(&ring, 0, 1), [1, 3, 4]);
        assert_eq!(replayed(&ring, 1, 1), [3, 4]);
        assert_eq!(replayed(&ring, 0, 2), [1, 2]);
        assert_eq!(replayed(&ring, 2, 2), Vec::<u64>::new());
        assert_eq!(replayed(&ring, 0, 3), [4], "named twice, replayed once");
        let snapshot = ring
            .snapshot(1, UserId(2))
            .unwrap_or_else(|| panic!("a snapshot"));
        assert_eq!(
            snapshot.first_missed_at, ring.entries[1].frame.occurred_at,
            "the age of a replay is that of the first missed event, whoever it was for"
        );
    }

    #[test]
    fn a_user_with_no_events_held_replays_nothing_and_has_no_index_entry() {
        let mut ring = Ring::new(2, 10);
        ring.reset(EPOCH, 0);
        accept_for(&mut ring, 1, &[9]);
        accept_for(&mut ring, 2, &[1]);
        assert!(replayed(&ring, 0, 5).is_empty(), "never had one");
        accept_for(&mut ring, 3, &[1]);
        assert!(
            replayed(&ring, 0, 9).is_empty(),
            "its only event was evicted"
        );
        assert_eq!(ring.by_recipient.size(), (2, 1), "user 9 is forgotten");
        let snapshot = ring
            .snapshot(0, UserId(5))
            .unwrap_or_else(|| panic!("a snapshot"));
        assert!(snapshot.first_missed_at.is_some());
        assert_eq!(snapshot.covered_from, 2);
    }

    #[test]
    fn a_user_with_many_events_replays_those_after_the_cursor_and_no_evicted_one() {
        let mut ring = Ring::new(1_000, 2_000);
        ring.reset(EPOCH, 0);
        for seq in 1..=3_000 {
            let users: &[i64] = if seq % 10 == 0 { &[2] } else { &[1] };
            accept_for(&mut ring, seq, users);
        }
        let mine = replayed(&ring, 0, 1);
        assert_eq!(
            mine.len(),
            900,
            "only what the ring still holds (2001..=3000)"
        );
        assert_eq!(mine.first(), Some(&2_001));
        assert_eq!(mine, scanned(&ring, 0, 1));
        assert_eq!(replayed(&ring, 2_500, 1), scanned(&ring, 2_500, 1));
        assert_eq!(replayed(&ring, 2_990, 2), [3_000]);
        assert_eq!(ring.by_recipient.size(), (1_000, 2));
    }

    #[test]
    fn the_index_is_emptied_with_the_ring_by_trims_gaps_and_new_epochs() {
        let mut ring = Ring::new(10, 10);
        ring.reset(EPOCH, 0);
        for seq in 1..=4 {
            accept_for(&mut ring, seq, &[seq as i64]);
        }
        ring.trim(3);
        assert_eq!(ring.by_recipient.size(), (2, 2));
        assert!(replayed(&ring, 0, 1).is_empty());
        assert_eq!(replayed(&ring, 0, 3), [3]);
        accept_for(&mut ring, 9, &[1]);
        assert_eq!(ring.by_recipient.size(), (1, 1), "a gap restarts the ring");
        assert_eq!(replayed(&ring, 0, 1), [9]);
        ring.reset(Epoch(8), 20);
        assert_eq!(ring.by_recipient.size(), (0, 0));
    }

    #[test]
    fn the_index_replays_exactly_what_a_scan_of_the_ring_would_and_holds_no_more() {
        let mut ring = Ring::new(50, 100);
        ring.reset(EPOCH, 0);
        // A fixed pseudo-random mix: one to three recipients among 20 users, occasional gaps,
        // re-published ids and trims.
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move |bound: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % bound
        };
        let mut seq = 0;
        let mut last_id = EventId::generate();
        for round in 0..2_000 {
            seq += if next(50) == 0 { 3 } else { 1 };
            let users: Vec<UserId> = (0..=next(3)).map(|_| UserId(next(20) as i64)).collect();
            let id = if next(40) == 0 {
                last_id
            } else {
                EventId::generate()
            };
            last_id = id;
            ring.accept(seq, id, &users, &frame(seq));
            if round % 300 == 299 {
                ring.trim(seq - next(30));
            }
            let held: usize = ring
                .entries
                .iter()
                .map(|e| {
                    let mut users = e.recipients.to_vec();
                    users.sort_unstable();
                    users.dedup();
                    users.len()
                })
                .sum();
            assert_eq!(
                ring.by_recipient.size().0,
                held,
                "one entry per held event and user"
            );
            let after = seq.saturating_sub(next(60));
            for user in 0..20 {
                assert_eq!(replayed(&ring, after, user), scanned(&ring, after, user));
            }
        }
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
