//! The domain: each function is one use case, called by an HTTP handler today and by the WebSocket
//! commands later. Authorization, validation, the transaction and the event all happen here.

pub mod access;
pub mod accounts;
pub mod assistant;
pub mod auth;
pub mod bots;
pub mod chats;
pub mod events;
pub mod file_sweep;
pub mod files;
pub mod handles;
pub mod history;
pub mod idempotency;
pub mod invites;
pub mod listing;
pub mod members;
pub mod messages;
pub mod pins;
pub mod quota;
pub mod reactions;
pub mod rules;
pub mod search;
pub mod search_filters;
pub mod sessions;
pub mod signup;
pub mod statuses;
pub mod threads;
pub mod typing;
pub mod users;
pub mod webhooks;
