//! The workspace assistant joins a chat when someone mentions it there, so `@bot` works in every
//! chat its members are in, and its answer arrives as an ordinary message of that chat.
//!
//! It joins in the transaction of the message that mentions it, before that message's event is
//! recorded: everyone sees `chat.member_added` first, and the bot is among the recipients of the
//! `message.created` it is asked in. Direct chats are for two people and never grow; a member asks
//! the bot in a direct chat of their own with it.

use fechatter_events::payload::MemberChanged;
use fechatter_events::{ChatType, EventKind, UserId};
use sqlx::PgConnection;

use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::models::{ChatAccess, Role};
use crate::repo;
use crate::repo::invalidations::Stale;
use crate::service::access::ids;
use crate::service::events::{self, Event};
use crate::state::AppState;

/// Adds a mentioned bot that is not a member yet to `members` and to the chat; whether it did
/// (the caller must then drop the cached chat after commit).
pub(crate) async fn join_if_mentioned(
    tx: &mut PgConnection,
    state: &AppState,
    caller: &CurrentUser,
    chat: &ChatAccess,
    members: &mut Vec<(UserId, Role)>,
    mentioned: &[UserId],
) -> Result<bool, AppError> {
    if chat.chat_type == ChatType::Direct {
        return Ok(false);
    }
    let outsiders: Vec<UserId> = mentioned
        .iter()
        .copied()
        .filter(|user| members.iter().all(|(member, _)| member != user))
        .collect();
    if outsiders.is_empty() {
        return Ok(false);
    }
    let Some(bot) = repo::bots::among(&mut *tx, &outsiders)
        .await?
        .first()
        .copied()
    else {
        return Ok(false);
    };
    if members.len() + 1 > state.config().limits.max_chat_members {
        tracing::info!(chat = %chat.id, "the chat is full; the mentioned bot cannot join");
        return Ok(false);
    }
    let joined = repo::members::insert(&mut *tx, chat.id, bot, Role::Member).await?;
    members.push((bot, Role::Member));
    members.sort_unstable_by_key(|(user, _)| *user);
    if !joined {
        // A concurrent message brought it in first and announced it.
        return Ok(false);
    }
    events::record(
        &mut *tx,
        Event {
            kind: EventKind::ChatMemberAdded,
            workspace_id: chat.workspace_id,
            chat_id: Some(chat.id),
            actor_id: Some(caller.id),
            recipients: ids(members),
            data: &MemberChanged {
                chat_id: chat.id,
                chat_type: chat.chat_type,
                user_id: bot,
                role: Role::Member.as_str().to_owned(),
            },
        },
    )
    .await?;
    repo::invalidations::announce(&mut *tx, Stale::Chat(chat.id)).await?;
    Ok(true)
}
