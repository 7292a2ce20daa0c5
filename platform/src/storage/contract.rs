//! What every storage backend promises: the `Storage` trait, the keys it accepts, the objects it
//! lists and its errors. The conformance suite holds both backends to it.

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;

/// A storage key: `/`-separated segments of `[A-Za-z0-9._-]`, none starting with a dot.
///
/// Checked once here, so no backend can be pointed outside its root or bucket prefix.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StorageKey(String);

impl StorageKey {
    pub fn parse(raw: &str) -> Result<Self, StorageError> {
        let valid_segment = |segment: &str| {
            !segment.is_empty()
                && !segment.starts_with('.')
                && segment
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        };
        if raw.len() <= 512 && raw.split('/').all(valid_segment) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(StorageError::InvalidKey(raw.chars().take(80).collect()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A key this crate builds from parts that are valid by construction (ids, fixed names).
    pub(crate) fn built(raw: String) -> Self {
        debug_assert!(Self::parse(&raw).is_ok(), "built an invalid key {raw:?}");
        Self(raw)
    }
}

impl std::fmt::Display for StorageKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An object as a listing shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    pub key: StorageKey,
    /// When it was last written; `None` when the backend could not say (such an object is never
    /// taken for old).
    pub modified: Option<std::time::SystemTime>,
}

/// A part of a multipart upload, as the store has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPart {
    /// 1-based, as S3 numbers parts.
    pub number: u32,
    pub size: u64,
    /// What completing the upload names the part by (S3's ETag).
    pub etag: String,
}

/// A storage failure. The backend's own error is kept as the source, for logs only.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("invalid storage key {0:?}")]
    InvalidKey(String),
    #[error("no object at key {0}")]
    NotFound(StorageKey),
    #[error("storage {operation} failed for {key}")]
    Backend {
        operation: &'static str,
        key: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl StorageError {
    pub(crate) fn backend(
        operation: &'static str,
        key: impl std::fmt::Display,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self::Backend {
            operation,
            key: key.to_string(),
            source: source.into(),
        }
    }
}

/// The operations the app and the worker need from a file store.
#[async_trait]
pub trait Storage: Send + Sync + std::fmt::Debug + std::any::Any {
    /// Stores the file at `source` under `key`, replacing any object there.
    async fn put_file(
        &self,
        key: &StorageKey,
        source: &Path,
        content_type: &str,
    ) -> Result<(), StorageError>;

    /// Writes the object at `key` into a new file at `destination`; returns its size in bytes.
    async fn download_to(&self, key: &StorageKey, destination: &Path) -> Result<u64, StorageError>;

    /// Whether an object exists at `key`.
    async fn exists(&self, key: &StorageKey) -> Result<bool, StorageError>;

    /// Removes the object at `key`; removing a missing object succeeds.
    async fn delete(&self, key: &StorageKey) -> Result<(), StorageError>;

    /// A link that lets anyone holding it download the object until it expires.
    async fn signed_url(
        &self,
        key: &StorageKey,
        expires_in: Duration,
    ) -> Result<String, StorageError>;

    /// Readiness: proves the store answers (and, for a directory, is writable).
    async fn check(&self) -> Result<(), StorageError>;

    /// Every object whose key starts with `prefix` (a key's leading segments, e.g. `videos/`),
    /// with when it was last written.
    async fn list(&self, prefix: &str) -> Result<Vec<StoredObject>, StorageError>;

    /// The size in bytes of the object at `key` ([`StorageError::NotFound`] when there is none).
    async fn size_of(&self, key: &StorageKey) -> Result<u64, StorageError>;

    /// Up to `length` bytes of the object at `key` from `offset` (fewer only at its end): a ranged
    /// read, so a probe looks at a stored file without fetching all of it.
    async fn read_range(
        &self,
        key: &StorageKey,
        offset: u64,
        length: u64,
    ) -> Result<Vec<u8>, StorageError>;

    /// Starts a multipart upload to `key`; returns its upload id. Nothing is at `key` until
    /// [`Storage::complete_multipart`].
    async fn create_multipart(
        &self,
        key: &StorageKey,
        content_type: &str,
    ) -> Result<String, StorageError>;

    /// A pre-signed link a client PUTs part `number` (of exactly `size` bytes) to, valid for
    /// `expires_in`, when the store takes parts straight from clients (S3); `None` when the app
    /// must receive them and [`Storage::put_part`] them itself (a local directory).
    async fn presign_part(
        &self,
        key: &StorageKey,
        upload_id: &str,
        number: u32,
        size: u64,
        expires_in: Duration,
    ) -> Result<Option<String>, StorageError>;

    /// Stores the file at `source` as part `number`, replacing any part of that number; returns
    /// its ETag.
    async fn put_part(
        &self,
        key: &StorageKey,
        upload_id: &str,
        number: u32,
        source: &Path,
    ) -> Result<String, StorageError>;

    /// The parts received so far, by number ([`StorageError::NotFound`] when the upload is gone).
    async fn list_parts(
        &self,
        key: &StorageKey,
        upload_id: &str,
    ) -> Result<Vec<StoredPart>, StorageError>;

    /// Joins `parts` (in order) into the object at `key` and ends the upload.
    async fn complete_multipart(
        &self,
        key: &StorageKey,
        upload_id: &str,
        parts: &[StoredPart],
    ) -> Result<(), StorageError>;

    /// Ends the upload and drops its parts; aborting an upload that is gone succeeds.
    async fn abort_multipart(&self, key: &StorageKey, upload_id: &str) -> Result<(), StorageError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_cannot_escape_the_root() {
        for bad in [
            "",
            "/abs",
            ".hidden",
            "a/.partial/b",
            "a//b",
            "../x",
            "a/../b",
            "a/./b",
            "a b",
            "a\\b",
            "é",
            "a/",
        ] {
            assert!(StorageKey::parse(bad).is_err(), "{bad:?} should be refused");
        }
        for good in ["videos/1/original.mp4", "a", "a.b-c_d/E9"] {
            assert!(
                StorageKey::parse(good).is_ok(),
                "{good:?} should be accepted"
            );
        }
    }
}
