//! The in-process hub: routes frames to the open connections of their recipients through bounded
//! per-connection buffers, and tracks who is online.
//!
//! A connection whose buffer is full is cut off (its stream ends with `slow_consumer`): memory stays
//! bounded and no client silently misses an event; it reconnects with `Last-Event-ID` and gets a
//! replay instead.

mod mailbox;
mod registry;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use chrono::Utc;
use fechatter_events::{UserId, WorkspaceId};

pub use mailbox::{Mailbox, Received};
pub use registry::{ConnectionId, PresenceChange};
use registry::{Offer, Registry};

use crate::frame::{Frame, FrameKind};
use crate::observability::metrics::{BroadcastMetrics, PresenceMetrics};

pub struct Hub {
    registry: Mutex<Registry>,
    buffer: usize,
    max_connections: usize,
}

/// The hub already holds as many connections as it may: memory and file descriptors stay bounded
/// and the client retries later (or on another instance).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("this server holds its maximum of {0} live connections")]
pub struct AtCapacity(pub usize);

/// A connection's end of the hub.
pub struct Registration {
    pub id: ConnectionId,
    /// Its frames; cut off when the connection falls behind.
    pub mailbox: Arc<Mailbox>,
}

impl Hub {
    /// A hub of at most `max_connections` connections that each buffer at most `buffer` frames.
    pub fn new(buffer: usize, max_connections: usize) -> Self {
        Self {
            registry: Mutex::new(Registry::default()),
            buffer: buffer.max(1),
            max_connections,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Registry> {
        // The registry is consistent after every method, so a panic elsewhere leaves it usable.
        self.registry.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a connection; from now on it receives every frame for `user`.
    pub fn register(
        &self,
        user: UserId,
        workspace: WorkspaceId,
    ) -> Result<Registration, AtCapacity> {
        let mut registry = self.lock();
        if registry.connection_count() >= self.max_connections {
            return Err(AtCapacity(self.max_connections));
        }
        let mailbox = Arc::new(Mailbox::new(self.buffer));
        let (id, change) = registry.add(user, workspace, mailbox.clone());
        settle(&mut registry, change.into_iter().collect());
        Ok(Registration { id, mailbox })
    }

    /// Removes a connection (when its stream ends); harmless if it was already cut off.
    pub fn unregister(&self, id: ConnectionId) {
        let mut registry = self.lock();
        let change = registry.remove(id);
        settle(&mut registry, change.into_iter().collect());
    }

    /// Queues `frame` for every connection of `recipients`; returns how many took it.
    pub fn deliver(&self, recipients: &[UserId], frame: Frame) -> usize {
        BroadcastMetrics::broadcast(frame.kind.as_str());
        let frame = Arc::new(frame);
        let mut registry = self.lock();
        let targets = registry.connections_of(recipients);
        let offer = registry.offer(&targets, &frame);
        let accepted = offer.accepted;
        let changes = cut_off_overflowed(&mut registry, offer);
        settle(&mut registry, changes);
        accepted
    }

    /// The online users of a workspace, in id order.
    pub fn online_users(&self, workspace: WorkspaceId) -> Vec<UserId> {
        self.lock().online_in(workspace)
    }
}

fn cut_off_overflowed(registry: &mut Registry, offer: Offer) -> VecDeque<PresenceChange> {
    offer
        .overflowed
        .into_iter()
        .filter_map(|id| {
            BroadcastMetrics::buffer_full();
            registry.cut_off(id)
        })
        .collect()
}

/// Announces presence changes to the rest of each workspace. Announcing can cut off another slow
/// connection and so change presence again; the queue runs until nothing changes.
fn settle(registry: &mut Registry, mut changes: VecDeque<PresenceChange>) {
    while let Some(change) = changes.pop_front() {
        let frame = Arc::new(presence_frame(change));
        BroadcastMetrics::broadcast(frame.kind.as_str());
        let targets = registry.workspace_connections(change.workspace, change.user);
        let offer = registry.offer(&targets, &frame);
        changes.extend(cut_off_overflowed(registry, offer));
    }
    PresenceMetrics::users_online(registry.online_users());
}

fn presence_frame(change: PresenceChange) -> Frame {
    Frame::signal(
        FrameKind::PresenceChanged,
        None,
        &serde_json::json!({
            "workspace_id": change.workspace,
            "user_id": change.user,
            "online": change.online,
            "at": Utc::now(),
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use fechatter_events::EventKind;

    const WS: WorkspaceId = WorkspaceId(1);

    fn event(seq: u64) -> Frame {
        Frame::event(EventKind::MessageCreated, seq, chrono::Utc::now(), "{}")
    }

    fn register(hub: &Hub, user: i64, workspace: WorkspaceId) -> Registration {
        hub.register(UserId(user), workspace)
            .unwrap_or_else(|err| panic!("{err}"))
    }

    fn drain(registration: &mut Registration) -> Vec<Arc<Frame>> {
        std::iter::from_fn(|| match registration.mailbox.try_recv() {
            Some(Received::Frame(frame)) => Some(frame),
            _ => None,
        })
        .collect()
    }

    #[test]
    fn every_connection_of_a_recipient_gets_the_frame_and_nobody_else() {
        let hub = Hub::new(8, 16);
        let mut tab1 = register(&hub, 1, WS);
        let mut tab2 = register(&hub, 1, WS);
        let mut other = register(&hub, 2, WS);
        for registration in [&mut tab1, &mut tab2, &mut other] {
            drain(registration);
        }
        assert_eq!(hub.deliver(&[UserId(1), UserId(3)], event(5)), 2);
        assert_eq!(drain(&mut tab1).len(), 1);
        assert_eq!(drain(&mut tab2).len(), 1);
        assert!(drain(&mut other).is_empty());
    }

    #[test]
    fn the_workspace_hears_of_presence_on_the_first_and_last_connection_only() {
        let hub = Hub::new(8, 16);
        let mut observer = register(&hub, 9, WS);
        let outsider_ws = register(&hub, 8, WorkspaceId(2));
        let tab1 = register(&hub, 1, WS);
        let tab2 = register(&hub, 1, WS);
        hub.unregister(tab1.id);
        assert_eq!(hub.online_users(WS), vec![UserId(1), UserId(9)]);
        hub.unregister(tab2.id);
        let seen: Vec<String> = drain(&mut observer)
            .iter()
            .map(|frame| frame.data.to_string())
            .collect();
        assert_eq!(seen.len(), 2, "{seen:?}");
        assert!(seen[0].contains(r#""online":true"#) && seen[0].contains(r#""user_id":1"#));
        assert!(seen[1].contains(r#""online":false"#));
        assert_eq!(hub.online_users(WS), vec![UserId(9)]);
        assert_eq!(hub.online_users(WorkspaceId(2)), vec![UserId(8)]);
        drop(outsider_ws);
    }

    #[test]
    fn a_connection_that_falls_behind_is_cut_off_and_the_others_carry_on() {
        let hub = Hub::new(2, 16);
        let slow = register(&hub, 1, WS);
        let mut fast = register(&hub, 2, WS);
        for seq in 1..=3 {
            hub.deliver(&[UserId(1), UserId(2)], event(seq));
            drain(&mut fast);
        }
        assert!(slow.mailbox.is_cut_off());
        assert_eq!(hub.online_users(WS), vec![UserId(2)]);
        assert_eq!(hub.deliver(&[UserId(1), UserId(2)], event(4)), 1);
        hub.unregister(slow.id);
    }

    #[test]
    fn a_full_hub_refuses_a_connection_until_one_leaves() {
        let hub = Hub::new(2, 2);
        let first = register(&hub, 1, WS);
        let _second = register(&hub, 2, WS);
        assert_eq!(hub.register(UserId(3), WS).err(), Some(AtCapacity(2)));
        assert_eq!(hub.online_users(WS), vec![UserId(1), UserId(2)]);
        hub.unregister(first.id);
        assert!(hub.register(UserId(3), WS).is_ok());
    }
}
