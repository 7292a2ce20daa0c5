//! Password hashing with argon2id at OWASP's recommended cost (19 MiB, 2 passes, 1 lane), on a
//! bounded set of blocking threads so that a burst of logins never starves other requests.

use std::sync::Arc;

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

/// Hashes are computed at most `threads` at a time, each on tokio's blocking pool.
#[derive(Debug, Clone)]
pub struct PasswordHashing {
    permits: Arc<Semaphore>,
}

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

fn argon2() -> Argon2<'static> {
    // m = 19 MiB, t = 2, p = 1: OWASP's first recommended argon2id configuration.
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::DEFAULT)
}

/// A hash of a password nobody has, verified when the email is unknown so that an unknown email
/// costs as much time as a wrong password (no account enumeration by timing).
const DECOY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$y8Lh3Bu/LnbG3UYRhBvYn4NbNBrc0+YBRcNiMxXPGqM";

impl PasswordHashing {
    pub fn new(threads: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(threads.max(1))),
        }
    }

    async fn on_hash_thread<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|error| HashError(error.to_string()))?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|error| HashError(error.to_string()))
    }

    /// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`) with a fresh random salt.
    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        self.on_hash_thread(move || {
            argon2()
                .hash_password(password.as_bytes())
                .map(|hash| hash.to_string())
                .map_err(|error| HashError(error.to_string()))
        })
        .await?
    }

    /// Whether `password` matches `hash`; with `None` (unknown user) a decoy is verified instead.
    pub async fn verify(&self, password: String, hash: Option<String>) -> Result<bool, HashError> {
        let known = hash.is_some();
        self.on_hash_thread(move || {
            let hash = hash.as_deref().unwrap_or(DECOY_HASH);
            known && argon2().verify_password(password.as_bytes(), hash).is_ok()
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_are_salted() -> Result<(), HashError> {
        let hashing = PasswordHashing::new(2);
        let first = hashing.hash("correct horse".into()).await?;
        let second = hashing.hash("correct horse".into()).await?;
        assert!(first.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert_ne!(first, second);
        assert!(
            hashing
                .verify("correct horse".into(), Some(first.clone()))
                .await?
        );
        assert!(!hashing.verify("wrong horse".into(), Some(first)).await?);
        assert!(!hashing.verify("anything".into(), None).await?);
        Ok(())
    }

    #[test]
    fn the_decoy_hash_parses() {
        assert!(argon2::password_hash::phc::PasswordHash::new(DECOY_HASH).is_ok());
    }
}
