use axum::extract::State;
use axum::response::{IntoResponse, Response};
use fechatter_events::{ChatId, MessageId};
use fechatter_http::{Json, Query};
use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderValue, StatusCode};

use crate::auth::CurrentUser;
use crate::deps::Deps;
use crate::error::AppError;
use crate::extract::JsonObject;
use crate::extract::Path;
use crate::models::message::{EditMessage, MarkRead, MessageVersion, ReadState, SendMessage};
use crate::models::{Message, Page, PageQuery};
use crate::openapi::responses::{
    BadJson, BadParameters, Conflict, Forbidden, NotFound, ServerErrors, Unauthenticated,
    Unprocessable,
};
use crate::service;
use crate::service::reactions::Reaction;

pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// Set on the answer to a retried send that returned the original message.
pub const IDEMPOTENT_REPLAYED: &str = "idempotent-replayed";

fn idempotency_key(headers: &HeaderMap) -> Result<Option<&str>, AppError> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    service::idempotency::check_key(value.to_str().unwrap_or_default()).map(Some)
}

#[utoipa::path(get, path = "/api/chats/{id}/messages", tag = "messages", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The chat"), PageQuery),
    responses(
        (status = 200, description = "Live messages, newest first", body = Page<Message>),
        NotFound, BadParameters, Unauthenticated, ServerErrors))]
pub async fn list(
    State(deps): State<Deps>,
    caller: CurrentUser,
    Path(chat_id): Path<ChatId>,
    Query(page): Query<PageQuery>,
) -> Result<Response, AppError> {
    let page = page.validate()?;
    let body = service::listing::page(&deps, &caller, chat_id, page).await?;
    Ok((
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        body,
    )
        .into_response())
}

/// Sends a message. Mentions are `@handle`s (at most 50 count). Mentioning `@bot` adds the
/// workspace assistant to the chat when the sender may add members (the chat's owner or an admin)
/// and the assistant was not removed from this chat; after a removal only an explicit
/// `POST /api/chats/{id}/members` brings it back.
#[utoipa::path(post, path = "/api/chats/{id}/messages", tag = "messages", security(("bearer" = [])),
    params(
        ("id" = i64, Path, description = "The chat"),
        ("Idempotency-Key" = Option<String>, Header, description = "A retry with the same key returns the original message"),
    ),
    request_body = SendMessage,
    responses(
        (status = 201, description = "The message (the original one on a retry)", body = Message,
            headers(("Idempotent-Replayed" = String, description = "`true` when this is the original message of a retried key"))),
        NotFound, Conflict, BadJson, Unauthenticated, ServerErrors))]
pub async fn send(
    State(deps): State<Deps>,
    caller: CurrentUser,
    Path(chat_id): Path<ChatId>,
    headers: HeaderMap,
    JsonObject(input): JsonObject<SendMessage>,
) -> Result<Response, AppError> {
    let key = idempotency_key(&headers)?;
    let (message, created) = service::messages::send(&deps, &caller, chat_id, input, key).await?;
    let mut response = (StatusCode::CREATED, Json(message)).into_response();
    if !created {
        response
            .headers_mut()
            .insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
    }
    Ok(response)
}

#[utoipa::path(patch, path = "/api/chats/{id}/messages/{message_id}", tag = "messages", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The chat"), ("message_id" = i64, Path, description = "The message")),
    request_body = EditMessage,
    responses(
        (status = 200, description = "The edited message", body = Message),
        Forbidden, NotFound, BadJson, Unauthenticated, ServerErrors))]
pub async fn edit(
    State(deps): State<Deps>,
    caller: CurrentUser,
    Path((chat_id, message_id)): Path<(ChatId, MessageId)>,
    JsonObject(input): JsonObject<EditMessage>,
) -> Result<Json<Message>, AppError> {
    let message =
        service::messages::edit(&deps, &caller, chat_id, message_id, input.content).await?;
    Ok(Json(message))
}

/// The texts a message had before each edit, the latest replaced first. A deleted message keeps
/// no content and no history (404).
#[utoipa::path(get, path = "/api/chats/{id}/messages/{message_id}/history", tag = "messages",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The chat"), ("message_id" = i64, Path, description = "The message"),
        PageQuery),
    responses(
        (status = 200, description = "Earlier versions, the latest replaced first", body = Page<MessageVersion>),
        NotFound, BadParameters, Unauthenticated, ServerErrors))]
pub async fn history(
    State(deps): State<Deps>,
    caller: CurrentUser,
    Path((chat_id, message_id)): Path<(ChatId, MessageId)>,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<MessageVersion>>, AppError> {
    let page = page.validate()?;
    Ok(Json(
        service::history::of_message(&deps, &caller, chat_id, message_id, page).await?,
    ))
}

#[utoipa::path(delete, path = "/api/chats/{id}/messages/{message_id}", tag = "messages", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The chat"), ("message_id" = i64, Path, description = "The message")),
    responses(
        (status = 204, description = "Deleted"),
        Forbidden, NotFound, BadParameters, Unauthenticated, ServerErrors))]
pub async fn delete(
    State(deps): State<Deps>,
    caller: CurrentUser,
    Path((chat_id, message_id)): Path<(ChatId, MessageId)>,
) -> Result<StatusCode, AppError> {
    service::messages::delete(&deps, &caller, chat_id, message_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(put, path = "/api/chats/{id}/messages/{message_id}/reactions/{emoji}", tag = "messages",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The chat"), ("message_id" = i64, Path, description = "The message"),
        ("emoji" = String, Path, description = "A Unicode emoji or a :shortcode:")),
    responses(
        (status = 204, description = "The caller reacts with this emoji"),
        NotFound, Unprocessable, BadParameters, Unauthenticated, ServerErrors))]
pub async fn add_reaction(
    State(deps): State<Deps>,
    caller: CurrentUser,
    Path((chat_id, message_id, emoji)): Path<(ChatId, MessageId, String)>,
) -> Result<StatusCode, AppError> {
    service::reactions::react(&deps, &caller, chat_id, message_id, &emoji, Reaction::Add).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/api/chats/{id}/messages/{message_id}/reactions/{emoji}", tag = "messages",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The chat"), ("message_id" = i64, Path, description = "The message"),
        ("emoji" = String, Path, description = "A Unicode emoji or a :shortcode:")),
    responses(
        (status = 204, description = "The caller no longer reacts with this emoji"),
        NotFound, Unprocessable, BadParameters, Unauthenticated, ServerErrors))]
pub async fn remove_reaction(
    State(deps): State<Deps>,
    caller: CurrentUser,
    Path((chat_id, message_id, emoji)): Path<(ChatId, MessageId, String)>,
) -> Result<StatusCode, AppError> {
    service::reactions::react(
        &deps,
        &caller,
        chat_id,
        message_id,
        &emoji,
        Reaction::Remove,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/chats/{id}/read", tag = "messages", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The chat")),
    request_body = MarkRead,
    responses(
        (status = 200, description = "The read marker (it only moves forward)", body = ReadState),
        NotFound, BadJson, Unauthenticated, ServerErrors))]
pub async fn mark_read(
    State(deps): State<Deps>,
    caller: CurrentUser,
    Path(chat_id): Path<ChatId>,
    JsonObject(input): JsonObject<MarkRead>,
) -> Result<Json<ReadState>, AppError> {
    let read = service::reactions::mark_read(&deps, &caller, chat_id, input.message_id).await?;
    Ok(Json(read))
}
