//! What the API reads and writes: request bodies, response bodies and the rows they come from.

pub mod auth;
pub mod chat;
pub mod file;
pub mod message;
pub mod page;
pub mod search;
pub mod thread;
pub mod user;
pub mod webhook;

pub use chat::{Chat, ChatAccess, Member};
pub use message::Message;
pub use page::{Page, PageQuery, PageRequest};
pub use user::{Role, User};
