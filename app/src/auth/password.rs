//! Password hashing with argon2id at OWASP's recommended cost (19 MiB, 2 passes, 1 lane), on a
//! small fixed set of dedicated threads, so that a burst of logins never starves other requests.
//!
//! The queue in front of those threads is bounded: when it is full a hash is refused at once
//! ([`HashError::Busy`], a 503 with `Retry-After`) instead of queueing minutes of work that would
//! outlive the burst, and a queued hash whose caller has gone (timed out, disconnected) is skipped.
//!
//! Each hash needs 19 MiB of working memory. Allocating and freeing that per hash made the
//! allocator keep hundreds of MiB resident under a login burst (236 MiB after 15 s of logins), so
//! every hashing thread allocates its block memory once and reuses it: resident memory stays at
//! about 19 MiB per thread.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use std::cell::RefCell;

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::oneshot;

type HashJob = Box<dyn FnOnce() + Send>;

/// Runs hashes on `threads` dedicated threads, in arrival order.
#[derive(Debug, Clone)]
pub struct PasswordHashing {
    jobs: mpsc::SyncSender<HashJob>,
}

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// Every hashing thread is busy and the queue is full: try again shortly.
    #[error("the password hashing queue is full")]
    Busy,
    #[error("password hashing failed: {0}")]
    Failed(String),
}

fn argon2() -> Argon2<'static> {
    // m = 19 MiB, t = 2, p = 1: OWASP's first recommended argon2id configuration.
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::DEFAULT)
}

/// A hash of a password nobody has, verified when the email is unknown so that an unknown email
/// costs as much time as a wrong password (no account enumeration by timing).
const DECOY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$y8Lh3Bu/LnbG3UYRhBvYn4NbNBrc0+YBRcNiMxXPGqM";

impl PasswordHashing {
    /// `threads` hashing threads behind a queue of at most `queue` waiting hashes.
    pub fn new(threads: usize, queue: usize) -> Self {
        let (jobs, queue) = mpsc::sync_channel::<HashJob>(queue);
        let queue = Arc::new(Mutex::new(queue));
        for index in 0..threads.max(1) {
            let queue = Arc::clone(&queue);
            let spawned = std::thread::Builder::new()
                .name(format!("password-hash-{index}"))
                .spawn(move || {
                    loop {
                        // The lock is held only while waiting for the next job.
                        let job = match queue.lock() {
                            Ok(receiver) => receiver.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return, // every sender is gone: the app is stopping
                        }
                    }
                });
            if let Err(error) = spawned {
                tracing::error!(%error, "could not start a password hashing thread");
            }
        }
        Self { jobs }
    }

    async fn on_hash_thread<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let (done, result) = oneshot::channel();
        let job: HashJob = Box::new(move || {
            // The caller went away while this waited: nobody needs the hash.
            if !done.is_closed() {
                let _ = done.send(work());
            }
        });
        self.jobs.try_send(job).map_err(|error| match error {
            mpsc::TrySendError::Full(_) => HashError::Busy,
            mpsc::TrySendError::Disconnected(_) => {
                HashError::Failed("no hashing thread is running".to_owned())
            }
        })?;
        result
            .await
            .map_err(|_| HashError::Failed("the hashing thread stopped".to_owned()))
    }

    /// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`) with a fresh random salt.
    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        self.on_hash_thread(move || with_memory(|memory| hash_with(memory, password.as_bytes())))
            .await?
    }

    /// Whether `password` matches `hash`; with `None` (unknown user) a decoy is verified instead.
    pub async fn verify(&self, password: String, hash: Option<String>) -> Result<bool, HashError> {
        let known = hash.is_some();
        self.on_hash_thread(move || {
            let hash = hash.as_deref().unwrap_or(DECOY_HASH);
            let matches = with_memory(|memory| verify_with(memory, password.as_bytes(), hash));
            known && matches
        })
        .await
    }
}

thread_local! {
    /// The argon2 working memory of this hashing thread, allocated once.
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

fn with_memory<T>(work: impl FnOnce(&mut Vec<Block>) -> T) -> T {
    MEMORY.with(|memory| work(&mut memory.borrow_mut()))
}

/// Blocks for `params`, growing the thread's memory only when a stored hash asks for more.
fn blocks_for<'a>(memory: &'a mut Vec<Block>, params: &Params) -> &'a mut [Block] {
    let needed = params.block_count();
    if memory.len() < needed {
        memory.resize(needed, Block::default());
    }
    &mut memory[..needed]
}

