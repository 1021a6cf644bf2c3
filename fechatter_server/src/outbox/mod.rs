//! The relay from the outbox table to JetStream (`docs/design/events.md`: nothing is lost between Postgres and
//! NATS). Writers put each event in the outbox inside the transaction of its change and, once it
//! committed, wake their instance's relay ([`RelayWaker`]; a poll covers missed wake-ups). The
//! relay publishes a batch of pending events in sequence order with `Nats-Msg-Id` = event id, then
//! awaits their JetStream acks in order, and deletes only the rows of the acked prefix.
//!
//! Delivery is at least once: if Postgres fails between an ack and the delete, the event is
//! published again; JetStream drops the copy within its duplicate window and consumers are
//! idempotent on the event id beyond it. Only one relay publishes at a time across instances (a
//! transaction-scoped advisory lock per batch), so order holds with several instances running.

mod publish;
mod relay;
mod wakeups;

pub use relay::{Relay, run};
pub use wakeups::RelayWaker;
