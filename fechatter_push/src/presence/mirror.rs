//! This instance's copy of the presence bucket: which users are connected on which instances,
//! which instances are alive, and the transitions (a user's first key on a live instance, their
//! last key gone or its instance dead) its changes make. Pure, so the rules are easy to test.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use fechatter_events::{UserId, WorkspaceId};

/// How an instance's liveness key starts: `instance.<instance>`.
const INSTANCE_PREFIX: &str = "instance.";

/// A user's key: `<workspace>.<user>.<instance>`.
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

/// The liveness key of `instance`.
pub fn instance_key(instance: &str) -> String {
    format!("{INSTANCE_PREFIX}{instance}")
}

/// What a key of the bucket is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    User(Key),
    /// An instance's liveness key, refreshed every heartbeat.
    Instance(String),
}

impl Entry {
    pub fn parse(key: &str) -> Option<Entry> {
        match key.strip_prefix(INSTANCE_PREFIX) {
            Some(instance) if !instance.is_empty() => Some(Entry::Instance(instance.to_owned())),
            Some(_) => None,
            None => Key::parse(key).map(Entry::User),
        }
    }
}

/// A user came online anywhere (their first key) or went offline everywhere (their last key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub workspace: WorkspaceId,
    pub user: UserId,
    pub online: bool,
}

/// What the bucket says of one instance.
struct Instance {
    /// The latest write of any of its keys: an instance not heard of for the TTL is dead.
    last_seen: DateTime<Utc>,
    /// Whether its users count as online.
    live: bool,
    /// Its users' keys and when each was last written.
    users: HashMap<(WorkspaceId, UserId), DateTime<Utc>>,
}

/// Keys per online user, per workspace: only keys of live instances count.
#[derive(Default)]
struct Online(HashMap<WorkspaceId, BTreeMap<UserId, usize>>);

impl Online {
    fn add(&mut self, workspace: WorkspaceId, user: UserId) -> Option<Transition> {
        let count = self
            .0
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

    fn take(&mut self, workspace: WorkspaceId, user: UserId) -> Option<Transition> {
        let users = self.0.get_mut(&workspace)?;
        let count = users.get_mut(&user)?;
        *count -= 1;
        if *count > 0 {
            return None;
        }
        users.remove(&user);
        if users.is_empty() {
            self.0.remove(&workspace);
        }
        Some(Transition {
            workspace,
            user,
            online: false,
        })
    }
}

#[derive(Default)]
pub struct Mirror {
    instances: HashMap<String, Instance>,
    online: Online,
}

impl Mirror {
    fn instance(&mut self, name: &str, at: DateTime<Utc>) -> &mut Instance {
        self.instances
            .entry(name.to_owned())
            .or_insert_with(|| Instance {
                last_seen: at,
                live: false,
                users: HashMap::new(),
            })
    }

    /// An instance heard of at `at` comes (back) to life if that is after `live_since`: its users
    /// count again.
    fn revive(
        &mut self,
        name: &str,
        at: DateTime<Utc>,
        live_since: DateTime<Utc>,
    ) -> Vec<Transition> {
        let online = &mut self.online;
        let Some(instance) = self.instances.get_mut(name) else {
            return Vec::new();
        };
        instance.last_seen = instance.last_seen.max(at);
        if instance.live || instance.last_seen < live_since {
            return Vec::new();
        }
        instance.live = true;
        instance
            .users
            .keys()
            .filter_map(|(workspace, user)| online.add(*workspace, *user))
            .collect()
    }

    /// A user's key was written (created or refreshed) at `at`; instances heard of since
    /// `live_since` are alive.
    pub fn put(
        &mut self,
        key: Key,
        at: DateTime<Utc>,
        live_since: DateTime<Utc>,
    ) -> Vec<Transition> {
        let instance = self.instance(&key.instance, at);
        let user = (key.workspace, key.user);
        let known = instance.users.get(&user).copied();
        instance
            .users
            .insert(user, known.map_or(at, |written| written.max(at)));
        let counted = instance.live && known.is_none();
        let mut transitions: Vec<Transition> = counted
            .then(|| self.online.add(key.workspace, key.user))
            .flatten()
            .into_iter()
            .collect();
        transitions.extend(self.revive(&key.instance, at, live_since));
        transitions
    }

