//! The job outbox: an upload records its processing job with the video, publishes it right after
//! commit, and the relay re-publishes whatever is still recorded when it falls due (the API died
//! between commit and publish, or the queue was down). So no accepted upload stays `uploaded`
//! forever; the worker tolerates the rare duplicate.

use std::time::Duration;

use sqlx::PgPool;
use uuid::Uuid;

use crate::job::ProcessVideo;
use crate::queue::JobQueue;

/// How long the request that recorded a job has to publish it before the relay takes over.
pub const HANDOVER_DELAY: Duration = Duration::from_secs(30);

/// Publishes a recorded job and forgets it. On failure the record stays for the relay.
pub async fn publish(pool: &PgPool, queue: &dyn JobQueue, task_id: Uuid, video_id: Uuid) -> bool {
    let body = ProcessVideo { task_id, video_id }.to_body();
    match queue.send(&body).await {
        Ok(_) => {
            if let Err(error) = sqlx::query("DELETE FROM job_outbox WHERE id = $1")
                .bind(task_id)
                .execute(pool)
                .await
            {
                // The job is queued; at worst the relay sends it again and the worker skips it.
                tracing::warn!(%task_id, %error, "job published but its outbox record remains");
            }
            true
        }
        Err(error) => {
            tracing::warn!(%task_id, %video_id, error = %error, "enqueue failed; the relay will retry");
            false
        }
    }
}

/// A recorded job whose time to be published has come.
#[derive(sqlx::FromRow)]
struct DueJob {
    id: Uuid,
    video_id: Uuid,
    /// Failed publications so far.
    attempts: i32,
}

/// One relay pass: publishes due jobs, backing off those that fail. Returns how many were sent.
pub async fn relay_once(pool: &PgPool, queue: &dyn JobQueue) -> Result<usize, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let due: Vec<DueJob> = sqlx::query_as(
        "SELECT id, video_id, attempts FROM job_outbox
         WHERE next_attempt_at <= now()
         ORDER BY next_attempt_at LIMIT 100
         FOR UPDATE SKIP LOCKED",
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut sent = 0;
    for DueJob {
        id: task_id,
        video_id,
        attempts,
    } in due
    {
        let body = ProcessVideo { task_id, video_id }.to_body();
        match queue.send(&body).await {
            Ok(_) => {
                sqlx::query("DELETE FROM job_outbox WHERE id = $1")
                    .bind(task_id)
                    .execute(&mut *tx)
                    .await?;
                sent += 1;
            }
            Err(error) => {
                let backoff = (5 * 2_i64
                    .saturating_pow(u32::try_from(attempts).unwrap_or(0).min(6)))
                .min(300);
                tracing::warn!(%task_id, attempts, error = %error, "relay could not enqueue; backing off");
                sqlx::query(
                    "UPDATE job_outbox SET attempts = attempts + 1,
                         next_attempt_at = now() + make_interval(secs => $2)
                     WHERE id = $1",
                )
                .bind(task_id)
                .bind(backoff as f64)
                .execute(&mut *tx)
                .await?;
            }
        }
    }
    tx.commit().await?;
    if sent > 0 {
        tracing::info!(sent, "relay published recorded jobs");
    }
    Ok(sent)
}
