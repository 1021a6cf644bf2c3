//! The workspace assistant joins a chat when it is mentioned there by someone who may add members,
//! so `@bot` brings it in without a separate step, and its answer arrives as an ordinary message
//! of that chat.
//!
//! The rule (see also [`crate::service::rules`]):
//! - a mention adds the bot only when its author may add members to the chat (its owner or an
//!   admin); anyone else's mention is stored as a mention and the bot, not being a member, neither
//!   receives nor answers it;
//! - once the bot has been removed from a chat, mentions never bring it back: only an explicit
//!   `POST /api/chats/{id}/members` by someone allowed to add members does, and that clears the
//!   removal;
//! - direct chats are for two people and never grow; a member asks the bot in a direct chat of
//!   their own with it.
//!
//! It joins in the transaction of the message that mentions it, before that message's event is
//! recorded: everyone sees `chat.member_added` first, and the bot is among the recipients of the
//! `message.created` it is asked in.

use fechatter_events::Event as DomainEvent;
use fechatter_events::payload::MemberChanged;
use fechatter_events::{ChatType, UserId};
use sqlx::PgConnection;

use crate::auth::CurrentUser;
use crate::deps::Deps;
use crate::error::AppError;
use crate::models::{ChatAccess, Role};
use crate::repo;
use crate::repo::invalidations::Stale;
use crate::service::access::{ids, role_in};
use crate::service::events::{self, Event};
use crate::service::rules;

/// Adds a mentioned bot that is not a member yet to `members` and to the chat, when the rule above
/// allows it; whether it did (the caller must then drop the cached chat after commit).
pub(crate) async fn join_if_mentioned(
    tx: &mut PgConnection,
    deps: &Deps,
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
    if rules::may_add(
        chat.chat_type,
        role_in(members, caller.id),
        false,
        Role::Member,
    )
    .is_err()
    {
        tracing::debug!(chat = %chat.id, "the author may not add members; the bot stays out");
        return Ok(false);
    }
    if repo::bots::was_removed(&mut *tx, chat.id, bot).await? {
        tracing::debug!(chat = %chat.id, "the bot was removed from this chat; a mention does not bring it back");
        return Ok(false);
    }
    if members.len() + 1 > deps.config().limits.max_chat_members {
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
            workspace_id: chat.workspace_id,
            chat_id: Some(chat.id),
            actor_id: Some(caller.id),
            recipients: ids(members),
            event: DomainEvent::ChatMemberAdded(MemberChanged {
                chat_id: chat.id,
                chat_type: chat.chat_type,
                user_id: bot,
                role: Role::Member.as_str().to_owned(),
            }),
        },
    )
    .await?;
    repo::invalidations::announce(&mut *tx, Stale::Chat(chat.id)).await?;
    Ok(true)
}
