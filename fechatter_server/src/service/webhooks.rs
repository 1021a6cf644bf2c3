//! Managing a chat's webhooks (its owner and admins), posting through an incoming webhook, and
//! reading an outgoing webhook's delivery log.

use fechatter_events::ChatId;
use tracing::instrument;
use uuid::Uuid;

use crate::auth::{CurrentUser, secrets};
use crate::db;
use crate::deps::Deps;
use crate::error::AppError;
use crate::models::webhook::{
    CreateIncomingWebhook, CreateOutgoingWebhook, CreatedIncomingWebhook, CreatedOutgoingWebhook,
    Delivery, HookMessage, HookPosted, IncomingWebhooks, OutgoingWebhooks,
};
use crate::models::{Page, PageRequest, Role};
use crate::observability::metrics::WebhookMetrics;
use crate::rate_limit::RateLimiters;
use crate::repo;
use crate::repo::webhooks::Direction;
use crate::service::{access, messages};
use crate::webhooks::url_policy::{self, UrlRefused};

const MAX_NAME_CHARS: usize = 64;
/// Longer than any token this server hands out; a longer one is not looked up.
const MAX_TOKEN_CHARS: usize = 100;

fn may_manage(role: Role) -> Result<(), AppError> {
    if role >= Role::Admin {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "only the chat's owner and admins manage its webhooks",
        ))
    }
}

/// Checks the caller may manage the chat's webhooks (404 for non-members, 403 for members).
async fn as_manager(deps: &Deps, caller: &CurrentUser, chat_id: ChatId) -> Result<(), AppError> {
    let (_, role) = access::membership(deps, caller, chat_id).await?;
    may_manage(role)
}

/// In a transaction holding the chat's lock: the caller manages it and it has room for a webhook.
async fn room_for_one(
    tx: &mut sqlx::PgConnection,
    deps: &Deps,
    caller: &CurrentUser,
    chat_id: ChatId,
) -> Result<(), AppError> {
    let (_, _, role) = access::lock_as_member(tx, caller, chat_id).await?;
    may_manage(role)?;
    let max = deps.config().webhooks.max_per_chat;
    if repo::webhooks::count_active(&mut *tx, chat_id).await? >= max {
        return Err(AppError::invalid(
            "too_many_webhooks",
            format!("a chat has at most {max} webhooks; revoke one first"),
        ));
    }
    Ok(())
}

#[instrument(skip_all, fields(user = %caller.id, chat = %chat_id))]
pub async fn create_incoming(
    deps: &Deps,
    caller: &CurrentUser,
    chat_id: ChatId,
    input: CreateIncomingWebhook,
) -> Result<CreatedIncomingWebhook, AppError> {
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(AppError::invalid(
            "invalid_name",
            format!("a webhook's name has 1 to {MAX_NAME_CHARS} characters"),
        ));
    }
    as_manager(deps, caller, chat_id).await?;
    let token = secrets::generate(32);
    let mut tx = db::begin(deps.pool()).await?;
    room_for_one(&mut tx, deps, caller, chat_id).await?;
    let webhook =
        repo::webhooks::insert_incoming(&mut *tx, chat_id, name, &secrets::hash(&token), caller.id)
            .await?;
    db::commit(tx).await?;
    Ok(CreatedIncomingWebhook {
        webhook,
        path: format!("/api/hooks/{token}"),
        token,
    })
}

#[instrument(skip_all, fields(user = %caller.id, chat = %chat_id))]
pub async fn list_incoming(
    deps: &Deps,
    caller: &CurrentUser,
    chat_id: ChatId,
) -> Result<IncomingWebhooks, AppError> {
    as_manager(deps, caller, chat_id).await?;
    Ok(IncomingWebhooks {
        items: repo::webhooks::incoming_of_chat(deps.pool(), chat_id).await?,
    })
}

#[instrument(skip_all, fields(user = %caller.id, chat = %chat_id, webhook = id))]
pub async fn revoke(
    deps: &Deps,
    caller: &CurrentUser,
    chat_id: ChatId,
    direction: Direction,
    id: i64,
) -> Result<(), AppError> {
    as_manager(deps, caller, chat_id).await?;
    let mut tx = db::begin(deps.pool()).await?;
    if !repo::webhooks::revoke(&mut *tx, direction, chat_id, id).await? {
        return Err(AppError::NotFound("webhook"));
    }
    if direction == Direction::Outgoing {
        repo::webhook_deliveries::cancel_pending(&mut *tx, id).await?;
    }
    db::commit(tx).await?;
    Ok(())
}

