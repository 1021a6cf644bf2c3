use chrono::{DateTime, Utc};
use fechatter_events::WorkspaceId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::User;

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignupRequest {
    /// 1 to 64 characters once trimmed.
    #[schema(pattern = r"\S")]
    pub fullname: String,
    pub email: String,
    #[schema(min_length = 8, max_length = 128)]
    pub password: String,
    /// The name of a new workspace; ignored when `invite_code` joins an existing one.
    #[serde(default)]
    #[schema(pattern = r"\S")]
    pub workspace: Option<String>,
    #[serde(default)]
    pub invite_code: Option<String>,
    /// What `@mentions` use; derived from the email when absent.
    #[serde(default)]
    pub handle: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SigninRequest {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

/// The answer to sign-up, sign-in and refresh.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuthTokens {
    pub access_token: String,
    pub refresh_token: String,
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    pub user: User,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteRequest {
    #[serde(default)]
    pub max_uses: Option<i32>,
    #[serde(default)]
    pub expires_in_hours: Option<i64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Invite {
    /// Shown once: only its hash is stored.
    pub code: String,
    pub workspace_id: WorkspaceId,
    pub max_uses: i32,
    pub expires_at: DateTime<Utc>,
}

/// `POST /api/bots/token`: which workspace's assistant bot wants an access token.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BotTokenRequest {
    pub workspace_id: WorkspaceId,
}

/// `POST /api/bots/provision`: the workspace's assistant bot, created if it had none.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProvisionedBot {
    pub user_id: fechatter_events::UserId,
}

/// An access token for a workspace's assistant bot (no refresh token: the bot asks again).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BotToken {
    pub access_token: String,
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    pub user_id: fechatter_events::UserId,
}
