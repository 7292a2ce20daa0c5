//! A worker's attempts on a video (see `migrations/0007_attempts_and_leases.sql`): a claim takes a
//! fresh token, counts an attempt and holds a lease the heartbeat renews; only the holder of the
//! current token records a result; the sweeper fails a `processing` video whose attempts are used
//! up and whose lease ran out, and puts back the job of a video the queue may have lost.

use std::time::Duration;

use sqlx::PgPool;
use uuid::Uuid;

use super::VideoStatus;
use super::keys::VideoKeys;
use crate::storage::StorageKey;

/// One attempt's hold on a video: its token, and the original it is to process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub video_id: Uuid,
    pub token: Uuid,
    pub original_key: String,
}

impl Claim {
    /// A job that could not even claim its video: a nil token, no original. Recording a failure
    /// with it fails a video nobody holds.
    pub fn unclaimed(video_id: Uuid) -> Self {
        Self {
            video_id,
            token: Uuid::nil(),
            original_key: String::new(),
        }
    }

    /// Where this attempt writes its clip (its own key: a concurrent attempt never writes there).
    pub fn clip_key(&self) -> StorageKey {
        VideoKeys::of(self.video_id).clip(self.token)
    }

    /// Where this attempt writes its poster.
    pub fn poster_key(&self) -> StorageKey {
        VideoKeys::of(self.video_id).poster(self.token)
    }
}

/// Marks the video `processing` under a fresh attempt token (taking over from any earlier
/// attempt, which can then no longer record) with a lease of `lease`; `None` when the video is
/// gone or already processed or failed (a redelivered job).
pub async fn claim(
    pool: &PgPool,
    video_id: Uuid,
    lease: Duration,
) -> Result<Option<Claim>, sqlx::Error> {
    let token = Uuid::new_v4();
    let original_key: Option<String> = sqlx::query_scalar(
        "UPDATE videos SET status = $4, processing_started_at = now(),
                           claim_token = $2, attempts = attempts + 1,
                           lease_expires_at = now() + make_interval(secs => $3)
         WHERE id = $1 AND status IN ('uploaded', 'processing')
         RETURNING original_key",
    )
    .bind(video_id)
    .bind(token)
    .bind(lease.as_secs_f64())
    .bind(VideoStatus::Processing)
    .fetch_optional(pool)
    .await?;
    Ok(original_key.map(|original_key| Claim {
        video_id,
        token,
        original_key,
    }))
}

/// Renews the lease of the attempt holding `claim` to `lease` from now. `false` when it no longer
/// holds the video (deleted, or taken over).
pub async fn extend_lease(
    pool: &PgPool,
    claim: &Claim,
    lease: Duration,
) -> Result<bool, sqlx::Error> {
    let extended = sqlx::query(
        "UPDATE videos SET lease_expires_at = now() + make_interval(secs => $3)
         WHERE id = $1 AND claim_token = $2",
    )
    .bind(claim.video_id)
    .bind(claim.token)
    .bind(lease.as_secs_f64())
    .execute(pool)
    .await?;
    Ok(extended.rows_affected() > 0)
}

/// `processing` → `processed` (and published when the upload asked for it), in one transaction.
/// `false` when the row is gone, no longer `processing`, or claimed by a newer attempt.
pub async fn record_processed(
    pool: &PgPool,
    claim: &Claim,
    clip_key: &StorageKey,
    poster_key: &StorageKey,
) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let publish: Option<bool> = sqlx::query_scalar(
        "UPDATE videos SET status = $5, processed_key = $2, poster_key = $3,
                           processed_at = now(), error = NULL, claim_token = NULL,
                           lease_expires_at = NULL
         WHERE id = $1 AND status = 'processing' AND claim_token = $4
         RETURNING publish_requested",
    )
    .bind(claim.video_id)
    .bind(clip_key.as_str())
    .bind(poster_key.as_str())
    .bind(claim.token)
    .bind(VideoStatus::Processed)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(publish) = publish else {
        return Ok(false);
    };
    if publish {
        super::publish(&mut tx, claim.video_id).await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// Fails the video with `reason` (its owner reads it), unless a newer attempt holds it (that
/// attempt decides for itself). With [`Claim::unclaimed`] it fails a video nobody holds.
pub async fn record_failed(pool: &PgPool, claim: &Claim, reason: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE videos SET status = $4, error = $2, claim_token = NULL,
                           lease_expires_at = NULL
         WHERE id = $1 AND status IN ('uploaded', 'processing')
           AND (claim_token = $3 OR claim_token IS NULL)",
    )
    .bind(claim.video_id)
    .bind(reason)
    .bind(claim.token)
    .bind(VideoStatus::Failed)
    .execute(pool)
    .await?;
    Ok(())
}