/// Posts an integration's message through the incoming webhook `token` names: in the chat, in the
/// name of the webhook's creator while they are a member of it, rate limited per webhook.
#[instrument(skip_all)]
pub async fn post(
    deps: &Deps,
    limiters: &RateLimiters,
    token: &str,
    input: HookMessage,
) -> Result<HookPosted, AppError> {
    if token.len() > MAX_TOKEN_CHARS {
        return Err(AppError::NotFound("webhook"));
    }
    let hook = repo::webhooks::incoming_by_token(deps.pool(), &secrets::hash(token))
        .await?
        .ok_or(AppError::NotFound("webhook"))?;
    limiters.check_webhook(hook.id)?;
    let creator = CurrentUser {
        id: hook.created_by,
        workspace_id: hook.workspace_id,
        session_id: Uuid::nil(),
        expires_at: i64::MAX,
    };
    let message =
        messages::send_as_integration(deps, &creator, hook.chat_id, input.content, &hook.name)
            .await
            .map_err(|err| match err {
                // The creator left the chat or the workspace: the webhook posts nowhere.
                AppError::NotFound(_) | AppError::SessionRevoked => AppError::NotFound("webhook"),
                other => other,
            })?;
    WebhookMetrics::incoming_posted();
    Ok(HookPosted {
        chat_id: hook.chat_id,
        message_id: message.id,
    })
}

fn refused(refused: UrlRefused) -> AppError {
    let code = match refused {
        UrlRefused::PrivateAddress => "webhook_url_not_allowed",
        _ => "invalid_webhook_url",
    };
    AppError::invalid(code, refused.to_string())
}

#[instrument(skip_all, fields(user = %caller.id, chat = %chat_id))]
pub async fn create_outgoing(
    deps: &Deps,
    caller: &CurrentUser,
    chat_id: ChatId,
    input: CreateOutgoingWebhook,
) -> Result<CreatedOutgoingWebhook, AppError> {
    as_manager(deps, caller, chat_id).await?;
    let url = url_policy::parse(input.url.trim()).map_err(refused)?;
    url_policy::resolve(&url, deps.config().webhooks.allow_private_addresses)
        .await
        .map_err(refused)?;
    let secret = secrets::generate(32);
    let mut tx = db::begin(deps.pool()).await?;
    room_for_one(&mut tx, deps, caller, chat_id).await?;
    let webhook =
        repo::webhooks::insert_outgoing(&mut *tx, chat_id, url.as_str(), &secret, caller.id)
            .await?;
    db::commit(tx).await?;
    Ok(CreatedOutgoingWebhook { webhook, secret })
}

#[instrument(skip_all, fields(user = %caller.id, chat = %chat_id))]
pub async fn list_outgoing(
    deps: &Deps,
    caller: &CurrentUser,
    chat_id: ChatId,
) -> Result<OutgoingWebhooks, AppError> {
    as_manager(deps, caller, chat_id).await?;
    Ok(OutgoingWebhooks {
        items: repo::webhooks::outgoing_of_chat(deps.pool(), chat_id).await?,
    })
}

/// A page of an outgoing webhook's delivery log (revoked webhooks' too), newest first.
#[instrument(skip_all, fields(user = %caller.id, chat = %chat_id, webhook = id))]
pub async fn deliveries(
    deps: &Deps,
    caller: &CurrentUser,
    chat_id: ChatId,
    id: i64,
    page: PageRequest,
) -> Result<Page<Delivery>, AppError> {
    as_manager(deps, caller, chat_id).await?;
    if !repo::webhooks::outgoing_exists(deps.pool(), chat_id, id).await? {
        return Err(AppError::NotFound("webhook"));
    }
    let rows = repo::webhook_deliveries::page(deps.pool(), id, page).await?;
    Ok(Page::from_rows(rows, page, |row| row.id))
}
