//! Posting the bot's replies through fechatter_server's API, so they are ordinary messages: stored,
//! evented, pushed over SSE, rate-limited and validated like anyone's.
//!
//! The bot holds no signing key: for each workspace it asks `POST /api/bots/token` for its bot
//! user's access token, presenting its own credential (`BOT_FECHATTER_API_KEY`), and keeps the
//! token until shortly before it expires.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use fechatter_events::{ChatId, MessageId, UserId, WorkspaceId};
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;
use url::Url;

const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// A token is renewed this long before it expires, so a request never carries one that lapses
/// on its way.
const RENEW_BEFORE_EXPIRY: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum PostError {
    /// The bot's token (or credential) was refused: look the bot up again and retry.
    #[error("fechatter_server refused the bot's token")]
    Unauthorized,
    /// Retrying will not help (the chat is gone, the bot left it, the content is refused).
    #[error("fechatter_server refused the reply with {0}")]
    Refused(u16),
    /// fechatter_server is down, overloaded or rate-limiting: retry later.
    #[error("fechatter_server is unavailable: {0}")]
    Unavailable(String),
}

#[derive(Deserialize)]
struct ProvisionedBot {
    user_id: UserId,
}

#[derive(Deserialize)]
struct BotToken {
    access_token: String,
    expires_in: u64,
}

struct Cached {
    token: String,
    renew_at: Instant,
}

pub struct FechatterClient {
    client: reqwest::Client,
    base: String,
    api_key: SecretString,
    tokens: Mutex<HashMap<WorkspaceId, Cached>>,
}

fn classify(status: StatusCode) -> Result<(), PostError> {
    match status {
        status if status.is_success() => Ok(()),
        StatusCode::UNAUTHORIZED => Err(PostError::Unauthorized),
        StatusCode::TOO_MANY_REQUESTS | StatusCode::REQUEST_TIMEOUT => {
            Err(PostError::Unavailable(status.to_string()))
        }
        status if status.is_server_error() => Err(PostError::Unavailable(status.to_string())),
        status => Err(PostError::Refused(status.as_u16())),
    }
}

impl FechatterClient {
    pub fn new(client: reqwest::Client, base: &Url, api_key: SecretString) -> Self {
        Self {
            client,
            base: base.as_str().trim_end_matches('/').to_owned(),
            api_key,
            tokens: Mutex::new(HashMap::new()),
        }
    }

    fn cached(&self, workspace: WorkspaceId) -> Option<String> {
        self.tokens
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&workspace)
            .filter(|cached| cached.renew_at > Instant::now())
            .map(|cached| cached.token.clone())
    }

    /// Drops the workspace's token, so the next reply asks for a fresh one.
    pub fn forget_token(&self, workspace: WorkspaceId) {
        self.tokens
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&workspace);
    }

    /// The workspace bot's access token: cached, or fetched with the bot credential.
    async fn token(&self, workspace: WorkspaceId) -> Result<String, PostError> {
        if let Some(token) = self.cached(workspace) {
            return Ok(token);
        }
        let issued: BotToken = self.with_credential("token", workspace).await?;
        let lifetime = Duration::from_secs(issued.expires_in);
        self.tokens
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(
                workspace,
                Cached {
                    token: issued.access_token.clone(),
                    renew_at: Instant::now() + lifetime.saturating_sub(RENEW_BEFORE_EXPIRY),
                },
            );
        Ok(issued.access_token)
    }

    /// Asks fechatter_server to give `workspace` its bot user unless it has one: fechatter_server
    /// owns `users`, so the bot never writes it (`docs/design/topology.md`).
    pub async fn provision(&self, workspace: WorkspaceId) -> Result<UserId, PostError> {
        let provisioned: ProvisionedBot = self.with_credential("provision", workspace).await?;
        Ok(provisioned.user_id)
    }

    /// `POST /api/bots/{route}` for `workspace`, authorised by the bot credential.
    async fn with_credential<T: serde::de::DeserializeOwned>(
        &self,
        route: &str,
        workspace: WorkspaceId,
    ) -> Result<T, PostError> {
        let response = self
            .client
            .post(format!("{}/api/bots/{route}", self.base))
            .timeout(REQUEST_TIMEOUT)
            .bearer_auth(self.api_key.expose_secret())
            .json(&json!({"workspace_id": workspace}))
            .send()
            .await
            .map_err(|err| PostError::Unavailable(err.without_url().to_string()))?;
        if response.status() == StatusCode::UNAUTHORIZED {
            tracing::error!("fechatter_server refused the bot credential (BOT_FECHATTER_API_KEY)");
        }
        classify(response.status())?;
        response
            .json()
            .await
            .map_err(|err| PostError::Unavailable(err.without_url().to_string()))
    }

    /// Whether fechatter_server takes requests (`/ready`), so replies can be posted.
    pub async fn ready(&self) -> Result<(), PostError> {
        let response = self
            .client
            .get(format!("{}/ready", self.base))
            .timeout(REQUEST_TIMEOUT)
            .send()
            .await
            .map_err(|err| PostError::Unavailable(err.without_url().to_string()))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(PostError::Unavailable(response.status().to_string()))
        }
    }

    /// Posts `content` in `chat` as `workspace`'s bot, replying to `reply_to`. The idempotency key makes a retry (after
    /// a crash, a redelivery) return the reply already posted instead of posting it twice.
    pub async fn reply(
        &self,
        workspace: WorkspaceId,
        chat: ChatId,
        reply_to: MessageId,
        content: &str,
        idempotency_key: &str,
    ) -> Result<(), PostError> {
        let token = self.token(workspace).await?;
        let response = self
            .client
            .post(format!("{}/api/chats/{chat}/messages", self.base))
            .timeout(REQUEST_TIMEOUT)
            .bearer_auth(token)
            .header("idempotency-key", idempotency_key)
            .json(&json!({"content": content, "reply_to": reply_to}))
            .send()
            .await
            .map_err(|err| PostError::Unavailable(err.without_url().to_string()))?;
        let outcome = classify(response.status());
        if let Err(PostError::Unauthorized) = outcome {
            self.forget_token(workspace);
        }
        outcome
    }
}
