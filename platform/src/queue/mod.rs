//! The job queue: SQS semantics behind a small trait, with an SQS and a PostgreSQL backend.
//!
//! A received message is invisible to other receivers for a visibility timeout, which its receiver
//! may extend (heartbeat); it comes back when the timeout passes without a delete. Each receive
//! counts, and a message received `max_receives` times moves to the dead-letter queue instead of
//! being delivered again.

mod contract;
mod postgres;
mod sqs;

use std::sync::Arc;

use sqlx::PgPool;

pub use contract::{JobQueue, QueueDepth, QueueError, ReceiptHandle, ReceivedMessage};
pub use postgres::PgQueue;
pub use sqs::SqsQueue;

use crate::config::QueueSettings;

/// Builds the backend the settings name; the PostgreSQL queue lives in the application database.
pub fn from_settings(
    settings: &QueueSettings,
    pool: &PgPool,
    aws: &aws_config::SdkConfig,
) -> Arc<dyn JobQueue> {
    match settings {
        QueueSettings::Postgres { name, max_receives } => {
            Arc::new(PgQueue::new(pool.clone(), name, *max_receives))
        }
        QueueSettings::Sqs { url } => Arc::new(SqsQueue::new(aws, url)),
    }
}
