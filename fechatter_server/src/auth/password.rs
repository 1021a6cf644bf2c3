//! Argon2id password hashing, off the async runtime and bounded: one hash per core runs at a time
//! (each holds its memory cost, 19 MiB by default, for its whole run), at most
//! `FECHATTER_ARGON2_MAX_WAITING` more wait for a core, and a request beyond those is refused at
//! once (503) rather than queued, so a flood of sign-ins cannot pile up connections and memory.

use std::sync::atomic::{AtomicUsize, Ordering};
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
    /// Requests waiting for a permit, and how many may.
    waiting: Arc<AtomicUsize>,
    max_waiting: usize,
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
        Self::with_concurrency(params, cores, settings.max_waiting)
    }

    fn with_concurrency(
        params: Params,
        concurrent: usize,
        max_waiting: usize,
    ) -> Result<Self, argon2::Error> {
        Ok(Self {
            params,
            permits: Arc::new(Semaphore::new(concurrent.max(1))),
            waiting: Arc::new(AtomicUsize::new(0)),
            max_waiting,
            decoy: Arc::new(OnceLock::new()),
        })
    }

    fn argon2(params: Params) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
    }

    /// A permit to hash: at once if a core is free, after a wait if fewer than `max_waiting`
    /// others wait, else `Overloaded`.
    async fn permit(&self) -> Result<tokio::sync::SemaphorePermit<'_>, AppError> {
        if let Ok(permit) = self.permits.try_acquire() {
            return Ok(permit);
        }
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            tracing::warn!("password hashing is saturated; a request was refused");
            return Err(AppError::Overloaded);
        }
        // Leaves the queue even when the request is dropped while waiting.
        struct Waiting<'a>(&'a AtomicUsize);
        impl Drop for Waiting<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::SeqCst);
            }
        }
        let _waiting = Waiting(&self.waiting);
        self.permits.acquire().await.map_err(AppError::internal)
    }

    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AppError> {
        let _permit = self.permit().await?;
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
            max_waiting: 32,
        })
        .unwrap_or_else(|err| panic!("{err}"))
    }

    #[tokio::test]
    async fn hashes_beyond_the_running_and_the_waiting_are_refused_at_once() {
        // One core's worth of expensive hashes, one more allowed to wait.
        let params = Params::new(32 * 1024, 4, 1, None).unwrap_or_else(|err| panic!("{err}"));
        let passwords =
            Passwords::with_concurrency(params, 1, 1).unwrap_or_else(|err| panic!("{err}"));
        let hash = passwords.hash("correct horse".into()).await.ok();
        let attempts: Vec<_> = (0..6)
            .map(|_| {
                let passwords = passwords.clone();
                let hash = hash.clone();
                tokio::spawn(async move {
                    let started = std::time::Instant::now();
                    let outcome = passwords.verify("guess".into(), hash).await;
                    (
                        outcome.map_err(|err| matches!(err, AppError::Overloaded)),
                        started.elapsed(),
                    )
                })
            })
            .collect();
        let mut done = 0;
        let mut refused = Vec::new();
        for attempt in attempts {
            match attempt.await.unwrap_or_else(|err| panic!("{err}")) {
                (Ok(_), _) => done += 1,
                (Err(true), elapsed) => refused.push(elapsed),
                (Err(false), _) => panic!("an unexpected error"),
            }
        }
        assert!(done >= 2, "the running and the waiting hash finish: {done}");
        assert!(!refused.is_empty(), "the others are refused");
        assert!(
            refused
                .iter()
                .all(|elapsed| *elapsed < std::time::Duration::from_millis(50)),
            "refusals cost no hashing time: {refused:?}"
        );
        // Nothing is left counted as waiting.
        assert_eq!(passwords.waiting.load(Ordering::SeqCst), 0);
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
