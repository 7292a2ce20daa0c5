//! The account's ECR: logging in with `GetAuthorizationToken`, and creating a repository on first
//! use (scan on push, immutable tags, the newest images kept).

use anyhow::Context;
use aws_config::SdkConfig;
use aws_sdk_ecr::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_ecr::types::{ImageScanningConfiguration, ImageTagMutability};
use base64::Engine;

use super::client::Credentials;
use crate::console;

/// How many images ECR keeps per repository (the oldest beyond this expire).
const ECR_KEEP_IMAGES: u32 = 30;

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
