//! A new video enters: its row and its processing job's outbox record, written in one transaction.

use std::time::Duration;

use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::outbox::HANDOVER_DELAY;
use crate::storage::StorageKey;

/// What an accepted upload records about its video.
#[derive(Debug, Clone)]
pub struct NewVideo {
    pub id: Uuid,
    pub owner_id: Uuid,
    pub title: String,
    /// Publish for voting as soon as processing succeeds.
    pub publish_requested: bool,
    /// Where the original is stored: [`super::VideoKeys::original`] for an upload (a benchmark
    /// may point many rows at one shared input).
    pub original: StorageKey,
    pub duration: Duration,
    pub width: u32,
    pub height: u32,
    pub size_bytes: u64,
    pub video_codec: String,
}

/// Records `video` as `uploaded` and its processing job in the outbox (due for the relay after
/// [`HANDOVER_DELAY`]), both or neither. Returns the job's task id, for
/// [`super::outbox::publish`] after the caller has nothing left to do.
pub async fn record_upload(pool: &PgPool, video: &NewVideo) -> Result<Uuid, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let task_id = insert(&mut tx, video).await?;
    tx.commit().await?;
    Ok(task_id)
}

/// Like [`record_upload`], unless the owner already has `ceiling` videos not yet finished
/// (`uploaded` or `processing`): then nothing is written and `None` is returned. The owner's row
/// is locked for the count and the insert, so parallel uploads of one account are counted one
/// after another and cannot all pass (the lock is the owner's alone and lasts three statements).
pub async fn record_upload_within(
    pool: &PgPool,
    video: &NewVideo,
    ceiling: u32,
) -> Result<Option<Uuid>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    // The lock first, the count in a statement of its own: under read committed, the count's
    // snapshot is taken after the lock is granted, so it sees the video a parallel upload of the
    // same account committed while this one waited.
    sqlx::query("SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE")
        .bind(video.owner_id)
        .fetch_optional(&mut *tx)
        .await?;
    let in_flight: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM videos WHERE owner_id = $1 AND status IN ('uploaded', 'processing')",
    )
    .bind(video.owner_id)
    .fetch_one(&mut *tx)
    .await?;
    if in_flight >= i64::from(ceiling) {
        tx.rollback().await?;
        return Ok(None);
    }
    let task_id = insert(&mut tx, video).await?;
    tx.commit().await?;
    Ok(Some(task_id))
}

/// The videos of `owner_id` not yet finished processing (`uploaded` or `processing`), unlocked: a
/// cheap early look before an upload's body is read ([`record_upload_within`] decides).
pub async fn in_flight(pool: &PgPool, owner_id: Uuid) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT count(*) FROM videos WHERE owner_id = $1 AND status IN ('uploaded', 'processing')",
    )
    .bind(owner_id)
    .fetch_one(pool)
    .await
}

/// Writes the video row and its job's outbox record in `tx`; returns the job's task id.
async fn insert(tx: &mut Transaction<'_, Postgres>, video: &NewVideo) -> Result<Uuid, sqlx::Error> {
    let task_id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO videos (id, owner_id, title, publish_requested, original_key,
                             duration_ms, width, height, size_bytes, video_codec)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(video.id)
    .bind(video.owner_id)
    .bind(&video.title)
    .bind(video.publish_requested)
    .bind(video.original.as_str())
    .bind(i32::try_from(video.duration.as_millis()).unwrap_or(i32::MAX))
    .bind(i32::try_from(video.width).unwrap_or(i32::MAX))
    .bind(i32::try_from(video.height).unwrap_or(i32::MAX))
    .bind(i64::try_from(video.size_bytes).unwrap_or(i64::MAX))
    .bind(&video.video_codec)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO job_outbox (id, video_id, next_attempt_at)
         VALUES ($1, $2, now() + make_interval(secs => $3))",
    )
    .bind(task_id)
    .bind(video.id)
    .bind(HANDOVER_DELAY.as_secs_f64())
    .execute(&mut **tx)
    .await?;
    Ok(task_id)
}
