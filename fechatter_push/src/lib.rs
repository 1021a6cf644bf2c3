//! The live-push core shared by notify_server's SSE and fechatter_server's WebSocket (see
//! `docs/design/events.md`, "Live delivery").
//!
//! One process runs one [`PushCore`]: one ordered reader of the event log ([`log`]), the hub of
//! its connections with a bounded mailbox each, routing by recipients, caps per instance and per
//! user, a ring of recent events for replays ([`ring`]), catch-up from a client's [`Cursor`]
//! ([`replay`]), revoked sessions, and optionally cluster-wide presence ([`presence`]). The
//! transports only turn [`Frame`]s into SSE events or WebSocket frames and record their own
//! metrics through [`PushMetrics`].

pub mod connection;
pub mod core;
pub mod cursor;
pub mod frame;
pub mod hub;
pub mod log;
pub mod metrics;
pub mod observer;
pub mod presence;
pub mod replay;
pub mod ring;
pub mod route;
mod run;
pub mod startup;

#[cfg(test)]
mod testing;

pub use connection::{EndReason, LiveConnection, Opening};
pub use core::{PushCore, PushSettings, Refused, ReplayLimits};
pub use cursor::{Cursor, Epoch, Resume};
pub use frame::{Frame, FrameKind, Outgoing};
pub use hub::HubLimits;
pub use metrics::{LogError, PushMetrics, Refusal, ReplayOutcome};
pub use observer::EventObserver;
pub use presence::PresenceSettings;
