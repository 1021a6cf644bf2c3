//! Incoming and outgoing webhooks of a chat, and the outgoing delivery log.

use chrono::{DateTime, Utc};
use fechatter_events::{ChatId, MessageId, UserId};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use utoipa::ToSchema;
use uuid::Uuid;

/// An incoming webhook (its token is shown only when it is created).
#[derive(Debug, Clone, PartialEq, Serialize, FromRow, ToSchema)]
pub struct IncomingWebhook {
    pub id: i64,
    pub chat_id: ChatId,
    /// The integration's name, shown with every message it posts.
    pub name: String,
    /// The chat admin who created it: its messages are sent in their name.
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
}

/// A new incoming webhook with its secret token, shown this once (only its hash is stored).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CreatedIncomingWebhook {
    #[serde(flatten)]
    pub webhook: IncomingWebhook,
    pub token: String,
    /// Where the integration posts: `POST` a JSON `{"content": "..."}` here.
    pub path: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateIncomingWebhook {
    /// 1 to 64 characters, not blank.
    #[schema(min_length = 1, max_length = 64, pattern = r"\S")]
    pub name: String,
}

/// What an integration posts to `POST /api/hooks/{token}`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HookMessage {
    /// Not blank; at most `FECHATTER_MAX_MESSAGE_CHARS` characters (4000 by default).
    #[schema(min_length = 1, pattern = r"\S")]
    pub content: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct HookPosted {
    pub chat_id: ChatId,
    pub message_id: MessageId,
}

/// An outgoing webhook (its secret is shown only when it is created).
#[derive(Debug, Clone, PartialEq, Serialize, FromRow, ToSchema)]
pub struct OutgoingWebhook {
    pub id: i64,
    pub chat_id: ChatId,
    pub url: String,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
}

/// A new outgoing webhook with the secret its deliveries are signed with, shown this once.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CreatedOutgoingWebhook {
    #[serde(flatten)]
    pub webhook: OutgoingWebhook,
    /// The HMAC-SHA256 key of `Fechatter-Signature`.
    pub secret: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOutgoingWebhook {
    /// An `http` or `https` URL of at most 2048 characters, without credentials. Private, loopback
    /// and link-local addresses are refused unless `FECHATTER_WEBHOOK_ALLOW_PRIVATE_ADDRESSES`.
    #[schema(min_length = 1, max_length = 2048)]
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct IncomingWebhooks {
    pub items: Vec<IncomingWebhook>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct OutgoingWebhooks {
    pub items: Vec<OutgoingWebhook>,
}

/// One event's delivery to an outgoing webhook.
#[derive(Debug, Clone, PartialEq, Serialize, FromRow, ToSchema)]
pub struct Delivery {
    /// Orders the log; a page's `next_before`.
    pub id: i64,
    pub event_id: Uuid,
    pub event_kind: String,
    /// `pending` (waiting for its next attempt), `delivered` or `failed` (out of attempts).
    pub status: String,
    pub attempts: i32,
    /// The receiver's HTTP status at the latest attempt.
    pub last_status: Option<i32>,
    /// Why the latest attempt failed.
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// A delivery the deliverer claimed, with where and how to send it.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct DueDelivery {
    pub id: i64,
    pub webhook_id: i64,
    pub event_id: Uuid,
    pub event_kind: String,
    pub body: String,
    pub attempts: i32,
    pub url: String,
    pub secret: String,
}
