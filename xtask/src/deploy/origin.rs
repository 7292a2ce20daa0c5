//! The origin secret between CloudFront and the load balancer (`OriginVerifySecret`, sent as the
//! `X-Origin-Verify` header on the plain-HTTP leg from CloudFront to the load balancer), and its
//! rotation by `cargo xtask deploy --rotate-origin-secret`.
//!
//! The template pins the secret's version by parameter: CloudFront sends `OriginVerifyVersion`,
//! and the listener rule accepts it and, when set, `OriginVerifyPreviousVersion`. A rotation puts
//! a new value in the secret and deploys with the new version as current and the old one as
//! previous, so edges still sending the old value are served while CloudFront rolls out (the
//! distribution depends on the rule, and CloudFormation waits for it to be deployed). The next
//! deploy clears the previous version: from then on only the new value opens the load balancer.

use std::collections::BTreeMap;

use anyhow::Context;
use aws_sdk_secretsmanager::Client;

/// The template's logical id of the secret.
pub const SECRET: &str = "OriginVerifySecret";
/// The parameter naming the version CloudFront sends.
pub const CURRENT: &str = "OriginVerifyVersion";
/// The parameter naming the version the load balancer still accepts for one deploy.
pub const PREVIOUS: &str = "OriginVerifyPreviousVersion";

/// A rotation done: the secret's new version and the one it replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    pub current: String,
    pub previous: String,
}

/// Puts a new random value (64 letters and digits, 244 random bits) in the secret `secret_id`
/// and returns the new version and the one that was current.
pub async fn rotate(client: &Client, secret_id: &str) -> anyhow::Result<Rotation> {
    let described = client
        .describe_secret()
        .secret_id(secret_id)
        .send()
        .await
        .with_context(|| format!("describing the origin secret {secret_id}"))?;
    let previous = described
        .version_ids_to_stages()
        .and_then(|versions| {
            versions
                .iter()
                .find(|(_, stages)| stages.iter().any(|stage| stage == "AWSCURRENT"))
                .map(|(version, _)| version.clone())
        })
        .with_context(|| format!("the origin secret {secret_id} has no current version"))?;
    let value = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let put = client
        .put_secret_value()
        .secret_id(secret_id)
        .secret_string(value)
        .client_request_token(uuid::Uuid::new_v4().to_string())
        .send()
        .await
        .with_context(|| format!("putting a new value in the origin secret {secret_id}"))?;
    let current = put
        .version_id()
        .context("Secrets Manager returned no version id")?
        .to_owned();
    Ok(Rotation { current, previous })
}

/// The origin parameters a deploy gives: after `rotation`, the new version and the previous one;
/// without, the previous version cleared when `deployed` (the stack's values) still has one.
pub fn parameters(
    rotation: Option<&Rotation>,
    deployed: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    match rotation {
        Some(rotation) => BTreeMap::from([
            (CURRENT.to_owned(), rotation.current.clone()),
            (PREVIOUS.to_owned(), rotation.previous.clone()),
        ]),
        None if deployed
            .get(PREVIOUS)
            .is_some_and(|value| !value.is_empty()) =>
        {
            BTreeMap::from([(PREVIOUS.to_owned(), String::new())])
        }
        None => BTreeMap::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Secrets Manager of the emulator `cargo xtask test` starts (`AWS_ENDPOINT_URL`).
    async fn emulated_secrets_manager() -> Client {
        assert!(
            std::env::var_os("AWS_ENDPOINT_URL").is_some(),
            "AWS_ENDPOINT_URL: run `cargo xtask test`"
        );
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .load()
            .await;
        Client::new(&config)
    }

    #[tokio::test]
    async fn a_rotation_keeps_the_previous_value_for_one_deploy_then_drops_it() {
        let client = emulated_secrets_manager().await;
        let created = client
            .create_secret()
            .name(format!("origin-{}", uuid::Uuid::new_v4().simple()))
            .secret_string("first-value")
            .send()
            .await
            .unwrap();
        let arn = created.arn().unwrap().to_owned();
        let first = created.version_id().unwrap().to_owned();

        let rotation = rotate(&client, &arn).await.unwrap();
        assert_eq!(rotation.previous, first);
        assert_ne!(rotation.current, first);
        let value_of = |version: String| {
            let client = client.clone();
            let arn = arn.clone();
            async move {
                client
                    .get_secret_value()
                    .secret_id(arn)
                    .version_id(version)
                    .send()
                    .await
                    .unwrap()
                    .secret_string()
                    .unwrap()
                    .to_owned()
            }
        };
        // Both values stay readable by version: the rule resolves both during the rotation.
        assert_eq!(value_of(first.clone()).await, "first-value");
        let new_value = value_of(rotation.current.clone()).await;
        assert_eq!(new_value.len(), 64);
        assert!(new_value.chars().all(|c| c.is_ascii_alphanumeric()));
        let current = client
            .get_secret_value()
            .secret_id(&arn)
            .send()
            .await
            .unwrap();
        assert_eq!(current.version_id(), Some(rotation.current.as_str()));

        // The rotating deploy pins both; the next one (no rotation) clears the previous.
        let rotating = parameters(Some(&rotation), &BTreeMap::new());
        assert_eq!(rotating[CURRENT], rotation.current);
        assert_eq!(rotating[PREVIOUS], first);
        let next = parameters(None, &rotating);
        assert_eq!(next, BTreeMap::from([(PREVIOUS.to_owned(), String::new())]));
        // A deploy after that changes nothing: CloudFront keeps the pinned current version.
        let deployed = BTreeMap::from([
            (CURRENT.to_owned(), rotation.current.clone()),
            (PREVIOUS.to_owned(), String::new()),
        ]);
        assert!(parameters(None, &deployed).is_empty());

        // A second rotation starts from the value CloudFront now sends.
        let again = rotate(&client, &arn).await.unwrap();
        assert_eq!(again.previous, rotation.current);
    }
}
