//! The in-process hub: routes frames to the open connections of their recipients through bounded
//! per-connection mailboxes, caps connections per instance and per user, and closes the
//! connections of a revoked session.
//!
//! A connection whose mailbox is full is cut off (it ends as a slow consumer): memory stays bounded
//! and no client silently misses an event; it reconnects with its cursor and gets a replay.

mod mailbox;
mod registry;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use fechatter_events::{UserId, WorkspaceId};
use tokio::sync::mpsc;
use uuid::Uuid;

pub use mailbox::{Closed, Mailbox, Received};
pub use registry::{ConnectionId, LocalPresence, Owner};
use registry::{Offer, Registry};

use crate::frame::Frame;
use crate::metrics::{PushMetrics, Refusal};

pub struct Hub {
    registry: Mutex<Registry>,
    limits: HubLimits,
    metrics: Arc<dyn PushMetrics>,
    /// Hears of a user's first and last connection here (the presence bucket is kept from it).
    local_presence: Option<mpsc::UnboundedSender<LocalPresence>>,
    /// Set once the server shuts down: nothing new is accepted.
    closing: std::sync::atomic::AtomicBool,
}

/// How much one instance holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HubLimits {
    /// Frames a connection may have waiting; one more cuts it off.
    pub buffer: usize,
    /// Connections this instance holds at most (each costs memory and a file descriptor).
    pub max_connections: usize,
    /// Connections one user may hold on this instance.
    pub max_connections_per_user: usize,
}

/// A connection's end of the hub.
pub struct Registration {
    pub id: ConnectionId,
    /// Its frames; closed when the connection must end.
    pub mailbox: Arc<Mailbox>,
}

