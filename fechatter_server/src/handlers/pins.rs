use axum::extract::State;
use fechatter_events::{ChatId, MessageId};
use fechatter_http::Json;
use http::StatusCode;

use crate::auth::CurrentUser;
use crate::deps::Deps;
use crate::error::AppError;
use crate::extract::Path;
use crate::models::message::Pins;
use crate::openapi::responses::{
    BadParameters, Forbidden, NotFound, ServerErrors, Unauthenticated, Unprocessable,
};
use crate::service;
use crate::service::pins::PinChange;

#[utoipa::path(get, path = "/api/chats/{id}/pins", tag = "messages", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The chat")),
    responses(
        (status = 200, description = "The chat's pinned messages, the latest pinned first", body = Pins),
        NotFound, BadParameters, Unauthenticated, ServerErrors))]
pub async fn list(
    State(deps): State<Deps>,
    caller: CurrentUser,
    Path(chat_id): Path<ChatId>,
) -> Result<Json<Pins>, AppError> {
    Ok(Json(service::pins::list(&deps, &caller, chat_id).await?))
}

/// Pins a message (idempotent; `message.pinned` goes to the chat's members). Any member pins in a
/// direct chat or group, only the owner or an admin in a channel. A chat has at most
/// `FECHATTER_MAX_PINS_PER_CHAT` (50) pins.
#[utoipa::path(put, path = "/api/chats/{id}/messages/{message_id}/pin", tag = "messages",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The chat"), ("message_id" = i64, Path, description = "The message")),
    responses(
        (status = 204, description = "The message is pinned"),
        Forbidden, NotFound, Unprocessable, BadParameters, Unauthenticated, ServerErrors))]
pub async fn pin(
    State(deps): State<Deps>,
    caller: CurrentUser,
    Path((chat_id, message_id)): Path<(ChatId, MessageId)>,
) -> Result<StatusCode, AppError> {
    service::pins::change(&deps, &caller, chat_id, message_id, PinChange::Pin).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Unpins a message (idempotent; `message.unpinned` goes to the chat's members), by the same
/// rule as pinning.
#[utoipa::path(delete, path = "/api/chats/{id}/messages/{message_id}/pin", tag = "messages",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The chat"), ("message_id" = i64, Path, description = "The message")),
    responses(
        (status = 204, description = "The message is not pinned"),
        Forbidden, NotFound, BadParameters, Unauthenticated, ServerErrors))]
pub async fn unpin(
    State(deps): State<Deps>,
    caller: CurrentUser,
    Path((chat_id, message_id)): Path<(ChatId, MessageId)>,
) -> Result<StatusCode, AppError> {
    service::pins::change(&deps, &caller, chat_id, message_id, PinChange::Unpin).await?;
    Ok(StatusCode::NO_CONTENT)
}
