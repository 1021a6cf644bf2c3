//! All SQL lives here, one module per table group. Every function is one timed operation
//! ([`crate::db::timed`]) and takes any executor, so services compose them inside a transaction.

pub mod bots;
pub mod chats;
pub mod edits;
pub mod files;
pub mod invalidations;
pub mod invites;
pub mod members;
pub mod messages;
pub mod outbox;
pub mod pins;
pub mod reactions;
pub mod search;
pub mod sends;
pub mod sessions;
pub mod statuses;
pub mod threads;
pub mod users;
pub mod webhook_deliveries;
pub mod webhooks;
