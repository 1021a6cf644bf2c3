//! The ids of the most recently written events, so a retried client batch or a redelivered domain
//! event is recognised without asking ClickHouse.

use std::collections::{HashSet, VecDeque};

use uuid::Uuid;

/// A set that forgets its oldest ids beyond `capacity`.
#[derive(Debug)]
pub struct RecentIds {
    capacity: usize,
    ids: HashSet<Uuid>,
    order: VecDeque<Uuid>,
}

impl RecentIds {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            ids: HashSet::new(),
            order: VecDeque::new(),
        }
    }

    pub fn contains(&self, id: &Uuid) -> bool {
        self.ids.contains(id)
    }

    pub fn insert(&mut self, id: Uuid) {
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
