//! The Ed25519 key pair behind access tokens.
//!
//! fechatter_server alone holds the private key and signs with a [`TokenSigner`]; every other
//! service holds only the public key, in a [`TokenVerifier`], which can check a token but never
//! make one. Keys are PEM files as `openssl genpkey -algorithm ed25519` writes them (PKCS#8
//! private key, SubjectPublicKeyInfo public key). A key whose public half is the example printed
//! in `docs/runbook.md` is refused, so a copied example never guards a deployment.

use std::time::Duration;

use chrono::Utc;
use fechatter_events::{UserId, WorkspaceId};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use ring::signature::{Ed25519KeyPair, KeyPair};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::verified::{Expired, VERIFIED_TOKENS_CAPACITY, VerifiedTokens};
use crate::{Claims, TokenError, WorkspaceRole};

/// Access tokens live this long unless configured otherwise (`docs/design/api.md`: 15 minutes).
pub const DEFAULT_ACCESS_TOKEN_TTL: Duration = Duration::from_secs(15 * 60);
const ISSUER: &str = "fechatter";
/// Seconds of clock skew tolerated between services.
const LEEWAY_SECONDS: u64 = 5;

/// SHA-256 of the public key of the example pair in `docs/runbook.md`.
pub const EXAMPLE_KEY_FINGERPRINT: &str =
    "fb1ca17c36f102eb7ab37342a5abd37831f62e18952e750f1ed2805cb5564a3d";

/// The DER prefix of an Ed25519 SubjectPublicKeyInfo, before the 32 key bytes.
const SPKI_ED25519_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("not a PEM file: {0}")]
    NotPem(String),
    #[error("expected a PEM `{expected}` block, found `{found}`")]
    WrongBlock {
        expected: &'static str,
        found: String,
    },
    #[error("not an Ed25519 key")]
    NotEd25519,
    #[error(
        "this is the example key from docs/runbook.md, which anyone can read; generate a key pair of your own (scripts/up and docker compose do on first start)"
    )]
    ExampleKey,
}

/// The hex SHA-256 of a raw 32-byte Ed25519 public key: what the runbook calls the key's fingerprint.
pub fn fingerprint(public_key: &[u8]) -> String {
    hex::encode(Sha256::digest(public_key))
}

fn refuse_example(public_key: &[u8]) -> Result<String, KeyError> {
    let fingerprint = fingerprint(public_key);
    if fingerprint == EXAMPLE_KEY_FINGERPRINT {
        return Err(KeyError::ExampleKey);
    }
    Ok(fingerprint)
}

fn parse_pem(text: &str, expected: &'static str) -> Result<Vec<u8>, KeyError> {
    let block = pem::parse(text.trim()).map_err(|err| KeyError::NotPem(err.to_string()))?;
    if block.tag() != expected {
        return Err(KeyError::WrongBlock {
            expected,
            found: block.tag().to_owned(),
        });
    }
    Ok(block.into_contents())
}

fn validation() -> Validation {
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_issuer(&[ISSUER]);
    validation.set_required_spec_claims(&["exp", "iss", "sub"]);
    validation.leeway = LEEWAY_SECONDS;
    validation
}

/// Checks access tokens; holds the public key only. Clones share the tokens already verified
/// (`crate::verified`).
#[derive(Clone)]
pub struct TokenVerifier {
    decoding: DecodingKey,
    validation: Validation,
    fingerprint: String,
    verified: VerifiedTokens,
}

impl std::fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenVerifier")
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

impl TokenVerifier {
    /// From a `-----BEGIN PUBLIC KEY-----` PEM.
    pub fn from_public_pem(text: &str) -> Result<Self, KeyError> {
        let der = parse_pem(text, "PUBLIC KEY")?;
        let raw = der
            .strip_prefix(&SPKI_ED25519_PREFIX[..])
            .filter(|raw| raw.len() == 32)
            .ok_or(KeyError::NotEd25519)?;
        Self::from_raw(raw)
    }

    fn from_raw(public_key: &[u8]) -> Result<Self, KeyError> {
        Ok(Self {
            fingerprint: refuse_example(public_key)?,
            decoding: DecodingKey::from_ed_der(public_key),
            validation: validation(),
            verified: VerifiedTokens::new(VERIFIED_TOKENS_CAPACITY, LEEWAY_SECONDS),
        })
    }

