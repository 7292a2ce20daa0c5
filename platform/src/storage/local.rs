//! The local-directory backend: files under one root, served by the app under signed, expiring links.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use url::Url;

use super::contract::{Storage, StorageError, StorageKey, StoredObject};
use crate::config::Secret;

type HmacSha256 = Hmac<Sha256>;

/// Where partially written files wait before an atomic rename; keys cannot name it (no dot segments).
const PARTIAL_DIR: &str = ".partial";

/// The path prefix under which the app serves local files.
pub const FILES_ROUTE: &str = "/files/";

/// Why a local file link was refused (all are answered with 403).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkRejection {
    #[error("the link's signature does not match")]
    BadSignature,
    #[error("the link has expired")]
    Expired,
}

#[derive(Debug)]
pub struct LocalStorage {
    root: PathBuf,
    public_base_url: Url,
    signing_secret: Secret,
}

impl LocalStorage {
    /// Opens (creating if needed) the directory at `root`.
    pub async fn new(
        root: &Path,
        public_base_url: Url,
        signing_secret: Secret,
    ) -> Result<Self, StorageError> {
        let root = std::path::absolute(root)
            .map_err(|error| StorageError::backend("open", root.display(), error))?;
        tokio::fs::create_dir_all(root.join(PARTIAL_DIR))
            .await
            .map_err(|error| StorageError::backend("open", root.display(), error))?;
        Ok(Self {
            root,
            public_base_url,
            signing_secret,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path_of(&self, key: &StorageKey) -> PathBuf {
        self.root.join(key.as_str())
    }

    fn signature(&self, key: &str, expires: u64) -> HmacSha256 {
        // HMAC accepts keys of any length.
        let mut mac = HmacSha256::new_from_slice(self.signing_secret.expose().as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(key.as_bytes());
        mac.update(b"\n");
        mac.update(expires.to_string().as_bytes());
        mac
    }

    /// The signed link to `key`, valid until `expires` (seconds since the Unix epoch).
    pub fn link(&self, key: &StorageKey, expires: u64) -> String {
        let signature = hex::encode(
            self.signature(key.as_str(), expires)
                .finalize()
                .into_bytes(),
        );
        let base = self.public_base_url.as_str().trim_end_matches('/');
        format!("{base}{FILES_ROUTE}{key}?expires={expires}&signature={signature}")
    }

    /// Checks a link's parts and returns the file to serve. The signature is compared in constant
    /// time and checked before the expiry, so a forged link learns nothing.
    pub fn open_link(
        &self,
        key: &str,
        expires: u64,
        signature_hex: &str,
        now: SystemTime,
    ) -> Result<PathBuf, LinkRejection> {
        let signature = hex::decode(signature_hex).map_err(|_| LinkRejection::BadSignature)?;
        self.signature(key, expires)
            .verify_slice(&signature)
            .map_err(|_| LinkRejection::BadSignature)?;
        if unix_seconds(now) >= expires {
            return Err(LinkRejection::Expired);
        }
        // A correctly signed key was produced by us from a valid key; parse again all the same.
        let key = StorageKey::parse(key).map_err(|_| LinkRejection::BadSignature)?;
        Ok(self.path_of(&key))
    }
}

fn unix_seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

fn io_error(operation: &'static str, key: &StorageKey, error: std::io::Error) -> StorageError {
    if error.kind() == std::io::ErrorKind::NotFound {
        StorageError::NotFound(key.clone())
    } else {
        StorageError::backend(operation, key, error)
    }
}

#[async_trait]
impl Storage for LocalStorage {
    async fn put_file(
        &self,
        key: &StorageKey,
        source: &Path,
        _content_type: &str,
    ) -> Result<(), StorageError> {
        let target = self.path_of(key);
        if let Some(parent) = target.parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(|error| StorageError::backend("put", key, error))?;
        }
        // Copy beside the target first and rename: readers never see a half-written file.
        let partial = self
            .root
            .join(PARTIAL_DIR)
            .join(uuid::Uuid::new_v4().to_string());
        let copied = tokio::fs::copy(source, &partial).await;
        if let Err(error) = copied {
            let _ = tokio::fs::remove_file(&partial).await;
            return Err(StorageError::backend("put", key, error));
        }
        tokio::fs::rename(&partial, &target)
            .await
            .map_err(|error| StorageError::backend("put", key, error))
    }

    async fn download_to(&self, key: &StorageKey, destination: &Path) -> Result<u64, StorageError> {
        tokio::fs::copy(self.path_of(key), destination)
            .await
            .map_err(|error| io_error("download", key, error))
    }

    async fn exists(&self, key: &StorageKey) -> Result<bool, StorageError> {
        match tokio::fs::metadata(self.path_of(key)).await {
            Ok(metadata) => Ok(metadata.is_file()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(error) => Err(StorageError::backend("exists", key, error)),
        }
    }

    async fn delete(&self, key: &StorageKey) -> Result<(), StorageError> {
        match tokio::fs::remove_file(self.path_of(key)).await {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(error) => Err(StorageError::backend("delete", key, error)),
        }
    }

    async fn signed_url(
        &self,
        key: &StorageKey,
        expires_in: Duration,
    ) -> Result<String, StorageError> {
        let expires = unix_seconds(SystemTime::now()).saturating_add(expires_in.as_secs().max(1));
        Ok(self.link(key, expires))
    }

    async fn check(&self) -> Result<(), StorageError> {
        let probe = self.root.join(PARTIAL_DIR).join("readiness-probe");
        let root = self.root.display();
        tokio::fs::write(&probe, b"ok")
            .await
            .map_err(|error| StorageError::backend("check", &root, error))?;
        tokio::fs::remove_file(&probe)
            .await
            .map_err(|error| StorageError::backend("check", &root, error))
    }

    async fn list(&self, prefix: &str) -> Result<Vec<StoredObject>, StorageError> {
        let root = self.root.clone();
        let prefix = prefix.to_owned();
        tokio::task::spawn_blocking(move || list_under(&root, &prefix))
            .await
            .map_err(|error| StorageError::backend("list", "", error))?
    }
}

/// Walks `root` for files whose key (path under `root`, `/`-separated) starts with `prefix`,
/// skipping the staging directory and anything that is not a valid key.
fn list_under(root: &Path, prefix: &str) -> Result<Vec<StoredObject>, StorageError> {
    // Start at the deepest directory the prefix names in full.
    let start = prefix.rsplit_once('/').map_or("", |(dirs, _)| dirs);
    let mut pending = vec![root.join(start)];
    let mut found = Vec::new();
    while let Some(dir) = pending.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
            Err(error) => return Err(StorageError::backend("list", dir.display(), error)),
        };
        for entry in entries {
            let entry =
                entry.map_err(|error| StorageError::backend("list", dir.display(), error))?;
            let path = entry.path();
            let Ok(relative) = path.strip_prefix(root) else {
                continue;
            };
            let key = relative
                .components()
                .map(|part| part.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            if key.starts_with(PARTIAL_DIR) {
                continue;
            }
            let metadata = entry
                .metadata()
                .map_err(|error| StorageError::backend("list", &key, error))?;
            if metadata.is_dir() {
                if prefix.starts_with(&format!("{key}/")) || key.starts_with(prefix) {
                    pending.push(path);
                }
                continue;
            }
            if !key.starts_with(prefix) {
                continue;
            }
            if let Ok(key) = StorageKey::parse(&key) {
                let modified = metadata.modified().ok();
                found.push(StoredObject { key, modified });
            }
        }
    }
    found.sort_by(|a, b| a.key.as_str().cmp(b.key.as_str()));
    Ok(found)
}
