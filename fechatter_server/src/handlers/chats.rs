use std::sync::Arc;

use axum::extract::State;
use fechatter_events::{ChatId, UserId};
use fechatter_http::{Json, Query};
use http::StatusCode;

use crate::auth::CurrentUser;
use crate::deps::Deps;
use crate::error::AppError;
use crate::extract::JsonObject;
use crate::extract::Path;
use crate::models::chat::{AddMember, CreateChat, PublicChannel, UpdateChat};
use crate::models::{Chat, Member, Page, PageQuery};
use crate::openapi::responses::{
    BadJson, BadParameters, Conflict, Forbidden, NotFound, ServerErrors, Unauthenticated,
    Unprocessable,
};
use crate::service;
use crate::service::typing::TypingThrottle;

#[utoipa::path(get, path = "/api/chats", tag = "chats", security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "The caller's chats with unread and mention counts", body = Page<Chat>),
        BadParameters, Unauthenticated, ServerErrors))]
pub async fn list(
    State(deps): State<Deps>,
    caller: CurrentUser,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<Chat>>, AppError> {
    let page = page.validate()?;
    Ok(Json(service::chats::list(&deps, &caller, page).await?))
}

#[utoipa::path(get, path = "/api/chats/public", tag = "chats", security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "The workspace's public channels, joined or not", body = Page<PublicChannel>),
        BadParameters, Unauthenticated, ServerErrors))]
pub async fn public_channels(
    State(deps): State<Deps>,
    caller: CurrentUser,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<PublicChannel>>, AppError> {
    let page = page.validate()?;
    Ok(Json(
        service::chats::public_channels(&deps, &caller, page).await?,
    ))
}

/// 201 for a new chat; 200 with the existing one when a direct chat with that user exists.
#[utoipa::path(post, path = "/api/chats", tag = "chats", security(("bearer" = [])),
    request_body = CreateChat,
    responses(
        (status = 201, description = "The new chat", body = Chat),
        (status = 200, description = "The existing direct chat with that user", body = Chat),
        Conflict, BadJson, Unauthenticated, ServerErrors))]
pub async fn create(
    State(deps): State<Deps>,
    caller: CurrentUser,
    JsonObject(input): JsonObject<CreateChat>,
) -> Result<(StatusCode, Json<Chat>), AppError> {
    let (chat, created) = service::chats::create(&deps, &caller, input).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(chat)))
}

#[utoipa::path(get, path = "/api/chats/{id}", tag = "chats", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The chat")),
    responses(
        (status = 200, description = "The chat as the caller sees it", body = Chat),
        NotFound, BadParameters, Unauthenticated, ServerErrors))]
pub async fn get(
    State(deps): State<Deps>,
    caller: CurrentUser,
    Path(chat_id): Path<ChatId>,
) -> Result<Json<Chat>, AppError> {
    Ok(Json(service::chats::get(&deps, &caller, chat_id).await?))
}

#[utoipa::path(patch, path = "/api/chats/{id}", tag = "chats", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The chat")),
    request_body = UpdateChat,
    responses(
        (status = 200, description = "The renamed or redescribed chat", body = Chat),
        Forbidden, NotFound, Conflict, BadJson, Unauthenticated, ServerErrors))]
pub async fn update(
    State(deps): State<Deps>,
    caller: CurrentUser,
    Path(chat_id): Path<ChatId>,
    JsonObject(input): JsonObject<UpdateChat>,
) -> Result<Json<Chat>, AppError> {
    Ok(Json(
        service::chats::update(&deps, &caller, chat_id, input).await?,
    ))
}

#[utoipa::path(delete, path = "/api/chats/{id}", tag = "chats", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The chat")),
    responses(
        (status = 204, description = "Deleted"),
        Forbidden, NotFound, Unprocessable, BadParameters, Unauthenticated, ServerErrors))]
pub async fn delete(
    State(deps): State<Deps>,
    caller: CurrentUser,
    Path(chat_id): Path<ChatId>,
) -> Result<StatusCode, AppError> {
    service::chats::delete(&deps, &caller, chat_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/chats/{id}/members", tag = "chats", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The chat"), PageQuery),
    responses(
        (status = 200, description = "The chat's members", body = Page<Member>),
        NotFound, BadParameters, Unauthenticated, ServerErrors))]
pub async fn members(
    State(deps): State<Deps>,
    caller: CurrentUser,
    Path(chat_id): Path<ChatId>,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<Member>>, AppError> {
    let page = page.validate()?;
    Ok(Json(
        service::members::list(&deps, &caller, chat_id, page).await?,
    ))
}

#[utoipa::path(post, path = "/api/chats/{id}/members", tag = "chats", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The chat")),
    request_body = AddMember,
    responses(
        (status = 201, description = "The new member", body = Member),
        Forbidden, NotFound, Conflict, BadJson, Unauthenticated, ServerErrors))]
pub async fn add_member(
    State(deps): State<Deps>,
    caller: CurrentUser,
    Path(chat_id): Path<ChatId>,
    JsonObject(input): JsonObject<AddMember>,
) -> Result<(StatusCode, Json<Member>), AppError> {
    let member = service::members::add(&deps, &caller, chat_id, input).await?;
    Ok((StatusCode::CREATED, Json(member)))
}

#[utoipa::path(delete, path = "/api/chats/{id}/members/{user_id}", tag = "chats", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The chat"), ("user_id" = i64, Path, description = "The member")),
    responses(
        (status = 204, description = "Removed (or left)"),
        Forbidden, NotFound, Unprocessable, BadParameters, Unauthenticated, ServerErrors))]
pub async fn remove_member(
    State(deps): State<Deps>,
    caller: CurrentUser,
    Path((chat_id, user_id)): Path<(ChatId, UserId)>,
) -> Result<StatusCode, AppError> {
    service::members::remove(&deps, &caller, chat_id, user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The answer to a typing signal.
#[derive(Debug, Clone, Copy, serde::Serialize, utoipa::ToSchema)]
pub struct TypingSignal {
    /// False when the throttle dropped it (one per user and chat per interval).
    pub published: bool,
}

#[utoipa::path(post, path = "/api/chats/{id}/typing", tag = "chats", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The chat")),
    description = "Tells the chat's other members, live and never stored, that the caller is typing.",
    responses(
        (status = 200, description = "Passed on, or dropped by the throttle", body = TypingSignal),
        NotFound, BadParameters, Unauthenticated, ServerErrors))]
pub async fn typing(
    State(deps): State<Deps>,
    State(throttle): State<Arc<TypingThrottle>>,
    State(nats): State<async_nats::Client>,
    caller: CurrentUser,
    Path(chat_id): Path<ChatId>,
) -> Result<Json<TypingSignal>, AppError> {
    let published = service::typing::signal(&deps, &throttle, &nats, &caller, chat_id).await?;
    Ok(Json(TypingSignal { published }))
}
