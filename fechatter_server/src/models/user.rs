use chrono::{DateTime, Utc};
use fechatter_events::{UserId, WorkspaceId};
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
}
