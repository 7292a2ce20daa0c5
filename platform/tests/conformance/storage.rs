//! The storage conformance suite: each case runs against the local directory and S3.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use platform::config::Secret;
use platform::storage::{
    LinkRejection, LocalStorage, S3Storage, Storage, StorageError, StorageKey,
};
use testkit::{peak_rss_bytes, random_file, same_contents};

const MIB: u64 = 1024 * 1024;

/// A backend under test, with whatever keeps its resources alive.
struct Backend {
    storage: Arc<dyn Storage>,
    _root: Option<tempfile::TempDir>,
}

async fn local() -> anyhow::Result<Backend> {
    let root = tempfile::tempdir()?;
    let storage = LocalStorage::new(
        root.path(),
        "http://127.0.0.1:8080".parse()?,
        Secret::new("a-test-signing-secret-of-32-bytes!!"),
    )
    .await?;
    Ok(Backend {
        storage: Arc::new(storage),
        _root: Some(root),
    })
}

async fn s3() -> anyhow::Result<Backend> {
    let config = testkit::aws_config().await?;
    let bucket = testkit::s3_bucket(&config).await?;
    Ok(Backend {
        storage: Arc::new(S3Storage::new(&config, &bucket, "videos", true)),
        _root: None,
    })
}

fn key(raw: &str) -> StorageKey {
    StorageKey::parse(raw).unwrap_or_else(|error| panic!("test key {raw:?}: {error}"))
}

/// Downloads through a signed link the way a client would. A local link is checked by the same
/// code the app serves it with; an S3 link is fetched from the emulator over HTTP.
async fn fetch_link(storage: &dyn Storage, url: &str) -> anyhow::Result<Vec<u8>> {
    match storage.as_local() {
        Some(local) => {
            let path = open_local_link(local, url, SystemTime::now())?;
            Ok(std::fs::read(path)?)
        }
        None => {
            let response = reqwest::get(url).await?.error_for_status()?;
            Ok(response.bytes().await?.to_vec())
        }
    }
}

fn open_local_link(local: &LocalStorage, url: &str, now: SystemTime) -> anyhow::Result<PathBuf> {
    let url = url::Url::parse(url)?;
    let key = url
        .path()
        .strip_prefix(platform::storage::FILES_ROUTE)
        .ok_or_else(|| anyhow::anyhow!("link outside the files route: {url}"))?;
    let query: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    let expires: u64 = query.get("expires").map_or(Ok(0), |e| e.parse())?;
    let signature = query.get("signature").cloned().unwrap_or_default();
    Ok(local.open_link(key, expires, &signature, now)?)
}

