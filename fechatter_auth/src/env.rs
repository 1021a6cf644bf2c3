//! Loading the token keys from a service's environment, validated at start-up with errors that
//! name the variable: `{PREFIX}_JWT_PRIVATE_KEY_FILE` (fechatter_server) and
//! `{PREFIX}_JWT_PUBLIC_KEY_FILE` (the verifying services), or the PEM itself in
//! `{PREFIX}_JWT_PRIVATE_KEY` / `{PREFIX}_JWT_PUBLIC_KEY`.

use std::time::Duration;

use env_config::{ConfigError, Env};
use secrecy::ExposeSecret;

use crate::{KeyError, TokenSigner, TokenVerifier};

/// The shortest text that can be a PEM key at all; anything shorter is a mistake worth naming.
const MIN_PEM_LEN: usize = 40;

fn invalid(env: &Env, name: &str, err: KeyError) -> ConfigError {
    ConfigError::InvalidSecret {
        variable: env.variable(name),
        reason: err.to_string(),
    }
}

/// The private key fechatter_server signs with.
pub fn signer_from_env(env: &Env, ttl: Duration) -> Result<TokenSigner, ConfigError> {
    let pem = env.required_secret_or_file("JWT_PRIVATE_KEY", MIN_PEM_LEN)?;
    TokenSigner::from_private_pem(pem.expose_secret(), ttl)
        .map_err(|err| invalid(env, "JWT_PRIVATE_KEY_FILE", err))
}

/// The public key a service verifies with.
pub fn verifier_from_env(env: &Env) -> Result<TokenVerifier, ConfigError> {
    let pem = env.required_secret_or_file("JWT_PUBLIC_KEY", MIN_PEM_LEN)?;
    TokenVerifier::from_public_pem(pem.expose_secret())
        .map_err(|err| invalid(env, "JWT_PUBLIC_KEY_FILE", err))
}

/// What each variable read here means, for the generated environment table of
/// `docs/development.md` (by name without the prefix).
pub const ENV_NOTES: &[(&str, &str)] = &[
    (
        "JWT_PRIVATE_KEY",
        "the Ed25519 key access tokens are signed with (PEM); see `docs/runbook.md#keys-and-passwords`",
    ),
    (
        "JWT_PUBLIC_KEY",
        "fechatter_server's public key (PEM), to verify access tokens",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate_key_pair;

    #[test]
    fn a_missing_or_wrong_key_names_its_variable() {
        let missing = verifier_from_env(&Env::from_map("NOTIFY", Vec::<(String, String)>::new()))
            .unwrap_err();
        assert_eq!(
            missing.to_string(),
            "NOTIFY_JWT_PUBLIC_KEY_FILE (or NOTIFY_JWT_PUBLIC_KEY): must be set"
        );
        let (private, public) = generate_key_pair().unwrap_or_else(|err| panic!("{err}"));
        let swapped = verifier_from_env(&Env::from_map(
            "NOTIFY",
            [("NOTIFY_JWT_PUBLIC_KEY", private)],
        ))
        .unwrap_err();
        assert!(
            swapped
                .to_string()
                .starts_with("NOTIFY_JWT_PUBLIC_KEY_FILE"),
            "{swapped}"
        );
        assert!(
            !swapped.to_string().contains("BEGIN"),
            "the key is never echoed: {swapped}"
        );
        assert!(
            verifier_from_env(&Env::from_map(
                "NOTIFY",
                [("NOTIFY_JWT_PUBLIC_KEY", public)]
            ))
            .is_ok()
        );
    }

    #[test]
    fn the_signer_reads_its_key_from_a_file() {
        let (private, _) = generate_key_pair().unwrap_or_else(|err| panic!("{err}"));
        let dir = std::env::temp_dir().join(format!("fechatter-auth-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|err| panic!("{err}"));
        let file = dir.join("jwt_private.pem");
        std::fs::write(&file, private).unwrap_or_else(|err| panic!("{err}"));
        let env = Env::from_map(
            "FECHATTER",
            [("FECHATTER_JWT_PRIVATE_KEY_FILE", file.display().to_string())],
        );
        assert!(signer_from_env(&env, Duration::from_secs(60)).is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
