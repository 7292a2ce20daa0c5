//! Pushing built images: the blobs the registry lacks (each streamed in one `PUT`), then the
//! manifest unless the tag already names it, with the digests the registry stored checked.

use anyhow::{Context, bail};
use reqwest::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, LOCATION, WWW_AUTHENTICATE};
use reqwest::{Method, Response, StatusCode};
use tokio::io::AsyncReadExt;

use super::client::Registry;
use super::ecr::ensure_ecr_repository;
use crate::console::{self, Progress, mb};
use crate::deploy::oci::{Blob, BuiltImage, MANIFEST_MEDIA_TYPE};

/// What pushing one image did.
#[derive(Debug, Clone)]
pub struct Pushed {
    /// `api` or `worker`.
    pub name: &'static str,
    /// `<stack>/<name>`.
    pub repository: String,
    /// `<registry-host>/<repository>:<tag>`.
    pub reference: String,
    /// `<registry-host>/<repository>@sha256:…`: what a task definition should pin.
    pub digest_reference: String,
    /// Blobs (layers and config) uploaded, and their bytes.
    pub uploaded: usize,
    pub uploaded_bytes: u64,
    /// Blobs the registry already had.
    pub skipped: usize,
    /// Whether the manifest was put (false: the tag already named this manifest).
    pub manifest_pushed: bool,
}

/// The repository of an image: `<stack>/<name>`.
pub fn repository(stack: &str, name: &str) -> String {
    format!("{stack}/{name}")
}

/// Pushes every image to `<stack>/<name>` (creating ECR repositories when pushing to ECR).
pub async fn push_images(
    registry: &Registry,
    stack: &str,
    images: &[BuiltImage],
) -> anyhow::Result<Vec<Pushed>> {
    let mut pushed = Vec::new();
    for image in images {
        let repository = repository(stack, image.name);
        console::step(format!(
            "Pushing {}:{} to {}/{repository}",
            image.name,
            image.tag,
            registry.host()
        ));
        if let Some(aws) = &registry.ecr {
            ensure_ecr_repository(aws, &repository).await?;
        }
        pushed.push(registry.push(&repository, image).await?);
    }
    Ok(pushed)
}

impl Registry {
    /// Uploads the blobs the registry lacks, then the manifest unless the tag already names it.
    pub async fn push(&self, repository: &str, image: &BuiltImage) -> anyhow::Result<Pushed> {
        let mut pushed = Pushed {
            name: image.name,
            repository: repository.to_owned(),
            reference: format!("{}/{repository}:{}", self.host(), image.tag),
            digest_reference: format!("{}/{repository}@{}", self.host(), image.manifest_digest),
            uploaded: 0,
            uploaded_bytes: 0,
            skipped: 0,
            manifest_pushed: false,
        };
        for blob in image.blobs() {
            let short = &blob.digest[..19.min(blob.digest.len())];
            let exists = self
                .request(
                    Method::HEAD,
                    self.url(&format!("/v2/{repository}/blobs/{}", blob.digest))?,
                )
                .send()
                .await?;
            match exists.status() {
                StatusCode::OK => {
                    console::note(format!("{short} {:>8.1} MB already there", mb(blob.size)));
                    pushed.skipped += 1;
                    continue;
                }
                StatusCode::NOT_FOUND => {}
                _ => return Err(failure("HEAD blob", exists).await),
            }
            self.upload(repository, blob, short).await?;
            pushed.uploaded += 1;
            pushed.uploaded_bytes += blob.size;
        }

        let manifest_url = self.url(&format!("/v2/{repository}/manifests/{}", image.tag))?;
        let existing = self
            .request(Method::HEAD, manifest_url.clone())
            .header(ACCEPT, MANIFEST_MEDIA_TYPE)
            .send()
            .await?;
        match existing.status() {
            StatusCode::OK if content_digest(&existing) == Some(image.manifest_digest.as_str()) => {
                console::note(format!("manifest {} already there", image.tag));
                return Ok(pushed);
            }
            StatusCode::OK | StatusCode::NOT_FOUND => {}
            _ => return Err(failure("HEAD manifest", existing).await),
        }
        let manifest = tokio::fs::read(&image.manifest.path).await?;
        let put = self
            .request(Method::PUT, manifest_url)
            .header(CONTENT_TYPE, MANIFEST_MEDIA_TYPE)
            .body(manifest)
            .send()
            .await?;
        if put.status() != StatusCode::CREATED {
            return Err(failure("PUT manifest", put).await);
        }
        match content_digest(&put) {
            Some(digest) if digest == image.manifest_digest => {}
            Some(digest) => bail!(
                "the registry stored the manifest as {digest}, not {}",
                image.manifest_digest
            ),
            None => bail!("the registry did not say which digest it stored the manifest under"),
        }
        console::note(format!("manifest {} pushed", image.tag));
        pushed.manifest_pushed = true;
        Ok(pushed)
    }

