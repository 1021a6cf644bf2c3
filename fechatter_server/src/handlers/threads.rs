use axum::extract::State;
use fechatter_events::{ChatId, MessageId};
use fechatter_http::{Json, Query};

use crate::auth::CurrentUser;
use crate::deps::Deps;
use crate::error::AppError;
use crate::extract::{JsonObject, Path};
use crate::models::PageQuery;
use crate::models::thread::{FollowedThreads, MarkThreadRead, Thread, ThreadReadState};
use crate::openapi::responses::{BadJson, BadParameters, NotFound, ServerErrors, Unauthenticated};
use crate::service;

/// The thread a message belongs to (a reply's is its root's): the root, reply count, latest reply,
/// whether the caller follows it with their unread count, and a page of its live replies, newest
/// first.
#[utoipa::path(get, path = "/api/chats/{id}/messages/{message_id}/thread", tag = "messages",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The chat"),
        ("message_id" = i64, Path, description = "The thread's root, or any reply in it"),
        PageQuery),
    responses(
        (status = 200, description = "The thread and a page of its replies", body = Thread),
        NotFound, BadParameters, Unauthenticated, ServerErrors))]
pub async fn thread(
    State(deps): State<Deps>,
    caller: CurrentUser,
    Path((chat_id, message_id)): Path<(ChatId, MessageId)>,
    Query(page): Query<PageQuery>,
) -> Result<Json<Thread>, AppError> {
    let page = page.validate()?;
    Ok(Json(
        service::threads::page(&deps, &caller, chat_id, message_id, page).await?,
    ))
}

/// Marks a followed thread read up to one of its replies (the marker only moves forward;
/// `thread.read` goes to the caller's sessions). 422 `not_following` for a thread the caller does
/// not follow, `not_in_thread` for a message that is not one of its replies.
#[utoipa::path(post, path = "/api/chats/{id}/messages/{message_id}/thread/read", tag = "messages",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The chat"),
        ("message_id" = i64, Path, description = "The thread's root, or any reply in it")),
    request_body = MarkThreadRead,
    responses(
        (status = 200, description = "The caller's read marker and unread count in the thread", body = ThreadReadState),
        NotFound, BadJson, Unauthenticated, ServerErrors))]
pub async fn mark_read(
    State(deps): State<Deps>,
    caller: CurrentUser,
    Path((chat_id, message_id)): Path<(ChatId, MessageId)>,
    JsonObject(input): JsonObject<MarkThreadRead>,
) -> Result<Json<ThreadReadState>, AppError> {
    Ok(Json(
        service::threads::mark_read(&deps, &caller, chat_id, message_id, input.message_id).await?,
    ))
}

/// The threads the caller follows (they wrote in them or were mentioned in them) in chats they
/// are a member of, the latest reply first, each with its unread count. `before` is a page's
/// `next_before` (a reply id).
#[utoipa::path(get, path = "/api/threads", tag = "messages", security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "Followed threads, the latest reply first", body = FollowedThreads),
        BadParameters, Unauthenticated, ServerErrors))]
pub async fn followed(
    State(deps): State<Deps>,
    caller: CurrentUser,
    Query(page): Query<PageQuery>,
) -> Result<Json<FollowedThreads>, AppError> {
    let page = page.validate()?;
    Ok(Json(
        service::threads::followed(&deps, &caller, page).await?,
    ))
}
