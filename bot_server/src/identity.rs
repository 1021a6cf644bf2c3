//! Who the bot is in each workspace: its user, found or created once and then remembered.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use fechatter_events::{UserId, WorkspaceId};
use sqlx::PgPool;

use crate::repo;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BotIdentity {
    pub user_id: UserId,
    pub workspace_id: WorkspaceId,
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

    /// The workspace's bot; `None` when the workspace has no bot user.
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
        let identity = BotIdentity {
            user_id,
            workspace_id: workspace,
        };
        self.known
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(workspace, identity);
        Ok(Some(identity))
    }

    /// Forgets a bot whose token was refused, so the next use looks it up again.
    pub fn forget(&self, workspace: WorkspaceId) {
        self.known
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&workspace);
    }
}
