//! The `data` of each event kind. Producers serialise these and consumers decode them with
//! [`crate::Envelope::payload`], so both sides share one definition.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use crate::kind::RevocationReason;
use crate::{Availability, ChatId, ChatType, FileId, MessageId, UserId, WorkspaceId};
use uuid::Uuid;

/// `user.signed_up`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserSignedUp {
    pub user_id: UserId,
    pub workspace_id: WorkspaceId,
    pub fullname: String,
    /// True when the user joined an existing workspace with an invite code.
    pub joined_by_invite: bool,
}

/// `user.status_changed`: to every user of the workspace. A cleared status is `active` without
/// text; an expiry passing sends nothing (clients know `expires_at`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserStatusChanged {
    pub user_id: UserId,
    pub availability: Availability,
    pub text: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// `chat.created`, `chat.updated`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatPayload {
    pub id: ChatId,
    pub workspace_id: WorkspaceId,
    pub chat_type: ChatType,
    pub name: Option<String>,
    pub description: Option<String>,
    pub owner_id: UserId,
    pub member_ids: Vec<UserId>,
    pub created_at: DateTime<Utc>,
}

/// `chat.deleted`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatDeleted {
    pub id: ChatId,
    pub chat_type: ChatType,
}

/// `chat.member_added`, `chat.member_removed`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberChanged {
    pub chat_id: ChatId,
    pub chat_type: ChatType,
    pub user_id: UserId,
    pub role: String,
}

/// `message.created`, `message.updated`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessagePayload {
    pub id: MessageId,
    pub chat_id: ChatId,
    pub chat_type: ChatType,
    pub sender_id: UserId,
    /// True when the sender is an assistant bot, so bots never answer bots.
    #[serde(default)]
    pub sender_is_bot: bool,
    pub content: String,
    pub reply_to: Option<MessageId>,
    pub mentions: Vec<UserId>,
    /// Those of `mentions` in do-not-disturb when the message was sent or edited: their clients
    /// show the mention without alerting.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub silenced_mentions: Vec<UserId>,
    pub files: Vec<FileId>,
    pub created_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
}

/// `message.deleted`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageDeleted {
    pub id: MessageId,
    pub chat_id: ChatId,
}

/// `message.reaction_added`, `message.reaction_removed`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReactionChanged {
    pub message_id: MessageId,
    pub chat_id: ChatId,
    pub user_id: UserId,
    pub emoji: String,
}

/// `message.pinned`, `message.unpinned`. A deleted message loses its pin without an unpin event:
/// `message.deleted` says it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PinChanged {
    pub message_id: MessageId,
    pub chat_id: ChatId,
    /// Who pinned or unpinned it.
    pub user_id: UserId,
    /// When it was pinned (`message.pinned` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinned_at: Option<DateTime<Utc>>,
}

/// `chat.read`: delivered only to the reader's own sessions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatRead {
    pub chat_id: ChatId,
    pub user_id: UserId,
    pub last_read_message_id: MessageId,
}

/// `thread.updated`: to the thread's followers who are members of the chat, after a reply was
/// added (`reply_id`, `sender_id`, `mentions` of the reply) or deleted. Counts are the thread's
/// live replies after the change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThreadUpdated {
    pub chat_id: ChatId,
    pub root_id: MessageId,
    /// The reply added, or the one deleted.
    pub reply_id: MessageId,
    pub sender_id: UserId,
    pub deleted: bool,
    pub reply_count: i64,
    pub last_reply_id: Option<MessageId>,
    pub last_reply_at: Option<DateTime<Utc>>,
    /// Users mentioned in the added reply (each now follows the thread).
    #[serde(default)]
    pub mentions: Vec<UserId>,
}

/// `thread.read`: delivered only to the reader's own sessions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThreadRead {
    pub chat_id: ChatId,
    pub root_id: MessageId,
    pub user_id: UserId,
    pub last_read_reply_id: MessageId,
}

/// `file.uploaded`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileUploaded {
    pub file_id: FileId,
    pub uploader_id: UserId,
    pub size_bytes: u64,
    pub content_type: String,
}

/// `session.revoked`: sent to the user only. Every service that holds live connections closes
/// those of `session_id` and refuses the session's access tokens until they expire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionRevoked {
    /// The `sid` claim of the session's access tokens.
    pub session_id: Uuid,
    pub user_id: UserId,
    pub reason: RevocationReason,
}

/// The ephemeral `typing` signal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Typing {
    pub workspace_id: WorkspaceId,
    pub chat_id: ChatId,
    pub user_id: UserId,
    /// The chat's other members, so notify routes without querying Postgres.
    pub recipients: Vec<UserId>,
    pub occurred_at: DateTime<Utc>,
}
