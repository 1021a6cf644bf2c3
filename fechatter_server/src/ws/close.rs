//! How a socket ends: the close frame's code and reason, chosen once.

use std::sync::{Arc, OnceLock};

use axum::extract::ws::close_code;
use fechatter_push::EndReason;
use tokio_util::sync::CancellationToken;

/// Why a socket is being closed: the close frame's code and reason.
pub type CloseReason = (u16, &'static str);

pub const TOO_SLOW: CloseReason = (close_code::POLICY, "too slow: frames were not being read");
pub const GOING_AWAY: CloseReason = (close_code::AWAY, "the server is shutting down");
pub const TOKEN_EXPIRED: CloseReason = (close_code::POLICY, "the access token expired");
pub const SIGNED_OUT: CloseReason = (close_code::POLICY, "the session was signed out");
/// An application code (4000–4999): the client should not reconnect with this session's tokens.
pub const SESSION_REVOKED: CloseReason = (4001, "session revoked");
pub const SILENT: CloseReason = (
    close_code::AWAY,
    "no frame or pong within the keep-alive window",
);
pub const NORMAL: CloseReason = (close_code::NORMAL, "");

/// The close frame for a socket the push core ended.
pub fn for_end(reason: EndReason) -> CloseReason {
    match reason {
        EndReason::SlowConsumer => TOO_SLOW,
        EndReason::Shutdown => GOING_AWAY,
        EndReason::TokenExpired => TOKEN_EXPIRED,
        EndReason::SessionRevoked => SESSION_REVOKED,
        EndReason::ClientClosed => NORMAL,
    }
}

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

    /// The reason to send, if the server chose to close.
    pub fn reason(&self) -> Option<CloseReason> {
        self.reason.get().copied()
    }
}
