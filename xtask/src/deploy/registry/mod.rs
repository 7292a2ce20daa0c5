//! Pushing the image layouts that `image` builds through the OCI distribution HTTP API (`/v2/`):
//! to the account's ECR, or to any registry given by URL. Only what is missing is uploaded, so
//! pushing unchanged images again sends nothing but a few HEAD requests.
//!
//! Credentials: for ECR, its authorization token. For a registry given by URL, in order:
//! `REGISTRY_USERNAME`/`REGISTRY_PASSWORD`; an ECR token when the URL is an ECR host or the AWS
//! endpoint is overridden (the emulator stands in for ECR); otherwise none.
//!
//! Why not `oci-client` (the ORAS project's client, 0.18, weighed for this): it speaks Basic auth
//! (ECR's token and htpasswd registries work) and can reach a loopback registry over HTTP when told
//! its exact `host:port`, but its one-call `push` holds every layer in memory and uploads each one
//! whether or not the registry has it, and its manifest push does not check the digest the registry
//! stored. Used piece by piece (`blob_exists`, `push_blob_stream`, `push_manifest_raw`) it would
//! leave this module's orchestration as it is and save only its HTTP calls, for about ten more
//! crates in xtask's build (`oci-spec` with `derive_builder`, `getset` and `strum`, `http-auth`,
//! `olpc-cjson`).

use std::time::Duration;

use anyhow::{Context, bail};
use aws_config::SdkConfig;
use aws_sdk_ecr::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_ecr::types::{ImageScanningConfiguration, ImageTagMutability};
use base64::Engine;
use reqwest::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, LOCATION, WWW_AUTHENTICATE};
use reqwest::{Method, RequestBuilder, Response, StatusCode, Url};
use tokio::io::AsyncReadExt;

use super::oci::{Blob, BuiltImage, MANIFEST_MEDIA_TYPE};
use crate::console::{self, Progress, mb};

/// How many images ECR keeps per repository (the oldest beyond this expire).
const ECR_KEEP_IMAGES: u32 = 30;

/// User name and password for HTTP Basic authentication.
#[derive(Clone)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({}, ***)", self.username)
    }
}

/// A registry endpoint and how to authenticate to it.
#[derive(Debug)]
pub struct Registry {
    base: Url,
    credentials: Option<Credentials>,
    /// The account's ECR (repositories are created on demand), as opposed to a given URL.
    ecr: Option<SdkConfig>,
    client: reqwest::Client,
}

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

/// The registry to push to: `registry` (a URL; `http://` for a plain local one) or, without it,
/// the ECR registry of the account `aws` points at.
pub async fn connect(aws: &SdkConfig, registry: Option<&str>) -> anyhow::Result<Registry> {
    let Some(url) = registry else {
        console::step("Logging in to ECR");
        let (endpoint, credentials) = ecr_login(aws).await?;
        console::note(format!("registry {endpoint}"));
        let mut registry = Registry::new(&endpoint, Some(credentials))?;
        registry.ecr = Some(aws.clone());
        return Ok(registry);
    };
    let from_env = match (
        std::env::var("REGISTRY_USERNAME"),
        std::env::var("REGISTRY_PASSWORD"),
    ) {
        (Ok(username), Ok(password)) if !username.is_empty() => {
            Some(Credentials { username, password })
        }
        _ => None,
    };
    console::step(format!("Registry {url}"));
    let credentials = match from_env {
        Some(credentials) => {
            console::note(format!(
                "as {} (REGISTRY_USERNAME/REGISTRY_PASSWORD)",
                credentials.username
            ));
            Some(credentials)
        }
        None if wants_ecr_token(aws, url) => match ecr_login(aws).await {
            Ok((_, credentials)) => {
                console::note("with an ECR authorization token");
                Some(credentials)
            }
            Err(error) => {
                console::note(format!("no ECR token ({error:#}): anonymous"));
                None
            }
        },
        None => {
            console::note("anonymous (set REGISTRY_USERNAME and REGISTRY_PASSWORD to log in)");
            None
        }
    };
    Registry::new(url, credentials)
}

/// Whether an ECR token may be sent to `url`: when it is an ECR host, or when the AWS endpoint
/// is overridden (an emulator standing in for ECR). Never to some other registry with real AWS
/// credentials around: the token is a password to the account's images.
fn wants_ecr_token(aws: &SdkConfig, url: &str) -> bool {
    let ecr_host = endpoint_url(url)
        .ok()
        .and_then(|url| url.host_str().map(str::to_owned))
        .is_some_and(|host| host.contains(".dkr.ecr.") && host.ends_with(".amazonaws.com"));
    ecr_host || aws.endpoint_url().is_some()
}

/// The registry's base URL. Without a scheme, a registry on loopback (`127.0.0.1:5000`,
/// `localhost:5000`, `[::1]:5000`) is spoken to in plain HTTP, as Docker does; any other in HTTPS.
fn endpoint_url(endpoint: &str) -> anyhow::Result<Url> {
    let endpoint = endpoint.trim_end_matches('/');
    let parse =
        |text: &str| Url::parse(text).with_context(|| format!("not a registry URL: {endpoint}"));
    let url = if endpoint.contains("://") {
        parse(endpoint)?
    } else {
        let plain = parse(&format!("http://{endpoint}"))?;
        if is_loopback(&plain) {
            plain
        } else {
            parse(&format!("https://{endpoint}"))?
        }
    };
    anyhow::ensure!(url.host_str().is_some(), "not a registry URL: {endpoint}");
    Ok(url)
}