    /// The key's fingerprint, safe to log (compare it across services after a rotation).
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The token's claims if this key signed it and it has not expired. Whether its session is
    /// still open is the caller's check.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        self.verify_at(token, jsonwebtoken::get_current_timestamp())
    }

    /// [`Self::verify`] at `now` (Unix seconds) for a token verified before; a token not seen
    /// before is checked in full against the clock.
    fn verify_at(&self, token: &str, now: u64) -> Result<Claims, TokenError> {
        use jsonwebtoken::errors::ErrorKind;
        if let Some(known) = self.verified.get(token, now) {
            return known.map_err(|Expired| TokenError::Expired);
        }
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|err| match err.kind() {
                ErrorKind::ExpiredSignature => TokenError::Expired,
                ErrorKind::InvalidToken
                | ErrorKind::Base64(_)
                | ErrorKind::Json(_)
                | ErrorKind::Utf8(_) => TokenError::Malformed,
                _ => TokenError::Invalid,
            })?;
        self.verified.insert(token, &claims);
        Ok(claims)
    }
}

/// Issues access tokens; holds the private key, and verifies with its public half.
#[derive(Clone)]
pub struct TokenSigner {
    encoding: EncodingKey,
    verifier: TokenVerifier,
    ttl: Duration,
}

impl std::fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSigner")
            .field("fingerprint", &self.verifier.fingerprint)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl TokenSigner {
    /// From a `-----BEGIN PRIVATE KEY-----` PEM (PKCS#8 v1 or v2).
    pub fn from_private_pem(text: &str, ttl: Duration) -> Result<Self, KeyError> {
        let der = parse_pem(text, "PRIVATE KEY")?;
        let pair =
            Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der).map_err(|_| KeyError::NotEd25519)?;
        Ok(Self {
            verifier: TokenVerifier::from_raw(pair.public_key().as_ref())?,
            encoding: EncodingKey::from_ed_der(&der),
            ttl,
        })
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    pub fn verifier(&self) -> &TokenVerifier {
        &self.verifier
    }

    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        self.verifier.verify(token)
    }

    /// Issues an access token for `user` in `workspace`, tied to sign-in session `sid`, expiring
    /// after the configured lifetime or at `not_after` (Unix seconds), whichever comes first.
    pub fn issue(
        &self,
        user: UserId,
        workspace: WorkspaceId,
        role: WorkspaceRole,
        sid: Uuid,
        not_after: Option<i64>,
    ) -> String {
        let now = Utc::now().timestamp();
        let exp = now + self.ttl.as_secs() as i64;
        self.sign(&Claims {
            sub: user,
            ws: workspace,
            role,
            sid,
            jti: Uuid::now_v7(),
            iat: now,
            exp: not_after.map_or(exp, |end| exp.min(end)),
            iss: ISSUER.to_owned(),
        })
    }

    fn sign(&self, claims: &Claims) -> String {
        // Signing claims made of plain numbers and strings with a key checked at load cannot fail.
        jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), claims, &self.encoding)
            .unwrap_or_default()
    }
}

