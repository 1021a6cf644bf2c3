//! This instance's copy of the presence bucket: which users are connected on which instances, and
//! the transitions (first key of a user anywhere, last key gone) its changes make. Pure, so the
//! rules are easy to test.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use fechatter_events::{UserId, WorkspaceId};

/// A bucket key: `<workspace>.<user>.<instance>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    pub workspace: WorkspaceId,
    pub user: UserId,
    pub instance: String,
}

impl Key {
    pub fn to_key(&self) -> String {
        format!("{}.{}.{}", self.workspace, self.user, self.instance)
    }

    pub fn parse(key: &str) -> Option<Key> {
        let mut parts = key.splitn(3, '.');
        let workspace = parts.next()?.parse().ok()?;
        let user = parts.next()?.parse().ok()?;
        let instance = parts.next().filter(|instance| !instance.is_empty())?;
        Some(Key {
            workspace,
            user,
            instance: instance.to_owned(),
        })
    }
}

/// A user came online anywhere (their first key) or went offline everywhere (their last key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub workspace: WorkspaceId,
    pub user: UserId,
    pub online: bool,
}

#[derive(Default)]
pub struct Mirror {
    /// Each key and when it was last written.
    written: HashMap<Key, DateTime<Utc>>,
    /// Keys per online user, per workspace.
    online: HashMap<WorkspaceId, BTreeMap<UserId, usize>>,
}

impl Mirror {
    /// A key was written (created or refreshed) at `at`.
    pub fn put(&mut self, key: Key, at: DateTime<Utc>) -> Option<Transition> {
        let (workspace, user) = (key.workspace, key.user);
        if let Some(written) = self.written.get_mut(&key) {
            *written = (*written).max(at);
            return None;
        }
        self.written.insert(key, at);
        let count = self
            .online
            .entry(workspace)
            .or_default()
            .entry(user)
            .or_default();
        *count += 1;
        (*count == 1).then_some(Transition {
            workspace,
            user,
            online: true,
        })
    }

    /// A key was deleted, purged, or expired.
    pub fn remove(&mut self, key: &Key) -> Option<Transition> {
        self.written.remove(key)?;
        let users = self.online.get_mut(&key.workspace)?;
        let count = users.get_mut(&key.user)?;
        *count -= 1;
        if *count > 0 {
            return None;
        }
        users.remove(&key.user);
        if users.is_empty() {
            self.online.remove(&key.workspace);
        }
        Some(Transition {
            workspace: key.workspace,
            user: key.user,
            online: false,
        })
    }

    /// Removes the keys not written since `before` (the bucket's max age dropped them: NATS 2.9
    /// leaves no marker for that).
    pub fn expire(&mut self, before: DateTime<Utc>) -> Vec<Transition> {
        let stale: Vec<Key> = self
            .written
            .iter()
            .filter(|(_, written)| **written < before)
            .map(|(key, _)| key.clone())
            .collect();
        stale.iter().filter_map(|key| self.remove(key)).collect()
    }

    /// The workspace's users with a key, in id order.
    pub fn online_in(&self, workspace: WorkspaceId) -> Vec<UserId> {
        self.online
            .get(&workspace)
            .map(|users| users.keys().copied().collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(user: i64, instance: &str) -> Key {
        Key {
            workspace: WorkspaceId(1),
            user: UserId(user),
            instance: instance.to_owned(),
        }
    }

    #[test]
    fn a_key_round_trips_through_its_text() {
        let key = key(7, "a1b2");
        assert_eq!(key.to_key(), "1.7.a1b2");
        assert_eq!(Key::parse("1.7.a1b2"), Some(key));
        for bad in ["1.7", "x.7.a", "1.x.a", "1.7."] {
            assert_eq!(Key::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_user_is_online_from_their_first_key_anywhere_to_their_last() {
        let mut mirror = Mirror::default();
        let now = Utc::now();
        let online = mirror.put(key(7, "a"), now);
        assert_eq!(online.map(|t| t.online), Some(true));
        assert_eq!(mirror.put(key(7, "b"), now), None, "a second instance");
        assert_eq!(mirror.put(key(7, "a"), now), None, "a refresh");
        assert_eq!(mirror.remove(&key(7, "a")), None);
        assert_eq!(mirror.online_in(WorkspaceId(1)), vec![UserId(7)]);
        let offline = mirror.remove(&key(7, "b"));
        assert_eq!(offline.map(|t| t.online), Some(false));
        assert!(mirror.online_in(WorkspaceId(1)).is_empty());
        assert_eq!(
            mirror.remove(&key(7, "b")),
            None,
            "removing twice is harmless"
        );
    }

    #[test]
    fn keys_not_refreshed_within_the_max_age_expire() {
        let mut mirror = Mirror::default();
        let now = Utc::now();
        mirror.put(key(7, "dead"), now - chrono::Duration::seconds(40));
        mirror.put(key(8, "alive"), now - chrono::Duration::seconds(40));
        mirror.put(key(8, "alive"), now);
        let expired = mirror.expire(now - chrono::Duration::seconds(30));
        assert_eq!(
            expired,
            [Transition {
                workspace: WorkspaceId(1),
                user: UserId(7),
                online: false
            }]
        );
        assert_eq!(mirror.online_in(WorkspaceId(1)), vec![UserId(8)]);
    }
}