fn hash_with(memory: &mut Vec<Block>, password: &[u8]) -> Result<String, HashError> {
    let failed = |error: &dyn std::fmt::Display| HashError::Failed(error.to_string());
    let params = Params::DEFAULT;
    let salt_bytes = *uuid::Uuid::new_v4().as_bytes();
    let mut output = [0u8; Params::DEFAULT_OUTPUT_LEN];
    argon2()
        .hash_password_into_with_memory(
            password,
            &salt_bytes,
            &mut output,
            blocks_for(memory, &params),
        )
        .map_err(|e| failed(&e))?;
    let phc = PasswordHash {
        algorithm: argon2::ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| failed(&e))?,
        salt: Some(Salt::new(&salt_bytes).map_err(|e| failed(&e))?),
        hash: Some(Output::new(&output).map_err(|e| failed(&e))?),
    };
    Ok(phc.to_string())
}

/// Checks `password` against a PHC string with this thread's memory; false for any malformed hash.
fn verify_with(memory: &mut Vec<Block>, password: &[u8], phc: &str) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else {
        return false;
    };
    let (Ok(algorithm), Ok(params)) = (
        Algorithm::try_from(hash.algorithm.as_str()),
        Params::try_from(&hash),
    ) else {
        return false;
    };
    let version = match hash.version.map(Version::try_from) {
        None => Version::V0x13,
        Some(Ok(version)) => version,
        Some(Err(_)) => return false,
    };
    let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else {
        return false;
    };
    let mut output = vec![0u8; expected.len()];
    let computed = Argon2::new(algorithm, version, params.clone()).hash_password_into_with_memory(
        password,
        salt.as_ref(),
        &mut output,
        blocks_for(memory, &params),
    );
    // Output's equality is constant-time.
    computed.is_ok() && Output::new(&output).is_ok_and(|output| &output == expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_are_salted() -> Result<(), HashError> {
        let hashing = PasswordHashing::new(2, 8);
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

    #[tokio::test]
    async fn a_full_queue_refuses_at_once_and_abandoned_hashes_are_skipped() {
        use std::sync::atomic::{AtomicU32, Ordering};
        let hashing = PasswordHashing::new(1, 2);
        // The one thread is held busy until `gate` opens.
        let (open, gate) = std::sync::mpsc::channel::<()>();
        let busy = {
            let hashing = hashing.clone();
            tokio::spawn(async move { hashing.on_hash_thread(move || gate.recv().is_ok()).await })
        };
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        // Two more fill the queue; their callers then give up.
        let computed = Arc::new(AtomicU32::new(0));
        let mut abandoned = Vec::new();
        for _ in 0..2 {
            let (hashing, computed) = (hashing.clone(), Arc::clone(&computed));
            abandoned.push(tokio::spawn(async move {
                hashing
                    .on_hash_thread(move || computed.fetch_add(1, Ordering::SeqCst))
                    .await
            }));
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let refused = hashing.hash("p".into()).await;
        assert!(matches!(refused, Err(HashError::Busy)), "{refused:?}");
        for task in abandoned {
            task.abort();
            // Once the aborted task is gone, so is the receiver its hash would answer. (A task
            // whose hash was refused as Busy on a slow machine has simply finished.)
            let _ = task.await;
        }
        let _ = open.send(());
        assert!(matches!(busy.await, Ok(Ok(true))));
        // The thread drains the abandoned jobs without running them; then hashing works again.
        let mut hashed = hashing.hash("p".into()).await;
        for _ in 0..100 {
            if !matches!(hashed, Err(HashError::Busy)) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            hashed = hashing.hash("p".into()).await;
        }
        assert!(hashed.is_ok(), "{hashed:?}");
        assert_eq!(computed.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn the_decoy_hash_parses() {
        assert!(PasswordHash::new(DECOY_HASH).is_ok());
    }

    #[test]
    fn hashes_agree_with_the_argon2_crate() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let ours = with_memory(|memory| hash_with(memory, b"interop"));
        let ours = ours.unwrap_or_default();
        assert!(argon2().verify_password(b"interop", ours.as_str()).is_ok());
        let theirs = argon2()
            .hash_password(b"interop")
            .map(|h| h.to_string())
            .unwrap_or_default();
        assert!(with_memory(|memory| verify_with(
            memory, b"interop", &theirs
        )));
        assert!(!with_memory(|memory| verify_with(
            memory, b"other", &theirs
        )));
    }
}
