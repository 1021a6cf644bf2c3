//! How many answers are composed at once: in all, and for one workspace.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use fechatter_events::WorkspaceId;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub struct AnswerSlots {
    all: Arc<Semaphore>,
    per_workspace: usize,
    workspaces: Mutex<HashMap<WorkspaceId, Arc<Semaphore>>>,
}

/// Held while an answer is composed and posted.
pub struct AnswerSlot<'a> {
    slots: &'a AnswerSlots,
    workspace: WorkspaceId,
    _workspace_permit: Option<OwnedSemaphorePermit>,
    _permit: Option<OwnedSemaphorePermit>,
}

impl AnswerSlots {
    pub fn new(all: usize, per_workspace: usize) -> Self {
        Self {
            all: Arc::new(Semaphore::new(all.max(1))),
            per_workspace: per_workspace.max(1),
            workspaces: Mutex::new(HashMap::new()),
        }
    }

    fn workspace(&self, workspace: WorkspaceId) -> Arc<Semaphore> {
        self.workspaces
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(workspace)
            .or_insert_with(|| Arc::new(Semaphore::new(self.per_workspace)))
            .clone()
    }

    /// Waits for the workspace's turn, then for a free slot: a workspace with many questions
    /// waits on its own semaphore and leaves the shared slots to the others.
    pub async fn acquire(&self, workspace: WorkspaceId) -> AnswerSlot<'_> {
        let workspace_permit = self.workspace(workspace).acquire_owned().await.ok();
        let permit = self.all.clone().acquire_owned().await.ok();
        AnswerSlot {
            slots: self,
            workspace,
            _workspace_permit: workspace_permit,
            _permit: permit,
        }
    }
}

impl Drop for AnswerSlot<'_> {
    fn drop(&mut self) {
        // Forget a workspace nobody waits for, so the map follows the active workspaces only.
        let mut workspaces = self
            .slots
            .workspaces
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // The map and this slot's own permit (released right after) hold the semaphore; anyone
        // else holding or waiting for it holds another reference.
        if let Some(semaphore) = workspaces.get(&self.workspace)
            && Arc::strong_count(semaphore) <= 2
        {
            workspaces.remove(&self.workspace);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn one_workspace_cannot_take_every_slot() {
        let slots = AnswerSlots::new(2, 1);
        let busy = slots.acquire(WorkspaceId(1)).await;
        // The same workspace waits for its turn…
        let again = tokio::time::timeout(Duration::from_millis(100), slots.acquire(WorkspaceId(1)));
        assert!(again.await.is_err());
        // …while another one gets the free slot at once.
        let other = tokio::time::timeout(Duration::from_millis(100), slots.acquire(WorkspaceId(2)));
        assert!(other.await.is_ok());
        drop(busy);
        let turn = tokio::time::timeout(Duration::from_secs(1), slots.acquire(WorkspaceId(1)));
        assert!(turn.await.is_ok());
    }
}
