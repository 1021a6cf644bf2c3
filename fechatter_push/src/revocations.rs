//! Sessions revoked while their access tokens may still be valid. A revoked session's live
//! connections are closed and new ones refused until every token it could hold has expired.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// Entries are swept when the map has grown by this many since the last sweep.
const SWEEP_EVERY: usize = 1_024;

#[derive(Default)]
pub struct Revocations {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Session → when its last possible token expires.
    until: HashMap<Uuid, DateTime<Utc>>,
    swept_at_len: usize,
}

impl Revocations {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Remembers that `session` was revoked; its tokens expire by `until` at the latest.
    pub fn revoke(&self, session: Uuid, until: DateTime<Utc>, now: DateTime<Utc>) {
        let mut inner = self.lock();
        let entry = inner.until.entry(session).or_insert(until);
        *entry = (*entry).max(until);
        if inner.until.len() >= inner.swept_at_len + SWEEP_EVERY {
            inner.until.retain(|_, until| *until > now);
            inner.swept_at_len = inner.until.len();
        }
    }

    pub fn is_revoked(&self, session: Uuid, now: DateTime<Utc>) -> bool {
        self.lock()
            .until
            .get(&session)
            .is_some_and(|until| *until > now)
    }

    /// Sessions remembered (expired ones may linger until the next sweep).
    pub fn len(&self) -> usize {
        self.lock().until.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_stays_revoked_until_its_tokens_expire() {
        let revocations = Revocations::default();
        let now = Utc::now();
        let session = Uuid::now_v7();
        assert!(!revocations.is_revoked(session, now));
        revocations.revoke(session, now + chrono::Duration::minutes(15), now);
        assert!(revocations.is_revoked(session, now));
        assert!(!revocations.is_revoked(Uuid::now_v7(), now));
        assert!(!revocations.is_revoked(session, now + chrono::Duration::minutes(16)));
    }

    #[test]
    fn expired_revocations_are_swept_as_new_ones_arrive() {
        let revocations = Revocations::default();
        let now = Utc::now();
        for _ in 0..SWEEP_EVERY {
            revocations.revoke(Uuid::now_v7(), now - chrono::Duration::seconds(1), now);
        }
        assert!(revocations.len() <= 1, "{}", revocations.len());
    }
}
