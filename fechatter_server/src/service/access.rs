//! Whether the caller may see a chat at all, served from the chat cache.

use std::sync::Arc;

use fechatter_events::ChatId;

use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::models::{ChatAccess, Role};
use crate::repo;
use crate::state::AppState;

/// The chat and its members (cached), if it exists in the caller's workspace.
pub async fn chat_in_workspace(
    state: &AppState,
    user: &CurrentUser,
    chat_id: ChatId,
) -> Result<Arc<ChatAccess>, AppError> {
    let access = state
        .caches()
        .chats
        .get_or_load(chat_id, || load(state, chat_id))
        .await?;
    access
        .filter(|access| access.workspace_id == user.workspace_id)
        .ok_or(AppError::NotFound("chat"))
}

/// The chat and the caller's role in it; 404 unless the caller is a member.
pub async fn membership(
    state: &AppState,
    user: &CurrentUser,
    chat_id: ChatId,
) -> Result<(Arc<ChatAccess>, Role), AppError> {
    let access = chat_in_workspace(state, user, chat_id).await?;
    let role = access.role_of(user.id).ok_or(AppError::NotFound("chat"))?;
    Ok((access, role))
}

/// Drops the cached chat after its membership changed or it was deleted.
pub async fn forget_chat(state: &AppState, chat_id: ChatId) {
    state.caches().chats.invalidate(&chat_id).await;
}

async fn load(state: &AppState, chat_id: ChatId) -> Result<Option<Arc<ChatAccess>>, AppError> {
    let Some(chat) = repo::chats::find(state.pool(), chat_id).await? else {
        return Ok(None);
    };
    let members = repo::members::roles(state.pool(), chat_id).await?;
    Ok(Some(Arc::new(ChatAccess {
        id: chat.id,
        workspace_id: chat.workspace_id,
        chat_type: chat.chat_type,
        members: members.into_iter().collect(),
    })))
}
