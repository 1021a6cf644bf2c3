//! Removing one's own account: its credentials are erased and every session it has is revoked,
//! everywhere, in one transaction.

use fechatter_events::payload::RevocationReason;
use tracing::instrument;

use crate::auth::CurrentUser;
use crate::db;
use crate::deps::Deps;
use crate::error::AppError;
use crate::models::Role;
use crate::repo;
use crate::service::events;
use crate::service::sessions::{self, Owner};
use crate::service::users;

#[instrument(skip_all, fields(user = %caller.id))]
pub async fn remove(deps: &Deps, caller: &CurrentUser) -> Result<(), AppError> {
    let user = users::current(deps, caller).await?;
    // A workspace must keep its owner: there is no transfer of ownership yet.
    if user.workspace_role == Role::Owner {
        return Err(AppError::conflict(
            "workspace_owner",
            "the owner of a workspace cannot remove their account",
        ));
    }
    let owner = Owner {
        user: caller.id,
        workspace: caller.workspace_id,
    };
    let mut tx = db::begin(deps.pool()).await?;
    if !repo::users::remove(&mut *tx, caller.id).await? {
        return Err(AppError::SessionRevoked);
    }
    let revoked = repo::sessions::revoke_all(&mut *tx, caller.id).await?;
    for session in &revoked {
        sessions::announce(&mut tx, *session, owner, RevocationReason::AccountRemoved).await?;
    }
    events::commit(deps, tx).await?;
    for session in revoked {
        sessions::forget(deps, session, caller.id).await;
    }
    deps.caches().users.invalidate(&caller.id).await;
    Ok(())
}
