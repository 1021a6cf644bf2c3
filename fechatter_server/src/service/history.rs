//! The edit history of a message: the texts it had before each edit.

use fechatter_events::{ChatId, MessageId};
use tracing::instrument;

use crate::auth::CurrentUser;
use crate::deps::Deps;
use crate::error::AppError;
use crate::models::message::MessageVersion;
use crate::models::{Page, PageRequest};
use crate::repo;
use crate::service::access;

/// A page of the message's earlier texts, the latest replaced first, for a member of its chat.
/// A deleted message has no history (404, as if it never existed).
#[instrument(skip_all, fields(user = %caller.id, chat = %chat_id, message = %message_id))]
pub async fn of_message(
    deps: &Deps,
    caller: &CurrentUser,
    chat_id: ChatId,
    message_id: MessageId,
    page: PageRequest,
) -> Result<Page<MessageVersion>, AppError> {
    access::membership(deps, caller, chat_id).await?;
    repo::messages::find_live(deps.pool(), chat_id, message_id)
        .await?
        .ok_or(AppError::NotFound("message"))?;
    let rows = repo::edits::page(deps.pool(), message_id, page).await?;
    Ok(Page::from_rows(rows, page, |version| version.id))
}
