//! Request rates allowed per client (`docs/design/api.md`: per IP for sign-in and sign-up, per user for sending,
//! uploading, searching and the writes that fan out to a chat's members). Each limit is a bucket of
//! `N` requests refilled evenly over a minute.

use env_config::{ConfigError, Env};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// Sign-up, sign-in and refresh per client IP.
    pub auth_per_minute: u32,
    /// Messages sent per user, over HTTP and WebSocket together.
    pub send_per_minute: u32,
    /// Messages sent per workspace bot (its answers): a limit of its own, since a busy workspace
    /// asks its bot more than any one person writes.
    pub bot_send_per_minute: u32,
    pub upload_per_minute: u32,
    pub search_per_minute: u32,
    /// Reactions added or removed.
    pub react_per_minute: u32,
    /// Message edits, chat renames and descriptions.
    pub edit_per_minute: u32,
    /// Message and chat deletions.
    pub delete_per_minute: u32,
    pub create_chat_per_minute: u32,
    /// Members added (or channels joined) and removed (or left).
    pub members_per_minute: u32,
    /// Workspace invites created.
    pub invite_per_minute: u32,
    /// Messages posted through one incoming webhook.
    pub webhook_per_minute: u32,
    /// How many reverse proxies in front of the service append the client address to
    /// `X-Forwarded-For`. 0 (the default) ignores the header and limits by the peer address, since a
    /// client can write anything into it; with `n` trusted proxies the `n`-th address from the right
    /// is the client's.
    pub trusted_proxy_hops: usize,
}

impl RateLimits {
    pub fn from(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            auth_per_minute: env.bounded("RATE_LIMIT_AUTH_PER_MINUTE", 20, 1, 1_000_000)?,
            send_per_minute: env.bounded("RATE_LIMIT_SEND_PER_MINUTE", 120, 1, 1_000_000)?,
            bot_send_per_minute: env.bounded(
                "RATE_LIMIT_BOT_SEND_PER_MINUTE",
                600,
                1,
                1_000_000,
            )?,
            upload_per_minute: env.bounded("RATE_LIMIT_UPLOAD_PER_MINUTE", 20, 1, 1_000_000)?,
            search_per_minute: env.bounded("RATE_LIMIT_SEARCH_PER_MINUTE", 60, 1, 1_000_000)?,
            react_per_minute: env.bounded("RATE_LIMIT_REACT_PER_MINUTE", 120, 1, 1_000_000)?,
            edit_per_minute: env.bounded("RATE_LIMIT_EDIT_PER_MINUTE", 60, 1, 1_000_000)?,
            delete_per_minute: env.bounded("RATE_LIMIT_DELETE_PER_MINUTE", 60, 1, 1_000_000)?,
            create_chat_per_minute: env.bounded(
                "RATE_LIMIT_CREATE_CHAT_PER_MINUTE",
                20,
                1,
                1_000_000,
            )?,
            members_per_minute: env.bounded("RATE_LIMIT_MEMBERS_PER_MINUTE", 60, 1, 1_000_000)?,
            invite_per_minute: env.bounded("RATE_LIMIT_INVITE_PER_MINUTE", 20, 1, 1_000_000)?,
            webhook_per_minute: env.bounded("RATE_LIMIT_WEBHOOK_PER_MINUTE", 60, 1, 1_000_000)?,
            trusted_proxy_hops: env.bounded("TRUSTED_PROXY_HOPS", 0, 0, 10)?,
        })
    }
}
