//! Reactions and read markers: the small per-member changes to a chat.

use fechatter_events::Event as DomainEvent;
use fechatter_events::payload::{ChatRead, ReactionChanged};
use fechatter_events::{ChatId, MessageId};
use tracing::instrument;

use crate::auth::CurrentUser;
use crate::db;
use crate::deps::Deps;
use crate::error::AppError;
use crate::models::message::ReadState;
use crate::repo;
use crate::service::access;
use crate::service::access::{ids, role_in};
use crate::service::events::{self, Event};

const MAX_EMOJI_CHARS: usize = 32;

/// An emoji is a short token without spaces or control characters: a Unicode emoji or a
/// `:shortcode:`.
fn emoji(text: &str) -> Result<(), AppError> {
    let chars = text.chars().count();
    if chars == 0
        || chars > MAX_EMOJI_CHARS
        || text.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(AppError::invalid(
            "invalid_emoji",
            format!("an emoji is 1 to {MAX_EMOJI_CHARS} characters without spaces"),
        ));
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reaction {
    Add,
    Remove,
}

/// 422 `too_many_reactions` when `emoji` would be one distinct emoji more than a message may carry.
async fn room_for(
    tx: &mut sqlx::PgConnection,
    deps: &Deps,
    message_id: MessageId,
    emoji: &str,
) -> Result<(), AppError> {
    let max = deps.config().limits.max_reactions_per_message;
    let (distinct, present) = repo::reactions::distinct(&mut *tx, message_id, emoji).await?;
    if !present && distinct >= max {
        return Err(AppError::invalid(
            "too_many_reactions",
            format!("a message carries at most {max} distinct reactions; react with one it has"),
        ));
    }
    Ok(())
}

/// Adds or removes the caller's reaction; idempotent, and only an actual change writes an event.
/// Adding locks the message, so concurrent reactions cannot pass the distinct-emoji limit together.
#[instrument(skip_all, fields(user = %caller.id, chat = %chat_id, message = %message_id))]
pub async fn react(
    deps: &Deps,
    caller: &CurrentUser,
    chat_id: ChatId,
    message_id: MessageId,
    text: &str,
    change: Reaction,
) -> Result<(), AppError> {
    emoji(text)?;
    access::membership(deps, caller, chat_id).await?;
    let mut tx = db::begin(deps.pool()).await?;
    let members = repo::members::roles(&mut *tx, chat_id).await?;
    role_in(&members, caller.id).ok_or(AppError::NotFound("chat"))?;
    let message = match change {
        Reaction::Add => repo::messages::lock_live(&mut *tx, chat_id, message_id).await?,
        Reaction::Remove => repo::messages::find_live(&mut *tx, chat_id, message_id).await?,
    };
    message.ok_or(AppError::NotFound("message"))?;
    let (changed, kind): (bool, fn(ReactionChanged) -> DomainEvent) = match change {
        Reaction::Add => {
            room_for(&mut tx, deps, message_id, text).await?;
            (
                repo::reactions::insert(&mut *tx, message_id, caller.id, text).await?,
                DomainEvent::MessageReactionAdded,
            )
        }
        Reaction::Remove => (
            repo::reactions::delete(&mut *tx, message_id, caller.id, text).await?,
            DomainEvent::MessageReactionRemoved,
        ),
    };
    if changed {
        events::record(
            &mut *tx,
            Event {
                workspace_id: caller.workspace_id,
                chat_id: Some(chat_id),
                actor_id: Some(caller.id),
                recipients: ids(&members),
                event: kind(ReactionChanged {
                    message_id,
                    chat_id,
                    user_id: caller.id,
                    emoji: text.to_owned(),
                }),
            },
        )
        .await?;
    }
    events::commit_page_change(deps, tx, chat_id).await?;
    Ok(())
}

/// Moves the caller's read marker forward to `message_id`; never backwards. `chat.read` goes to
/// the reader alone, and only when the marker moved.
#[instrument(skip_all, fields(user = %caller.id, chat = %chat_id, message = %message_id))]
pub async fn mark_read(
    deps: &Deps,
    caller: &CurrentUser,
    chat_id: ChatId,
    message_id: MessageId,
) -> Result<ReadState, AppError> {
    access::membership(deps, caller, chat_id).await?;
    let mut tx = db::begin(deps.pool()).await?;
    if !repo::messages::exists_in_chat(&mut *tx, chat_id, message_id).await? {
        return Err(AppError::invalid(
            "unknown_message",
            "message_id is not a message of this chat",
        ));
    }
    let advanced = repo::members::advance_read(&mut *tx, chat_id, caller.id, message_id).await?;
    let current = match advanced {
        Some(marker) => {
            events::record(
                &mut *tx,
                Event {
                    workspace_id: caller.workspace_id,
                    chat_id: Some(chat_id),
                    actor_id: Some(caller.id),
                    recipients: vec![caller.id],
                    event: DomainEvent::ChatRead(ChatRead {
                        chat_id,
                        user_id: caller.id,
                        last_read_message_id: marker,
                    }),
                },
            )
            .await?;
            Some(marker)
        }
        None => repo::members::last_read(&mut *tx, chat_id, caller.id).await?,
    };
    events::commit(deps, tx).await?;
    Ok(ReadState {
        chat_id,
        last_read_message_id: current,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emojis_are_short_tokens() {
        assert!(emoji("👍").is_ok());
        assert!(emoji(":tada:").is_ok());
        assert!(emoji("").is_err());
        assert!(emoji("a b").is_err());
        assert!(emoji(&"x".repeat(33)).is_err());
    }
}