/// The DER prefix of an Ed25519 PKCS#8 v1 private key, before the 32-byte seed.
const PKCS8_V1_ED25519_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// A fresh key pair as PEM texts: (private, public), in the forms OpenSSL writes and reads.
pub fn generate_key_pair() -> Result<(String, String), KeyError> {
    let rng = ring::rand::SystemRandom::new();
    let v2 = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| KeyError::NotEd25519)?;
    // ring writes PKCS#8 v2 (the seed at bytes 16..48, then the public key), which OpenSSL 3
    // cannot read; operators inspect and rotate keys with openssl, so the file is v1.
    let seed = v2.as_ref().get(16..48).ok_or(KeyError::NotEd25519)?;
    let mut v1 = PKCS8_V1_ED25519_PREFIX.to_vec();
    v1.extend_from_slice(seed);
    let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(&v1).map_err(|_| KeyError::NotEd25519)?;
    let mut spki = SPKI_ED25519_PREFIX.to_vec();
    spki.extend_from_slice(pair.public_key().as_ref());
    let encode = |tag: &str, der: Vec<u8>| {
        let config = pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF);
        pem::encode_config(&pem::Pem::new(tag, der), config)
    };
    Ok((encode("PRIVATE KEY", v1), encode("PUBLIC KEY", spki)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example pair of `docs/runbook.md`.
    const EXAMPLE_PRIVATE: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIErvSI7hlkxx8S4bU4C2b0DRIm0NkNcHo+v0DCFTjnIW\n-----END PRIVATE KEY-----\n";
    const EXAMPLE_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAUSS5+Ixczp5qZ8GMYLKUDgc6+Av+Ifsm9PGJ8ZXxSDU=\n-----END PUBLIC KEY-----\n";

    /// A member's token of user 1 in workspace 1, ending at `not_after` if given.
    fn member_token(signer: &TokenSigner, not_after: Option<i64>) -> String {
        signer.issue(
            UserId(1),
            WorkspaceId(1),
            WorkspaceRole::Member,
            Uuid::nil(),
            not_after,
        )
    }

    fn pair() -> (TokenSigner, TokenVerifier) {
        let (private, public) = generate_key_pair().unwrap_or_else(|err| panic!("{err}"));
        (
            TokenSigner::from_private_pem(&private, DEFAULT_ACCESS_TOKEN_TTL)
                .unwrap_or_else(|err| panic!("{err}")),
            TokenVerifier::from_public_pem(&public).unwrap_or_else(|err| panic!("{err}")),
        )
    }

    #[test]
    fn a_token_issued_with_the_private_key_verifies_with_the_public_key_alone() {
        let (signer, verifier) = pair();
        let sid = Uuid::now_v7();
        let token = signer.issue(UserId(7), WorkspaceId(3), WorkspaceRole::Admin, sid, None);
        let claims = verifier
            .verify(&token)
            .unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(
            (claims.sub, claims.ws, claims.role, claims.sid),
            (UserId(7), WorkspaceId(3), WorkspaceRole::Admin, sid)
        );
        assert_eq!(signer.verifier().fingerprint(), verifier.fingerprint());
    }

    #[test]
    fn a_token_signed_with_another_key_is_invalid() {
        let (signer, _) = pair();
        let (_, verifier) = pair();
        let token = member_token(&signer, None);
        assert_eq!(verifier.verify(&token), Err(TokenError::Invalid));
    }

    #[test]
    fn an_hs256_token_made_with_the_public_key_as_secret_is_refused() {
        // The classic algorithm-confusion forgery: anyone has the public key.
        let (signer, verifier) = pair();
        let claims = verifier
            .verify(&signer.issue(
                UserId(1),
                WorkspaceId(1),
                WorkspaceRole::Owner,
                Uuid::nil(),
                None,
            ))
            .unwrap_or_else(|err| panic!("{err}"));
        let forged = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(EXAMPLE_PUBLIC.as_bytes()),
        )
        .unwrap_or_default();
        assert_eq!(verifier.verify(&forged), Err(TokenError::Invalid));
    }

    #[test]
    fn an_expired_token_is_rejected_as_expired() {
        let (signer, verifier) = pair();
        let token = signer.sign(&Claims {
            sub: UserId(1),
            ws: WorkspaceId(1),
            role: WorkspaceRole::Member,
            sid: Uuid::nil(),
            jti: Uuid::nil(),
            iat: 0,
            exp: 1,
            iss: ISSUER.to_owned(),
        });
        assert_eq!(verifier.verify(&token), Err(TokenError::Expired));
    }

    #[test]
    fn a_token_never_outlives_the_end_it_is_given() {
        let (signer, verifier) = pair();
        let end = Utc::now().timestamp() + 60;
        let token = member_token(&signer, Some(end));
        assert_eq!(verifier.verify(&token).map(|c| c.exp), Ok(end));
    }

    #[test]
    fn garbage_is_malformed() {
        let (_, verifier) = pair();
        assert_eq!(verifier.verify("not-a-jwt"), Err(TokenError::Malformed));
        assert!(!verifier.verified.contains("not-a-jwt"));
    }

    #[test]
    fn a_remembered_token_is_refused_as_expired_once_past_its_expiry_and_leeway() {
        let (signer, verifier) = pair();
        let end = Utc::now().timestamp() + 60;
        let token = member_token(&signer, Some(end));
        assert_eq!(verifier.verify(&token).map(|c| c.exp), Ok(end));
        assert!(verifier.verified.contains(&token));
        let last_second = end as u64 + LEEWAY_SECONDS;
        assert_eq!(
            verifier.verify_at(&token, last_second).map(|c| c.exp),
            Ok(end)
        );
        assert_eq!(
            verifier.verify_at(&token, last_second + 1),
            Err(TokenError::Expired)
        );
        assert!(!verifier.verified.contains(&token));
        // A clone shares what its original verified.
        let clone = verifier.clone();
        assert_eq!(clone.verify(&token).map(|c| c.exp), Ok(end));
        assert!(verifier.verified.contains(&token));
    }

    #[test]
    fn a_remembered_token_never_lets_another_key_or_an_altered_token_through() {
        let (signer, verifier) = pair();
        let (_, stranger) = pair();
        let token = member_token(&signer, None);
        assert!(verifier.verify(&token).is_ok());
        assert!(verifier.verify(&token).is_ok());
        assert_eq!(stranger.verify(&token), Err(TokenError::Invalid));
        // The same signature over other claims (another user) is checked in full, and fails.
        let forged = signer.sign(&Claims {
            sub: UserId(2),
            ..verifier
                .verify(&token)
                .unwrap_or_else(|err| panic!("{err}"))
        });
        let signature = token.rsplit('.').next().unwrap_or_default();
        let (head_and_claims, _) = forged.rsplit_once('.').unwrap_or_default();
        let forged = format!("{head_and_claims}.{signature}");
        assert_eq!(verifier.verify(&forged), Err(TokenError::Invalid));
        assert!(!verifier.verified.contains(&forged));
    }

    #[test]
    fn the_documented_example_key_is_refused_in_either_half() {
        assert_eq!(
            TokenSigner::from_private_pem(EXAMPLE_PRIVATE, DEFAULT_ACCESS_TOKEN_TTL).err(),
            Some(KeyError::ExampleKey)
        );
        assert_eq!(
            TokenVerifier::from_public_pem(EXAMPLE_PUBLIC).err(),
            Some(KeyError::ExampleKey)
        );
    }

    #[test]
    fn the_runbook_prints_the_example_pair_that_is_refused() {
        let runbook = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/runbook.md"),
        )
        .unwrap_or_else(|err| panic!("docs/runbook.md: {err}"));
        for text in [EXAMPLE_PRIVATE, EXAMPLE_PUBLIC, EXAMPLE_KEY_FINGERPRINT] {
            assert!(
                runbook.contains(text.trim_end()),
                "the runbook lacks {text}"
            );
        }
    }

    #[test]
    fn a_key_in_the_wrong_half_or_of_another_kind_is_refused() {
        let (private, public) = generate_key_pair().unwrap_or_else(|err| panic!("{err}"));
        assert!(matches!(
            TokenVerifier::from_public_pem(&private),
            Err(KeyError::WrongBlock { .. })
        ));
        assert!(matches!(
            TokenSigner::from_private_pem(&public, DEFAULT_ACCESS_TOKEN_TTL),
            Err(KeyError::WrongBlock { .. })
        ));
        assert!(matches!(
            TokenVerifier::from_public_pem("a shared secret"),
            Err(KeyError::NotPem(_))
        ));
        // An RSA public key (a 2048-bit SPKI header) is not Ed25519.
        let rsa = pem::encode(&pem::Pem::new("PUBLIC KEY", vec![0x30, 0x82, 0x01, 0x22]));
        assert_eq!(
            TokenVerifier::from_public_pem(&rsa).err(),
            Some(KeyError::NotEd25519)
        );
    }

    #[test]
    fn a_key_pair_made_by_openssl_works() {
        // `openssl genpkey -algorithm ed25519` writes PKCS#8 v1 without the public key; the
        // example is such a file, so parse it by hand past the example check.
        let der = parse_pem(EXAMPLE_PRIVATE, "PRIVATE KEY").unwrap_or_default();
        let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der);
        assert!(pair.is_ok());
        assert_eq!(
            pair.map(|p| fingerprint(p.public_key().as_ref()))
                .ok()
                .as_deref(),
            Some(EXAMPLE_KEY_FINGERPRINT)
        );
    }
}
