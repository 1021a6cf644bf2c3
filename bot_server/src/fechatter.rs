//! Posting the bot's replies through fechatter_server's API, so they are ordinary messages: stored,
//! evented, pushed over SSE, rate-limited and validated like anyone's.

use std::time::Duration;

use fechatter_auth::TokenKeys;
use fechatter_events::{ChatId, MessageId};
use reqwest::StatusCode;
use serde_json::json;
use url::Url;

use crate::identity::BotIdentity;

const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum PostError {
    /// The bot's session was revoked (or its user removed): look it up again and retry.
    #[error("fechatter_server refused the bot's token")]
    Unauthorized,
    /// Retrying will not help (the chat is gone, the bot left it, the content is refused).
    #[error("fechatter_server refused the reply with {0}")]
    Refused(u16),
    /// fechatter_server is down, overloaded or rate-limiting: retry later.
    #[error("fechatter_server is unavailable: {0}")]
    Unavailable(String),
}

pub struct FechatterClient {
    client: reqwest::Client,
    base: String,
    tokens: TokenKeys,
}

impl FechatterClient {
    pub fn new(client: reqwest::Client, base: &Url, tokens: TokenKeys) -> Self {
        Self {
            client,
            base: base.as_str().trim_end_matches('/').to_owned(),
            tokens,
        }
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

    /// Posts `content` in `chat` as a reply to `reply_to`. The idempotency key makes a retry (after
    /// a crash, a redelivery) return the reply already posted instead of posting it twice.
    pub async fn reply(
        &self,
        bot: &BotIdentity,
        chat: ChatId,
        reply_to: MessageId,
        content: &str,
        idempotency_key: &str,
    ) -> Result<(), PostError> {
        let token = self
            .tokens
            .issue(bot.user_id, bot.workspace_id, bot.session_id);
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
        match response.status() {
            status if status.is_success() => Ok(()),
            StatusCode::UNAUTHORIZED => Err(PostError::Unauthorized),
            StatusCode::TOO_MANY_REQUESTS | StatusCode::REQUEST_TIMEOUT => {
                Err(PostError::Unavailable(response.status().to_string()))
            }
            status if status.is_server_error() => Err(PostError::Unavailable(status.to_string())),
            status => Err(PostError::Refused(status.as_u16())),
        }
    }
}
