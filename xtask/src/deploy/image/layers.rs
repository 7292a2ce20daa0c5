//! One layer of an image: the paths it holds, written as a reproducible gzip'd tar blob (entries
//! sorted, owned by root, dated 1970; gzip without name or time), hashed as it streams.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use aws_lc_rs::digest;
use flate2::{Compression, GzBuilder};

use crate::console::{Progress, mb};
use crate::deploy::oci::{Blob, LAYER_MEDIA_TYPE, Layer};

/// What goes at one path of a layer.
#[derive(Debug, Clone)]
enum Entry {
    Directory { mode: u32 },
    File { from: PathBuf, mode: u32, size: u64 },
    Bytes { data: Vec<u8>, mode: u32 },
}

/// The contents of one layer, keyed by path without the leading `/`. A `BTreeMap` of paths
/// orders by components, so a directory always comes before what it holds.
#[derive(Debug, Clone)]
pub(super) struct LayerPlan {
    what: &'static str,
    entries: BTreeMap<PathBuf, Entry>,
}

impl LayerPlan {
    pub(super) fn new(what: &'static str) -> Self {
        Self {
            what,
            entries: BTreeMap::new(),
        }
    }

    fn relative(path: &str) -> PathBuf {
        PathBuf::from(path.trim_start_matches('/'))
    }

    /// Adds the parent directories of `path` (0755) unless already there.
    fn parents(&mut self, path: &Path) {
        for parent in path.ancestors().skip(1) {
            if parent.as_os_str().is_empty() {
                break;
            }
            self.entries
                .entry(parent.to_path_buf())
                .or_insert(Entry::Directory { mode: 0o755 });
        }
    }

    pub(super) fn directory(&mut self, path: &str, mode: u32) {
        let path = Self::relative(path);
        self.parents(&path);
        self.entries.insert(path, Entry::Directory { mode });
    }

    /// `from`'s content at `path`: 0755 when `from` is executable by anyone, 0644 otherwise.
    pub(super) fn file_from(&mut self, path: &str, from: &Path) -> anyhow::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let metadata =
            std::fs::metadata(from).with_context(|| format!("cannot read {}", from.display()))?;
        let mode = if metadata.permissions().mode() & 0o111 != 0 {
            0o755
        } else {
            0o644
        };
        let path = Self::relative(path);
        self.parents(&path);
        self.entries.insert(
            path,
            Entry::File {
                from: from.to_path_buf(),
                mode,
                size: metadata.len(),
            },
        );
        Ok(())
    }

    pub(super) fn file_bytes(&mut self, path: &str, data: Vec<u8>) {
        let path = Self::relative(path);
        self.parents(&path);
        self.entries
            .insert(path, Entry::Bytes { data, mode: 0o644 });
    }

    fn content_size(&self) -> u64 {
        self.entries
            .values()
            .map(|entry| match entry {
                Entry::Directory { .. } => 0,
                Entry::File { size, .. } => *size,
                Entry::Bytes { data, .. } => data.len() as u64,
            })
            .sum()
    }

    /// Writes the layer as a gzip'd tar blob into `blobs` (streamed: the layer is never in
    /// memory). Entries are sorted, owned by root, dated 1970; gzip has no name and no time.
    pub(super) fn write(&self, blobs: &Path) -> anyhow::Result<Layer> {
        let partial = blobs.join(format!(".{}.partial", self.what));
        let file = std::fs::File::create(&partial)?;
        let compressed = Hashing::new(std::io::BufWriter::with_capacity(1 << 20, file));
        let gzip = GzBuilder::new()
            .mtime(0)
            .operating_system(255)
            .write(compressed, Compression::default());
        let progress = Progress::new(format!("{} layer", self.what), self.content_size());
        let mut tar = tar::Builder::new(Hashing::new(gzip));
        let mut files = 0;
        for (path, entry) in &self.entries {
            let mut header = tar::Header::new_ustar();
            header.set_uid(0);
            header.set_gid(0);
            header.set_mtime(0);
            match entry {
                Entry::Directory { mode } => {
                    header.set_entry_type(tar::EntryType::Directory);
                    header.set_mode(*mode);
                    header.set_size(0);
                    tar.append_data(&mut header, path, std::io::empty())?;
                }
                Entry::File { from, mode, size } => {
                    header.set_entry_type(tar::EntryType::Regular);
                    header.set_mode(*mode);
                    header.set_size(*size);
                    let source = std::fs::File::open(from)
                        .with_context(|| format!("cannot open {}", from.display()))?;
                    // Exactly the size in the header, even if the file changed meanwhile.
                    let reader = Counting {
                        inner: source.take(*size),
                        progress: &progress,
                    };
                    tar.append_data(&mut header, path, reader)
                        .with_context(|| format!("cannot add {}", from.display()))?;
                    files += 1;
                }
                Entry::Bytes { data, mode } => {
                    header.set_entry_type(tar::EntryType::Regular);
                    header.set_mode(*mode);
                    header.set_size(data.len() as u64);
                    tar.append_data(&mut header, path, data.as_slice())?;
                    files += 1;
                }
            }
        }
        let uncompressed = tar.into_inner()?;
        let (diff_id, uncompressed_size) = (uncompressed.digest(), uncompressed.bytes);
        let compressed = uncompressed.inner.finish()?;
        let (digest, size) = (compressed.digest(), compressed.bytes);
        compressed
            .inner
            .into_inner()
            .map_err(std::io::IntoInnerError::into_error)?
            .sync_all()?;
        let path = blobs.join(hex_of(&digest));
        std::fs::rename(&partial, &path)?;
        progress.finish(&format!(
            "{} layer: {:.1} MB in {} file(s), {:.1} MB compressed",
            self.what,
            mb(uncompressed_size),
            files,
            mb(size)
        ));
        Ok(Layer {
            blob: Blob {
                media_type: LAYER_MEDIA_TYPE,
                digest,
                size,
                path,
            },
            diff_id,
            uncompressed_size,
            what: self.what,
            files,
        })
    }
}

