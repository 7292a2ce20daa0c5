//! The AWS connection every deploy task shares: region, profile and endpoint from the flags,
//! credentials found the standard way (environment, profile, SSO, instance role).

use aws_config::{BehaviorVersion, Region, SdkConfig};

use crate::flags::AwsArgs;

/// The SDK configuration for `args`; the region falls back to the environment, then `us-east-1`.
pub async fn sdk_config(args: &AwsArgs) -> SdkConfig {
    let loader = |region: Option<&str>| {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(profile) = &args.connection.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(region) = region {
            loader = loader.region(Region::new(region.to_owned()));
        }
        if let Some(endpoint) = &args.connection.endpoint_url {
            loader = loader.endpoint_url(endpoint);
        }
        loader
    };
    let config = loader(args.connection.region.as_deref()).load().await;
    if config.region().is_some() {
        return config;
    }
    loader(Some("us-east-1")).load().await
}

/// The S3 client; emulators (an endpoint override) need path-style addressing.
pub fn s3(config: &SdkConfig, args: &AwsArgs) -> aws_sdk_s3::Client {
    let s3_config = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(
            args.connection.endpoint_url.is_some()
                || std::env::var_os("AWS_ENDPOINT_URL").is_some(),
        )
        .build();
    aws_sdk_s3::Client::from_conf(s3_config)
}
