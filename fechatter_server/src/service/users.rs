//! The caller's profile and the workspace directory.

use std::sync::Arc;

use fechatter_events::UserId;
use tracing::instrument;

use crate::auth::CurrentUser;
use crate::deps::Deps;
use crate::error::AppError;
use crate::models::user::{DirectoryUser, Me};
use crate::models::{Page, PageRequest, User};
use crate::repo;

/// A user by id (cached).
pub async fn find(deps: &Deps, id: UserId) -> Result<Option<Arc<User>>, AppError> {
    Ok(deps.caches().user(deps.pool(), id).await?)
}

/// The caller's own user; a token for a user that no longer exists is not valid.
pub async fn current(deps: &Deps, caller: &CurrentUser) -> Result<Arc<User>, AppError> {
    find(deps, caller.id)
        .await?
        .filter(|user| user.workspace_id == caller.workspace_id)
        .ok_or(AppError::SessionRevoked)
}

#[instrument(skip_all, fields(user = %caller.id))]
pub async fn me(deps: &Deps, caller: &CurrentUser) -> Result<Me, AppError> {
    let user = current(deps, caller).await?;
    let workspace_name = repo::users::workspace_name(deps.pool(), user.workspace_id)
        .await?
        .unwrap_or_default();
    let status = repo::statuses::of_users(deps.pool(), &[user.id])
        .await?
        .pop()
        .map(|(_, status)| status);
    Ok(Me {
        user: User::clone(&user),
        workspace_name,
        status,
    })
}

#[instrument(skip_all, fields(user = %caller.id))]
pub async fn directory(
    deps: &Deps,
    caller: &CurrentUser,
    page: PageRequest,
) -> Result<Page<DirectoryUser>, AppError> {
    let rows = repo::users::directory(deps.pool(), caller.workspace_id, page).await?;
    let page = Page::from_rows(rows, page, |user| user.id.0);
    let ids: Vec<UserId> = page.items.iter().map(|user| user.id).collect();
    let mut statuses: std::collections::HashMap<UserId, _> =
        repo::statuses::of_users(deps.pool(), &ids)
            .await?
            .into_iter()
            .collect();
    Ok(page.map(|user| DirectoryUser {
        status: statuses.remove(&user.id),
        user,
    }))
}
