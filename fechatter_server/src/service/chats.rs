//! Creating, listing, changing and deleting chats.

use fechatter_events::Event as DomainEvent;
use fechatter_events::payload::{ChatDeleted, ChatPayload};
use fechatter_events::{ChatId, ChatType, UserId};
use sqlx::PgConnection;
use tracing::instrument;

use crate::auth::CurrentUser;
use crate::db;
use crate::deps::Deps;
use crate::error::AppError;
use crate::models::chat::{ChatRow, CreateChat, PublicChannel, UpdateChat};
use crate::models::{Chat, Page, PageRequest, Role};
use crate::observability::metrics::BusinessMetrics;
use crate::repo;
use crate::repo::chats::NewChat;
use crate::repo::invalidations::Stale;
use crate::service::access::ids;
use crate::service::events::{self, Event};
use crate::service::{access, rules};

const MAX_NAME_CHARS: usize = 80;
const MAX_DESCRIPTION_CHARS: usize = 500;

fn name(value: Option<&str>, required: bool) -> Result<Option<String>, AppError> {
    let invalid = || {
        AppError::invalid(
            "invalid_name",
            format!("a channel needs a name of 1 to {MAX_NAME_CHARS} characters"),
        )
    };
    match value.map(str::trim) {
        None if required => Err(invalid()),
        None => Ok(None),
        Some(name) if name.is_empty() || name.chars().count() > MAX_NAME_CHARS => Err(invalid()),
        Some(name) => Ok(Some(name.to_owned())),
    }
}

fn description(value: Option<&str>) -> Result<Option<String>, AppError> {
    match value {
        Some(text) if text.chars().count() > MAX_DESCRIPTION_CHARS => Err(AppError::invalid(
            "invalid_description",
            format!("a description has at most {MAX_DESCRIPTION_CHARS} characters"),
        )),
        other => Ok(other.map(str::to_owned)),
    }
}

fn name_taken(err: sqlx::Error) -> AppError {
    match db::unique_violation(&err) {
        Some("chats_channel_name_key") => AppError::conflict(
            "chat_name_taken",
            "a channel with this name already exists in the workspace",
        ),
        _ => AppError::from(err),
    }
}

fn payload(chat: &ChatRow, member_ids: Vec<UserId>) -> ChatPayload {
    ChatPayload {
        id: chat.id,
        workspace_id: chat.workspace_id,
        chat_type: chat.chat_type,
        name: chat.name.clone(),
        description: chat.description.clone(),
        owner_id: chat.owner_id,
        member_ids,
        created_at: chat.created_at,
    }
}

/// Creates a chat with the caller as owner. A direct chat with the same person is returned as it
/// is instead (`created` false).
#[instrument(skip_all, fields(user = %caller.id, chat_type = %input.chat_type))]
pub async fn create(
    deps: &Deps,
    caller: &CurrentUser,
    input: CreateChat,
) -> Result<(Chat, bool), AppError> {
    // Checked before the list is even deduplicated: its length bounds all the work below.
    if input.members.len() > deps.config().limits.max_chat_members {
        return Err(member_limit(deps));
    }
    let chat_type = input.chat_type;
    let mut others: Vec<UserId> = input
        .members
        .iter()
        .copied()
        .filter(|id| *id != caller.id)
        .collect();
    others.sort_unstable();
    others.dedup();
    let is_channel = matches!(
        chat_type,
        ChatType::PublicChannel | ChatType::PrivateChannel
    );
    let (name, direct_pair) = if chat_type == ChatType::Direct {
        let [other] = others.as_slice() else {
            return Err(AppError::invalid(
                "invalid_members",
                "a direct chat names exactly one other user",
            ));
        };
        if input.name.is_some() {
            return Err(AppError::invalid(
                "invalid_name",
                "a direct chat has no name",
            ));
        }
        (None, Some((caller.id.min(*other), caller.id.max(*other))))
    } else {
        (name(input.name.as_deref(), is_channel)?, None)
    };
    let description = description(input.description.as_deref())?;
    if others.len() + 1 > deps.config().limits.max_chat_members {
        return Err(member_limit(deps));
    }

    let mut tx = db::begin(deps.pool()).await?;
    let known = repo::users::in_workspace(&mut *tx, caller.workspace_id, &others).await?;
    if known.len() != others.len() {
        return Err(AppError::invalid(
            "unknown_user",
            "a member is not a user of this workspace",
        ));
    }
    let inserted = repo::chats::insert(
        &mut *tx,
        NewChat {
            workspace_id: caller.workspace_id,
            chat_type,
            name: name.as_deref(),
            description: description.as_deref(),
            owner_id: caller.id,
            direct_pair,
        },
    )
    .await
    .map_err(name_taken)?;
    let (chat, created) = match (inserted, direct_pair) {
        (Some(chat), _) => {
            add_founders(&mut tx, caller, &chat, &others).await?;
            events::commit(deps, tx).await?;
            BusinessMetrics::chat_created(chat_type);
            (chat, true)
        }
        (None, Some(pair)) => {
            let existing = repo::chats::find_direct(&mut *tx, caller.workspace_id, pair)
                .await?
                .ok_or_else(|| AppError::internal("direct chat vanished after a conflict"))?;
            (existing, false)
        }
        (None, None) => return Err(AppError::internal("chat insert returned nothing")),
    };
    let view = repo::chats::find_for_member(deps.pool(), caller.id, chat.id)
        .await?
        .ok_or(AppError::NotFound("chat"))?;
    Ok((view, created))
}