impl Hub {
    pub fn new(
        limits: HubLimits,
        metrics: Arc<dyn PushMetrics>,
        local_presence: Option<mpsc::UnboundedSender<LocalPresence>>,
    ) -> Self {
        Self {
            registry: Mutex::new(Registry::default()),
            limits: HubLimits {
                buffer: limits.buffer.max(1),
                ..limits
            },
            metrics,
            local_presence,
            closing: std::sync::atomic::AtomicBool::new(false),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Registry> {
        // The registry is consistent after every method, so a panic elsewhere leaves it usable.
        self.registry.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a connection; from now on it receives every frame for its user. The caller has
    /// checked that its session is not revoked.
    pub fn register(&self, owner: Owner) -> Result<Registration, Refusal> {
        if self.closing.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(self.refuse(Refusal::ShuttingDown));
        }
        let mut registry = self.lock();
        if registry.connection_count() >= self.limits.max_connections {
            drop(registry);
            return Err(self.refuse(Refusal::OverCapacity));
        }
        if registry.user_connection_count(owner.user) >= self.limits.max_connections_per_user {
            drop(registry);
            return Err(self.refuse(Refusal::TooManyForUser));
        }
        let mailbox = Arc::new(Mailbox::new(self.limits.buffer));
        let (id, change) = registry.add(owner, mailbox.clone());
        self.settle(&registry, change);
        Ok(Registration { id, mailbox })
    }

    fn refuse(&self, refusal: Refusal) -> Refusal {
        self.metrics.refused(refusal);
        refusal
    }

    /// Removes a connection (when it ends); harmless if it was already closed.
    pub fn unregister(&self, id: ConnectionId) {
        let mut registry = self.lock();
        let change = registry.remove(id);
        self.settle(&registry, change);
    }

    /// Queues `frame` for every connection of `recipients`; returns how many took it.
    pub fn deliver(&self, recipients: &[UserId], frame: Arc<Frame>) -> usize {
        let mut registry = self.lock();
        let targets = registry.connections_of(recipients);
        self.offer(&mut registry, &targets, &frame)
    }

    /// Queues `frame` for every connection of the workspace's users here but `except`'s.
    pub fn deliver_to_workspace(&self, workspace: WorkspaceId, except: UserId, frame: Frame) {
        let frame = Arc::new(frame);
        let mut registry = self.lock();
        let targets = registry.workspace_connections(workspace, except);
        self.offer(&mut registry, &targets, &frame);
    }

    /// Queues `frame` for every connection.
    pub fn deliver_to_all(&self, frame: Frame) {
        let frame = Arc::new(frame);
        let mut registry = self.lock();
        let targets = registry.all_connections();
        self.offer(&mut registry, &targets, &frame);
    }

    fn offer(
        &self,
        registry: &mut Registry,
        targets: &[ConnectionId],
        frame: &Arc<Frame>,
    ) -> usize {
        self.metrics.broadcast(frame.name());
        let Offer {
            accepted,
            overflowed,
        } = registry.offer(targets, frame);
        for id in overflowed {
            self.metrics.buffer_full();
            let change = registry.close(id, Closed::SlowConsumer);
            self.settle(registry, change);
        }
        accepted
    }

    /// Ends every connection of `session` here; returns how many there were.
    pub fn close_session(&self, session: Uuid) -> usize {
        let mut registry = self.lock();
        let ids = registry.connections_of_session(session);
        for id in &ids {
            let change = registry.close(*id, Closed::SessionRevoked);
            self.settle(&registry, change);
        }
        ids.len()
    }

    /// Ends every connection and refuses new ones (shutdown).
    pub fn close_all(&self) {
        self.closing
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let mut registry = self.lock();
        for id in registry.all_connections() {
            let change = registry.close(id, Closed::Shutdown);
            self.settle(&registry, change);
        }
    }

    /// Passes a user's first or last local connection on to the presence keeper.
    fn settle(&self, registry: &Registry, change: Option<LocalPresence>) {
        if let Some(change) = change {
            if let Some(presence) = &self.local_presence {
                // The keeper only stops at shutdown, when presence no longer matters.
                let _ = presence.send(change);
            }
            self.metrics.users_online(registry.local_user_count());
        }
    }

    /// The workspace's users with a connection to this instance, in id order.
    pub fn local_users_in(&self, workspace: WorkspaceId) -> Vec<UserId> {
        self.lock().local_users_in(workspace)
    }

    /// Every user with a connection to this instance, with their workspace.
    pub fn local_users(&self) -> Vec<(WorkspaceId, UserId)> {
        self.lock().local_users()
    }

    pub fn connection_count(&self) -> usize {
        self.lock().connection_count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cursor::{Cursor, Epoch};
    use crate::testing::NoMetrics;
    use fechatter_events::EventKind;

    const WS: WorkspaceId = WorkspaceId(1);

    fn hub(buffer: usize, max_connections: usize, per_user: usize) -> Hub {
        Hub::new(
            HubLimits {
                buffer,
                max_connections,
                max_connections_per_user: per_user,
            },
            Arc::new(NoMetrics),
            None,
        )
    }

    fn event(seq: u64) -> Frame {
        let cursor = Cursor {
            epoch: Epoch(1),
            seq,
        };
        Frame::event(EventKind::MessageCreated, cursor, chrono::Utc::now(), "{}")
    }

    fn owner(user: i64, session: Uuid) -> Owner {
        Owner {
            user: UserId(user),
            workspace: WS,
            session,
        }
    }

    fn register(hub: &Hub, user: i64) -> Registration {
        hub.register(owner(user, Uuid::now_v7()))
            .unwrap_or_else(|err| panic!("{err:?}"))
    }

    fn drain(registration: &Registration) -> Vec<Arc<Frame>> {
        std::iter::from_fn(|| match registration.mailbox.try_recv() {
            Some(Received::Frame(frame)) => Some(frame),
            _ => None,
        })
        .collect()
    }

    #[test]
    fn every_connection_of_a_recipient_gets_the_frame_and_nobody_else() {
        let hub = hub(8, 16, 16);
        let tab1 = register(&hub, 1);
        let tab2 = register(&hub, 1);
        let other = register(&hub, 2);
        assert_eq!(hub.deliver(&[UserId(1), UserId(3)], Arc::new(event(5))), 2);
        assert_eq!(drain(&tab1).len(), 1);
        assert_eq!(drain(&tab2).len(), 1);
        assert!(drain(&other).is_empty());
    }

    #[test]
    fn a_connection_that_falls_behind_is_cut_off_and_the_others_carry_on() {
        let hub = hub(2, 16, 16);
        let slow = register(&hub, 1);
        let fast = register(&hub, 2);
        for seq in 1..=3 {
            hub.deliver(&[UserId(1), UserId(2)], Arc::new(event(seq)));
            drain(&fast);
        }
        assert_eq!(slow.mailbox.closed(), Some(Closed::SlowConsumer));
        assert_eq!(hub.local_users_in(WS), vec![UserId(2)]);
        assert_eq!(hub.deliver(&[UserId(1), UserId(2)], Arc::new(event(4))), 1);
        hub.unregister(slow.id);
    }

    #[test]
    fn a_full_hub_refuses_a_connection_until_one_leaves() {
        let hub = hub(2, 2, 16);
        let first = register(&hub, 1);
        let _second = register(&hub, 2);
        assert_eq!(
            hub.register(owner(3, Uuid::nil())).err(),
            Some(Refusal::OverCapacity)
        );
        hub.unregister(first.id);
        assert!(hub.register(owner(3, Uuid::nil())).is_ok());
    }

    #[test]
    fn a_user_over_their_cap_is_refused_while_others_still_connect() {
        let hub = hub(2, 100, 3);
        let tabs: Vec<Registration> = (0..3).map(|_| register(&hub, 1)).collect();
        assert_eq!(
            hub.register(owner(1, Uuid::nil())).err(),
            Some(Refusal::TooManyForUser)
        );
        assert!(hub.register(owner(2, Uuid::nil())).is_ok());
        hub.unregister(tabs[0].id);
        assert!(hub.register(owner(1, Uuid::nil())).is_ok());
    }

    #[test]
    fn closing_a_session_ends_its_connections_only() {
        let hub = hub(4, 16, 16);
        let session = Uuid::now_v7();
        let phone = hub
            .register(owner(1, session))
            .unwrap_or_else(|err| panic!("{err:?}"));
        let laptop = register(&hub, 1);
        assert_eq!(hub.close_session(session), 1);
        assert_eq!(phone.mailbox.closed(), Some(Closed::SessionRevoked));
        assert_eq!(laptop.mailbox.closed(), None);
        assert_eq!(hub.deliver(&[UserId(1)], Arc::new(event(1))), 1);
    }

    #[test]
    fn local_presence_is_reported_on_the_first_and_last_connection() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let hub = Hub::new(
            HubLimits {
                buffer: 4,
                max_connections: 16,
                max_connections_per_user: 16,
            },
            Arc::new(NoMetrics),
            Some(tx),
        );
        let tab1 = register(&hub, 1);
        let tab2 = register(&hub, 1);
        hub.unregister(tab1.id);
        hub.unregister(tab2.id);
        let changes: Vec<bool> = std::iter::from_fn(|| rx.try_recv().ok())
            .map(|change| change.connected)
            .collect();
        assert_eq!(changes, [true, false]);
    }

    #[test]
    fn after_close_all_nothing_new_is_accepted() {
        let hub = hub(4, 16, 16);
        let open = register(&hub, 1);
        hub.close_all();
        assert_eq!(open.mailbox.closed(), Some(Closed::Shutdown));
        assert_eq!(
            hub.register(owner(2, Uuid::nil())).err(),
            Some(Refusal::ShuttingDown)
        );
    }
}
