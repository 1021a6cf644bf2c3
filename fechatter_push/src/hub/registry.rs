//! Who is connected to this instance: the connections of each user and of each sign-in session,
//! and the locally connected users of each workspace. Pure bookkeeping, no locking and no I/O, so
//! the rules are easy to test.

use std::collections::BTreeMap;
use std::sync::Arc;

use fechatter_events::{UserId, WorkspaceId};
use rustc_hash::FxHashMap;
use uuid::Uuid;

use super::mailbox::{Closed, Mailbox, Offered};
use crate::frame::Frame;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId(u64);

/// Who a connection belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    pub user: UserId,
    pub workspace: WorkspaceId,
    /// The `sid` of the access token it was opened with.
    pub session: Uuid,
}

/// A user's first connection to this instance opened, or their last one here closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalPresence {
    pub workspace: WorkspaceId,
    pub user: UserId,
    pub connected: bool,
}

struct Connection {
    owner: Owner,
    mailbox: Arc<Mailbox>,
}

/// What became of a frame offered to a set of connections.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Offer {
    /// Connections that queued the frame.
    pub accepted: usize,
    /// Connections whose buffer was full; they must be cut off.
    pub overflowed: Vec<ConnectionId>,
}

/// Keys are ids this service, Postgres or the token signer assigned, never chosen by a client, and
/// every event is looked up once per recipient: Fx's hash, not SipHash's (docs/benchmarks.md, SSE
/// fan-out).
#[derive(Default)]
pub struct Registry {
    next_id: u64,
    connections: FxHashMap<ConnectionId, Connection>,
    by_user: FxHashMap<UserId, Vec<ConnectionId>>,
    by_session: FxHashMap<Uuid, Vec<ConnectionId>>,
    /// Open connections per locally connected user, per workspace.
    local: FxHashMap<WorkspaceId, BTreeMap<UserId, usize>>,
    local_users: usize,
}

/// Takes `id` out of `index[key]`, dropping the entry once empty.
fn forget<K: std::hash::Hash + Eq>(
    index: &mut FxHashMap<K, Vec<ConnectionId>>,
    key: K,
    id: ConnectionId,
) {
    if let Some(ids) = index.get_mut(&key) {
        ids.retain(|other| *other != id);
        if ids.is_empty() {
            index.remove(&key);
        }
    }
}

impl Registry {
    pub fn add(
        &mut self,
        owner: Owner,
        mailbox: Arc<Mailbox>,
    ) -> (ConnectionId, Option<LocalPresence>) {
        self.next_id += 1;
        let id = ConnectionId(self.next_id);
        self.connections.insert(id, Connection { owner, mailbox });
        self.by_user.entry(owner.user).or_default().push(id);
        self.by_session.entry(owner.session).or_default().push(id);
        let count = self
            .local
            .entry(owner.workspace)
            .or_default()
            .entry(owner.user)
            .or_default();
        *count += 1;
        let change = (*count == 1).then(|| {
            self.local_users += 1;
            LocalPresence {
                workspace: owner.workspace,
                user: owner.user,
                connected: true,
            }
        });
        (id, change)
    }

    /// Ends a connection (its mailbox tells it why) and forgets it.
    pub fn close(&mut self, id: ConnectionId, reason: Closed) -> Option<LocalPresence> {
        if let Some(connection) = self.connections.get(&id) {
            connection.mailbox.close(reason);
        }
        self.remove(id)
    }

    /// Forgets a connection; `None` when it was already removed or the user still has another.
    pub fn remove(&mut self, id: ConnectionId) -> Option<LocalPresence> {
        let Owner {
            user,
            workspace,
            session,
        } = self.connections.remove(&id)?.owner;
        forget(&mut self.by_user, user, id);
        forget(&mut self.by_session, session, id);
        let users = self.local.get_mut(&workspace)?;
        let count = users.get_mut(&user)?;
        *count -= 1;
        if *count > 0 {
            return None;
        }
        users.remove(&user);
        if users.is_empty() {
            self.local.remove(&workspace);
        }
        self.local_users -= 1;
        Some(LocalPresence {
            workspace,
            user,
            connected: false,
        })
    }

