//! Local-storage files served by the API under signed, expiring links.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use end_to_end::RunningApi;
use platform::config::Secret;
use platform::storage::{LocalStorage, Storage, StorageKey};
use serde_json::Value;

use crate::{SIGNING_SECRET, local_backends};

#[tokio::test]
async fn signed_links_serve_files_and_refuse_tampering_and_expiry() -> anyhow::Result<()> {
    let backends = local_backends().await?;
    let api = RunningApi::start(&backends.env).await?;
    // The same directory and secret as the API: what the app or worker would have stored.
    let storage = LocalStorage::new(
        backends.storage.path(),
        api.base_url.parse()?,
        Secret::new(SIGNING_SECRET),
    )
    .await?;
    let key = StorageKey::parse("videos/v1/poster.jpg")?;
    let source = testkit::random_file(5000, 9)?;
    storage.put_file(&key, source.path(), "image/jpeg").await?;

    let link = storage.signed_url(&key, Duration::from_secs(60)).await?;
    let response = reqwest::get(&link).await?;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.bytes().await?.as_ref(),
        std::fs::read(source.path())?
    );

    let tampered = link.replace("poster.jpg", "original.mp4");
    let response = reqwest::get(&tampered).await?;
    assert_eq!(response.status(), 403);
    let body: Value = response.json().await?;
    assert_eq!(body["code"], "invalid_link");

    let past = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs() - 1;
    let response = reqwest::get(storage.link(&key, past)).await?;
    assert_eq!(response.status(), 403);
    let body: Value = response.json().await?;
    assert_eq!(body["code"], "link_expired");

    let unsigned = api.url("/files/videos/v1/poster.jpg");
    assert_eq!(reqwest::get(&unsigned).await?.status(), 403);
    let traversal = api.url("/files/../../etc/passwd?expires=9999999999&signature=00");
    assert!(reqwest::get(&traversal).await?.status().is_client_error());
    Ok(())
}
