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
//!
//! Here: choosing the registry and its credentials. `client` is the endpoint and its HTTP client,
//! `ecr` the account's ECR, `push` the upload.

mod client;
mod ecr;
mod push;

use aws_config::SdkConfig;

use crate::console;
pub use client::Registry;
use client::{Credentials, endpoint_url};
use ecr::ecr_login;
pub use push::{Pushed, push_images, repository};

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
