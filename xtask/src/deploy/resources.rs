//! What a deployed stack runs, read through the AWS APIs: its services' task counts and its
//! queues' depths; and emptying its bucket before the stack is deleted.

use anyhow::Context;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use aws_sdk_sqs::types::QueueAttributeName;

use super::stack::StackState;

/// Desired, running and pending tasks of one ECS service.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TaskCounts {
    pub desired: i32,
    pub running: i32,
    pub pending: i32,
}

/// The web and worker services' task counts, by service name.
pub async fn service_counts(
    ecs: &aws_sdk_ecs::Client,
    state: &StackState,
) -> anyhow::Result<Vec<(String, TaskCounts)>> {
    let cluster = state.output("ClusterName")?;
    let names = [
        state.output("WebServiceName")?,
        state.output("WorkerServiceName")?,
    ];
    let answer = ecs
        .describe_services()
        .cluster(cluster)
        .services(names[0])
        .services(names[1])
        .send()
        .await
        .with_context(|| format!("describing the services of cluster {cluster}"))?;
    Ok(answer
        .services()
        .iter()
        .map(|service| {
            (
                service.service_name().unwrap_or_default().to_owned(),
                TaskCounts {
                    desired: service.desired_count(),
                    running: service.running_count(),
                    pending: service.pending_count(),
                },
            )
        })
        .collect())
}

/// Messages waiting, being worked on, and dead-lettered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueDepths {
    pub visible: u64,
    pub in_flight: u64,
    pub dead_letter: u64,
}

pub async fn queue_depths(
    sqs: &aws_sdk_sqs::Client,
    state: &StackState,
) -> anyhow::Result<QueueDepths> {
    let read = |url: String| async move {
        let answer = sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .with_context(|| format!("reading the attributes of {url}"))?;
        let value = |name: QueueAttributeName| {
            answer
                .attributes()
                .and_then(|attributes| attributes.get(&name))
                .and_then(|value| value.parse::<u64>().ok())
                .unwrap_or(0)
        };
        anyhow::Ok((
            value(QueueAttributeName::ApproximateNumberOfMessages),
            value(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
        ))
    };
    let (visible, in_flight) = read(state.output("QueueUrl")?.to_owned()).await?;
    let (dead_visible, dead_hidden) = read(state.output("DeadLetterQueueUrl")?.to_owned()).await?;
    Ok(QueueDepths {
        visible,
        in_flight,
        dead_letter: dead_visible + dead_hidden,
    })
}

/// Deletes every object version and delete marker; returns how many.
pub async fn empty_bucket(s3: &aws_sdk_s3::Client, bucket: &str) -> anyhow::Result<usize> {
    let mut removed = 0;
    let (mut key_marker, mut version_marker) = (None, None);
    loop {
        let page = match s3
            .list_object_versions()
            .bucket(bucket)
            .set_key_marker(key_marker)
            .set_version_id_marker(version_marker)
            .send()
            .await
        {
            Ok(page) => page,
            Err(error)
                if aws_sdk_s3::error::ProvideErrorMetadata::code(&error)
                    == Some("NoSuchBucket") =>
            {
                return Ok(removed);
            }
            Err(error) => {
                return Err(anyhow::Error::new(error).context(format!("listing {bucket}")));
            }
        };
        let mut objects = Vec::new();
        for version in page.versions() {
            objects.push((version.key(), version.version_id()));
        }
        for marker in page.delete_markers() {
            objects.push((marker.key(), marker.version_id()));
        }
        let identifiers = objects
            .into_iter()
            .filter_map(|(key, version)| {
                ObjectIdentifier::builder()
                    .set_key(key.map(str::to_owned))
                    .set_version_id(version.map(str::to_owned))
                    .build()
                    .ok()
            })
            .collect::<Vec<_>>();
        if !identifiers.is_empty() {
            removed += identifiers.len();
            s3.delete_objects()
                .bucket(bucket)
                .delete(
                    Delete::builder()
                        .set_objects(Some(identifiers))
                        .quiet(true)
                        .build()?,
                )
                .send()
                .await
                .with_context(|| format!("deleting objects of {bucket}"))?;
        }
        if !page.is_truncated().unwrap_or(false) {
            return Ok(removed);
        }
        key_marker = page.next_key_marker().map(str::to_owned);
        version_marker = page.next_version_id_marker().map(str::to_owned);
    }
}
