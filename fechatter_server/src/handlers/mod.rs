//! HTTP handlers: each parses its input, calls one service function and shapes the answer.

pub mod auth;
pub mod bots;
pub mod chats;
pub mod files;
pub mod messages;
pub mod pins;
pub mod search;
pub mod threads;
pub mod users;
pub mod webhooks;