    /// Every connection of these users, each once.
    pub fn connections_of(&self, users: &[UserId]) -> Vec<ConnectionId> {
        let mut ids: Vec<ConnectionId> = users
            .iter()
            .filter_map(|user| self.by_user.get(user))
            .flatten()
            .copied()
            .collect();
        // A user listed twice in `recipients` still gets an event once.
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    pub fn connections_of_session(&self, session: Uuid) -> Vec<ConnectionId> {
        self.by_session.get(&session).cloned().unwrap_or_default()
    }

    pub fn all_connections(&self) -> Vec<ConnectionId> {
        self.connections.keys().copied().collect()
    }

    /// How many connections `user` holds here.
    pub fn user_connection_count(&self, user: UserId) -> usize {
        self.by_user.get(&user).map_or(0, Vec::len)
    }

    /// Every connection of the workspace's users here except `except`'s own.
    pub fn workspace_connections(
        &self,
        workspace: WorkspaceId,
        except: UserId,
    ) -> Vec<ConnectionId> {
        let users: Vec<UserId> = self
            .local_users_in(workspace)
            .into_iter()
            .filter(|user| *user != except)
            .collect();
        self.connections_of(&users)
    }

    /// Queues `frame` on each connection without waiting: a full buffer is reported, never grown.
    pub fn offer(&self, targets: &[ConnectionId], frame: &Arc<Frame>) -> Offer {
        let mut offer = Offer::default();
        for id in targets {
            let Some(connection) = self.connections.get(id) else {
                continue;
            };
            match connection.mailbox.offer(frame) {
                Offered::Queued => offer.accepted += 1,
                Offered::Full => offer.overflowed.push(*id),
                // Closed already; it is ending and unregisters itself.
                Offered::Closed => {}
            }
        }
        offer
    }

    /// The workspace's users with a connection here, in id order.
    pub fn local_users_in(&self, workspace: WorkspaceId) -> Vec<UserId> {
        self.local
            .get(&workspace)
            .map(|users| users.keys().copied().collect())
            .unwrap_or_default()
    }

    /// Every user with a connection here, with their workspace.
    pub fn local_users(&self) -> Vec<(WorkspaceId, UserId)> {
        self.local
            .iter()
            .flat_map(|(workspace, users)| users.keys().map(|user| (*workspace, *user)))
            .collect()
    }

    pub fn local_user_count(&self) -> usize {
        self.local_users
    }

    /// Open connections, including any closed whose transport has not ended yet.
    pub fn connection_count(&self) -> usize {
        self.connections.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::FrameKind;

    const WS: WorkspaceId = WorkspaceId(1);

    fn owner(user: i64, workspace: WorkspaceId) -> Owner {
        Owner {
            user: UserId(user),
            workspace,
            session: Uuid::nil(),
        }
    }

    fn mailbox(capacity: usize) -> Arc<Mailbox> {
        Arc::new(Mailbox::new(capacity))
    }

    fn frame() -> Arc<Frame> {
        Arc::new(Frame::signal(
            FrameKind::Typing,
            None,
            &serde_json::json!({}),
        ))
    }

    #[test]
    fn local_presence_changes_only_on_the_first_and_last_connection() {
        let mut registry = Registry::default();
        let (first, change) = registry.add(owner(7, WS), mailbox(1));
        assert_eq!(change.map(|c| c.connected), Some(true));
        let (second, change) = registry.add(owner(7, WS), mailbox(1));
        assert_eq!(change, None);
        assert_eq!(registry.local_user_count(), 1);
        assert_eq!(registry.user_connection_count(UserId(7)), 2);
        assert_eq!(registry.remove(first), None);
        assert_eq!(registry.local_users_in(WS), vec![UserId(7)]);
        assert_eq!(registry.remove(second).map(|c| c.connected), Some(false));
        assert_eq!(registry.local_user_count(), 0);
        assert!(registry.local_users_in(WS).is_empty());
        assert_eq!(registry.remove(second), None, "removing twice is harmless");
    }

    #[test]
    fn a_full_buffer_is_reported_and_not_grown() {
        let mut registry = Registry::default();
        let fast = mailbox(1);
        let (slow_id, _) = registry.add(owner(1, WS), mailbox(1));
        let (fast_id, _) = registry.add(owner(2, WS), fast.clone());
        let targets = registry.connections_of(&[UserId(1), UserId(2)]);
        assert_eq!(registry.offer(&targets, &frame()).accepted, 2);
        assert!(fast.try_recv().is_some());
        let offer = registry.offer(&targets, &frame());
        assert_eq!(offer.accepted, 1);
        assert_eq!(offer.overflowed, vec![slow_id]);
        assert_ne!(slow_id, fast_id);
    }

    #[test]
    fn workspace_connections_leave_out_the_user_and_other_workspaces() {
        let mut registry = Registry::default();
        for (user, ws) in [(1, 1), (2, 1), (3, 2)] {
            registry.add(owner(user, WorkspaceId(ws)), mailbox(1));
        }
        let targets = registry.workspace_connections(WS, UserId(1));
        assert_eq!(targets, registry.connections_of(&[UserId(2)]));
    }

    #[test]
    fn a_user_listed_twice_gets_an_event_once() {
        let mut registry = Registry::default();
        registry.add(owner(5, WS), mailbox(4));
        assert_eq!(registry.connections_of(&[UserId(5), UserId(5)]).len(), 1);
    }

    #[test]
    fn connections_are_found_by_session() {
        let mut registry = Registry::default();
        let session = Uuid::now_v7();
        let (mine, _) = registry.add(
            Owner {
                session,
                ..owner(1, WS)
            },
            mailbox(1),
        );
        registry.add(owner(1, WS), mailbox(1));
        assert_eq!(registry.connections_of_session(session), vec![mine]);
        registry.remove(mine);
        assert!(registry.connections_of_session(session).is_empty());
    }
}
