//! What every queue backend promises: the `JobQueue` trait, the messages and receipts it hands
//! out, its depth counters and its errors. The conformance suite holds both backends to it.

use std::time::Duration;

use async_trait::async_trait;

/// Proof of one receive: only the latest receiver of a message can extend, release or delete it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptHandle(pub String);

/// A message as delivered to a receiver.
#[derive(Debug, Clone)]
pub struct ReceivedMessage {
    pub id: String,
    pub body: String,
    pub receipt: ReceiptHandle,
    /// 1 on the first delivery, and so on.
    pub receive_count: u32,
}

/// Queue depth counters, as SQS reports them (approximate there, exact for PostgreSQL).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueDepth {
    /// Waiting to be received.
    pub visible: u64,
    /// Received and not yet deleted (being worked on).
    pub in_flight: u64,
    /// In the dead-letter queue.
    pub dead_letter: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The receipt is no longer current: the message was deleted, or redelivered to someone else.
    #[error("the receipt handle is no longer valid")]
    ReceiptExpired,
    #[error("queue {operation} failed")]
    Backend {
        operation: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl QueueError {
    pub(crate) fn backend(
        operation: &'static str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self::Backend {
            operation,
            source: source.into(),
        }
    }
}

#[async_trait]
pub trait JobQueue: Send + Sync + std::fmt::Debug {
    /// Enqueues a message; returns its id.
    async fn send(&self, body: &str) -> Result<String, QueueError>;

    /// Waits up to `wait` (long polling) for up to `max` messages (1–10); each one received stays
    /// invisible to other receivers for `visibility`.
    async fn receive(
        &self,
        max: u32,
        wait: Duration,
        visibility: Duration,
    ) -> Result<Vec<ReceivedMessage>, QueueError>;

    /// Keeps a received message invisible for `visibility` from now (the worker's heartbeat).
    async fn extend_visibility(
        &self,
        receipt: &ReceiptHandle,
        visibility: Duration,
    ) -> Result<(), QueueError>;

    /// Makes a received message visible again at once (for a worker that stops before finishing).
    async fn release(&self, receipt: &ReceiptHandle) -> Result<(), QueueError> {
        self.extend_visibility(receipt, Duration::ZERO).await
    }

    /// Acknowledges a message: it is gone for good.
    async fn delete(&self, receipt: &ReceiptHandle) -> Result<(), QueueError>;

    /// Moves a received message to the dead-letter queue at once, for a job that can never
    /// succeed (there is no point in the remaining receives).
    async fn dead_letter(&self, message: &ReceivedMessage) -> Result<(), QueueError>;

    /// Visible, in-flight and dead-lettered message counts.
    async fn depth(&self) -> Result<QueueDepth, QueueError>;

    /// How many receives a message gets before it is dead-lettered (`None`: never).
    async fn max_receives(&self) -> Result<Option<u32>, QueueError>;

    /// Readiness: proves the queue answers.
    async fn check(&self) -> Result<(), QueueError> {
        self.depth().await.map(|_| ())
    }
}
