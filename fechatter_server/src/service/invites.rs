//! Workspace invites: codes that let someone sign up into an existing workspace.

use chrono::{Duration as TimeDelta, Utc};
use tracing::instrument;

use crate::auth::{CurrentUser, secrets};
use crate::deps::Deps;
use crate::error::AppError;
use crate::models::Role;
use crate::models::auth::{Invite, InviteRequest};
use crate::repo;
use crate::service::users;

#[instrument(skip_all, fields(user = %caller.id))]
pub async fn create(
    deps: &Deps,
    caller: &CurrentUser,
    input: InviteRequest,
) -> Result<Invite, AppError> {
    let user = users::current(deps, caller).await?;
    if user.workspace_role < Role::Admin {
        return Err(AppError::Forbidden(
            "only the workspace owner or an admin may invite",
        ));
    }
    let max_uses = input.max_uses.unwrap_or(1);
    let hours = input.expires_in_hours.unwrap_or(7 * 24);
    if !(1..=1000).contains(&max_uses) || !(1..=30 * 24).contains(&hours) {
        return Err(AppError::invalid(
            "invalid_invite",
            "max_uses must be 1 to 1000 and expires_in_hours 1 to 720",
        ));
    }
    let code = secrets::generate(16);
    let expires_at = Utc::now() + TimeDelta::hours(hours);
    repo::invites::insert(
        deps.pool(),
        user.workspace_id,
        &secrets::hash(&code),
        user.id,
        max_uses,
        expires_at,
    )
    .await?;
    Ok(Invite {
        code,
        workspace_id: user.workspace_id,
        max_uses,
        expires_at,
    })
}
