//! Whether the caller may see a chat at all, served from the chat cache.

use std::sync::Arc;

use fechatter_events::{ChatId, UserId};
use sqlx::PgConnection;

use crate::auth::CurrentUser;
use crate::deps::Deps;
use crate::error::AppError;
use crate::models::chat::ChatRow;
use crate::models::{ChatAccess, Role};
use crate::repo;

/// The chat and its members (cached), if it exists in the caller's workspace.
pub async fn chat_in_workspace(
    deps: &Deps,
    user: &CurrentUser,
    chat_id: ChatId,
) -> Result<Arc<ChatAccess>, AppError> {
    let access = deps
        .caches()
        .chats
        .get_or_load(chat_id, || load(deps, chat_id))
        .await?;
    access
        .filter(|access| access.workspace_id == user.workspace_id)
        .ok_or(AppError::NotFound("chat"))
}

/// The chat and the caller's role in it; 404 unless the caller is a member.
pub async fn membership(
    deps: &Deps,
    user: &CurrentUser,
    chat_id: ChatId,
) -> Result<(Arc<ChatAccess>, Role), AppError> {
    let access = chat_in_workspace(deps, user, chat_id).await?;
    let role = access.role_of(user.id).ok_or(AppError::NotFound("chat"))?;
    Ok((access, role))
}

/// Drops the cached chat after its membership changed or it was deleted.
pub async fn forget_chat(deps: &Deps, chat_id: ChatId) {
    deps.caches().chats.invalidate(&chat_id).await;
}

async fn load(deps: &Deps, chat_id: ChatId) -> Result<Option<Arc<ChatAccess>>, AppError> {
    let Some(chat) = repo::chats::find(deps.pool(), chat_id).await? else {
        return Ok(None);
    };
    let members = repo::members::roles(deps.pool(), chat_id).await?;
    Ok(Some(Arc::new(ChatAccess {
        id: chat.id,
        workspace_id: chat.workspace_id,
        chat_type: chat.chat_type,
        members: members.into_iter().collect(),
    })))
}

/// Locks the chat and reads its members in `tx`: the exact, current view that writes authorize
/// against and capture as event recipients. 404 unless the caller is a member.
pub(crate) async fn lock_as_member(
    tx: &mut PgConnection,
    caller: &CurrentUser,
    chat_id: ChatId,
) -> Result<(ChatRow, Vec<(UserId, Role)>, Role), AppError> {
    let chat = repo::chats::lock(&mut *tx, chat_id)
        .await?
        .filter(|chat| chat.workspace_id == caller.workspace_id)
        .ok_or(AppError::NotFound("chat"))?;
    let members = repo::members::roles(&mut *tx, chat_id).await?;
    let role = role_in(&members, caller.id).ok_or(AppError::NotFound("chat"))?;
    Ok((chat, members, role))
}

pub(crate) fn role_in(members: &[(UserId, Role)], user: UserId) -> Option<Role> {
    members
        .iter()
        .find(|(id, _)| *id == user)
        .map(|(_, role)| *role)
}

pub(crate) fn ids(members: &[(UserId, Role)]) -> Vec<UserId> {
    members.iter().map(|(id, _)| *id).collect()
}
