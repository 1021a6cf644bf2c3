use std::sync::Arc;

use axum::extract::State;
use fechatter_events::ChatId;
use fechatter_http::{Json, Query};
use http::StatusCode;

use crate::auth::CurrentUser;
use crate::deps::Deps;
use crate::error::AppError;
use crate::extract::{JsonObject, Path};
use crate::models::webhook::{
    CreateIncomingWebhook, CreateOutgoingWebhook, CreatedIncomingWebhook, CreatedOutgoingWebhook,
    Delivery, HookMessage, HookPosted, IncomingWebhooks, OutgoingWebhooks,
};
use crate::models::{Page, PageQuery};
use crate::openapi::responses::{
    BadJson, BadParameters, Forbidden, NotFound, ServerErrors, Unauthenticated,
};
use crate::rate_limit::RateLimiters;
use crate::repo::webhooks::Direction;
use crate::service;

/// Creates an incoming webhook (chat owner and admins): its token is in the answer only, and
/// `POST /api/hooks/{token}` posts into the chat under the webhook's name. A chat has at most
/// `FECHATTER_MAX_WEBHOOKS_PER_CHAT` (10) webhooks, incoming and outgoing together.
#[utoipa::path(post, path = "/api/chats/{id}/webhooks/incoming", tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The chat")),
    request_body = CreateIncomingWebhook,
    responses(
        (status = 201, description = "The webhook and its token, shown this once", body = CreatedIncomingWebhook),
        Forbidden, NotFound, BadJson, Unauthenticated, ServerErrors))]
pub async fn create_incoming(
    State(deps): State<Deps>,
    caller: CurrentUser,
    Path(chat_id): Path<ChatId>,
    JsonObject(input): JsonObject<CreateIncomingWebhook>,
) -> Result<(StatusCode, Json<CreatedIncomingWebhook>), AppError> {
    let created = service::webhooks::create_incoming(&deps, &caller, chat_id, input).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// The chat's active incoming webhooks (chat owner and admins).
#[utoipa::path(get, path = "/api/chats/{id}/webhooks/incoming", tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The chat")),
    responses(
        (status = 200, description = "Active incoming webhooks, oldest first", body = IncomingWebhooks),
        Forbidden, NotFound, BadParameters, Unauthenticated, ServerErrors))]
pub async fn list_incoming(
    State(deps): State<Deps>,
    caller: CurrentUser,
    Path(chat_id): Path<ChatId>,
) -> Result<Json<IncomingWebhooks>, AppError> {
    Ok(Json(
        service::webhooks::list_incoming(&deps, &caller, chat_id).await?,
    ))
}

/// Revokes an incoming webhook (chat owner and admins): its token posts nothing from now on.
#[utoipa::path(delete, path = "/api/chats/{id}/webhooks/incoming/{webhook_id}", tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The chat"), ("webhook_id" = i64, Path, description = "The webhook")),
    responses(
        (status = 204, description = "The webhook is revoked"),
        Forbidden, NotFound, BadParameters, Unauthenticated, ServerErrors))]
pub async fn revoke_incoming(
    State(deps): State<Deps>,
    caller: CurrentUser,
    Path((chat_id, webhook_id)): Path<(ChatId, i64)>,
) -> Result<StatusCode, AppError> {
    service::webhooks::revoke(&deps, &caller, chat_id, Direction::Incoming, webhook_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Posts a message through an incoming webhook: no access token, the secret token in the path is
/// the credential. The message is sent in the name of the webhook's creator with `integration` set
/// to the webhook's name, exactly as they would send it (`message.created` to the chat's members).
/// At most `FECHATTER_RATE_LIMIT_WEBHOOK_PER_MINUTE` (60) messages a minute per webhook. An unknown
/// or revoked token, or a webhook whose creator left the chat, is a 404.
#[utoipa::path(post, path = crate::rate_limit::HOOK_ROUTE, tag = "webhooks",
    params(("token" = String, Path, description = "The webhook's secret token")),
    request_body = HookMessage,
    responses(
        (status = 201, description = "The message is stored", body = HookPosted),
        NotFound, BadJson, ServerErrors))]
