//! The `moto` AWS emulator that `cargo xtask test` starts: SDK configuration, buckets and queues.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_sqs::types::QueueAttributeName;
use uuid::Uuid;

/// SDK configuration pointing at the emulator (from `AWS_ENDPOINT_URL`), with throw-away credentials.
pub async fn aws_config() -> anyhow::Result<SdkConfig> {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").map_err(|_| {
        anyhow::anyhow!(
            "AWS_ENDPOINT_URL is not set: run the tests with `cargo xtask test`, which starts the moto AWS emulator"
        )
    })?;
    anyhow::ensure!(
        endpoint.starts_with("http://127.") || endpoint.starts_with("http://localhost"),
        "AWS_ENDPOINT_URL={endpoint} is not on loopback: tests only ever talk to a local emulator"
    );
    Ok(aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "testing", "testing", None, None, "testkit",
        ))
        .load()
        .await)
}

/// Creates an empty bucket with a unique name; returns the name.
pub async fn s3_bucket(config: &SdkConfig) -> anyhow::Result<String> {
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(config)
            .force_path_style(true)
            .build(),
    );
    let bucket = format!("rs-test-{}", Uuid::new_v4().simple());
    s3.create_bucket().bucket(&bucket).send().await?;
    Ok(bucket)
}

/// Creates a queue whose messages move to a new dead-letter queue after `max_receives` receives;
/// returns the queue's URL.
pub async fn sqs_queue_with_dead_letter(
    config: &SdkConfig,
    max_receives: u32,
) -> anyhow::Result<String> {
    let sqs = aws_sdk_sqs::Client::new(config);
    let name = format!("rs-test-{}", Uuid::new_v4().simple());
    let dead_letter_url = sqs
        .create_queue()
        .queue_name(format!("{name}-dlq"))
        .send()
        .await?
        .queue_url
        .ok_or_else(|| anyhow::anyhow!("no URL for the new dead-letter queue"))?;
    let dead_letter_arn = sqs
        .get_queue_attributes()
        .queue_url(&dead_letter_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await?
        .attributes
        .and_then(|mut attributes| attributes.remove(&QueueAttributeName::QueueArn))
        .ok_or_else(|| anyhow::anyhow!("no ARN for the new dead-letter queue"))?;
    let policy = format!(
        r#"{{"deadLetterTargetArn":"{dead_letter_arn}","maxReceiveCount":"{max_receives}"}}"#
    );
    sqs.create_queue()
        .queue_name(&name)
        .attributes(QueueAttributeName::RedrivePolicy, policy)
        .send()
        .await?
        .queue_url
        .ok_or_else(|| anyhow::anyhow!("no URL for the new queue"))
}
