//! Applying message events to the search index.

use std::time::Instant;

use fechatter_events::Envelope;
use fechatter_events::payload::{MessageDeleted, MessagePayload};
use fechatter_search::text::search_text;
use tracing::instrument;

use crate::consumer::HandleError;
use crate::db::is_foreign_key_violation;
use crate::observability::metrics::{IndexMetrics, IndexResult};
use crate::repo;
use crate::repo::documents::Document;
use crate::state::AppState;

fn outcome(
    written: Result<bool, sqlx::Error>,
    done: IndexResult,
    started: Instant,
) -> Result<(), HandleError> {
    let result = match &written {
        Ok(true) => done,
        Ok(false) => IndexResult::Stale,
        // The message (or its chat) was deleted for good before its event arrived.
        Err(err) if is_foreign_key_violation(err) => IndexResult::Gone,
        Err(_) => IndexResult::Failed,
    };
    IndexMetrics::applied(result, started.elapsed());
    match written {
        Err(err) if result == IndexResult::Failed => Err(err.into()),
        _ => Ok(()),
    }
}

/// Stores a created or edited message, with its embedding, unless a newer version is stored.
#[instrument(skip_all, fields(message = %message.id))]
pub async fn message(
    state: &AppState,
    envelope: &Envelope,
    message: &MessagePayload,
) -> Result<(), HandleError> {
    let started = Instant::now();
    let text = search_text(&message.content);
    let embedding = state.embeddings().embed(&message.content).await;
    let written = repo::documents::upsert(
        state.pool(),
        Document {
            message_id: message.id,
            chat_id: message.chat_id,
            workspace_id: envelope.workspace_id,
            sender_id: message.sender_id,
            sender_is_bot: message.sender_is_bot,
            content: &message.content,
            search_text: &text,
            created_at: message.created_at,
            version: message.edited_at.unwrap_or(message.created_at),
            embedding: embedding
                .as_ref()
                .map(|e| (e.vector.as_slice(), e.model.as_str())),
        },
    )
    .await;
    outcome(written, IndexResult::Indexed, started)
}

/// Replaces a deleted message by a tombstone.
#[instrument(skip_all, fields(message = %deleted.id))]
pub async fn deleted(
    state: &AppState,
    envelope: &Envelope,
    deleted: &MessageDeleted,
) -> Result<(), HandleError> {
    let started = Instant::now();
    let written = repo::documents::tombstone(
        state.pool(),
        deleted.id,
        deleted.chat_id,
        envelope.workspace_id,
        envelope.occurred_at,
    )
    .await;
    outcome(written, IndexResult::Deleted, started)
}