fn is_loopback(url: &Url) -> bool {
    match url.host_str() {
        Some("localhost") => true,
        Some(host) => host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}

/// ECR's registry endpoint and a 12-hour Basic credential from `GetAuthorizationToken`.
pub async fn ecr_login(aws: &SdkConfig) -> anyhow::Result<(String, Credentials)> {
    let ecr = aws_sdk_ecr::Client::new(aws);
    let token = ecr
        .get_authorization_token()
        .send()
        .await
        .map_err(aws_error)
        .context("ECR GetAuthorizationToken")?;
    let data = token
        .authorization_data()
        .first()
        .context("ECR returned no authorization data")?;
    let encoded = data
        .authorization_token()
        .context("ECR returned no authorization token")?;
    let decoded = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(encoded)?)
        .context("the ECR token is not text")?;
    let (username, password) = decoded
        .split_once(':')
        .context("the ECR token is not user:password")?;
    let endpoint = data
        .proxy_endpoint()
        .context("ECR returned no proxy endpoint")?;
    Ok((
        endpoint.to_owned(),
        Credentials {
            username: username.to_owned(),
            password: password.to_owned(),
        },
    ))
}

/// Creates the ECR repository unless it exists: scans on push; tags are immutable, since ours
/// are content-addressed (a tag that moved would mean a different image under an old name); the
/// newest images are kept and older ones expire.
pub async fn ensure_ecr_repository(aws: &SdkConfig, name: &str) -> anyhow::Result<()> {
    let ecr = aws_sdk_ecr::Client::new(aws);
    match ecr
        .describe_repositories()
        .repository_names(name)
        .send()
        .await
    {
        Ok(_) => return Ok(()),
        Err(error) if error.code() == Some("RepositoryNotFoundException") => {}
        Err(error) => {
            return Err(aws_error(error))
                .with_context(|| format!("ECR DescribeRepositories {name}"));
        }
    }
    console::note(format!("creating the ECR repository {name}"));
    let created = ecr
        .create_repository()
        .repository_name(name)
        .image_tag_mutability(ImageTagMutability::Immutable)
        .image_scanning_configuration(
            ImageScanningConfiguration::builder()
                .scan_on_push(true)
                .build(),
        )
        .send()
        .await;
    match created {
        Ok(_) => {}
        // Someone else created it meanwhile: fine.
        Err(error) if error.code() == Some("RepositoryAlreadyExistsException") => return Ok(()),
        Err(error) => {
            return Err(aws_error(error)).with_context(|| format!("ECR CreateRepository {name}"));
        }
    }
    let policy = serde_json::json!({
        "rules": [{
            "rulePriority": 1,
            "description": format!("keep the newest {ECR_KEEP_IMAGES} images"),
            "selection": {
                "tagStatus": "any",
                "countType": "imageCountMoreThan",
                "countNumber": ECR_KEEP_IMAGES,
            },
            "action": { "type": "expire" },
        }]
    });
    ecr.put_lifecycle_policy()
        .repository_name(name)
        .lifecycle_policy_text(policy.to_string())
        .send()
        .await
        .map_err(aws_error)
        .with_context(|| format!("ECR PutLifecyclePolicy {name}"))?;
    Ok(())
}

/// An SDK error with its whole chain of causes (the top level alone says "service error").
fn aws_error<E: std::error::Error>(error: E) -> anyhow::Error {
    anyhow::anyhow!("{}", DisplayErrorContext(error))
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
    /// A registry at `endpoint` (see [`endpoint_url`] for one given without a scheme).
    pub fn new(endpoint: &str, credentials: Option<Credentials>) -> anyhow::Result<Self> {
        let base = endpoint_url(endpoint)?;
        let client = reqwest::Client::builder()
            .user_agent(concat!("rising-stars-xtask/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(Duration::from_secs(120))
            .build()?;
        Ok(Self {
            base,
            credentials,
            ecr: None,
            client,
        })
    }

    /// `host[:port]`, as image references name the registry.
    pub fn host(&self) -> String {
        let host = self.base.host_str().unwrap_or_default();
        match self.base.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        }
    }

    fn url(&self, path: &str) -> anyhow::Result<Url> {
        Ok(self.base.join(path)?)
    }

    fn request(&self, method: Method, url: Url) -> RequestBuilder {
        let request = self.client.request(method, url);
        match &self.credentials {
            Some(credentials) => {
                request.basic_auth(&credentials.username, Some(&credentials.password))
            }
            None => request,
        }
    }

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
    fn registry_host_keeps_the_port() {
        let registry = Registry::new("http://127.0.0.1:5000/", None).unwrap();
        assert_eq!(registry.host(), "127.0.0.1:5000");
        let ecr = Registry::new("123456789012.dkr.ecr.us-east-1.amazonaws.com", None).unwrap();
        assert_eq!(ecr.host(), "123456789012.dkr.ecr.us-east-1.amazonaws.com");
        assert_eq!(ecr.base.scheme(), "https");
    }

    #[test]
    fn a_loopback_registry_without_a_scheme_is_plain_http_as_docker_does() {
        for (given, expected) in [
            ("127.0.0.1:5000", "http://127.0.0.1:5000/"),
            ("localhost:5000", "http://localhost:5000/"),
            ("[::1]:5000", "http://[::1]:5000/"),
            ("127.0.0.2:5000/", "http://127.0.0.2:5000/"),
            (
                "registry.example.com:5000",
                "https://registry.example.com:5000/",
            ),
            ("10.0.0.5:5000", "https://10.0.0.5:5000/"),
            ("https://127.0.0.1:5000", "https://127.0.0.1:5000/"),
        ] {
            let registry = Registry::new(given, None).unwrap();
            assert_eq!(registry.base.as_str(), expected, "{given}");
        }
        assert_eq!(
            Registry::new("127.0.0.1:5000", None).unwrap().host(),
            "127.0.0.1:5000"
        );
    }

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
