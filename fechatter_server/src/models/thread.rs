//! Threads: a root message and the replies whose reply chain leads to it.

use chrono::{DateTime, Utc};
use fechatter_events::{ChatId, MessageId};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use utoipa::ToSchema;

use super::Message;

/// A thread's live replies as `message_threads` keeps them.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct ThreadSummary {
    pub root_id: MessageId,
    pub chat_id: ChatId,
    pub reply_count: i64,
    pub last_reply_id: MessageId,
    pub last_reply_at: DateTime<Utc>,
}

/// A page of a thread: its root, counts, the caller's follow state and replies, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Thread {
    pub chat_id: ChatId,
    pub root_id: MessageId,
    /// The root message; `null` when it was deleted (its replies stay).
    pub root: Option<Message>,
    pub reply_count: i64,
    pub last_reply_at: Option<DateTime<Utc>>,
    /// Whether the caller follows the thread (they wrote in it or were mentioned in it).
    pub following: bool,
    /// Replies from others the caller has not marked read (0 when not following).
    pub unread_count: i64,
    /// Replies, newest first.
    pub items: Vec<Message>,
    pub next_before: Option<i64>,
    pub has_more: bool,
}

#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct FollowedThreadRow {
    pub root_id: MessageId,
    pub chat_id: ChatId,
    pub reply_count: i64,
    pub last_reply_id: MessageId,
    pub last_reply_at: DateTime<Utc>,
    pub last_read_reply_id: Option<MessageId>,
    pub unread_count: i64,
}

/// A thread the caller follows, with their unread count.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FollowedThread {
    pub chat_id: ChatId,
    pub root_id: MessageId,
    /// The root message; `null` when it was deleted.
    pub root: Option<Message>,
    pub reply_count: i64,
    /// The latest reply's id: a page's `next_before`.
    pub last_reply_id: MessageId,
    pub last_reply_at: DateTime<Utc>,
    pub last_read_reply_id: Option<MessageId>,
    /// Replies from others after `last_read_reply_id`.
    pub unread_count: i64,
}

/// Followed threads, the latest reply first.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FollowedThreads {
    pub items: Vec<FollowedThread>,
    pub next_before: Option<i64>,
    pub has_more: bool,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkThreadRead {
    /// A reply of the thread: it and every earlier reply count as read.
    pub message_id: MessageId,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ThreadReadState {
    pub chat_id: ChatId,
    pub root_id: MessageId,
    pub last_read_reply_id: Option<MessageId>,
    pub unread_count: i64,
}
