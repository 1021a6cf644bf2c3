//! Pinned messages: pinning and unpinning by the chat's rules ([`rules::may_pin`]), and the list.

use fechatter_events::Event as DomainEvent;
use fechatter_events::payload::PinChanged;
use fechatter_events::{ChatId, MessageId};
use tracing::instrument;

use crate::auth::CurrentUser;
use crate::db;
use crate::deps::Deps;
use crate::error::AppError;
use crate::models::message::{Pin, Pins};
use crate::repo;
use crate::service::access::{self, ids};
use crate::service::events::{self, Event};
use crate::service::{messages, rules};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinChange {
    Pin,
    Unpin,
}

/// Pins or unpins a live message of the chat; idempotent, and only an actual change writes an
/// event (to the chat's members). The chat row is locked so concurrent pins cannot pass the limit
/// together.
#[instrument(skip_all, fields(user = %caller.id, chat = %chat_id, message = %message_id))]
pub async fn change(
    deps: &Deps,
    caller: &CurrentUser,
    chat_id: ChatId,
    message_id: MessageId,
    change: PinChange,
) -> Result<(), AppError> {
    access::membership(deps, caller, chat_id).await?;
    let mut tx = db::begin(deps.pool()).await?;
    let (chat, members, role) = access::lock_as_member(&mut tx, caller, chat_id).await?;
    rules::may_pin(chat.chat_type, role)?;
    repo::messages::find_live(&mut *tx, chat_id, message_id)
        .await?
        .ok_or(AppError::NotFound("message"))?;
    // Which typed event the change is, filled in with its payload below.
    type Pinning = fn(PinChanged) -> DomainEvent;
    let changed: Option<(Pinning, _)> = match change {
        PinChange::Pin => {
            let max = deps.config().limits.max_pins_per_chat;
            let pinned_at = repo::pins::insert(&mut *tx, chat_id, message_id, caller.id).await?;
            if pinned_at.is_some() && repo::pins::count(&mut *tx, chat_id).await? > max {
                return Err(AppError::invalid(
                    "too_many_pins",
                    format!("a chat has at most {max} pinned messages; unpin one first"),
                ));
            }
            pinned_at.map(|at| (DomainEvent::MessagePinned as Pinning, Some(at)))
        }
        PinChange::Unpin => repo::pins::delete(&mut *tx, message_id)
            .await?
            .then_some((DomainEvent::MessageUnpinned as Pinning, None)),
    };
    if let Some((kind, pinned_at)) = changed {
        events::record(
            &mut *tx,
            Event {
                workspace_id: caller.workspace_id,
                chat_id: Some(chat_id),
                actor_id: Some(caller.id),
                recipients: ids(&members),
                event: kind(PinChanged {
                    message_id,
                    chat_id,
                    user_id: caller.id,
                    pinned_at,
                }),
            },
        )
        .await?;
    }
    events::commit(deps, tx).await?;
    Ok(())
}

/// The chat's pinned messages, the latest pinned first, for a member.
#[instrument(skip_all, fields(user = %caller.id, chat = %chat_id))]
pub async fn list(deps: &Deps, caller: &CurrentUser, chat_id: ChatId) -> Result<Pins, AppError> {
    access::membership(deps, caller, chat_id).await?;
    let rows = repo::pins::of_chat(deps.pool(), chat_id).await?;
    let pinned: Vec<_> = rows
        .iter()
        .map(|row| (row.pinned_by, row.pinned_at))
        .collect();
    let views = messages::with_details(
        deps,
        caller,
        rows.into_iter().map(|row| row.message).collect(),
    )
    .await?;
    Ok(Pins {
        items: views
            .into_iter()
            .zip(pinned)
            .map(|(message, (pinned_by, pinned_at))| Pin {
                message,
                pinned_by,
                pinned_at,
            })
            .collect(),
    })
}
