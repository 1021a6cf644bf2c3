//! HTTP handlers: thin, they extract, call into the hub or replay, and answer.

pub mod events;
pub mod online_users;
