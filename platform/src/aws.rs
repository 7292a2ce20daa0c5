//! The AWS SDK configuration every AWS client here is built from.
//!
//! Region, credentials and endpoint come the standard way (`AWS_REGION`, `AWS_PROFILE`,
//! `AWS_ACCESS_KEY_ID`…, the ECS task role, `AWS_ENDPOINT_URL`), so the same binaries talk to AWS in
//! production and to an emulator on loopback in tests.

use aws_config::{BehaviorVersion, SdkConfig};

use crate::config::{QueueSettings, StorageSettings};

/// Loads the shared SDK configuration from the environment.
pub async fn load_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

/// Loads the SDK configuration only when a backend needs AWS, so the local stack never probes for
/// credentials or a region (which on a laptop means slow instance-metadata look-ups and warnings).
pub async fn load_config_for(storage: &StorageSettings, queue: &QueueSettings) -> SdkConfig {
    let needs_aws =
        matches!(storage, StorageSettings::S3 { .. }) || matches!(queue, QueueSettings::Sqs { .. });
    if needs_aws {
        load_config().await
    } else {
        SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .build()
    }
}