pub async fn post(
    State(deps): State<Deps>,
    State(limiters): State<Arc<RateLimiters>>,
    Path(token): Path<String>,
    JsonObject(input): JsonObject<HookMessage>,
) -> Result<(StatusCode, Json<HookPosted>), AppError> {
    let posted = service::webhooks::post(&deps, &limiters, &token, input).await?;
    Ok((StatusCode::CREATED, Json(posted)))
}

/// Creates an outgoing webhook (chat owner and admins): the chat's events from now on (not the
/// members' read markers) are POSTed to `url` as JSON envelopes without their recipients, with
/// `Fechatter-Signature: sha256=<hex>` = HMAC-SHA256(secret, `<Fechatter-Timestamp>.<body>`),
/// `Fechatter-Event-Id`, `Fechatter-Event-Kind` and `Fechatter-Delivery-Id`. A non-2xx answer or no
/// answer within `FECHATTER_WEBHOOK_TIMEOUT_MS` is retried with doubling backoff up to
/// `FECHATTER_WEBHOOK_MAX_ATTEMPTS`; redirects are not followed. Private, loopback and link-local
/// addresses are refused (422 `webhook_url_not_allowed`) unless
/// `FECHATTER_WEBHOOK_ALLOW_PRIVATE_ADDRESSES`.
#[utoipa::path(post, path = "/api/chats/{id}/webhooks/outgoing", tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The chat")),
    request_body = CreateOutgoingWebhook,
    responses(
        (status = 201, description = "The webhook and its signing secret, shown this once", body = CreatedOutgoingWebhook),
        Forbidden, NotFound, BadJson, Unauthenticated, ServerErrors))]
pub async fn create_outgoing(
    State(deps): State<Deps>,
    caller: CurrentUser,
    Path(chat_id): Path<ChatId>,
    JsonObject(input): JsonObject<CreateOutgoingWebhook>,
) -> Result<(StatusCode, Json<CreatedOutgoingWebhook>), AppError> {
    let created = service::webhooks::create_outgoing(&deps, &caller, chat_id, input).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// The chat's active outgoing webhooks (chat owner and admins).
#[utoipa::path(get, path = "/api/chats/{id}/webhooks/outgoing", tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The chat")),
    responses(
        (status = 200, description = "Active outgoing webhooks, oldest first", body = OutgoingWebhooks),
        Forbidden, NotFound, BadParameters, Unauthenticated, ServerErrors))]
pub async fn list_outgoing(
    State(deps): State<Deps>,
    caller: CurrentUser,
    Path(chat_id): Path<ChatId>,
) -> Result<Json<OutgoingWebhooks>, AppError> {
    Ok(Json(
        service::webhooks::list_outgoing(&deps, &caller, chat_id).await?,
    ))
}

/// Revokes an outgoing webhook (chat owner and admins): nothing more is delivered to it, pending
/// deliveries included; its log stays readable.
#[utoipa::path(delete, path = "/api/chats/{id}/webhooks/outgoing/{webhook_id}", tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The chat"), ("webhook_id" = i64, Path, description = "The webhook")),
    responses(
        (status = 204, description = "The webhook is revoked"),
        Forbidden, NotFound, BadParameters, Unauthenticated, ServerErrors))]
pub async fn revoke_outgoing(
    State(deps): State<Deps>,
    caller: CurrentUser,
    Path((chat_id, webhook_id)): Path<(ChatId, i64)>,
) -> Result<StatusCode, AppError> {
    service::webhooks::revoke(&deps, &caller, chat_id, Direction::Outgoing, webhook_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An outgoing webhook's delivery log, newest first (chat owner and admins).
#[utoipa::path(get, path = "/api/chats/{id}/webhooks/outgoing/{webhook_id}/deliveries",
    tag = "webhooks", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The chat"), ("webhook_id" = i64, Path, description = "The webhook"),
        PageQuery),
    responses(
        (status = 200, description = "Deliveries, newest first", body = Page<Delivery>),
        Forbidden, NotFound, BadParameters, Unauthenticated, ServerErrors))]
pub async fn deliveries(
    State(deps): State<Deps>,
    caller: CurrentUser,
    Path((chat_id, webhook_id)): Path<(ChatId, i64)>,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<Delivery>>, AppError> {
    let page = page.validate()?;
    Ok(Json(
        service::webhooks::deliveries(&deps, &caller, chat_id, webhook_id, page).await?,
    ))
}
