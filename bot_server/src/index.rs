//! Applying message events to the search index.

use std::time::Instant;

use fechatter_events::payload::{MessageDeleted, MessagePayload};
use fechatter_events::{Envelope, EventId};
use fechatter_search::text::search_text;
use tracing::instrument;

use crate::db::is_foreign_key_violation;
use crate::embeddings::Embedding;
use crate::handling::HandleError;
use crate::observability::metrics::{IndexMetrics, IndexResult};
use crate::repo;
use crate::repo::documents::{Applied, Document};
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

/// Like [`outcome`] for a write that also recorded its event: a redelivery counts as a duplicate.
/// A write refused for a vanished message recorded nothing (one statement), so the event is
/// recorded here, as it would have been after a separate write.
async fn outcome_once(
    state: &AppState,
    event: EventId,
    applied: Result<Applied, sqlx::Error>,
    done: IndexResult,
    started: Instant,
) -> Result<(), HandleError> {
    let written = match applied {
        Ok(Applied::Duplicate) => {
            IndexMetrics::duplicate();
            return Ok(());
        }
        Ok(applied) => Ok(applied == Applied::Written),
        Err(err) => Err(err),
    };
    let gone = matches!(&written, Err(err) if is_foreign_key_violation(err));
    outcome(written, done, started)?;
    if gone {
        repo::processed::insert(state.pool(), event).await?;
    }
    Ok(())
}

fn document<'a>(
    envelope: &Envelope,
    message: &'a MessagePayload,
    text: &'a str,
    embedding: Option<&'a Embedding>,
) -> Document<'a> {
    Document {
        message_id: message.id,
        chat_id: message.chat_id,
        workspace_id: envelope.workspace_id,
        sender_id: message.sender_id,
        sender_is_bot: message.sender_is_bot,
        content: &message.content,
        search_text: text,
        created_at: message.created_at,
        version: message.edited_at.unwrap_or(message.created_at),
        embedding: embedding.map(|e| (e.vector.as_slice(), e.model.as_str())),
    }
}

/// Stores a created or edited message, with its embedding, unless a newer version is stored; the
/// event is recorded by the same statement (only when it succeeds), and a redelivery is
/// recognised there.
#[instrument(skip_all, fields(message = %message.id))]
pub async fn message_once(
    state: &AppState,
    envelope: &Envelope,
    message: &MessagePayload,
) -> Result<(), HandleError> {
    let started = Instant::now();
    let text = search_text(&message.content);
    let embedding = state.embeddings().embed(&message.content).await;
    let applied = repo::documents::upsert_once(
        state.pool(),
        envelope.id,
        document(envelope, message, &text, embedding.as_ref()),
    )
    .await;
    outcome_once(state, envelope.id, applied, IndexResult::Indexed, started).await
}

/// Replaces a deleted message by a tombstone, recording the event in the same statement.
#[instrument(skip_all, fields(message = %deleted.id))]
pub async fn deleted(
    state: &AppState,
    envelope: &Envelope,
    deleted: &MessageDeleted,
) -> Result<(), HandleError> {
    let started = Instant::now();
    let applied = repo::documents::tombstone_once(
        state.pool(),
        envelope.id,
        deleted.id,
        deleted.chat_id,
        envelope.workspace_id,
        envelope.occurred_at,
    )
    .await;
    outcome_once(state, envelope.id, applied, IndexResult::Deleted, started).await
}
