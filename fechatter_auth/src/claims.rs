//! What an access token says about its holder.

use fechatter_events::{UserId, WorkspaceId};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The caller's role in their workspace, ordered by power (`role >= WorkspaceRole::Admin`).
///
/// Carried in the token so services without a database (analytics) can gate workspace-wide views;
/// a role change reaches them when the holder's next access token is issued (at most one token
/// lifetime later).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum WorkspaceRole {
    /// Also what a token without a role claim is taken to carry: the least power.
    #[default]
    Member,
    Admin,
    Owner,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user; a string on the wire, as RFC 7519 requires of `sub`.
    #[serde(with = "user_id_as_string")]
    pub sub: UserId,
    /// The user's workspace: every access is scoped to it.
    pub ws: WorkspaceId,
    #[serde(default)]
    pub role: WorkspaceRole,
    /// The refresh-token family (sign-in session) this token came from; signing out revokes it.
    pub sid: Uuid,
    /// Unique per token.
    pub jti: Uuid,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
}

impl Claims {
    pub fn user_id(&self) -> UserId {
        self.sub
    }

    pub fn workspace_id(&self) -> WorkspaceId {
        self.ws
    }

    pub fn session_id(&self) -> Uuid {
        self.sid
    }
}

mod user_id_as_string {
    use fechatter_events::UserId;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(id: &UserId, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&id.0.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<UserId, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}
