//! What an AWS emulator cannot deploy, said in one line before anything is built or created.
//!
//! moto (the emulator the tests and docs/operations.md use) has no CloudFormation support for
//! `AWS::CloudFront::Distribution`: a stack with the default `PublicEndpoint=cloudfront` completes,
//! and then every read of it fails on `Fn::GetAtt references undefined resource Distribution`. An
//! emulator runs nothing and serves nobody, so a deploy to it takes the load balancer's plain
//! HTTP instead, and says so.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_config::SdkConfig;

/// The template parameter that picks the public endpoint, and the values that matter here.
const PUBLIC_ENDPOINT: &str = "PublicEndpoint";
const CLOUDFRONT: &str = "cloudfront";
const PLAIN_HTTP: &str = "plain-http-insecure";

/// An emulator recognised behind the AWS endpoint override.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Emulator {
    Moto,
}

/// The emulator behind `config`'s endpoint override (`--endpoint-url` or `AWS_ENDPOINT_URL`),
/// if it is one xtask knows: moto answers `GET /moto-api/config`. Real AWS (no override) is never
/// asked anything.
pub async fn detect(config: &SdkConfig) -> Option<Emulator> {
    let endpoint = config.endpoint_url()?;
    let url = format!("{}/moto-api/config", endpoint.trim_end_matches('/'));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .ok()?;
    let response = client.get(url).send().await.ok()?;
    if !response.status().is_success() {
        return None;
    }
    let body: serde_json::Value = response.json().await.ok()?;
    body.get("batch").is_some().then_some(Emulator::Moto)
}

/// Fits the parameters to what `emulator` can deploy, or refuses in one line. Returns the line to
/// print when a parameter was chosen for the user (`doing` is "deploying" or "planning").
pub fn accommodate(
    emulator: Emulator,
    parameters: &mut BTreeMap<String, String>,
    doing: &str,
) -> anyhow::Result<Option<String>> {
    let Emulator::Moto = emulator;
    match parameters.get(PUBLIC_ENDPOINT).map(String::as_str) {
        None => {
            parameters.insert(PUBLIC_ENDPOINT.to_owned(), PLAIN_HTTP.to_owned());
            Ok(Some(format!(
                "moto has no CloudFront in CloudFormation: {doing} with \
                 --param {PUBLIC_ENDPOINT}={PLAIN_HTTP}"
            )))
        }
        Some(CLOUDFRONT) => anyhow::bail!(
            "moto has no CloudFront in CloudFormation: --param {PUBLIC_ENDPOINT}={CLOUDFRONT} \
             cannot be deployed there (leave it out, or give {PLAIN_HTTP})"
        ),
        Some(_) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moto_deploys_plain_http_unless_told_otherwise_and_refuses_cloudfront() {
        let mut parameters = BTreeMap::new();
        let line = accommodate(Emulator::Moto, &mut parameters, "deploying").unwrap();
        assert_eq!(
            line.as_deref().unwrap_or_default(),
            "moto has no CloudFront in CloudFormation: deploying with \
             --param PublicEndpoint=plain-http-insecure"
        );
        assert_eq!(parameters[PUBLIC_ENDPOINT], PLAIN_HTTP);

        let mut given =
            BTreeMap::from([(PUBLIC_ENDPOINT.to_owned(), "load-balancer-https".to_owned())]);
        let line = accommodate(Emulator::Moto, &mut given, "planning").unwrap();
        assert_eq!(
            (line, given[PUBLIC_ENDPOINT].as_str()),
            (None, "load-balancer-https")
        );

        let mut cloudfront = BTreeMap::from([(PUBLIC_ENDPOINT.to_owned(), CLOUDFRONT.to_owned())]);
        let error = accommodate(Emulator::Moto, &mut cloudfront, "deploying").unwrap_err();
        assert!(
            error.to_string().starts_with("moto has no CloudFront"),
            "{error}"
        );
        assert!(!error.to_string().contains('\n'), "one line: {error}");
    }

    #[test]
    fn real_aws_is_never_probed() {
        let config = SdkConfig::builder().build();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        assert_eq!(runtime.block_on(detect(&config)), None);
    }
}
