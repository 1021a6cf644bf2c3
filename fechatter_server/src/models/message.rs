use chrono::{DateTime, Utc};
use fechatter_events::{ChatId, MessageId, UserId};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;

#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct MessageRow {
    pub id: MessageId,
    pub chat_id: ChatId,
    pub sender_id: UserId,
    pub content: String,
    pub reply_to: Option<MessageId>,
    pub created_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// A message as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Message {
    pub id: MessageId,
    pub chat_id: ChatId,
    pub sender_id: UserId,
    pub content: String,
    pub reply_to: Option<MessageId>,
    pub mentions: Vec<UserId>,
    pub reactions: Vec<ReactionCount>,
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
            mentions,
            reactions,
            created_at: row.created_at,
            edited_at: row.edited_at,
        }
    }
}

/// One emoji on one message: how many reacted with it and whether the caller did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, FromRow)]
pub struct ReactionCount {
    #[serde(skip)]
    pub message_id: MessageId,
    pub emoji: String,
    pub count: i64,
    pub me: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendMessage {
    pub content: String,
    #[serde(default)]
    pub reply_to: Option<MessageId>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditMessage {
    pub content: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarkRead {
    pub message_id: MessageId,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReadState {
    pub chat_id: ChatId,
    pub last_read_message_id: Option<MessageId>,
}
