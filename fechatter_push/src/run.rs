//! Running a push core: the one reader of the event log and, where the transport announces it,
//! presence, until shutdown; then every live connection is closed.

use std::sync::{Arc, PoisonError};

use tokio_util::sync::CancellationToken;

use crate::core::PushCore;
use crate::presence::CoreParts;
use crate::{log, presence};

impl PushCore {
    /// Reads the log (and keeps presence) until `shutdown`, then closes every connection.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let local = self
            .local_presence
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let presence = local.map(|local| {
            let (core, shutdown) = (self.clone(), shutdown.clone());
            tokio::spawn(async move {
                let Some(presence) = core.presence.as_ref() else {
                    return;
                };
                let parts = CoreParts {
                    jetstream: &core.jetstream,
                    hub: &core.hub,
                    metrics: core.metrics.as_ref(),
                };
                presence::run(presence, parts, local, shutdown).await;
            })
        });
        log::run(self.clone(), shutdown.clone()).await;
        self.hub.close_all();
        if let Some(presence) = presence {
            let _ = presence.await;
        }
    }
}