conformance_suite! {
    backends: local, s3;
    subject: storage;

    async fn put_get_exists_delete(storage: &dyn Storage) -> anyhow::Result<()> {
        let source = random_file(1000, 1)?;
        let k = key("videos/one/original.mp4");
        assert!(!storage.exists(&k).await?);
        storage.put_file(&k, source.path(), "video/mp4").await?;
        assert!(storage.exists(&k).await?);

        let copy = tempfile::NamedTempFile::new()?;
        assert_eq!(storage.download_to(&k, copy.path()).await?, 1000);
        assert!(same_contents(source.path(), copy.path())?);

        storage.delete(&k).await?;
        assert!(!storage.exists(&k).await?);
        storage.delete(&k).await?; // deleting a missing object succeeds
        let missing = storage.download_to(&k, copy.path()).await;
        assert!(
            matches!(missing, Err(StorageError::NotFound(_))),
            "{missing:?}"
        );
        Ok(())
    }

    async fn put_replaces_an_existing_object(storage: &dyn Storage) -> anyhow::Result<()> {
        let (first, second) = (random_file(500, 2)?, random_file(700, 3)?);
        let k = key("videos/replaced.mp4");
        storage.put_file(&k, first.path(), "video/mp4").await?;
        storage.put_file(&k, second.path(), "video/mp4").await?;
        let copy = tempfile::NamedTempFile::new()?;
        storage.download_to(&k, copy.path()).await?;
        assert!(same_contents(second.path(), copy.path())?);
        Ok(())
    }

    async fn a_100_mb_object_streams_without_being_held_in_memory(
        storage: &dyn Storage,
    ) -> anyhow::Result<()> {
        let size = 100 * MIB;
        let source = random_file(size, 4)?;
        let k = key("videos/large/original.mp4");
        let before = peak_rss_bytes()?;
        storage.put_file(&k, source.path(), "video/mp4").await?;
        let copy = tempfile::NamedTempFile::new()?;
        assert_eq!(storage.download_to(&k, copy.path()).await?, size);
        let growth = peak_rss_bytes()?.saturating_sub(before);
        assert!(same_contents(source.path(), copy.path())?);
        // Buffering the object would add at least its size; streaming adds a few buffers (S3 parts
        // are read from the file in chunks, never whole).
        assert!(
            growth < 40 * MIB,
            "peak RSS grew by {} MiB while moving a 100 MiB object",
            growth / MIB
        );
        Ok(())
    }

    async fn a_multipart_upload_joins_its_parts_in_order(
        storage: &dyn Storage,
    ) -> anyhow::Result<()> {
        // Two parts of S3's smallest size and a short last one, sent out of order, one twice.
        let sizes = [5 * MIB, 5 * MIB, 1000];
        let files: Vec<_> = sizes
            .iter()
            .enumerate()
            .map(|(i, size)| random_file(*size, 20 + i as u64))
            .collect::<Result<_, _>>()?;
        let k = key("videos/parts/original.mp4");
        let upload = storage.create_multipart(&k, "video/mp4").await?;
        assert!(storage.list_parts(&k, &upload).await?.is_empty());
        assert!(!storage.exists(&k).await?, "nothing at the key before completing");
        for number in [3_u32, 1, 2, 1] {
            let index = number as usize - 1;
            let etag = storage.put_part(&k, &upload, number, files[index].path()).await?;
            assert!(!etag.is_empty());
        }
        let parts = storage.list_parts(&k, &upload).await?;
        assert_eq!(
            parts.iter().map(|p| (p.number, p.size)).collect::<Vec<_>>(),
            vec![(1, 5 * MIB), (2, 5 * MIB), (3, 1000)]
        );
        storage.complete_multipart(&k, &upload, &parts).await?;
        let total: u64 = sizes.iter().sum();
        assert_eq!(storage.size_of(&k).await?, total);

        let mut joined = Vec::new();
        for file in &files {
            joined.extend(std::fs::read(file.path())?);
        }
        // Ranged reads: across the first join, and the tail (shorter than asked).
        let across = storage.read_range(&k, 5 * MIB - 10, 20).await?;
        assert_eq!(across, joined[(5 * MIB - 10) as usize..(5 * MIB + 10) as usize]);
        let tail = storage.read_range(&k, total - 5, 100).await?;
        assert_eq!(tail, joined[(total - 5) as usize..]);
        let missing = storage.size_of(&key("videos/none/original.mp4")).await;
        assert!(matches!(missing, Err(StorageError::NotFound(_))), "{missing:?}");
        Ok(())
    }

    async fn an_aborted_multipart_upload_leaves_nothing(
        storage: &dyn Storage,
    ) -> anyhow::Result<()> {
        let part = random_file(5 * MIB, 30)?;
        let k = key("videos/aborted/original.mp4");
        let upload = storage.create_multipart(&k, "video/mp4").await?;
        storage.put_part(&k, &upload, 1, part.path()).await?;
        storage.abort_multipart(&k, &upload).await?;
        let gone = storage.list_parts(&k, &upload).await;
        assert!(matches!(gone, Err(StorageError::NotFound(_))), "{gone:?}");
        assert!(!storage.exists(&k).await?);
        storage.abort_multipart(&k, &upload).await?; // aborting again succeeds
        assert!(storage.list("").await?.is_empty(), "no object left behind");
        Ok(())
    }

    async fn signed_link_downloads_the_object(storage: &dyn Storage) -> anyhow::Result<()> {
        let source = random_file(4096, 5)?;
        let k = key("posters/p.jpg");
        storage.put_file(&k, source.path(), "image/jpeg").await?;
        let url = storage.signed_url(&k, Duration::from_secs(600)).await?;
        assert_eq!(
            fetch_link(storage, &url).await?,
            std::fs::read(source.path())?
        );
        Ok(())
    }

    async fn signed_link_states_its_expiry(storage: &dyn Storage) -> anyhow::Result<()> {
        let k = key("posters/expiry.jpg");
        let url = url::Url::parse(&storage.signed_url(&k, Duration::from_secs(900)).await?)?;
        let query: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        if let Some(seconds) = query.get("X-Amz-Expires") {
            assert_eq!(seconds, "900");
        } else {
            let expires: u64 = query.get("expires").map_or(Ok(0), |e| e.parse())?;
            let now = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)?
                .as_secs();
            assert!(
                (now + 895..=now + 905).contains(&expires),
                "expires={expires}, now={now}"
            );
        }
        Ok(())
    }

    async fn list_finds_objects_under_a_prefix_with_their_times(
        storage: &dyn Storage,
    ) -> anyhow::Result<()> {
        let source = random_file(100, 4)?;
        let before = SystemTime::now() - Duration::from_secs(60);
        for raw in [
            "videos/a/original.mp4",
            "videos/a/t1/processed.mp4",
            "videos/b/original.mp4",
            "other/c.mp4",
        ] {
            storage
                .put_file(&key(raw), source.path(), "video/mp4")
                .await?;
        }
        let listed = storage.list("videos/").await?;
        let mut keys: Vec<&str> = listed.iter().map(|object| object.key.as_str()).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "videos/a/original.mp4",
                "videos/a/t1/processed.mp4",
                "videos/b/original.mp4"
            ]
        );
        let after = SystemTime::now() + Duration::from_secs(60);
        assert!(
            listed
                .iter()
                .all(|object| object
                    .modified
                    .is_some_and(|at| at > before && at < after)),
            "{listed:?}"
        );
        let only_a: Vec<String> = storage
            .list("videos/a/")
            .await?
            .into_iter()
            .map(|object| object.key.as_str().to_owned())
            .collect();
        assert_eq!(only_a.len(), 2, "{only_a:?}");
        assert!(storage.list("nothing/").await?.is_empty());
        Ok(())
    }
}

