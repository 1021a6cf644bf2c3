use chrono::{DateTime, Utc};
use fechatter_events::{Availability, UserId, WorkspaceId};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use utoipa::ToSchema;

/// A role in a workspace or a chat; ordered by power, so `role >= Role::Admin` reads naturally.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    sqlx::Type,
    ToSchema,
)]
#[serde(rename_all = "lowercase")]
#[sqlx(type_name = "text", rename_all = "lowercase")]
pub enum Role {
    Member,
    Admin,
    Owner,
}

impl Role {
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Member => "member",
            Role::Admin => "admin",
            Role::Owner => "owner",
        }
    }
}

impl From<Role> for fechatter_auth::WorkspaceRole {
    fn from(role: Role) -> Self {
        match role {
            Role::Member => fechatter_auth::WorkspaceRole::Member,
            Role::Admin => fechatter_auth::WorkspaceRole::Admin,
            Role::Owner => fechatter_auth::WorkspaceRole::Owner,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, FromRow, ToSchema)]
pub struct User {
    pub id: UserId,
    pub workspace_id: WorkspaceId,
    pub fullname: String,
    pub handle: String,
    /// Bots have none.
    pub email: Option<String>,
    pub is_bot: bool,
    pub workspace_role: Role,
    pub created_at: DateTime<Utc>,
}

/// `GET /api/users/me`
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Me {
    #[serde(flatten)]
    pub user: User,
    pub workspace_name: String,
    /// The caller's status; null when none is set or it expired.
    pub status: Option<UserStatus>,
}

/// A user of the directory with their status.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DirectoryUser {
    #[serde(flatten)]
    pub user: User,
    /// Null when none is set or it expired.
    pub status: Option<UserStatus>,
}

/// Away or do-not-disturb and/or a custom text, until `expires_at` (forever when null).
#[derive(Debug, Clone, PartialEq, Serialize, FromRow, ToSchema)]
pub struct UserStatus {
    pub availability: Availability,
    pub text: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// `PUT /api/users/me/status`
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetStatus {
    /// `dnd` silences mention alerts (`silenced_mentions` of message events).
    pub availability: Availability,
    /// At most 100 characters; blank means none.
    #[serde(default)]
    #[schema(max_length = 100)]
    pub text: Option<String>,
    /// In the future; null keeps the status until it is changed.
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
}
