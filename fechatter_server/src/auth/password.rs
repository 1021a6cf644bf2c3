//! Argon2id password hashing, off the async runtime and bounded in concurrency (each hash holds
//! its memory cost, 19 MiB by default, for its whole run).

use std::sync::{Arc, OnceLock};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};
use tokio::sync::Semaphore;

use crate::config::PasswordHashing;
use crate::error::AppError;

#[derive(Clone)]
pub struct Passwords {
    params: Params,
    permits: Arc<Semaphore>,
    /// A hash to verify against when the email is unknown, so a failed sign-in takes as long
    /// whether or not the account exists.
    decoy: Arc<OnceLock<String>>,
}

impl std::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passwords")
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

impl Passwords {
    pub fn new(settings: PasswordHashing) -> Result<Self, argon2::Error> {
        let params = Params::new(
            settings.memory_kib,
            settings.iterations,
            settings.parallelism,
            None,
        )?;
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Ok(Self {
            params,
            permits: Arc::new(Semaphore::new(cores)),
            decoy: Arc::new(OnceLock::new()),
        })
    }

    fn argon2(params: Params) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
    }

    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AppError> {
        let _permit = self.permits.acquire().await.map_err(AppError::internal)?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(AppError::internal)
    }

    /// The PHC string of `password` with a fresh salt.
    pub async fn hash(&self, password: String) -> Result<String, AppError> {
        let params = self.params.clone();
        self.blocking(move || {
            let salt = SaltString::generate(&mut OsRng);
            Self::argon2(params)
                .hash_password(password.as_bytes(), &salt)
                .map(|hash| hash.to_string())
        })
        .await?
        .map_err(AppError::internal)
    }

    /// Whether `password` matches `hash`; with no hash (unknown account) it spends the same time
    /// and answers false.
    pub async fn verify(&self, password: String, hash: Option<String>) -> Result<bool, AppError> {
        let params = self.params.clone();
        let decoy = self.decoy.clone();
        self.blocking(move || {
            let argon2 = Self::argon2(params);
            let decoy_hash = || {
                decoy
                    .get_or_init(|| {
                        let salt = SaltString::generate(&mut OsRng);
                        argon2
                            .hash_password(b"decoy password", &salt)
                            .map(|hash| hash.to_string())
                            .unwrap_or_default()
                    })
                    .clone()
            };
            let known = hash.is_some();
            let stored = hash.unwrap_or_else(decoy_hash);
            let Ok(parsed) = PasswordHash::new(&stored) else {
                return false;
            };
            // The stored hash carries its own parameters, so old hashes verify after a change.
            let matches = argon2.verify_password(password.as_bytes(), &parsed).is_ok();
            known && matches
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> Passwords {
        Passwords::new(PasswordHashing {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        })
        .unwrap_or_else(|err| panic!("{err}"))
    }

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let passwords = cheap();
        let hash = passwords.hash("correct horse".into()).await.ok();
        assert!(hash.as_deref().is_some_and(|h| h.starts_with("$argon2id$")));
        assert_eq!(
            passwords
                .verify("correct horse".into(), hash.clone())
                .await
                .ok(),
            Some(true)
        );
        assert_eq!(
            passwords.verify("wrong".into(), hash).await.ok(),
            Some(false)
        );
    }

    #[tokio::test]
    async fn an_unknown_account_never_verifies() {
        let passwords = cheap();
        assert_eq!(
            passwords.verify("decoy password".into(), None).await.ok(),
            Some(false)
        );
    }
}
