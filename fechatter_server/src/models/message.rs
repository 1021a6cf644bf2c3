use chrono::{DateTime, Utc};
use fechatter_events::{ChatId, FileId, MessageId, UserId};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use utoipa::ToSchema;

use super::file::FileInfo;
use super::thread::ThreadSummary;

#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct MessageRow {
    pub id: MessageId,
    pub chat_id: ChatId,
    pub sender_id: UserId,
    pub content: String,
    pub reply_to: Option<MessageId>,
    pub thread_root_id: Option<MessageId>,
    pub integration: Option<String>,
    pub created_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// A message as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Message {
    pub id: MessageId,
    pub chat_id: ChatId,
    pub sender_id: UserId,
    pub content: String,
    pub reply_to: Option<MessageId>,
    /// The root of the thread this message is a reply in (`null` for a message that is no reply).
    pub thread_root_id: Option<MessageId>,
    /// Live replies in this message's thread when it is a thread root (0 otherwise).
    pub reply_count: i64,
    /// When the latest of those replies was sent.
    pub last_reply_at: Option<DateTime<Utc>>,
    /// The integration that posted the message through an incoming webhook, in the name of the
    /// webhook's creator (`sender_id`); `null` for messages people and bots sent.
    pub integration: Option<String>,
    pub mentions: Vec<UserId>,
    pub reactions: Vec<ReactionCount>,
    /// The files the message references, in the order given.
    pub files: Vec<FileInfo>,
    pub created_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
}

impl Message {
    pub fn from_row(row: MessageRow, mentions: Vec<UserId>, reactions: Vec<ReactionCount>) -> Self {
        Self {
            id: row.id,
            chat_id: row.chat_id,
            sender_id: row.sender_id,
            content: row.content,
            reply_to: row.reply_to,
            thread_root_id: row.thread_root_id,
            reply_count: 0,
            last_reply_at: None,
            integration: row.integration,
            mentions,
            reactions,
            files: Vec::new(),
            created_at: row.created_at,
            edited_at: row.edited_at,
        }
    }

    pub fn with_thread(mut self, summary: Option<&ThreadSummary>) -> Self {
        if let Some(summary) = summary {
            self.reply_count = summary.reply_count;
            self.last_reply_at = Some(summary.last_reply_at);
        }
        self
    }

    pub fn with_files(mut self, files: Vec<FileInfo>) -> Self {
        self.files = files;
        self
    }
}

/// One emoji on one message: how many reacted with it and whether the caller did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, FromRow, ToSchema)]
pub struct ReactionCount {
    #[serde(skip)]
    pub message_id: MessageId,
    pub emoji: String,
    pub count: i64,
    pub me: bool,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendMessage {
    /// Not blank; at most `FECHATTER_MAX_MESSAGE_CHARS` characters (4000 by default).
    #[schema(min_length = 1, pattern = r"\S")]
    pub content: String,
    #[serde(default)]
    pub reply_to: Option<MessageId>,
    /// Uploaded files to reference: the sender's own, or ones already visible to them. At most
    /// `FECHATTER_MAX_FILES_PER_MESSAGE` (10 by default); more is a 422 `too_many_files`.
    #[serde(default)]
    #[schema(max_items = 10)]
    pub files: Vec<FileId>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditMessage {
    /// Not blank; at most `FECHATTER_MAX_MESSAGE_CHARS` characters (4000 by default).
    #[schema(min_length = 1, pattern = r"\S")]
    pub content: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkRead {
    pub message_id: MessageId,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ReadState {
    pub chat_id: ChatId,
    pub last_read_message_id: Option<MessageId>,
}

/// A text a message had before an edit.
#[derive(Debug, Clone, PartialEq, Serialize, FromRow, ToSchema)]
pub struct MessageVersion {
    /// Orders the versions; a page's `next_before`.
    pub id: i64,
    pub content: String,
    /// When this text was written: the message's creation or the edit before.
    pub written_at: DateTime<Utc>,
    /// When an edit replaced it.
    pub replaced_at: DateTime<Utc>,
}

/// A pinned message as stored.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct PinRow {
    #[sqlx(flatten)]
    pub message: MessageRow,
    pub pinned_by: UserId,
    pub pinned_at: DateTime<Utc>,
}

/// A pinned message: who pinned it and when.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Pin {
    pub message: Message,
    pub pinned_by: UserId,
    pub pinned_at: DateTime<Utc>,
}

/// The pins of a chat, the latest first (at most `FECHATTER_MAX_PINS_PER_CHAT`, so unpaged).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Pins {
    pub items: Vec<Pin>,
}
