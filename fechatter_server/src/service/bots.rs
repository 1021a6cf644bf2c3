//! Access tokens for the workspaces' assistant bots. bot_server cannot mint tokens (it has no
//! private key): it presents its own credential (`FECHATTER_BOT_API_KEY`, which bot_server holds as
//! `BOT_FECHATTER_API_KEY`) and gets a token for the bot user of one workspace, never for a person.

use chrono::{Duration as TimeDelta, Utc};
use fechatter_auth::WorkspaceRole;
use fechatter_events::WorkspaceId;
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use tracing::instrument;
use uuid::Uuid;

use crate::deps::Deps;
use crate::error::AppError;
use crate::models::auth::{BotToken, ProvisionedBot};
use crate::repo;

/// A bot session is reused until this close to its end, then a new one begins.
const SESSION_RENEWAL_MARGIN: TimeDelta = TimeDelta::days(1);

/// Whether `presented` is the configured bot credential; compared as digests so the time taken
/// says nothing about how much of it matched.
pub fn is_bot_credential(deps: &Deps, presented: &str) -> bool {
    deps.config().auth.bot_api_key.as_ref().is_some_and(|key| {
        Sha256::digest(key.expose_secret().as_bytes()) == Sha256::digest(presented.as_bytes())
    })
}

/// Gives the workspace its assistant bot unless it has one. bot_server asks for it (on a new
/// workspace's `user.signed_up`, and at its start for workspaces without one) rather than writing
/// `users` itself: this service owns that table.
#[instrument(skip_all, fields(workspace = %workspace))]
pub async fn provision(deps: &Deps, workspace: WorkspaceId) -> Result<ProvisionedBot, AppError> {
    repo::bots::create(deps.pool(), workspace).await?;
    let bot = repo::bots::of_workspace(deps.pool(), workspace)
        .await?
        .ok_or(AppError::NotFound("workspace"))?;
    Ok(ProvisionedBot { user_id: bot.id })
}

#[instrument(skip_all, fields(workspace = %workspace))]
pub async fn token(deps: &Deps, workspace: WorkspaceId) -> Result<BotToken, AppError> {
    let bot = repo::bots::of_workspace(deps.pool(), workspace)
        .await?
        .ok_or(AppError::NotFound("bot"))?;
    let lifetime =
        TimeDelta::from_std(deps.config().auth.session_lifetime).map_err(AppError::internal)?;
    let renew_before = Utc::now() - lifetime + SESSION_RENEWAL_MARGIN.min(lifetime / 2);
    let (session, started) =
        match repo::sessions::newest_open_id(deps.pool(), bot.id, renew_before).await? {
            Some(open) => open,
            None => {
                let session = Uuid::now_v7();
                repo::sessions::insert(deps.pool(), session, bot.id).await?;
                (session, Utc::now())
            }
        };
    let access_token = deps.tokens().issue(
        bot.id,
        workspace,
        WorkspaceRole::Member,
        session,
        Some((started + lifetime).timestamp()),
    );
    Ok(BotToken {
        access_token,
        token_type: "Bearer",
        expires_in: deps.tokens().ttl().as_secs(),
        user_id: bot.id,
    })
}
