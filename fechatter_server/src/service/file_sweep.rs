//! The periodic file sweep (`FECHATTER_FILES_SWEEP_INTERVAL_SECONDS`): forgets uploads no live
//! message has referenced for the grace period, then deletes blobs no upload has as its content
//! and temporary upload files left by uploads that never finished. Every instance sweeps (each may
//! have a store of its own); every step is safe to run concurrently with uploads and with another
//! instance's sweep. What it removes is counted in `fechatter_file_sweep_removed_total{kind}`.

use std::time::Duration;

use axum::extract::FromRef;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use tracing::instrument;

use crate::config::FileSettings;
use crate::db::Migrated;
use crate::deps::Deps;
use crate::observability::metrics::{FileMetrics, Swept};
use crate::repo;
use crate::storage::FileStore;
use crate::storage::sweep::SetAside;

/// Hashes checked against the database at once.
const BATCH: usize = 500;

#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error("file sweep: database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("file sweep: file store: {0}")]
    Store(#[from] std::io::Error),
}

/// What one run removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Removed {
    pub files: u64,
    pub blobs: u64,
    pub temp_files: u64,
}

/// Sweeps every interval until shutdown (the first run one interval after start-up).
pub async fn run<S>(state: S, shutdown: CancellationToken)
where
    Deps: FromRef<S>,
    FileStore: FromRef<S>,
    Migrated: FromRef<S>,
{
    let deps = Deps::from_ref(&state);
    let (store, migrated) = (FileStore::from_ref(&state), Migrated::from_ref(&state));
    let settings = &deps.config().files;
    let mut tick = tokio::time::interval(settings.sweep_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        if !migrated.is_set() {
            continue;
        }
        match sweep(deps.pool(), &store, settings).await {
            Ok(removed) => {
                FileMetrics::sweep_run(true);
                if removed != Removed::default() {
                    tracing::info!(?removed, "file sweep");
                }
            }
            Err(err) => {
                FileMetrics::sweep_run(false);
                tracing::warn!(error = %err, "file sweep failed; retrying at the next interval");
            }
        }
    }
}

/// One run: orphaned uploads, then unreferenced blobs, then leftover temporary files.
#[instrument(skip_all)]
pub async fn sweep(
    pool: &PgPool,
    store: &FileStore,
    settings: &FileSettings,
) -> Result<Removed, SweepError> {
    let files = repo::files::forget_orphans(pool, settings.orphan_grace).await?;
    FileMetrics::swept(Swept::File, files);
    let blobs = sweep_blobs(pool, store, settings.orphan_grace).await?;
    let temp_files = store.remove_stale_temp_files(settings.temp_max_age).await? as u64;
    FileMetrics::swept(Swept::Temp, temp_files);
    Ok(Removed {
        files,
        blobs,
        temp_files,
    })
}

/// Deletes blobs older than `grace` that no upload has as its content; how many.
async fn sweep_blobs(pool: &PgPool, store: &FileStore, grace: Duration) -> Result<u64, SweepError> {
    let mut removed = 0;
    for aside in store.left_aside().await? {
        removed += settle(pool, aside, grace).await?;
    }
    let candidates = store.blobs_older_than(grace).await?;
    for batch in candidates.chunks(BATCH) {
        let referenced = repo::files::referenced(pool, batch).await?;
        for sha256 in batch.iter().filter(|sha| !referenced.contains(sha)) {
            if let Some(aside) = store.set_aside(sha256).await? {
                removed += settle(pool, aside, grace).await?;
            }
        }
    }
    Ok(removed)
}

/// Deletes a blob set aside, unless an upload wrote it since or some upload has it as content
/// now; 1 when it was deleted.
async fn settle(pool: &PgPool, aside: SetAside, grace: Duration) -> Result<u64, SweepError> {
    let wanted = aside.is_recent(grace)
        || !repo::files::referenced(pool, std::slice::from_ref(&aside.sha256))
            .await?
            .is_empty();
    if wanted {
        aside.restore().await?;
        return Ok(0);
    }
    aside.delete().await?;
    FileMetrics::swept(Swept::Blob, 1);
    Ok(1)
}
