//! Removing one's own account: its credentials are erased and every session it has is revoked,
//! everywhere, in one transaction.

use fechatter_events::payload::RevocationReason;
use tracing::instrument;

use crate::auth::CurrentUser;
use crate::db;
use crate::error::AppError;
use crate::models::Role;
use crate::repo;
use crate::service::events;
use crate::service::sessions::{self, Owner};
use crate::service::users;
use crate::state::AppState;

#[instrument(skip_all, fields(user = %caller.id))]
pub async fn remove(state: &AppState, caller: &CurrentUser) -> Result<(), AppError> {
    let user = users::current(state, caller).await?;
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
    let mut tx = db::begin(state.pool()).await?;
    if !repo::users::remove(&mut *tx, caller.id).await? {
        return Err(AppError::SessionRevoked);
    }
    let revoked = repo::sessions::revoke_all(&mut *tx, caller.id).await?;
    for session in &revoked {
        sessions::announce(&mut tx, *session, owner, RevocationReason::AccountRemoved).await?;
    }
    events::commit(state, tx).await?;
    for session in revoked {
        sessions::forget(state, session, caller.id).await;
    }
    state.caches().users.invalidate(&caller.id).await;
    Ok(())
}