/// Adds the creator as owner and the others as members, and records `chat.created`.
async fn add_founders(
    tx: &mut PgConnection,
    caller: &CurrentUser,
    chat: &ChatRow,
    others: &[UserId],
) -> Result<(), AppError> {
    let mut members = vec![(caller.id, Role::Owner)];
    members.extend(others.iter().map(|id| (*id, Role::Member)));
    repo::members::insert_many(&mut *tx, chat.id, &members).await?;
    let mut member_ids: Vec<UserId> = members.iter().map(|(id, _)| *id).collect();
    member_ids.sort_unstable();
    events::record(
        &mut *tx,
        Event {
            workspace_id: chat.workspace_id,
            chat_id: Some(chat.id),
            actor_id: Some(caller.id),
            recipients: member_ids.clone(),
            event: DomainEvent::ChatCreated(payload(chat, member_ids)),
        },
    )
    .await?;
    Ok(())
}

pub fn member_limit(deps: &Deps) -> AppError {
    AppError::invalid(
        "member_limit_reached",
        format!(
            "a chat has at most {} members",
            deps.config().limits.max_chat_members
        ),
    )
}

#[instrument(skip_all, fields(user = %caller.id))]
pub async fn list(
    deps: &Deps,
    caller: &CurrentUser,
    page: PageRequest,
) -> Result<Page<Chat>, AppError> {
    let rows = repo::chats::page_for_member(deps.pool(), caller.id, page).await?;
    Ok(Page::from_rows(rows, page, |chat| chat.id.0))
}

/// The workspace's public channels, which any of its users may join.
#[instrument(skip_all, fields(user = %caller.id))]
pub async fn public_channels(
    deps: &Deps,
    caller: &CurrentUser,
    page: PageRequest,
) -> Result<Page<PublicChannel>, AppError> {
    let rows = repo::chats::page_public(deps.pool(), caller.workspace_id, caller.id, page).await?;
    Ok(Page::from_rows(rows, page, |channel| channel.id.0))
}

#[instrument(skip_all, fields(user = %caller.id, chat = %chat_id))]
pub async fn get(deps: &Deps, caller: &CurrentUser, chat_id: ChatId) -> Result<Chat, AppError> {
    access::membership(deps, caller, chat_id).await?;
    repo::chats::find_for_member(deps.pool(), caller.id, chat_id)
        .await?
        .ok_or(AppError::NotFound("chat"))
}

#[instrument(skip_all, fields(user = %caller.id, chat = %chat_id))]
pub async fn update(
    deps: &Deps,
    caller: &CurrentUser,
    chat_id: ChatId,
    input: UpdateChat,
) -> Result<Chat, AppError> {
    if input.name.is_none() && input.description.is_none() {
        return Err(AppError::invalid(
            "nothing_to_update",
            "give a name or a description",
        ));
    }
    let new_name = name(input.name.as_deref(), false)?;
    let new_description = description(input.description.as_deref())?;
    let mut tx = db::begin(deps.pool()).await?;
    let (chat, members, role) = access::lock_as_member(&mut tx, caller, chat_id).await?;
    rules::not_direct(chat.chat_type)?;
    rules::may_update(role)?;
    let updated = repo::chats::update(
        &mut *tx,
        chat_id,
        new_name.as_deref(),
        new_description.as_deref(),
    )
    .await
    .map_err(name_taken)?;
    let recipients = ids(&members);
    events::record(
        &mut *tx,
        Event {
            workspace_id: chat.workspace_id,
            chat_id: Some(chat_id),
            actor_id: Some(caller.id),
            recipients: recipients.clone(),
            event: DomainEvent::ChatUpdated(payload(&updated, recipients)),
        },
    )
    .await?;
    events::commit(deps, tx).await?;
    get(deps, caller, chat_id).await
}

#[instrument(skip_all, fields(user = %caller.id, chat = %chat_id))]
pub async fn delete(deps: &Deps, caller: &CurrentUser, chat_id: ChatId) -> Result<(), AppError> {
    let mut tx = db::begin(deps.pool()).await?;
    let (chat, members, role) = access::lock_as_member(&mut tx, caller, chat_id).await?;
    rules::not_direct(chat.chat_type)?;
    rules::may_delete(role)?;
    events::record(
        &mut *tx,
        Event {
            workspace_id: chat.workspace_id,
            chat_id: Some(chat_id),
            actor_id: Some(caller.id),
            recipients: ids(&members),
            event: DomainEvent::ChatDeleted(ChatDeleted {
                id: chat_id,
                chat_type: chat.chat_type,
            }),
        },
    )
    .await?;
    repo::chats::delete(&mut *tx, chat_id).await?;
    repo::invalidations::announce(&mut *tx, Stale::Chat(chat_id)).await?;
    events::commit(deps, tx).await?;
    access::forget_chat(deps, chat_id).await;
    Ok(())
}
