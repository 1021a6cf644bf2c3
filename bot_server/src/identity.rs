//! Who the bot is in each workspace: its user, found (or created by fechatter_server on request)
//! once and then remembered.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use fechatter_events::{UserId, WorkspaceId};
use sqlx::PgPool;

use crate::fechatter::{FechatterClient, PostError};
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

    /// Makes sure the workspace has its bot user, asking fechatter_server (which owns `users`).
    pub async fn provision(
        &self,
        fechatter: &FechatterClient,
        workspace: WorkspaceId,
    ) -> Result<(), PostError> {
        if self.cached(workspace).is_none() {
            let user_id = fechatter.provision(workspace).await?;
            self.remember(BotIdentity {
                user_id,
                workspace_id: workspace,
            });
        }
        Ok(())
    }

    fn remember(&self, identity: BotIdentity) {
        self.known
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(identity.workspace_id, identity);
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
        self.remember(identity);
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
