//! The local-directory backend: files under one root, served by the app under signed, expiring links.
//!
//! A multipart upload keeps its parts in `.parts/<upload id>/<number>` under the root (keys cannot
//! name a dot directory, so no key reaches them) until completing joins them into the object.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use url::Url;

use super::contract::{Storage, StorageError, StorageKey, StoredObject, StoredPart};
use crate::config::Secret;

type HmacSha256 = Hmac<Sha256>;

/// Where partially written files wait before an atomic rename; keys cannot name it (no dot segments).
const PARTIAL_DIR: &str = ".partial";

/// Where multipart uploads keep their parts, one directory per upload.
const PARTS_DIR: &str = ".parts";

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

    /// The directory of a multipart upload's parts; the id must be one [`Storage::create_multipart`]
    /// made (a UUID), so nothing else under the root can be named.
    fn parts_dir(&self, key: &StorageKey, upload_id: &str) -> Result<PathBuf, StorageError> {
        let id =
            uuid::Uuid::parse_str(upload_id).map_err(|_| StorageError::NotFound(key.clone()))?;
        Ok(self.root.join(PARTS_DIR).join(id.to_string()))
    }

    /// HMAC-SHA256 of `message` under the signing secret, as hex: for links the app itself hands
    /// out and checks (the part links of multipart uploads).
    pub fn sign(&self, message: &str) -> String {
        let mut mac = HmacSha256::new_from_slice(self.signing_secret.expose().as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(message.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// Whether `signature_hex` is [`LocalStorage::sign`] of `message` (compared in constant time).
    pub fn verify(&self, message: &str, signature_hex: &str) -> bool {
        let Ok(signature) = hex::decode(signature_hex) else {
            return false;
        };
        let mut mac = HmacSha256::new_from_slice(self.signing_secret.expose().as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(message.as_bytes());
        mac.verify_slice(&signature).is_ok()
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

    async fn size_of(&self, key: &StorageKey) -> Result<u64, StorageError> {
        let metadata = tokio::fs::metadata(self.path_of(key))
            .await
            .map_err(|error| io_error("size", key, error))?;
        if !metadata.is_file() {
            return Err(StorageError::NotFound(key.clone()));
        }
        Ok(metadata.len())
    }

    async fn read_range(
        &self,
        key: &StorageKey,
        offset: u64,
        length: u64,
    ) -> Result<Vec<u8>, StorageError> {
        use tokio::io::{AsyncReadExt, AsyncSeekExt};
        let mut file = tokio::fs::File::open(self.path_of(key))
            .await
            .map_err(|error| io_error("read", key, error))?;
        file.seek(std::io::SeekFrom::Start(offset))
            .await
            .map_err(|error| StorageError::backend("read", key, error))?;
        let mut bytes = Vec::new();
        file.take(length)
            .read_to_end(&mut bytes)
            .await
            .map_err(|error| StorageError::backend("read", key, error))?;
        Ok(bytes)
    }

    async fn create_multipart(
        &self,
        key: &StorageKey,
        _content_type: &str,
    ) -> Result<String, StorageError> {
        let id = uuid::Uuid::new_v4().to_string();
        tokio::fs::create_dir_all(self.parts_dir(key, &id)?)
            .await
            .map_err(|error| StorageError::backend("start upload", key, error))?;
        Ok(id)
    }

    async fn presign_part(
        &self,
        _key: &StorageKey,
        _upload_id: &str,
        _number: u32,
        _size: u64,
        _expires_in: Duration,
    ) -> Result<Option<String>, StorageError> {
        // Clients send parts to the app, which stores them with `put_part`.
        Ok(None)
    }

    async fn put_part(
        &self,
        key: &StorageKey,
        upload_id: &str,
        number: u32,
        source: &Path,
    ) -> Result<String, StorageError> {
        let dir = self.parts_dir(key, upload_id)?;
        if !tokio::fs::try_exists(&dir).await.unwrap_or(false) {
            return Err(StorageError::NotFound(key.clone()));
        }
        // Beside the part first, then renamed: a listing never sees half a part.
        let partial = self
            .root
            .join(PARTIAL_DIR)
            .join(uuid::Uuid::new_v4().to_string());
        if let Err(error) = tokio::fs::copy(source, &partial).await {
            let _ = tokio::fs::remove_file(&partial).await;
            return Err(StorageError::backend("put part", key, error));
        }
        let target = dir.join(number.to_string());
        if let Err(error) = tokio::fs::rename(&partial, &target).await {
            let _ = tokio::fs::remove_file(&partial).await;
            return Err(io_error("put part", key, error));
        }
        let metadata = tokio::fs::metadata(&target)
            .await
            .map_err(|error| StorageError::backend("put part", key, error))?;
        Ok(local_etag(&metadata))
    }

    async fn list_parts(
        &self,
        key: &StorageKey,
        upload_id: &str,
    ) -> Result<Vec<StoredPart>, StorageError> {
        let dir = self.parts_dir(key, upload_id)?;
        let mut entries = tokio::fs::read_dir(&dir)
            .await
            .map_err(|error| io_error("list parts", key, error))?;
        let mut parts = Vec::new();
        while let Some(entry) = entries
            .next_entry()
            .await
            .map_err(|error| StorageError::backend("list parts", key, error))?
        {
            let Some(number) = entry
                .file_name()
                .to_str()
                .and_then(|name| name.parse::<u32>().ok())
            else {
                continue;
            };
            let metadata = entry
                .metadata()
                .await
                .map_err(|error| StorageError::backend("list parts", key, error))?;
            parts.push(StoredPart {
                number,
                size: metadata.len(),
                etag: local_etag(&metadata),
            });
        }
        parts.sort_by_key(|part| part.number);
        Ok(parts)
    }

    async fn complete_multipart(
        &self,
        key: &StorageKey,
        upload_id: &str,
        parts: &[StoredPart],
    ) -> Result<(), StorageError> {
        use tokio::io::AsyncWriteExt;
        let dir = self.parts_dir(key, upload_id)?;
        let target = self.path_of(key);
        if let Some(parent) = target.parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(|error| StorageError::backend("complete upload", key, error))?;
        }
        let partial = self
            .root
            .join(PARTIAL_DIR)
            .join(uuid::Uuid::new_v4().to_string());
        let joined = async {
            let mut out = tokio::fs::File::create(&partial).await?;
            for part in parts {
                let mut source = tokio::fs::File::open(dir.join(part.number.to_string())).await?;
                tokio::io::copy(&mut source, &mut out).await?;
            }
            out.flush().await?;
            out.sync_all().await
        }
        .await;
        if let Err(error) = joined {
            let _ = tokio::fs::remove_file(&partial).await;
            return Err(io_error("complete upload", key, error));
        }
        tokio::fs::rename(&partial, &target)
            .await
            .map_err(|error| StorageError::backend("complete upload", key, error))?;
        tokio::fs::remove_dir_all(&dir)
            .await
            .map_err(|error| StorageError::backend("complete upload", key, error))
    }

    async fn abort_multipart(&self, key: &StorageKey, upload_id: &str) -> Result<(), StorageError> {
        let Ok(dir) = self.parts_dir(key, upload_id) else {
            return Ok(());
        };
        match tokio::fs::remove_dir_all(&dir).await {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(error) => Err(StorageError::backend("abort upload", key, error)),
        }
    }
}

/// A local part's ETag: its size and when it was written, which change whenever it is replaced.
fn local_etag(metadata: &std::fs::Metadata) -> String {
    let written = metadata
        .modified()
        .ok()
        .and_then(|at| at.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |since| since.as_nanos());
    format!("\"{:x}-{written:x}\"", metadata.len())
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
            if key.starts_with(PARTIAL_DIR) || key.starts_with(PARTS_DIR) {
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
