//! One live connection, whatever its transport: catch-up frames first, then live frames from the
//! hub, until the client leaves, falls behind, its token expires, its session is revoked or the
//! server shuts down.

use std::collections::VecDeque;
use std::sync::Arc;

use fechatter_events::{UserId, WorkspaceId};
use futures::future::BoxFuture;
use uuid::Uuid;

use crate::core::{PushCore, Refused};
use crate::cursor::{Cursor, Epoch, Resume};
use crate::frame::{FrameKind, Outgoing};
use crate::hub::{Closed, ConnectionId, Mailbox, Owner, Received, Registration};
use crate::metrics::Refusal;
use crate::replay::{CatchUp, catch_up};

/// Who opens a connection, from their access token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Opening {
    pub user: UserId,
    pub workspace: WorkspaceId,
    /// The token's `sid`.
    pub session: Uuid,
    /// When the token expires: the connection ends then.
    pub token_expires: tokio::time::Instant,
    pub resume: Resume,
}

impl PushCore {
    /// Opens a live connection: registered with the hub at once, so nothing published from now on
    /// is missed, and caught up from `opening.resume` when first polled.
    ///
    /// Refused until the log reader has found the stream: an event published between the
    /// connection and that moment could not be placed before or after the connection's cursor.
    pub fn open(self: &Arc<Self>, opening: Opening) -> Result<LiveConnection, Refused> {
        self.refuse_if_revoked(opening.session)?;
        if self.position().is_none() {
            self.metrics.refused(Refusal::NotReady);
            return Err(Refused::NotReady);
        }
        let owner = Owner {
            user: opening.user,
            workspace: opening.workspace,
            session: opening.session,
        };
        let registration = self.hub.register(owner).map_err(|refusal| match refusal {
            Refusal::OverCapacity => Refused::OverCapacity(self.settings.hub.max_connections),
            Refusal::TooManyForUser => {
                Refused::TooManyConnections(self.settings.hub.max_connections_per_user)
            }
            Refusal::SessionRevoked => Refused::SessionRevoked,
            Refusal::ShuttingDown => Refused::ShuttingDown,
            Refusal::NotReady => Refused::NotReady,
        })?;
        Ok(LiveConnection::new(self.clone(), registration, opening))
    }
}

/// Why a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// The client went away (the transport noticed).
    ClientClosed,
    /// Its buffer filled up: it could not keep up with its events.
    SlowConsumer,
    /// The server is shutting down.
    Shutdown,
    /// The access token the connection was opened with expired; the client reconnects with a
    /// new one.
    TokenExpired,
    /// Its session was revoked (signed out elsewhere, a stolen refresh token, account removed).
    SessionRevoked,
}

impl EndReason {
    pub const fn as_str(self) -> &'static str {
        match self {
            EndReason::ClientClosed => "client_closed",
            EndReason::SlowConsumer => "slow_consumer",
            EndReason::Shutdown => "shutdown",
            EndReason::TokenExpired => "token_expired",
            EndReason::SessionRevoked => "session_revoked",
        }
    }

    fn from_closed(closed: Closed) -> Self {
        match closed {
            Closed::SlowConsumer => EndReason::SlowConsumer,
            Closed::SessionRevoked => EndReason::SessionRevoked,
            Closed::Shutdown => EndReason::Shutdown,
        }
    }
}

pub struct LiveConnection {
    core: Arc<PushCore>,
    id: ConnectionId,
    mailbox: Arc<Mailbox>,
    token_expires: tokio::time::Instant,
    catch_up: Option<BoxFuture<'static, CatchUp>>,
    pending: VecDeque<Outgoing>,
    /// The incarnation of the stream the client is in, and the highest sequence it has (sent, or
    /// covered by the catch-up); a stored event at or below it is a duplicate.
    epoch: Option<Epoch>,
    floor: u64,
    ended: Option<EndReason>,
}

impl LiveConnection {
    pub(crate) fn new(core: Arc<PushCore>, registration: Registration, opening: Opening) -> Self {
        let catch_up = Box::pin(catch_up(core.clone(), opening.user, opening.resume));
        Self {
            core,
            id: registration.id,
            mailbox: registration.mailbox,
            token_expires: opening.token_expires,
            catch_up: Some(catch_up),
            pending: VecDeque::new(),
            epoch: None,
            floor: 0,
            ended: None,
        }
    }

    /// Why the connection ended, once [`next`](Self::next) has returned `None`; before that, what
    /// ending it now would be (the client left).
    pub fn end_reason(&self) -> EndReason {
        self.ended.unwrap_or(match self.mailbox.closed() {
            // Closed by the hub, noticed only when the transport gave up.
            Some(closed) => EndReason::from_closed(closed),
            None => EndReason::ClientClosed,
        })
    }

    fn end(&mut self, reason: EndReason) {
        self.ended = Some(reason);
    }

    fn place(&mut self, position: Option<Cursor>) {
        if let Some(position) = position {
            self.epoch = Some(position.epoch);
            self.floor = position.seq;
        }
    }

    /// The next frame to send; `None` once the connection has ended ([`end_reason`] says why).
    /// Cancel-safe: dropping the future before it completes loses no frame.
    ///
    /// [`end_reason`]: Self::end_reason
    pub async fn next(&mut self) -> Option<Outgoing> {
        loop {
            if self.ended.is_some() {
                return None;
            }
            if let Some(outgoing) = self.pending.pop_front() {
                return Some(outgoing);
            }
            // Polled in place, so a caller that drops this future (a `select!`) loses nothing.
            if let Some(catch_up) = self.catch_up.as_mut() {
                tokio::select! {
                    biased;
                    closed = self.mailbox.close_signal() => self.end(EndReason::from_closed(closed)),
                    _ = tokio::time::sleep_until(self.token_expires) => self.end(EndReason::TokenExpired),
                    caught_up = catch_up => {
                        self.catch_up = None;
                        self.pending.extend(caught_up.frames);
                        self.place(caught_up.position);
                    }
                }
                continue;
            }
            tokio::select! {
                biased;
                _ = tokio::time::sleep_until(self.token_expires) => self.end(EndReason::TokenExpired),
                received = self.mailbox.recv() => match received {
                    Received::Closed(closed) => self.end(EndReason::from_closed(closed)),
                    Received::Frame(frame) => {
                        match (frame.kind, frame.cursor) {
                            (FrameKind::Domain(_), Some(cursor)) => {
                                let placed = self.epoch.get_or_insert(cursor.epoch);
                                // An event of an earlier incarnation still queued, or one the
                                // catch-up (or an earlier frame) covered.
                                if *placed != cursor.epoch || cursor.seq <= self.floor {
                                    continue;
                                }
                                self.floor = cursor.seq;
                            }
                            // The stream was created anew: the client starts over at its head.
                            (FrameKind::Resync, position) => self.place(position),
                            _ => {}
                        }
                        return Some(Outgoing { frame, replayed: false });
                    }
                },
            }
        }
    }
}

impl Drop for LiveConnection {
    fn drop(&mut self) {
        self.core.hub.unregister(self.id);
    }
}