// What the emulator cannot check (it ignores presigned signatures and expiry) is proven on the
// local backend, whose links the app verifies itself.
mod local_links {
    use super::*;

    async fn stored_link() -> anyhow::Result<(Backend, String)> {
        let backend = local().await?;
        let source = random_file(10, 6)?;
        let k = key("videos/v/processed.mp4");
        backend
            .storage
            .put_file(&k, source.path(), "video/mp4")
            .await?;
        let url = backend
            .storage
            .signed_url(&k, Duration::from_secs(60))
            .await?;
        Ok((backend, url))
    }

    fn local_of(backend: &Backend) -> anyhow::Result<&LocalStorage> {
        backend
            .storage
            .as_local()
            .ok_or_else(|| anyhow::anyhow!("not the local backend"))
    }

    #[tokio::test]
    async fn expired_link_is_refused() -> anyhow::Result<()> {
        let (backend, url) = stored_link().await?;
        let later = SystemTime::now() + Duration::from_secs(61);
        let refused = open_local_link(local_of(&backend)?, &url, later);
        let rejection = refused
            .err()
            .and_then(|e| e.downcast::<LinkRejection>().ok());
        assert_eq!(rejection, Some(LinkRejection::Expired));
        Ok(())
    }

    #[tokio::test]
    async fn tampered_links_are_refused() -> anyhow::Result<()> {
        let (backend, url) = stored_link().await?;
        let local = local_of(&backend)?;
        let now = SystemTime::now();
        let expires = url
            .split("expires=")
            .nth(1)
            .and_then(|r| r.split('&').next())
            .unwrap_or("");
        let later = (expires.parse::<u64>()? + 3600).to_string();
        let tampered = [
            url.replace("videos/v/processed.mp4", "videos/v/original.mp4"),
            url.replace(&format!("expires={expires}"), &format!("expires={later}")),
            // The last signature digit changed (to a digit it is not).
            format!(
                "{}{}",
                &url[..url.len() - 1],
                if url.ends_with('0') { '1' } else { '0' }
            ),
            url.replace("signature=", "signature=zz"),
            url.split("&signature")
                .next()
                .unwrap_or_default()
                .to_owned(),
        ];
        for link in tampered {
            let rejection = open_local_link(local, &link, now)
                .err()
                .and_then(|e| e.downcast::<LinkRejection>().ok());
            assert_eq!(rejection, Some(LinkRejection::BadSignature), "{link}");
        }
        Ok(())
    }

    #[tokio::test]
    async fn a_link_with_another_secret_is_refused() -> anyhow::Result<()> {
        let (backend, url) = stored_link().await?;
        let other = LocalStorage::new(
            local_of(&backend)?.root(),
            "http://127.0.0.1:8080".parse()?,
            Secret::new("another-secret-another-secret-xx"),
        )
        .await?;
        let rejection = open_local_link(&other, &url, SystemTime::now())
            .err()
            .and_then(|e| e.downcast::<LinkRejection>().ok());
        assert_eq!(rejection, Some(LinkRejection::BadSignature));
        Ok(())
    }
}