/// Gives up this attempt's lease at once (its message goes back to the queue).
pub async fn release_lease(pool: &PgPool, claim: &Claim) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE videos SET lease_expires_at = now() WHERE id = $1 AND claim_token = $2")
        .bind(claim.video_id)
        .bind(claim.token)
        .execute(pool)
        .await?;
    Ok(())
}

/// Fails every `processing` video that no attempt will ever finish: its attempts reached
/// `max_receives` (the queue's receive limit) and its lease ran out `grace` ago. Returns their ids.
pub async fn sweep(
    pool: &PgPool,
    max_receives: u32,
    grace: Duration,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE videos SET status = $4, error = $3, claim_token = NULL
         WHERE status = 'processing' AND attempts >= $1
           AND lease_expires_at < now() - make_interval(secs => $2)
         RETURNING id",
    )
    .bind(i32::try_from(max_receives).unwrap_or(i32::MAX))
    .bind(grace.as_secs_f64())
    .bind(format!(
        "El procesamiento se interrumpió {max_receives} veces sin terminar; vuelve a subir el video."
    ))
    .bind(VideoStatus::Failed)
    .fetch_all(pool)
    .await
}

/// Records the job again, in the outbox, of every video the queue may have lost: `uploaded` with
/// no job recorded, or `processing` with attempts left (fewer than `max_receives`) and a lease
/// that ran out `grace` ago; uploaded more than `older_than` ago, and not requeued in the last
/// `again_after`.
/// The caller publishes them ([`super::outbox::relay_once`]); should the first job turn up after
/// all, the worker skips whichever comes second. Returns the videos, oldest first.
pub async fn requeue_stranded(
    pool: &PgPool,
    max_receives: Option<u32>,
    grace: Duration,
    older_than: Duration,
    again_after: Duration,
) -> Result<Vec<Uuid>, sqlx::Error> {
    let max_attempts = max_receives.map_or(i32::MAX, |max| i32::try_from(max).unwrap_or(i32::MAX));
    sqlx::query_scalar(
        "WITH stranded AS (
             SELECT id, uploaded_at FROM videos v
             WHERE v.status IN ('uploaded', 'processing')
               AND v.uploaded_at < now() - make_interval(secs => $4)
               AND (v.requeued_at IS NULL
                    OR v.requeued_at < now() - make_interval(secs => $3))
               AND CASE v.status
                   WHEN 'uploaded' THEN
                       NOT EXISTS (SELECT 1 FROM job_outbox o WHERE o.video_id = v.id)
                   ELSE v.attempts < $1
                        AND v.lease_expires_at < now() - make_interval(secs => $2)
                   END
             ORDER BY v.uploaded_at
             LIMIT 1000
             FOR UPDATE SKIP LOCKED
         ), marked AS (
             UPDATE videos SET requeued_at = now()
             FROM stranded WHERE videos.id = stranded.id
             RETURNING videos.id, stranded.uploaded_at
         ), recorded AS (
             INSERT INTO job_outbox (id, video_id, next_attempt_at)
             SELECT gen_random_uuid(), id, now() FROM marked
             RETURNING video_id
         )
         SELECT marked.id FROM marked JOIN recorded ON recorded.video_id = marked.id
         ORDER BY marked.uploaded_at",
    )
    .bind(max_attempts)
    .bind(grace.as_secs_f64())
    .bind(again_after.as_secs_f64())
    .bind(older_than.as_secs_f64())
    .fetch_all(pool)
    .await
}
