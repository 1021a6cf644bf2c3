//! `fechatter_secrets DIR`: creates the deployment's secrets in DIR on first start and keeps them
//! afterwards (a file that exists is never rewritten), so no deployment runs on a well-known key.
//! `./scripts/up` and docker compose's one-shot `secrets` service run it before anything else.
//!
//! DIR receives (private files 0600):
//! - `jwt_private.pem` (fechatter_server) and `jwt_public.pem` (every service): the Ed25519 pair
//!   access tokens are signed and verified with;
//! - `nats_<user>_password` for each NATS user of `nats/nats-server.conf`, and `nats.env`, the
//!   same passwords as `<USER>_NATS_PASSWORD=…` lines for nats-server, whose configuration reads
//!   them from its environment;
//! - `bot_api_key`: what bot_server presents to fechatter_server for its bots' access tokens;
//! - `probe_password`: the password bot_server's synthetic probe signs its canary users up and in
//!   with.
//!
//! Values are never printed; the key's fingerprint is.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;

/// The NATS users of `nats/nats-server.conf`, by the prefix of their password variable.
const NATS_USERS: [&str; 5] = ["fechatter", "notify", "bot", "analytics", "operator"];

fn random_bytes() -> [u8; 32] {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes
}

fn random_secret() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes())
}

/// nats-server parses a variable's value as configuration, so a password must read as a bare
/// word: a letter, then hex digits (a leading digit would make it a malformed number).
fn nats_password() -> String {
    format!("p{}", hex::encode(random_bytes()))
}

/// Writes `content` to `path` unless it exists; true when written.
fn create(path: &Path, content: &str, mode: u32) -> std::io::Result<bool> {
    let mut file = match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
    {
        Ok(file) => file,
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => return Ok(false),
        Err(err) => return Err(err),
    };
    file.write_all(content.as_bytes())?;
    file.sync_all()?;
    // The umask may have narrowed the mode asked for.
    fs::set_permissions(path, fs::Permissions::from_mode(mode))?;
    Ok(true)
}

fn run(dir: &Path) -> Result<(), String> {
    let fail = |what: &str, err: &dyn std::fmt::Display| format!("{what}: {err}");
    fs::create_dir_all(dir).map_err(|err| fail(&dir.display().to_string(), &err))?;
    let mut created = Vec::new();

    let private_path = dir.join("jwt_private.pem");
    let public_path = dir.join("jwt_public.pem");
    if !private_path.exists() {
        let (private, public) = fechatter_auth::generate_key_pair()
            .map_err(|err| fail("generating a key pair", &err))?;
        // The public half first: a private key without it would be kept while its pair is lost.
        fs::write(&public_path, &public).map_err(|err| fail("jwt_public.pem", &err))?;
        fs::set_permissions(&public_path, fs::Permissions::from_mode(0o644))
            .map_err(|err| fail("jwt_public.pem", &err))?;
        create(&private_path, &private, 0o600).map_err(|err| fail("jwt_private.pem", &err))?;
        created.push("jwt_private.pem, jwt_public.pem");
    }
    let private = fs::read_to_string(&private_path).map_err(|err| fail("jwt_private.pem", &err))?;
    let signer = fechatter_auth::TokenSigner::from_private_pem(
        &private,
        fechatter_auth::DEFAULT_ACCESS_TOKEN_TTL,
    )
    .map_err(|err| fail("jwt_private.pem", &err))?;
    let public = fs::read_to_string(&public_path).map_err(|err| fail("jwt_public.pem", &err))?;
    let verifier = fechatter_auth::TokenVerifier::from_public_pem(&public)
        .map_err(|err| fail("jwt_public.pem", &err))?;
    if verifier.fingerprint() != signer.verifier().fingerprint() {
        return Err("jwt_public.pem is not the public half of jwt_private.pem".to_owned());
    }

    let mut env_lines = String::new();
    for user in NATS_USERS {
        let name = format!("nats_{user}_password");
        let path = dir.join(&name);
        if create(&path, &nats_password(), 0o600).map_err(|err| fail(&name, &err))? {
            created.push("NATS passwords");
        }
        let password = fs::read_to_string(&path).map_err(|err| fail(&name, &err))?;
        env_lines.push_str(&format!(
            "{}_NATS_PASSWORD={}\n",
            user.to_ascii_uppercase(),
            password.trim()
        ));
    }
    // Always rewritten from the password files, which are the truth.
    let env_path = dir.join("nats.env");
    let _ = fs::remove_file(&env_path);
    create(&env_path, &env_lines, 0o600).map_err(|err| fail("nats.env", &err))?;

    if create(&dir.join("bot_api_key"), &random_secret(), 0o600)
        .map_err(|err| fail("bot_api_key", &err))?
    {
        created.push("bot_api_key");
    }

    if create(&dir.join("probe_password"), &random_secret(), 0o600)
        .map_err(|err| fail("probe_password", &err))?
    {
        created.push("probe_password");
    }

    created.dedup();
    let what = if created.is_empty() {
        "kept the existing secrets".to_owned()
    } else {
        format!("created {}", created.join(", "))
    };
    eprintln!(
        "fechatter_secrets: {what} in {}; access-token key fingerprint {}",
        dir.display(),
        verifier.fingerprint()
    );
    Ok(())
}

fn main() -> ExitCode {
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: fechatter_secrets DIR");
        return ExitCode::from(2);
    };
    match run(&dir) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("fechatter_secrets: {err}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_created_once_and_then_kept() {
        let dir = std::env::temp_dir().join(format!("fechatter-secrets-{}", uuid::Uuid::new_v4()));
        run(&dir).unwrap_or_else(|err| panic!("{err}"));
        let read = |name: &str| fs::read_to_string(dir.join(name)).unwrap_or_default();
        let first = (
            read("jwt_private.pem"),
            read("nats_bot_password"),
            read("bot_api_key"),
            read("probe_password"),
        );
        assert!(first.3.len() >= 32);
        assert!(first.0.starts_with("-----BEGIN PRIVATE KEY-----"));
        assert_eq!(
            fs::metadata(dir.join("jwt_private.pem"))
                .map(|m| m.permissions().mode() & 0o777)
                .ok(),
            Some(0o600)
        );
        assert!(read("nats.env").contains(&format!("BOT_NATS_PASSWORD={}\n", first.1)));
        run(&dir).unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(
            (
                read("jwt_private.pem"),
                read("nats_bot_password"),
                read("bot_api_key"),
                read("probe_password"),
            ),
            first
        );
        let _ = fs::remove_dir_all(&dir);
    }
}
