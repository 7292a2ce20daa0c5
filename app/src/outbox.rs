//! The job outbox's relay in every API task: every few seconds it re-publishes the recorded jobs
//! that fell due (`platform::videos::outbox` holds the records and their statements).

use std::sync::Arc;
use std::time::Duration;

use platform::queue::JobQueue;
use platform::videos::outbox::relay_once;
use sqlx::PgPool;

/// How often the relay looks for due jobs.
const RELAY_INTERVAL: Duration = Duration::from_secs(5);

/// Runs the relay until the process ends.
pub fn spawn_relay(pool: PgPool, queue: Arc<dyn JobQueue>) {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(RELAY_INTERVAL);
        loop {
            ticker.tick().await;
            if let Err(error) = relay_once(&pool, queue.as_ref()).await {
                tracing::warn!(%error, "outbox relay pass failed");
            }
        }
    });
}
