//! Access tokens whose signature this process has already checked.
//!
//! A client sends the same access token with every request for its whole lifetime, and checking
//! an Ed25519 signature is most of what authenticating a request costs. A token that passed
//! [`crate::TokenVerifier::verify`] is remembered, keyed by its exact text, with its claims: the
//! next request bearing the same text skips the signature and claim checks, which cannot give
//! another answer for the same bytes under the same key, except the expiry, checked again on
//! every hit. Only tokens that verified are kept, so neither a forged token nor one signed by
//! another key can ever be answered from here (each verifier has its own entries). Revocation is
//! not a property of the token: services check the session after this, on every request, as
//! before.

use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::Expiry;
use moka::sync::Cache;

use crate::Claims;

/// Tokens remembered at most (a few hundred bytes each): past it, the least used are forgotten
/// and checked again on their next use.
pub(crate) const VERIFIED_TOKENS_CAPACITY: u64 = 10_000;

#[derive(Clone)]
pub(crate) struct VerifiedTokens {
    entries: Cache<String, Arc<Claims>>,
    leeway: u64,
}

/// An entry lives until its token expires (with the leeway): it is useless after.
struct UntilTokenExpiry {
    leeway: u64,
}

impl Expiry<String, Arc<Claims>> for UntilTokenExpiry {
    fn expire_after_create(
        &self,
        _token: &String,
        claims: &Arc<Claims>,
        _created_at: Instant,
    ) -> Option<Duration> {
        let now = jsonwebtoken::get_current_timestamp();
        let end = u64::try_from(claims.exp)
            .unwrap_or(0)
            .saturating_add(self.leeway);
        Some(Duration::from_secs(
            end.saturating_sub(now).saturating_add(1),
        ))
    }
}

/// Whether a token expiring at `exp` is expired at `now`, as `jsonwebtoken`'s validation decides
/// it (`exp < now - leeway`).
fn is_expired(exp: i64, now: u64, leeway: u64) -> bool {
    u64::try_from(exp).map_or(true, |exp| exp < now.saturating_sub(leeway))
}

impl VerifiedTokens {
    pub(crate) fn new(capacity: u64, leeway: u64) -> Self {
        Self {
            entries: Cache::builder()
                .max_capacity(capacity)
                .expire_after(UntilTokenExpiry { leeway })
                .build(),
            leeway,
        }
    }

    /// The claims of `token` if it verified before: `Some(Err(Expired))` when it has expired since.
    pub(crate) fn get(&self, token: &str, now: u64) -> Option<Result<Claims, Expired>> {
        let claims = self.entries.get(token)?;
        if is_expired(claims.exp, now, self.leeway) {
            self.entries.invalidate(token);
            return Some(Err(Expired));
        }
        Some(Ok(Claims::clone(&claims)))
    }

    /// Remembers a token that just verified with these claims.
    pub(crate) fn insert(&self, token: &str, claims: &Claims) {
        self.entries
            .insert(token.to_owned(), Arc::new(claims.clone()));
    }

    #[cfg(test)]
    pub(crate) fn contains(&self, token: &str) -> bool {
        self.entries.contains_key(token)
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> u64 {
        self.entries.run_pending_tasks();
        self.entries.entry_count()
    }
}

/// A remembered token that has expired since it verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Expired;

#[cfg(test)]
mod tests {
    use fechatter_events::{UserId, WorkspaceId};
    use uuid::Uuid;

    use super::*;
    use crate::WorkspaceRole;

    #[test]
    fn no_more_tokens_are_remembered_than_the_capacity() {
        let tokens = VerifiedTokens::new(3, 5);
        let exp = i64::try_from(jsonwebtoken::get_current_timestamp()).unwrap_or(0) + 600;
        for n in 0..50 {
            let claims = Claims {
                sub: UserId(n),
                ws: WorkspaceId(1),
                role: WorkspaceRole::Member,
                sid: Uuid::nil(),
                jti: Uuid::nil(),
                iat: 0,
                exp,
                iss: "fechatter".to_owned(),
            };
            tokens.insert(&format!("token-{n}"), &claims);
        }
        assert!(tokens.len() <= 3, "{} remembered", tokens.len());
    }
}