    /// An instance's liveness key was written at `at`.
    pub fn put_instance(
        &mut self,
        name: &str,
        at: DateTime<Utc>,
        live_since: DateTime<Utc>,
    ) -> Vec<Transition> {
        self.instance(name, at);
        self.revive(name, at, live_since)
    }

    /// A user's key was deleted or purged.
    pub fn remove(&mut self, key: &Key) -> Option<Transition> {
        let instance = self.instances.get_mut(&key.instance)?;
        instance.users.remove(&(key.workspace, key.user))?;
        if instance.live {
            self.online.take(key.workspace, key.user)
        } else {
            None
        }
    }

    /// An instance's liveness key was deleted: it left, its users are offline there.
    pub fn remove_instance(&mut self, name: &str) -> Vec<Transition> {
        let Some(instance) = self.instances.remove(name) else {
            return Vec::new();
        };
        if !instance.live {
            return Vec::new();
        }
        instance
            .users
            .keys()
            .filter_map(|(workspace, user)| self.online.take(*workspace, *user))
            .collect()
    }

    /// Instances not heard of since `live_since` are dead: their users are offline there. Keys
    /// written before `kept_since` are gone from the bucket (its max age dropped them; NATS 2.9
    /// leaves no marker for that), and so are dead instances not heard of since then.
    pub fn expire(
        &mut self,
        live_since: DateTime<Utc>,
        kept_since: DateTime<Utc>,
    ) -> Vec<Transition> {
        let mut transitions = Vec::new();
        let online = &mut self.online;
        self.instances.retain(|_, instance| {
            let was_live = instance.live;
            if instance.last_seen < live_since {
                instance.live = false;
            }
            let live = instance.live;
            instance.users.retain(|(workspace, user), written| {
                let kept = *written >= kept_since;
                if was_live && (!kept || !live) {
                    transitions.extend(online.take(*workspace, *user));
                }
                kept
            });
            instance.live || instance.last_seen >= kept_since || !instance.users.is_empty()
        });
        transitions
    }

