//! Listing, adding and removing chat members.

use fechatter_events::Event as DomainEvent;
use fechatter_events::payload::MemberChanged;
use fechatter_events::{ChatId, UserId};
use tracing::instrument;

use crate::auth::CurrentUser;
use crate::db;
use crate::deps::Deps;
use crate::error::AppError;
use crate::models::chat::AddMember;
use crate::models::{Member, Page, PageRequest, Role};
use crate::repo;
use crate::repo::invalidations::Stale;
use crate::service::access::{ids, lock_as_member, role_in};
use crate::service::chats::member_limit;
use crate::service::events::{self, Event};
use crate::service::{access, rules};

#[instrument(skip_all, fields(user = %caller.id, chat = %chat_id))]
pub async fn list(
    deps: &Deps,
    caller: &CurrentUser,
    chat_id: ChatId,
    page: PageRequest,
) -> Result<Page<Member>, AppError> {
    access::membership(deps, caller, chat_id).await?;
    let rows = repo::members::page(deps.pool(), chat_id, page).await?;
    Ok(Page::from_rows(rows, page, |member| member.user_id.0))
}

/// Adds a member, or lets the caller join a public channel (see [`rules`]).
#[instrument(skip_all, fields(user = %caller.id, chat = %chat_id, member = %input.user_id))]
pub async fn add(
    deps: &Deps,
    caller: &CurrentUser,
    chat_id: ChatId,
    input: AddMember,
) -> Result<Member, AppError> {
    let new_role = input.role.unwrap_or(Role::Member);
    let target = input.user_id;
    let mut tx = db::begin(deps.pool()).await?;
    let chat = repo::chats::lock(&mut *tx, chat_id)
        .await?
        .filter(|chat| chat.workspace_id == caller.workspace_id)
        .ok_or(AppError::NotFound("chat"))?;
    let members = repo::members::roles(&mut *tx, chat_id).await?;
    let actor = role_in(&members, caller.id);
    if actor.is_some() {
        rules::not_direct(chat.chat_type)?;
        // Checked before the role rules, but only for members: only a member may learn who else is one.
        if role_in(&members, target).is_some() {
            return Err(AppError::conflict(
                "already_member",
                "the user is already a member",
            ));
        }
    }
    rules::may_add(chat.chat_type, actor, target == caller.id, new_role)?;
    if repo::users::in_workspace(&mut *tx, caller.workspace_id, &[target])
        .await?
        .is_empty()
    {
        return Err(AppError::invalid(
            "unknown_user",
            "the user is not a user of this workspace",
        ));
    }
    if members.len() + 1 > deps.config().limits.max_chat_members {
        return Err(member_limit(deps));
    }
    repo::members::insert(&mut *tx, chat_id, target, new_role).await?;
    // A bot added deliberately may be brought in by mentions again.
    repo::bots::clear_removal(&mut *tx, chat_id, target).await?;
    let mut recipients = ids(&members);
    recipients.push(target);
    recipients.sort_unstable();
    events::record(
        &mut *tx,
        Event {
            workspace_id: chat.workspace_id,
            chat_id: Some(chat_id),
            actor_id: Some(caller.id),
            recipients,
            event: DomainEvent::ChatMemberAdded(MemberChanged {
                chat_id,
                chat_type: chat.chat_type,
                user_id: target,
                role: new_role.as_str().to_owned(),
            }),
        },
    )
    .await?;
    repo::invalidations::announce(&mut *tx, Stale::Chat(chat_id)).await?;
    let member = repo::members::find(&mut *tx, chat_id, target)
        .await?
        .ok_or_else(|| AppError::internal("member vanished after insert"))?;
    events::commit(deps, tx).await?;
    access::forget_chat(deps, chat_id).await;
    Ok(member)
}

/// Removes a member, or lets the caller leave (see [`rules`]). The removed member still receives
/// the event, so their clients drop the chat.
#[instrument(skip_all, fields(user = %caller.id, chat = %chat_id, member = %target))]
pub async fn remove(
    deps: &Deps,
    caller: &CurrentUser,
    chat_id: ChatId,
    target: UserId,
) -> Result<(), AppError> {
    let mut tx = db::begin(deps.pool()).await?;
    let (chat, members, actor) = lock_as_member(&mut tx, caller, chat_id).await?;
    rules::not_direct(chat.chat_type)?;
    let target_role = role_in(&members, target).ok_or(AppError::NotFound("member"))?;
    rules::may_remove(actor, target_role, target == caller.id)?;
    repo::members::delete(&mut *tx, chat_id, target).await?;
    // A removed bot stays out: mentions no longer bring it back (see `assistant`).
    repo::bots::record_removal(&mut *tx, chat_id, target, caller.id).await?;
    events::record(
        &mut *tx,
        Event {
            workspace_id: chat.workspace_id,
            chat_id: Some(chat_id),
            actor_id: Some(caller.id),
            recipients: ids(&members),
            event: DomainEvent::ChatMemberRemoved(MemberChanged {
                chat_id,
                chat_type: chat.chat_type,
                user_id: target,
                role: target_role.as_str().to_owned(),
            }),
        },
    )
    .await?;
    repo::invalidations::announce(&mut *tx, Stale::Chat(chat_id)).await?;
    events::commit(deps, tx).await?;
    access::forget_chat(deps, chat_id).await;
    Ok(())
}
