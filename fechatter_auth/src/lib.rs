//! Access tokens: short-lived HS256 JWTs signed with a secret shared by the services.
//!
//! fechatter_server issues them at sign-in; every service verifies them with [`TokenKeys::verify`]
//! and finds them with [`bearer_token`] (header, or `?access_token=` for SSE clients).

use std::time::Duration;

use chrono::Utc;
use fechatter_events::{UserId, WorkspaceId};
use http::HeaderMap;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Access tokens live this long unless configured otherwise (`api.md`: 15 minutes).
pub const DEFAULT_ACCESS_TOKEN_TTL: Duration = Duration::from_secs(15 * 60);
/// The shortest secret accepted: 256 bits for HS256.
pub const MIN_SECRET_LEN: usize = 32;
const ISSUER: &str = "fechatter";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user; a string on the wire, as RFC 7519 requires of `sub`.
    #[serde(with = "user_id_as_string")]
    pub sub: UserId,
    /// The user's workspace: every access is scoped to it.
    pub ws: WorkspaceId,
    /// The refresh-token family (sign-in session) this token came from; signing out revokes it.
    pub sid: Uuid,
    /// Unique per token.
    pub jti: Uuid,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
}

impl Claims {
    pub fn user_id(&self) -> UserId {
        self.sub
    }

    pub fn workspace_id(&self) -> WorkspaceId {
        self.ws
    }
}

mod user_id_as_string {
    use fechatter_events::UserId;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(id: &UserId, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&id.0.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<UserId, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

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
}

/// Signing and verification keys, built once from the shared secret.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenKeys")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl TokenKeys {
    pub fn new(secret: &SecretString, ttl: Duration) -> Self {
        let bytes = secret.expose_secret().as_bytes();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        validation.leeway = 5;
        Self {
            encoding: EncodingKey::from_secret(bytes),
            decoding: DecodingKey::from_secret(bytes),
            validation,
            ttl,
        }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Issues an access token for `user` in `workspace`, tied to sign-in session `sid`.
    pub fn issue(&self, user: UserId, workspace: WorkspaceId, sid: Uuid) -> String {
        let now = Utc::now().timestamp();
        let claims = Claims {
            sub: user,
            ws: workspace,
            sid,
            jti: Uuid::now_v7(),
            iat: now,
            exp: now + self.ttl.as_secs() as i64,
            iss: ISSUER.to_owned(),
        };
        // Encoding HS256 claims made of plain numbers and strings cannot fail.
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .unwrap_or_default()
    }

    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        use jsonwebtoken::errors::ErrorKind;
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|err| match err.kind() {
                ErrorKind::ExpiredSignature => TokenError::Expired,
                ErrorKind::InvalidToken
                | ErrorKind::Base64(_)
                | ErrorKind::Json(_)
                | ErrorKind::Utf8(_) => TokenError::Malformed,
                _ => TokenError::Invalid,
            })
    }
}

/// The access token of a request: `Authorization: Bearer <token>`, or else the `access_token`
/// query parameter (for EventSource and WebSocket clients, which cannot set headers).
pub fn bearer_token(headers: &HeaderMap, query: Option<&str>) -> Result<String, TokenError> {
    if let Some(value) = headers.get(http::header::AUTHORIZATION) {
        let value = value.to_str().map_err(|_| TokenError::Malformed)?;
        let (scheme, token) = value.split_once(' ').ok_or(TokenError::Malformed)?;
        if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
            return Err(TokenError::Malformed);
        }
        return Ok(token.trim().to_owned());
    }
    query
        .and_then(|query| {
            url::form_urlencoded::parse(query.as_bytes())
                .find(|(key, _)| key == "access_token")
                .map(|(_, value)| value.into_owned())
        })
        .filter(|token| !token.is_empty())
        .ok_or(TokenError::Missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(secret: &str, ttl: Duration) -> TokenKeys {
        TokenKeys::new(&SecretString::from(secret.to_owned()), ttl)
    }

    const SECRET: &str = "an-example-secret-of-at-least-32-bytes!";

    #[test]
    fn an_issued_token_verifies_to_its_claims() {
        let keys = keys(SECRET, DEFAULT_ACCESS_TOKEN_TTL);
        let sid = Uuid::now_v7();
        let token = keys.issue(UserId(7), WorkspaceId(3), sid);
        let claims = keys.verify(&token).unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(
            (claims.sub, claims.ws, claims.sid),
            (UserId(7), WorkspaceId(3), sid)
        );
    }

    #[test]
    fn a_token_signed_with_another_secret_is_invalid() {
        let token = keys(
            "another-secret-that-is-also-32-bytes-long",
            DEFAULT_ACCESS_TOKEN_TTL,
        )
        .issue(UserId(1), WorkspaceId(1), Uuid::nil());
        assert_eq!(
            keys(SECRET, DEFAULT_ACCESS_TOKEN_TTL).verify(&token),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn an_expired_token_is_rejected_as_expired() {
        let keys = keys(SECRET, Duration::ZERO);
        let mut claims_token = keys.issue(UserId(1), WorkspaceId(1), Uuid::nil());
        // Re-sign a token that expired well beyond the leeway.
        let past = Claims {
            sub: UserId(1),
            ws: WorkspaceId(1),
            sid: Uuid::nil(),
            jti: Uuid::nil(),
            iat: 0,
            exp: 1,
            iss: ISSUER.to_owned(),
        };
        claims_token =
            jsonwebtoken::encode(&Header::default(), &past, &keys.encoding).unwrap_or(claims_token);
        assert_eq!(keys.verify(&claims_token), Err(TokenError::Expired));
    }

    #[test]
    fn garbage_is_malformed() {
        assert_eq!(
            keys(SECRET, DEFAULT_ACCESS_TOKEN_TTL).verify("not-a-jwt"),
            Err(TokenError::Malformed)
        );
    }

    #[test]
    fn the_header_wins_over_the_query_string() {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::AUTHORIZATION,
            http::HeaderValue::from_static("Bearer abc"),
        );
        assert_eq!(
            bearer_token(&headers, Some("access_token=xyz")),
            Ok("abc".into())
        );
        assert_eq!(
            bearer_token(&HeaderMap::new(), Some("a=1&access_token=xyz")),
            Ok("xyz".into())
        );
        assert_eq!(
            bearer_token(&HeaderMap::new(), None),
            Err(TokenError::Missing)
        );
    }

    #[test]
    fn a_non_bearer_scheme_is_malformed() {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::AUTHORIZATION,
            http::HeaderValue::from_static("Basic dXNlcjpwYXNz"),
        );
        assert_eq!(bearer_token(&headers, None), Err(TokenError::Malformed));
    }
}
