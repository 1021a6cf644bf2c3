//! The open sockets of this instance, by user, and the fan-out of frames to them. A socket whose
//! queue is full (its client stopped reading) is cut off rather than buffered without bound.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use axum::extract::ws::{Utf8Bytes, close_code};
use fechatter_events::UserId;
use tokio::sync::mpsc::{self, error::TrySendError};
use tokio_util::sync::CancellationToken;

use crate::observability::metrics::WebSocketMetrics;

/// Why a socket is being closed: the close frame's code and reason.
pub type CloseReason = (u16, &'static str);

pub const TOO_SLOW: CloseReason = (close_code::POLICY, "too slow: frames were not being read");
pub const GOING_AWAY: CloseReason = (close_code::AWAY, "the server is shutting down");

/// Ends a socket once, remembering the first reason given.
#[derive(Debug, Clone, Default)]
pub struct Closer {
    token: CancellationToken,
    reason: Arc<OnceLock<CloseReason>>,
}

impl Closer {
    pub fn close(&self, reason: CloseReason) {
        let _ = self.reason.set(reason);
        self.token.cancel();
    }

    pub async fn closed(&self) {
        self.token.cancelled().await;
    }

    pub fn is_closed(&self) -> bool {
        self.token.is_cancelled()
    }

    /// The reason to send, if the server chose to close.
    pub fn reason(&self) -> Option<CloseReason> {
        self.reason.get().copied()
    }
}

struct Socket {
    id: u64,
    sender: mpsc::Sender<Utf8Bytes>,
    closer: Closer,
}

#[derive(Default)]
struct Sockets {
    next_id: u64,
    by_user: HashMap<UserId, Vec<Socket>>,
}

#[derive(Default)]
pub struct Hub {
    sockets: Mutex<Sockets>,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub").finish_non_exhaustive()
    }
}

/// A socket's place in the hub: leaves it (and the gauge) when dropped, however the socket ends.
pub struct Registration {
    hub: Arc<Hub>,
    user: UserId,
    id: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.hub.remove(self.user, self.id);
        WebSocketMetrics::closed();
    }
}

impl Hub {
    fn lock(&self) -> MutexGuard<'_, Sockets> {
        self.sockets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn register(
        self: &Arc<Self>,
        user: UserId,
        sender: mpsc::Sender<Utf8Bytes>,
        closer: Closer,
    ) -> Registration {
        let mut sockets = self.lock();
        sockets.next_id += 1;
        let id = sockets.next_id;
        sockets
            .by_user
            .entry(user)
            .or_default()
            .push(Socket { id, sender, closer });
        WebSocketMetrics::opened();
        Registration {
            hub: self.clone(),
            user,
            id,
        }
    }

    fn remove(&self, user: UserId, id: u64) {
        let mut sockets = self.lock();
        if let Some(list) = sockets.by_user.get_mut(&user) {
            list.retain(|socket| socket.id != id);
            if list.is_empty() {
                sockets.by_user.remove(&user);
            }
        }
    }

    /// Whether any of `users` has a socket here (so an event for nobody here is not even encoded).
    pub fn any_connected(&self, users: &[UserId]) -> bool {
        let sockets = self.lock();
        users.iter().any(|user| sockets.by_user.contains_key(user))
    }

    /// Queues `frame` on every socket of `users`; a socket with a full queue is cut off.
    pub fn deliver(&self, users: &[UserId], frame: &Utf8Bytes) {
        let mut sockets = self.lock();
        for user in users {
            let Some(list) = sockets.by_user.get_mut(user) else {
                continue;
            };
            list.retain(|socket| match socket.sender.try_send(frame.clone()) {
                Ok(()) => true,
                Err(TrySendError::Full(_)) => {
                    socket.closer.close(TOO_SLOW);
                    false
                }
                Err(TrySendError::Closed(_)) => false,
            });
            if list.is_empty() {
                sockets.by_user.remove(user);
            }
        }
    }

    /// Closes every socket (shutdown).
    pub fn close_all(&self, reason: CloseReason) {
        let sockets = self.lock();
        for socket in sockets.by_user.values().flatten() {
            socket.closer.close(reason);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_reach_only_the_recipients_and_a_full_queue_is_cut_off() {
        let hub = Arc::new(Hub::default());
        let (ann_tx, mut ann_rx) = mpsc::channel(1);
        let (bob_tx, mut bob_rx) = mpsc::channel(1);
        let ann_closer = Closer::default();
        let _ann = hub.register(UserId(1), ann_tx, ann_closer.clone());
        let _bob = hub.register(UserId(2), bob_tx, Closer::default());
        let frame = Utf8Bytes::from_static("{}");
        hub.deliver(&[UserId(1)], &frame);
        assert!(ann_rx.try_recv().is_ok());
        assert!(bob_rx.try_recv().is_err());
        hub.deliver(&[UserId(1)], &frame);
        hub.deliver(&[UserId(1)], &frame);
        assert_eq!(ann_closer.reason(), Some(TOO_SLOW));
        assert!(!hub.any_connected(&[UserId(1)]), "a cut-off socket leaves");
        assert!(hub.any_connected(&[UserId(2)]));
    }

    #[test]
    fn a_dropped_registration_leaves_the_hub() {
        let hub = Arc::new(Hub::default());
        let (tx, _rx) = mpsc::channel(1);
        let registration = hub.register(UserId(7), tx, Closer::default());
        assert!(hub.any_connected(&[UserId(7)]));
        drop(registration);
        assert!(!hub.any_connected(&[UserId(7)]));
    }
}
