//! The SQS backend. Dead-lettering is SQS's own (the queue's redrive policy), which also tells us
//! the dead-letter queue to count and the number of receives allowed.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use tokio::sync::OnceCell;

use super::contract::{JobQueue, QueueDepth, QueueError, ReceiptHandle, ReceivedMessage};

/// SQS's longest long poll.
const MAX_WAIT_SECONDS: u64 = 20;

#[derive(Debug, Clone)]
struct Redrive {
    dead_letter_queue_url: String,
    max_receives: u32,
}

#[derive(Debug)]
pub struct SqsQueue {
    client: Client,
    url: String,
    redrive: OnceCell<Option<Redrive>>,
}

/// SQS takes whole seconds; round up so a timeout is never shorter than asked for.
fn whole_seconds(duration: Duration) -> i32 {
    let seconds = duration.as_secs() + u64::from(duration.subsec_nanos() > 0);
    i32::try_from(seconds).unwrap_or(i32::MAX)
}

impl SqsQueue {
    pub fn new(aws: &aws_config::SdkConfig, url: &str) -> Self {
        Self {
            client: Client::new(aws),
            url: url.to_owned(),
            redrive: OnceCell::new(),
        }
    }

    async fn count(&self, url: &str) -> Result<(u64, u64), QueueError> {
        let attributes = self
            .client
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .map_err(|error| QueueError::backend("depth", error))?;
        let read = |name: QueueAttributeName| {
            attributes
                .attributes()
                .and_then(|all| all.get(&name))
                .and_then(|value| value.parse::<u64>().ok())
                .unwrap_or(0)
        };
        Ok((
            read(QueueAttributeName::ApproximateNumberOfMessages),
            read(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
        ))
    }

    async fn redrive(&self) -> Result<Option<Redrive>, QueueError> {
        self.redrive
            .get_or_try_init(|| async {
                let attributes = self
                    .client
                    .get_queue_attributes()
                    .queue_url(&self.url)
                    .attribute_names(QueueAttributeName::RedrivePolicy)
                    .send()
                    .await
                    .map_err(|error| QueueError::backend("read redrive policy", error))?;
                let Some(policy) = attributes
                    .attributes()
                    .and_then(|all| all.get(&QueueAttributeName::RedrivePolicy))
                else {
                    return Ok(None);
                };
                let policy: serde_json::Value = serde_json::from_str(policy)
                    .map_err(|error| QueueError::backend("read redrive policy", error))?;
                let arn = policy["deadLetterTargetArn"].as_str().unwrap_or_default();
                let max_receives = match &policy["maxReceiveCount"] {
                    serde_json::Value::Number(n) => n.as_u64(),
                    serde_json::Value::String(s) => s.parse().ok(),
                    _ => None,
                };
                let (Some(name), Some(max_receives)) = (arn.rsplit(':').next(), max_receives)
                else {
                    return Err(QueueError::backend(
                        "read redrive policy",
                        format!("unreadable redrive policy {policy}"),
                    ));
                };
                let dead_letter_queue_url = self
                    .client
                    .get_queue_url()
                    .queue_name(name)
                    .send()
                    .await
                    .map_err(|error| QueueError::backend("find dead-letter queue", error))?
                    .queue_url
                    .unwrap_or_default();
                Ok(Some(Redrive {
                    dead_letter_queue_url,
                    max_receives: u32::try_from(max_receives).unwrap_or(u32::MAX),
                }))
            })
            .await
            .cloned()
    }
}

fn is_stale_receipt<E: aws_sdk_sqs::error::ProvideErrorMetadata>(error: &E) -> bool {
    matches!(
        error.code(),
        Some("ReceiptHandleIsInvalid" | "MessageNotInflight" | "InvalidParameterValue")
    )
}

#[async_trait]
impl JobQueue for SqsQueue {
    async fn send(&self, body: &str) -> Result<String, QueueError> {
        let sent = self
            .client
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .send()
            .await
            .map_err(|error| QueueError::backend("send", error))?;
        Ok(sent.message_id.unwrap_or_default())
    }

    async fn receive(
        &self,
        max: u32,
        wait: Duration,
        visibility: Duration,
    ) -> Result<Vec<ReceivedMessage>, QueueError> {
        let received = self
            .client
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(i32::try_from(max.clamp(1, 10)).unwrap_or(1))
            .wait_time_seconds(whole_seconds(
                wait.min(Duration::from_secs(MAX_WAIT_SECONDS)),
            ))
            .visibility_timeout(whole_seconds(visibility))
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(|error| QueueError::backend("receive", error))?;
        Ok(received
            .messages
            .unwrap_or_default()
            .into_iter()
            .filter_map(|message| {
                let receive_count = message
                    .attributes()
                    .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                    .and_then(|count| count.parse().ok())
                    .unwrap_or(1);
                Some(ReceivedMessage {
                    id: message.message_id?,
                    body: message.body.unwrap_or_default(),
                    receipt: ReceiptHandle(message.receipt_handle?),
                    receive_count,
                })
            })
            .collect())
    }

    async fn extend_visibility(
        &self,
        receipt: &ReceiptHandle,
        visibility: Duration,
    ) -> Result<(), QueueError> {
        self.client
            .change_message_visibility()
            .queue_url(&self.url)
            .receipt_handle(&receipt.0)
            .visibility_timeout(whole_seconds(visibility))
            .send()
            .await
            .map(|_| ())
            .map_err(|error| {
                if is_stale_receipt(&error) {
                    QueueError::ReceiptExpired
                } else {
                    QueueError::backend("extend visibility", error)
                }
            })
    }

    async fn delete(&self, receipt: &ReceiptHandle) -> Result<(), QueueError> {
        self.client
            .delete_message()
            .queue_url(&self.url)
            .receipt_handle(&receipt.0)
            .send()
            .await
            .map(|_| ())
            .map_err(|error| {
                if is_stale_receipt(&error) {
                    QueueError::ReceiptExpired
                } else {
                    QueueError::backend("delete", error)
                }
            })
    }

    async fn dead_letter(&self, message: &ReceivedMessage) -> Result<(), QueueError> {
        // SQS has no "move now": copy the message to the dead-letter queue, then delete it here.
        let redrive = self
            .redrive()
            .await?
            .ok_or_else(|| QueueError::backend("dead-letter", "the queue has no redrive policy"))?;
        self.client
            .send_message()
            .queue_url(&redrive.dead_letter_queue_url)
            .message_body(&message.body)
            .send()
            .await
            .map_err(|error| QueueError::backend("dead-letter", error))?;
        self.delete(&message.receipt).await
    }

    async fn depth(&self) -> Result<QueueDepth, QueueError> {
        let (visible, in_flight) = self.count(&self.url).await?;
        let dead_letter = match self.redrive().await? {
            Some(redrive) => self.count(&redrive.dead_letter_queue_url).await?.0,
            None => 0,
        };
        Ok(QueueDepth {
            visible,
            in_flight,
            dead_letter,
        })
    }

    async fn max_receives(&self) -> Result<Option<u32>, QueueError> {
        Ok(self.redrive().await?.map(|redrive| redrive.max_receives))
    }
}
