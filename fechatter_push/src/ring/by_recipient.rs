//! Which of the ring's events are addressed to each user, so a replay reads only the resuming
//! user's events instead of every event the ring holds after their cursor. The index holds one
//! sequence per (event, recipient) of the ring, no more: a user's list shrinks as the ring evicts
//! their events, and a user with none held has no list.

use std::collections::VecDeque;

use fechatter_events::UserId;
use rustc_hash::FxHashMap;

/// Lists and maps keep at most about four times the capacity they use, so an index that held a
/// burst gives its memory back as the ring moves on.
const SLACK: usize = 4;
/// Below this, a list's or the map's spare capacity is not worth a reallocation.
const MIN_CAPACITY: usize = 64;

#[derive(Default)]
pub(super) struct ByRecipient {
    /// The sequences of the held events addressed to each user, ascending. User ids are assigned
    /// by Postgres, not chosen by clients, and an event is indexed once per recipient: Fx's hash,
    /// not SipHash's (docs/benchmarks.md, SSE fan-out).
    seqs: FxHashMap<UserId, VecDeque<u64>>,
}

impl ByRecipient {
    /// Records the held event `seq` (above every held sequence) for `recipients`.
    pub(super) fn insert(&mut self, seq: u64, recipients: &[UserId]) {
        for user in recipients {
            let seqs = self.seqs.entry(*user).or_default();
            // A user named twice in one event's recipients gets it once, as delivery does.
            if seqs.back() != Some(&seq) {
                seqs.push_back(seq);
            }
        }
    }

    /// Forgets the held event `seq` (the oldest held one) of `recipients`, evicted from the ring.
    pub(super) fn remove_oldest(&mut self, seq: u64, recipients: &[UserId]) {
        for user in recipients {
            let Some(seqs) = self.seqs.get_mut(user) else {
                continue;
            };
            if seqs.front() == Some(&seq) {
                seqs.pop_front();
            }
            if seqs.is_empty() {
                self.seqs.remove(user);
            } else if seqs.capacity() > MIN_CAPACITY && seqs.len() * SLACK < seqs.capacity() {
                seqs.shrink_to(seqs.len() * 2);
            }
        }
        if self.seqs.capacity() > MIN_CAPACITY && self.seqs.len() * SLACK < self.seqs.capacity() {
            self.seqs.shrink_to(self.seqs.len() * 2);
        }
    }

    /// Forgets everything, memory included.
    pub(super) fn clear(&mut self) {
        self.seqs = FxHashMap::default();
    }

    /// The sequences of `user`'s held events after `after`, ascending.
    pub(super) fn after(&self, user: UserId, after: u64) -> impl Iterator<Item = u64> + '_ {
        let seqs = self.seqs.get(&user);
        let start = seqs.map_or(0, |seqs| seqs.partition_point(|seq| *seq <= after));
        seqs.into_iter()
            .flat_map(move |seqs| seqs.range(start..).copied())
    }

    /// How many (event, recipient) pairs are indexed, and for how many users.
    #[cfg(test)]
    pub(super) fn size(&self) -> (usize, usize) {
        (self.seqs.values().map(VecDeque::len).sum(), self.seqs.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_users_list_and_the_map_give_their_memory_back_as_events_are_evicted() {
        let mut index = ByRecipient::default();
        for seq in 1..=10_000 {
            index.insert(seq, &[UserId(1), UserId(seq as i64 + 1)]);
        }
        let burst = index.seqs.get(&UserId(1)).map_or(0, VecDeque::capacity);
        assert!(burst >= 10_000 && index.seqs.capacity() >= 10_001);
        for seq in 1..=9_990 {
            index.remove_oldest(seq, &[UserId(1), UserId(seq as i64 + 1)]);
        }
        assert_eq!(
            index.size(),
            (20, 11),
            "user 1 and the last ten events' users"
        );
        let kept = index.seqs.get(&UserId(1)).map_or(0, VecDeque::capacity);
        assert!(
            kept <= MIN_CAPACITY * SLACK,
            "user 1's list kept {kept} slots"
        );
        assert!(
            index.seqs.capacity() <= MIN_CAPACITY * SLACK,
            "the map kept {}",
            index.seqs.capacity()
        );
        assert_eq!(
            index.after(UserId(1), 9_995).collect::<Vec<_>>(),
            [9_996, 9_997, 9_998, 9_999, 10_000]
        );
    }
}
