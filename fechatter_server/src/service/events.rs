//! Writing domain events into the outbox, inside the transaction of the change they describe.

use fechatter_events::{ChatId, Envelope, UserId, WorkspaceId};
use sqlx::{PgExecutor, Postgres, Transaction};

use crate::db;
use crate::deps::Deps;
use crate::error::AppError;
use crate::repo;

/// An event to record: the typed [`fechatter_events::Event`] (its kind and payload together) and
/// where it goes.
pub struct Event {
    pub workspace_id: WorkspaceId,
    pub chat_id: Option<ChatId>,
    pub actor_id: Option<UserId>,
    /// Who may see the event, read in the same transaction as the change.
    pub recipients: Vec<UserId>,
    pub event: fechatter_events::Event,
}

pub async fn record(db: impl PgExecutor<'_>, event: Event) -> Result<Envelope, AppError> {
    let envelope = envelope(event)?;
    repo::outbox::insert(db, &envelope).await?;
    Ok(envelope)
}

/// The envelope [`record`] writes, for a statement that writes it itself (`repo::sends`).
pub fn envelope(event: Event) -> Result<Envelope, AppError> {
    Envelope::new(
        event.workspace_id,
        event.chat_id,
        event.actor_id,
        event.recipients,
        &event.event,
    )
    .map_err(AppError::internal)
}

/// Commits a transaction that recorded events and wakes this instance's relay to publish them.
pub async fn commit(deps: &Deps, tx: Transaction<'static, Postgres>) -> Result<(), AppError> {
    db::commit(tx).await?;
    deps.relay_waker().committed();
    Ok(())
}

/// Commits a transaction that changed what `chat`'s message pages show (messages, their
/// reactions), and drops this instance's cached pages of it at once, so the writer's next read
/// shows the change; other instances drop theirs when the event reaches them.
pub async fn commit_page_change(
    deps: &Deps,
    tx: Transaction<'static, Postgres>,
    chat: ChatId,
) -> Result<(), AppError> {
    db::commit(tx).await?;
    page_change_committed(deps, chat);
    Ok(())
}

/// What [`commit_page_change`] does after its commit, for a single statement that recorded its
/// event and committed on its own (autocommit).
pub fn page_change_committed(deps: &Deps, chat: ChatId) {
    deps.relay_waker().committed();
    deps.caches().pages.changed(chat);
}
