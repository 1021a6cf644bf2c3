//! Who the bot is in each workspace: its user and the session its tokens name, found or created
//! once and then remembered (neither changes unless the session is revoked).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use fechatter_events::{UserId, WorkspaceId};
use sqlx::PgPool;
use uuid::Uuid;

use crate::repo;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BotIdentity {
    pub user_id: UserId,
    pub workspace_id: WorkspaceId,
    pub session_id: Uuid,
}

#[derive(Default)]
pub struct Bots {
    known: Mutex<HashMap<WorkspaceId, BotIdentity>>,
}

impl Bots {
    fn cached(&self, workspace: WorkspaceId) -> Option<BotIdentity> {
        self.known
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&workspace)
            .copied()
    }

    /// Makes sure the workspace has its bot user.
    pub async fn provision(
        &self,
        pool: &PgPool,
        workspace: WorkspaceId,
    ) -> Result<(), sqlx::Error> {
        if self.cached(workspace).is_none() {
            repo::bots::create(pool, workspace).await?;
        }
        Ok(())
    }

    /// The workspace's bot with an open session (opened now if it had none); `None` when the
    /// workspace has no bot user.
    pub async fn identity(
        &self,
        pool: &PgPool,
        workspace: WorkspaceId,
    ) -> Result<Option<BotIdentity>, sqlx::Error> {
        if let Some(identity) = self.cached(workspace) {
            return Ok(Some(identity));
        }
        let Some(user_id) = repo::bots::find(pool, workspace).await? else {
            return Ok(None);
        };
        let session_id = match repo::bots::open_session(pool, user_id).await? {
            Some(session) => session,
            None => {
                let session = Uuid::now_v7();
                repo::bots::insert_session(pool, user_id, session).await?;
                session
            }
        };
        let identity = BotIdentity {
            user_id,
            workspace_id: workspace,
            session_id,
        };
        self.known
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(workspace, identity);
        Ok(Some(identity))
    }

    /// Forgets a bot whose session was refused, so the next use looks it up again.
    pub fn forget(&self, workspace: WorkspaceId) {
        self.known
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&workspace);
    }
}