/// The hex digits of a `sha256:` digest (a blob's file name in a layout).
pub(super) fn hex_of(digest: &str) -> &str {
    digest.strip_prefix("sha256:").unwrap_or(digest)
}

/// A writer that hashes (SHA-256) and counts what passes through it. aws-lc's assembly, not the
/// `sha2` crate: xtask runs as a debug build, where `sha2` would take a third of the build time.
struct Hashing<W> {
    inner: W,
    hasher: digest::Context,
    bytes: u64,
}

impl<W> Hashing<W> {
    fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: digest::Context::new(&digest::SHA256),
            bytes: 0,
        }
    }

    fn digest(&self) -> String {
        format!("sha256:{}", hex::encode(self.hasher.clone().finish()))
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let written = self.inner.write(buf)?;
        self.hasher.update(&buf[..written]);
        self.bytes += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A reader that reports what it reads to a progress display.
struct Counting<'a, R> {
    inner: R,
    progress: &'a Progress,
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buf)?;
        self.progress.add(read as u64);
        Ok(read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer_of(dir: &Path) -> LayerPlan {
        let mut plan = LayerPlan::new("test");
        plan.file_from("/usr/lib/zeta.so", &dir.join("zeta"))
            .unwrap();
        plan.file_from("/usr/lib/alpha.so", &dir.join("alpha"))
            .unwrap();
        plan.file_bytes("/etc/passwd", b"root:x:0:0::/:/sbin/nologin\n".to_vec());
        plan.directory("/tmp", 0o1777);
        plan
    }

    #[test]
    fn the_same_layer_twice_has_the_same_digest_and_sorted_entries_dated_1970() {
        let sources = tempfile::tempdir().unwrap();
        std::fs::write(sources.path().join("zeta"), vec![7u8; 300_000]).unwrap();
        std::fs::write(sources.path().join("alpha"), b"alpha").unwrap();
        let plan = layer_of(sources.path());
        let first_dir = tempfile::tempdir().unwrap();
        let second_dir = tempfile::tempdir().unwrap();
        let first = plan.write(first_dir.path()).unwrap();
        // Touch a source: its time must not leak into the layer.
        std::fs::write(sources.path().join("alpha"), b"alpha").unwrap();
        let second = layer_of(sources.path()).write(second_dir.path()).unwrap();
        assert_eq!(first.blob.digest, second.blob.digest);
        assert_eq!(first.diff_id, second.diff_id);
        assert_eq!(first.files, 3);
        assert_eq!(
            std::fs::read(&first.blob.path).unwrap(),
            std::fs::read(&second.blob.path).unwrap()
        );

        let gz = std::fs::File::open(&first.blob.path).unwrap();
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(gz));
        let mut names = Vec::new();
        for entry in archive.entries().unwrap() {
            let entry = entry.unwrap();
            let header = entry.header();
            assert_eq!(header.mtime().unwrap(), 0);
            assert_eq!((header.uid().unwrap(), header.gid().unwrap()), (0, 0));
            if header.entry_type().is_file() {
                assert!(header.mode().unwrap() & 0o004 != 0, "readable by app");
            }
            names.push(entry.path().unwrap().into_owned());
        }
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
        assert_eq!(
            names,
            [
                "etc",
                "etc/passwd",
                "tmp",
                "usr",
                "usr/lib",
                "usr/lib/alpha.so",
                "usr/lib/zeta.so"
            ]
            .map(PathBuf::from)
        );
    }

    #[test]
    fn gzip_header_has_no_name_and_no_time() {
        let sources = tempfile::tempdir().unwrap();
        std::fs::write(sources.path().join("zeta"), b"z").unwrap();
        std::fs::write(sources.path().join("alpha"), b"a").unwrap();
        let out = tempfile::tempdir().unwrap();
        let layer = layer_of(sources.path()).write(out.path()).unwrap();
        let bytes = std::fs::read(&layer.blob.path).unwrap();
        // ID1 ID2 CM FLG MTIME(4) XFL OS
        assert_eq!(
            &bytes[..4],
            &[0x1f, 0x8b, 8, 0],
            "no FNAME/FCOMMENT/FEXTRA flags"
        );
        assert_eq!(&bytes[4..8], &[0, 0, 0, 0], "mtime 0");
    }
}
