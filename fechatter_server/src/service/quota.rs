//! Upload quotas: how many bytes of uploads one user, and one workspace, may keep. The room left
//! bounds an upload while it streams in; the final check runs in the transaction that records it,
//! serialised per workspace, so concurrent uploads cannot together overrun a quota. An upload
//! refused at that point leaves a blob no row references, which the file sweep deletes.

use sqlx::PgConnection;

use crate::auth::CurrentUser;
use crate::config::FileSettings;
use crate::deps::Deps;
use crate::error::AppError;
use crate::repo;

/// Bytes an upload may still add, and which quota bounds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Room {
    pub bytes: u64,
    pub bound_by: Quota,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quota {
    User,
    Workspace,
}

fn room(settings: &FileSettings, used_by_user: i64, used_by_workspace: i64) -> Room {
    let left = |quota: u64, used: i64| quota.saturating_sub(u64::try_from(used).unwrap_or(0));
    let user = left(settings.user_quota_bytes, used_by_user);
    let workspace = left(settings.workspace_quota_bytes, used_by_workspace);
    if user <= workspace {
        Room {
            bytes: user,
            bound_by: Quota::User,
        }
    } else {
        Room {
            bytes: workspace,
            bound_by: Quota::Workspace,
        }
    }
}

/// 413 `quota_exceeded`, naming the quota.
pub fn exceeded(settings: &FileSettings, quota: Quota) -> AppError {
    let (whose, bytes) = match quota {
        Quota::User => ("your", settings.user_quota_bytes),
        Quota::Workspace => ("your workspace's", settings.workspace_quota_bytes),
    };
    AppError::QuotaExceeded(format!(
        "this upload would exceed {whose} storage quota of {bytes} bytes; delete messages with files to free space"
    ))
}

/// The room the caller has for one more upload; 413 when there is none.
pub async fn room_for(deps: &Deps, caller: &CurrentUser) -> Result<Room, AppError> {
    let (user, workspace) = repo::files::usage(deps.pool(), caller.id, caller.workspace_id).await?;
    let settings = &deps.config().files;
    let room = room(settings, user, workspace);
    if room.bytes == 0 {
        return Err(exceeded(settings, room.bound_by));
    }
    Ok(room)
}

/// Checks, under the workspace's quota lock held until `tx` ends, that `size` more bytes fit.
pub async fn reserve(
    tx: &mut PgConnection,
    deps: &Deps,
    caller: &CurrentUser,
    size: u64,
) -> Result<(), AppError> {
    repo::files::lock_quota(&mut *tx, caller.workspace_id).await?;
    let (user, workspace) = repo::files::usage(&mut *tx, caller.id, caller.workspace_id).await?;
    let settings = &deps.config().files;
    let room = room(settings, user, workspace);
    if size > room.bytes {
        return Err(exceeded(settings, room.bound_by));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(user: u64, workspace: u64) -> FileSettings {
        let mut settings = FileSettings::from(&env_config::Env::from_map(
            "FECHATTER",
            Vec::<(String, String)>::new(),
        ))
        .unwrap_or_else(|err| panic!("{err}"));
        settings.user_quota_bytes = user;
        settings.workspace_quota_bytes = workspace;
        settings
    }

    #[test]
    fn the_tighter_quota_bounds_the_room() {
        let settings = settings(1000, 5000);
        assert_eq!(
            room(&settings, 200, 4500),
            Room {
                bytes: 500,
                bound_by: Quota::Workspace
            }
        );
        assert_eq!(
            room(&settings, 900, 100),
            Room {
                bytes: 100,
                bound_by: Quota::User
            }
        );
        assert_eq!(
            room(&settings, 1200, 1200).bytes,
            0,
            "over quota is no room"
        );
    }
}
