use std::collections::HashMap;

use chrono::{DateTime, Utc};
use fechatter_events::{ChatId, ChatType, MessageId, UserId, WorkspaceId};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use utoipa::ToSchema;

use super::Role;

/// A chat as one member sees it, with that member's role and unread state.
#[derive(Debug, Clone, PartialEq, Serialize, FromRow, ToSchema)]
pub struct Chat {
    pub id: ChatId,
    pub workspace_id: WorkspaceId,
    pub chat_type: ChatType,
    pub name: Option<String>,
    pub description: Option<String>,
    pub owner_id: UserId,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The caller's role in the chat.
    pub role: Role,
    pub member_count: i64,
    pub last_read_message_id: Option<MessageId>,
    /// Messages from others after the caller's last read message, deleted ones excluded.
    pub unread_count: i64,
    /// Those of the unread messages that mention the caller.
    pub mention_count: i64,
    /// Live thread replies in the chat.
    pub reply_count: i64,
    /// When the latest thread reply in the chat was sent.
    pub last_reply_at: Option<DateTime<Utc>>,
    /// Replies from others the caller has not read in the threads they follow in this chat.
    pub thread_unread_count: i64,
}

/// A public channel as the workspace directory of channels shows it, joined or not.
#[derive(Debug, Clone, PartialEq, Serialize, FromRow, ToSchema)]
pub struct PublicChannel {
    pub id: ChatId,
    pub name: Option<String>,
    pub description: Option<String>,
    pub owner_id: UserId,
    pub created_at: DateTime<Utc>,
    pub member_count: i64,
    /// Whether the caller is a member.
    pub joined: bool,
}

/// The bare chat row.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct ChatRow {
    pub id: ChatId,
    pub workspace_id: WorkspaceId,
    pub chat_type: ChatType,
    pub name: Option<String>,
    pub description: Option<String>,
    pub owner_id: UserId,
    pub created_at: DateTime<Utc>,
}

/// What authorization needs to know about a chat: cached, invalidated on every membership change.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatAccess {
    pub id: ChatId,
    pub workspace_id: WorkspaceId,
    pub chat_type: ChatType,
    pub members: HashMap<UserId, Role>,
}

impl ChatAccess {
    pub fn role_of(&self, user: UserId) -> Option<Role> {
        self.members.get(&user).copied()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, FromRow, ToSchema)]
pub struct Member {
    pub user_id: UserId,
    pub fullname: String,
    pub handle: String,
    pub is_bot: bool,
    pub role: Role,
    pub joined_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateChat {
    pub chat_type: ChatType,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// The other members; the creator is added as owner. A direct chat names exactly one. At most
    /// `FECHATTER_MAX_CHAT_MEMBERS` (1000 by default) entries; more is a 422
    /// `member_limit_reached`.
    #[serde(default)]
    #[schema(max_items = 1000)]
    pub members: Vec<UserId>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateChat {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddMember {
    pub user_id: UserId,
    /// `member` (default) or `admin`; only the owner may add admins.
    #[serde(default)]
    pub role: Option<Role>,
}
