//! Who is connected: the connections of each user and the online users of each workspace.
//! Pure bookkeeping, no locking and no I/O, so the rules are easy to test.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use fechatter_events::{UserId, WorkspaceId};

use super::mailbox::{Mailbox, Offered};
use crate::frame::Frame;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId(u64);

/// A user came online (first connection) or went offline (last connection closed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PresenceChange {
    pub workspace: WorkspaceId,
    pub user: UserId,
    pub online: bool,
}

struct Connection {
    user: UserId,
    workspace: WorkspaceId,
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

#[derive(Default)]
pub struct Registry {
    next_id: u64,
    connections: HashMap<ConnectionId, Connection>,
    by_user: HashMap<UserId, Vec<ConnectionId>>,
    /// Open connections per online user, per workspace.
    online: HashMap<WorkspaceId, BTreeMap<UserId, usize>>,
    online_users: usize,
}

impl Registry {
    pub fn add(
        &mut self,
        user: UserId,
        workspace: WorkspaceId,
        mailbox: Arc<Mailbox>,
    ) -> (ConnectionId, Option<PresenceChange>) {
        self.next_id += 1;
        let id = ConnectionId(self.next_id);
        self.connections.insert(
            id,
            Connection {
                user,
                workspace,
                mailbox,
            },
        );
        self.by_user.entry(user).or_default().push(id);
        let count = self
            .online
            .entry(workspace)
            .or_default()
            .entry(user)
            .or_default();
        *count += 1;
        let change = (*count == 1).then(|| {
            self.online_users += 1;
            PresenceChange {
                workspace,
                user,
                online: true,
            }
        });
        (id, change)
    }

    /// Removes a connection that cannot keep up and tells its stream to end.
    pub fn cut_off(&mut self, id: ConnectionId) -> Option<PresenceChange> {
        if let Some(connection) = self.connections.get(&id) {
            connection.mailbox.cut_off();
        }
        self.remove(id)
    }

    /// Forgets a connection; `None` when it was already removed or the user still has another.
    pub fn remove(&mut self, id: ConnectionId) -> Option<PresenceChange> {
        let connection = self.connections.remove(&id)?;
        let (user, workspace) = (connection.user, connection.workspace);
        if let Some(ids) = self.by_user.get_mut(&user) {
            ids.retain(|other| *other != id);
            if ids.is_empty() {
                self.by_user.remove(&user);
            }
        }
        let users = self.online.get_mut(&workspace)?;
        let count = users.get_mut(&user)?;
        *count -= 1;
        if *count > 0 {
            return None;
        }
        users.remove(&user);
        if users.is_empty() {
            self.online.remove(&workspace);
        }
        self.online_users -= 1;
        Some(PresenceChange {
            workspace,
            user,
            online: false,
        })
    }

    /// Every connection of these users.
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

    /// Every connection of the workspace's online users except `except`'s own.
    pub fn workspace_connections(
        &self,
        workspace: WorkspaceId,
        except: UserId,
    ) -> Vec<ConnectionId> {
        let users: Vec<UserId> = self
            .online_in(workspace)
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
                // Cut off already; its stream is ending and unregisters itself.
                Offered::CutOff => {}
            }
        }
        offer
    }

    pub fn online_in(&self, workspace: WorkspaceId) -> Vec<UserId> {
        self.online
            .get(&workspace)
            .map(|users| users.keys().copied().collect())
            .unwrap_or_default()
    }

    pub fn online_users(&self) -> usize {
        self.online_users
    }

    /// Open connections, including any cut off whose stream has not ended yet.
    pub fn connection_count(&self) -> usize {
        self.connections.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::FrameKind;

    const WS: WorkspaceId = WorkspaceId(1);

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
    fn presence_changes_only_on_the_first_and_last_connection() {
        let mut registry = Registry::default();
        let (first, change) = registry.add(UserId(7), WS, mailbox(1));
        assert_eq!(change.map(|c| c.online), Some(true));
        let (second, change) = registry.add(UserId(7), WS, mailbox(1));
        assert_eq!(change, None);
        assert_eq!(registry.online_users(), 1);
        assert_eq!(registry.remove(first), None);
        assert_eq!(registry.online_in(WS), vec![UserId(7)]);
        assert_eq!(registry.remove(second).map(|c| c.online), Some(false));
        assert_eq!(registry.online_users(), 0);
        assert!(registry.online_in(WS).is_empty());
        assert_eq!(registry.remove(second), None, "removing twice is harmless");
    }

    #[test]
    fn a_full_buffer_is_reported_and_not_grown() {
        let mut registry = Registry::default();
        let fast = mailbox(1);
        let (slow_id, _) = registry.add(UserId(1), WS, mailbox(1));
        let (fast_id, _) = registry.add(UserId(2), WS, fast.clone());
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
            registry.add(UserId(user), WorkspaceId(ws), mailbox(1));
        }
        let targets = registry.workspace_connections(WS, UserId(1));
        assert_eq!(targets, registry.connections_of(&[UserId(2)]));
    }

    #[test]
    fn a_user_listed_twice_gets_an_event_once() {
        let mut registry = Registry::default();
        registry.add(UserId(5), WS, mailbox(4));
        assert_eq!(registry.connections_of(&[UserId(5), UserId(5)]).len(), 1);
    }
}