    /// One blob: `POST` opens an upload session, one `PUT …?digest=` streams the file into it.
    async fn upload(&self, repository: &str, blob: &Blob, short: &str) -> anyhow::Result<()> {
        let session = self
            .request(
                Method::POST,
                self.url(&format!("/v2/{repository}/blobs/uploads/"))?,
            )
            .header(CONTENT_LENGTH, 0)
            .send()
            .await?;
        if session.status() != StatusCode::ACCEPTED {
            return Err(failure("POST blob upload", session).await);
        }
        let location = session
            .headers()
            .get(LOCATION)
            .and_then(|value| value.to_str().ok())
            .context("the registry opened an upload without a Location")?;
        // Relative or absolute, with or without a query of its own.
        let mut target = self.base.join(location)?;
        target.query_pairs_mut().append_pair("digest", &blob.digest);

        let progress = Progress::new(format!("{short} upload"), blob.size);
        let file = tokio::fs::File::open(&blob.path)
            .await
            .with_context(|| format!("cannot open {}", blob.path.display()))?;
        let counter = progress.clone();
        let chunks = futures_util::stream::try_unfold(file, move |mut file| {
            let counter = counter.clone();
            async move {
                let mut chunk = vec![0; 256 * 1024];
                let read = file.read(&mut chunk).await?;
                if read == 0 {
                    return Ok::<_, std::io::Error>(None);
                }
                chunk.truncate(read);
                counter.add(read as u64);
                Ok(Some((chunk, file)))
            }
        });
        let put = self
            .request(Method::PUT, target)
            .header(CONTENT_TYPE, "application/octet-stream")
            .header(CONTENT_LENGTH, blob.size)
            .body(reqwest::Body::wrap_stream(chunks))
            .send()
            .await
            .with_context(|| format!("uploading {}", blob.digest))?;
        if put.status() != StatusCode::CREATED {
            return Err(failure("PUT blob", put).await);
        }
        if let Some(digest) = content_digest(&put)
            && digest != blob.digest
        {
            bail!("the registry stored {} as {digest}", blob.digest);
        }
        progress.finish(&format!("{short} {:>8.1} MB uploaded", mb(blob.size)));
        Ok(())
    }
}

fn content_digest(response: &Response) -> Option<&str> {
    response
        .headers()
        .get("docker-content-digest")
        .and_then(|value| value.to_str().ok())
}

/// An error naming the request, the status and what the registry said.
async fn failure(what: &str, response: Response) -> anyhow::Error {
    let status = response.status();
    let url = response.url().clone();
    let challenge = response
        .headers()
        .get(WWW_AUTHENTICATE)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let body = response.text().await.unwrap_or_default();
    let mut message = format!("{what} {url}: {status}");
    if !body.trim().is_empty() {
        message.push_str(&format!(
            ": {}",
            body.trim().chars().take(500).collect::<String>()
        ));
    }
    if let Some(challenge) = challenge {
        if challenge.to_ascii_lowercase().starts_with("bearer") {
            message.push_str(&format!(
                " (the registry wants token authentication, {challenge}; xtask speaks Basic only)"
            ));
        } else if status == StatusCode::UNAUTHORIZED {
            message.push_str(" (check REGISTRY_USERNAME and REGISTRY_PASSWORD)");
        }
    }
    anyhow::anyhow!(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_locations_resolve_with_their_query() {
        let registry = Registry::new("http://127.0.0.1:5000", None).unwrap();
        let mut url = registry
            .base
            .join("/v2/rs/api/blobs/uploads/abc?_state=xyz")
            .unwrap();
        url.query_pairs_mut().append_pair("digest", "sha256:00");
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:5000/v2/rs/api/blobs/uploads/abc?_state=xyz&digest=sha256%3A00"
        );
    }
}
