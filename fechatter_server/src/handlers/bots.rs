use axum::extract::{FromRef, FromRequestParts, State};
use fechatter_auth::{TokenError, bearer_token};
use fechatter_http::Json;
use http::request::Parts;

use crate::deps::Deps;
use crate::error::AppError;
use crate::extract::JsonObject;
use crate::handlers::auth::{NoStore, no_store};
use crate::models::auth::{BotToken, BotTokenRequest, ProvisionedBot};
use crate::openapi::responses::{BadJson, NotFound, ServerErrors, Unauthenticated};
use crate::service;

/// A request carrying the bot credential, checked before the body is read.
pub struct BotCredential;

impl<S> FromRequestParts<S> for BotCredential
where
    S: Send + Sync,
    Deps: FromRef<S>,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let presented = bearer_token(&parts.headers)?;
        if !service::bots::is_bot_credential(&Deps::from_ref(state), &presented) {
            return Err(AppError::Token(TokenError::Invalid));
        }
        Ok(BotCredential)
    }
}

#[utoipa::path(post, path = "/api/bots/token", tag = "auth", request_body = BotTokenRequest,
    security(("bot_api_key" = [])),
    description = "For bot_server: an access token for a workspace's assistant bot, authorised by \
        the bot credential (`Authorization: Bearer <FECHATTER_BOT_API_KEY>`), not by a user's token. \
        It never yields a token for a person.",
    responses(
        (status = 200, description = "The bot's access token", body = BotToken,
            headers(("Cache-Control" = String, description = "`no-store`"))),
        NotFound, BadJson, Unauthenticated, ServerErrors))]
pub async fn token(
    State(deps): State<Deps>,
    _: BotCredential,
    JsonObject(input): JsonObject<BotTokenRequest>,
) -> Result<NoStore<BotToken>, AppError> {
    Ok(no_store(
        service::bots::token(&deps, input.workspace_id).await?,
    ))
}

#[utoipa::path(post, path = "/api/bots/provision", tag = "auth", request_body = BotTokenRequest,
    security(("bot_api_key" = [])),
    description = "For bot_server: gives a workspace its assistant bot user unless it has one, \
        authorised by the bot credential. bot_server never writes `users` itself.",
    responses(
        (status = 200, description = "The workspace's bot", body = ProvisionedBot),
        NotFound, BadJson, Unauthenticated, ServerErrors))]
pub async fn provision(
    State(deps): State<Deps>,
    _: BotCredential,
    JsonObject(input): JsonObject<BotTokenRequest>,
) -> Result<Json<ProvisionedBot>, AppError> {
    Ok(Json(
        service::bots::provision(&deps, input.workspace_id).await?,
    ))
}
