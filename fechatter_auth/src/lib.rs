//! Access tokens: short-lived EdDSA (Ed25519) JWTs.
//!
//! fechatter_server issues them with the private key ([`TokenSigner`]); every other service holds
//! only the public key ([`TokenVerifier`]) and so can check a token but never make one. Services
//! find a request's token with [`bearer_token`] (or [`bearer_token_or_query`] on the two streaming
//! endpoints), and refuse the tokens of revoked sessions with [`revocation::RevokedSessions`].

mod bearer;
mod claims;
mod env;
mod keys;
pub mod revocation;
mod verified;

pub use bearer::{bearer_token, bearer_token_or_query};
pub use claims::{Claims, WorkspaceRole};
pub use env::{ENV_NOTES, signer_from_env, verifier_from_env};
pub use keys::{
    DEFAULT_ACCESS_TOKEN_TTL, EXAMPLE_KEY_FINGERPRINT, KeyError, TokenSigner, TokenVerifier,
    fingerprint, generate_key_pair,
};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("no access token was given")]
    Missing,
    #[error("the access token is malformed")]
    Malformed,
    #[error("the access token has expired")]
    Expired,
    #[error("the access token is invalid")]
    Invalid,
    #[error("this session has been signed out")]
    Revoked,
}