    /// The workspace's users with a key on a live instance, in id order.
    pub fn online_in(&self, workspace: WorkspaceId) -> Vec<UserId> {
        self.online
            .0
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

    fn seconds(n: i64) -> chrono::Duration {
        chrono::Duration::seconds(n)
    }

    fn online(transition: &Transition) -> (i64, bool) {
        (transition.user.0, transition.online)
    }

    #[test]
    fn a_key_round_trips_through_its_text() {
        let key = key(7, "a1b2");
        assert_eq!(key.to_key(), "1.7.a1b2");
        assert_eq!(Key::parse("1.7.a1b2"), Some(key.clone()));
        for bad in ["1.7", "x.7.a", "1.x.a", "1.7."] {
            assert_eq!(Key::parse(bad), None, "{bad}");
        }
        assert_eq!(Entry::parse("1.7.a1b2"), Some(Entry::User(key)));
        assert_eq!(
            Entry::parse(&instance_key("a1b2")),
            Some(Entry::Instance("a1b2".to_owned()))
        );
        assert_eq!(Entry::parse("instance."), None);
    }

    #[test]
    fn a_user_is_online_from_their_first_key_anywhere_to_their_last() {
        let mut mirror = Mirror::default();
        let now = Utc::now();
        let since = now - seconds(30);
        mirror.put_instance("a", now, since);
        mirror.put_instance("b", now, since);
        let first = mirror.put(key(7, "a"), now, since);
        assert_eq!(first.iter().map(online).collect::<Vec<_>>(), [(7, true)]);
        assert!(
            mirror.put(key(7, "b"), now, since).is_empty(),
            "a second instance"
        );
        assert!(mirror.put(key(7, "a"), now, since).is_empty(), "a refresh");
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
    fn an_instance_not_heard_of_within_the_ttl_takes_its_users_offline_and_back_when_it_returns() {
        let mut mirror = Mirror::default();
        let now = Utc::now();
        let (since, kept) = (now - seconds(30), now - seconds(3600));
        mirror.put_instance("dead", now - seconds(40), now - seconds(70));
        mirror.put(key(7, "dead"), now - seconds(40), now - seconds(70));
        mirror.put(key(8, "dead"), now - seconds(40), now - seconds(70));
        mirror.put_instance("alive", now - seconds(40), now - seconds(70));
        // Its user's key is old, its liveness key fresh: the user stays.
        mirror.put(key(8, "alive"), now - seconds(40), now - seconds(70));
        mirror.put_instance("alive", now, since);
        let expired = mirror.expire(since, kept);
        assert_eq!(expired.iter().map(online).collect::<Vec<_>>(), [(7, false)]);
        assert_eq!(mirror.online_in(WorkspaceId(1)), vec![UserId(8)]);
        assert!(mirror.expire(since, kept).is_empty(), "once");
        // A paused instance that writes again is alive again, with its users.
        let back = mirror.put_instance("dead", now, since);
        assert_eq!(back.iter().map(online).collect::<Vec<_>>(), [(7, true)]);
        assert_eq!(mirror.online_in(WorkspaceId(1)), vec![UserId(7), UserId(8)]);
    }

    #[test]
    fn a_user_key_read_before_its_instances_liveness_counts_once_the_instance_is_known_alive() {
        let mut mirror = Mirror::default();
        let now = Utc::now();
        let since = now - seconds(30);
        // The history replays an hour-old key first, its instance's fresh liveness key later.
        assert!(
            mirror
                .put(key(7, "a"), now - seconds(3000), since)
                .is_empty()
        );
        assert!(mirror.online_in(WorkspaceId(1)).is_empty());
        let alive = mirror.put_instance("a", now, since);
        assert_eq!(alive.iter().map(online).collect::<Vec<_>>(), [(7, true)]);
        // A dead instance's keys in the history never count.
        assert!(
            mirror
                .put(key(9, "gone"), now - seconds(3000), since)
                .is_empty()
        );
        assert!(
            mirror
                .put_instance("gone", now - seconds(60), since)
                .is_empty()
        );
        assert_eq!(mirror.online_in(WorkspaceId(1)), vec![UserId(7)]);
    }

    #[test]
    fn an_instance_that_leaves_takes_its_users_offline_at_once() {
        let mut mirror = Mirror::default();
        let now = Utc::now();
        let since = now - seconds(30);
        mirror.put_instance("a", now, since);
        mirror.put_instance("b", now, since);
        mirror.put(key(7, "a"), now, since);
        mirror.put(key(8, "a"), now, since);
        mirror.put(key(8, "b"), now, since);
        let left = mirror.remove_instance("a");
        assert_eq!(left.iter().map(online).collect::<Vec<_>>(), [(7, false)]);
        assert_eq!(mirror.online_in(WorkspaceId(1)), vec![UserId(8)]);
        assert_eq!(
            mirror.remove(&key(7, "a")),
            None,
            "its keys' deletes after it"
        );
    }

    #[test]
    fn keys_older_than_the_buckets_max_age_are_gone_and_so_are_dead_instances() {
        let mut mirror = Mirror::default();
        let now = Utc::now();
        let (since, kept) = (now - seconds(30), now - seconds(3600));
        mirror.put_instance("a", now, since);
        mirror.put(key(7, "a"), now - seconds(4000), since);
        mirror.put(key(8, "a"), now - seconds(100), since);
        mirror.put_instance("dead", now - seconds(4000), since);
        let expired = mirror.expire(since, kept);
        assert_eq!(expired.iter().map(online).collect::<Vec<_>>(), [(7, false)]);
        assert_eq!(mirror.online_in(WorkspaceId(1)), vec![UserId(8)]);
        assert_eq!(mirror.instances.len(), 1, "the dead instance is forgotten");
    }
}
