//! Who may sign in and for how long: the access-token key, refresh tokens, session lifetime and
//! pruning, sign-in throttling per account, and the bot credential.

use std::time::Duration;

use env_config::{ConfigError, Env};
use fechatter_auth::TokenSigner;
use secrecy::SecretString;

/// The shortest bot credential accepted: 256 bits.
const MIN_BOT_API_KEY_LEN: usize = 32;

#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// Signs access tokens with the private key (`FECHATTER_JWT_PRIVATE_KEY_FILE`) and verifies
    /// them with its public half.
    pub tokens: TokenSigner,
    pub refresh_token_ttl: Duration,
    /// A session (refresh-token family) ends this long after sign-in however often it is refreshed.
    pub session_lifetime: Duration,
    /// How often spent refresh tokens and ended sessions are deleted.
    pub prune_interval: Duration,
    /// Sign-in attempts per account (email) per hour, on top of the per-address limit, so a
    /// guesser spread over many addresses still gets few tries at one account.
    pub signin_attempts_per_account_per_hour: u32,
    /// What bot_server presents for its bots' access tokens; `None` turns that route off.
    pub bot_api_key: Option<SecretString>,
}

impl AuthSettings {
    pub fn from(env: &Env) -> Result<Self, ConfigError> {
        let access_token_ttl = env.bounded_seconds(
            "ACCESS_TOKEN_TTL_SECONDS",
            fechatter_auth::DEFAULT_ACCESS_TOKEN_TTL.as_secs(),
            1,
            24 * 3600,
        )?;
        Ok(Self {
            tokens: fechatter_auth::signer_from_env(env, access_token_ttl)?,
            refresh_token_ttl: env.bounded_seconds(
                "REFRESH_TOKEN_TTL_SECONDS",
                30 * 24 * 3600,
                60,
                365 * 24 * 3600,
            )?,
            session_lifetime: Duration::from_secs(
                env.bounded("SESSION_LIFETIME_DAYS", 90u64, 1, 3650)? * 24 * 3600,
            ),
            prune_interval: env.bounded_seconds(
                "SESSION_PRUNE_INTERVAL_SECONDS",
                3600,
                1,
                7 * 24 * 3600,
            )?,
            signin_attempts_per_account_per_hour: env.bounded(
                "SIGNIN_ATTEMPTS_PER_ACCOUNT_PER_HOUR",
                30,
                1,
                1_000_000,
            )?,
            bot_api_key: env.secret_or_file("BOT_API_KEY", MIN_BOT_API_KEY_LEN)?,
        })
    }
}
