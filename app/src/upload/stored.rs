//! A stored object read as a file by ranged reads: the probe looks at an upload that went straight
//! to storage (an upload session's) without fetching all of it, wherever its `moov` is.

use std::io::{Read, Seek, SeekFrom};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use platform::storage::{Storage, StorageKey};

/// The most one ranged read asks for: a `moov` of many MiB comes in several reads, never one
/// allocation of the store's whole answer on top of the probe's own.
const MAX_READ_BYTES: u64 = 4 * 1024 * 1024;

/// How much a reader fetched: ranged reads and bytes (shared, so the caller sees them after the
/// reader moved to the probe's thread).
#[derive(Debug, Default)]
pub struct Fetched {
    pub reads: AtomicU64,
    pub bytes: AtomicU64,
}

/// `Read + Seek` over the object at `key` of `size` bytes. Its calls block on `runtime`: use it on
/// a blocking thread only (the probe's).
pub struct StoredReader {
    storage: Arc<dyn Storage>,
    key: StorageKey,
    size: u64,
    position: u64,
    runtime: tokio::runtime::Handle,
    fetched: Arc<Fetched>,
}

impl StoredReader {
    pub fn new(
        storage: Arc<dyn Storage>,
        key: StorageKey,
        size: u64,
        runtime: tokio::runtime::Handle,
        fetched: Arc<Fetched>,
    ) -> Self {
        Self {
            storage,
            key,
            size,
            position: 0,
            runtime,
            fetched,
        }
    }
}

impl Read for StoredReader {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let left = self.size.saturating_sub(self.position);
        let want = (buffer.len() as u64).min(left).min(MAX_READ_BYTES);
        if want == 0 {
            return Ok(0);
        }
        let bytes = self
            .runtime
            .block_on(self.storage.read_range(&self.key, self.position, want))
            .map_err(std::io::Error::other)?;
        let read = bytes.len().min(buffer.len());
        buffer[..read].copy_from_slice(&bytes[..read]);
        self.position += read as u64;
        self.fetched.reads.fetch_add(1, Ordering::Relaxed);
        self.fetched.bytes.fetch_add(read as u64, Ordering::Relaxed);
        Ok(read)
    }
}

impl Seek for StoredReader {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let target = match to {
            SeekFrom::Start(offset) => Some(offset),
            SeekFrom::End(delta) => self.size.checked_add_signed(delta),
            SeekFrom::Current(delta) => self.position.checked_add_signed(delta),
        };
        let target = target.ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "seek before the start")
        })?;
        self.position = target;
        Ok(target)
    }
}
