//! The keys of the most recently written events, so a retried client batch or a redelivered
//! domain event is recognised without asking ClickHouse.

use std::collections::{HashSet, VecDeque};
use std::hash::Hash;

/// A set that forgets its oldest keys beyond `capacity`.
#[derive(Debug)]
pub struct RecentIds<K> {
    capacity: usize,
    ids: HashSet<K>,
    order: VecDeque<K>,
}

impl<K: Hash + Eq + Copy> RecentIds<K> {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            ids: HashSet::new(),
            order: VecDeque::new(),
        }
    }

    pub fn contains(&self, id: &K) -> bool {
        self.ids.contains(id)
    }

    pub fn insert(&mut self, id: K) {
        if self.capacity == 0 || !self.ids.insert(id) {
            return;
        }
        self.order.push_back(id);
        while self.order.len() > self.capacity {
            if let Some(oldest) = self.order.pop_front() {
                self.ids.remove(&oldest);
            }
        }
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.ids.len()
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    #[test]
    fn the_oldest_ids_are_forgotten_first() {
        let ids: Vec<Uuid> = (0..4).map(|_| Uuid::now_v7()).collect();
        let mut recent = RecentIds::new(3);
        for id in &ids {
            recent.insert(*id);
        }
        recent.insert(ids[3]);
        assert_eq!(recent.len(), 3);
        assert!(!recent.contains(&ids[0]));
        assert!(ids[1..].iter().all(|id| recent.contains(id)));
    }
}
