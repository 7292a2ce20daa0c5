//! Resumable upload sessions (`upload_sessions`): opened within an account's ceiling, claimed by
//! one completion (or the expiry sweep) at a time, and closed as completed, refused or gone.
//!
//! A session knows its video's id from the start: its parts become
//! [`super::VideoKeys::original`] of that id, which the video's row owns once it is recorded.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use crate::storage::StorageKey;

/// How long a session takes parts (24 h); then the sweep removes it and its parts.
pub const LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// How long a completion (or the sweep) holds a session: well past a probe and a record, so a
/// claim only runs out when its holder died.
pub const CLAIM: Duration = Duration::from_secs(300);

/// Where a session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStatus {
    /// Taking parts.
    Open,
    /// The parts are joined into the object; the rules are not applied yet (or their answer was
    /// lost).
    Assembled,
    /// The video is recorded.
    Completed,
    /// A rule failed and the object was removed.
    Refused,
}

impl SessionStatus {
    fn parse(raw: &str) -> Self {
        match raw {
            "assembled" => Self::Assembled,
            "completed" => Self::Completed,
            "refused" => Self::Refused,
            // The column's CHECK admits nothing else.
            _ => Self::Open,
        }
    }
}

/// A session's row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Session {
    pub id: Uuid,
    pub owner_id: Uuid,
    pub video_id: Uuid,
    pub storage_upload_id: Option<String>,
    pub size_bytes: i64,
    pub part_size: i64,
    pub title: String,
    pub publish: bool,
    pub checksum: Option<String>,
    status: String,
    pub task_id: Option<Uuid>,
    pub refusal_code: Option<String>,
    pub refusal_field: Option<String>,
    pub refusal_detail: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl Session {
    pub fn status(&self) -> SessionStatus {
        SessionStatus::parse(&self.status)
    }

    /// Where the parts go once joined: the video's original.
    pub fn key(&self) -> StorageKey {
        super::VideoKeys::of(self.video_id).original()
    }

    /// The file's size in bytes.
    pub fn size(&self) -> u64 {
        u64::try_from(self.size_bytes).unwrap_or(0)
    }

    /// Every part's size but the last one's.
    pub fn part_size(&self) -> u64 {
        u64::try_from(self.part_size).unwrap_or(1).max(1)
    }

    /// How many parts the file takes.
    pub fn part_count(&self) -> u32 {
        u32::try_from(self.size().div_ceil(self.part_size())).unwrap_or(u32::MAX)
    }

    /// The size part `number` (1-based) must have; `None` past the last part.
    pub fn expected_part_size(&self, number: u32) -> Option<u64> {
        if number == 0 || number > self.part_count() {
            return None;
        }
        let start = u64::from(number - 1) * self.part_size();
        Some(self.part_size().min(self.size() - start))
    }

    /// Whether it still takes parts or a completion (its 24 h are not over).
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.expires_at > now
    }
}

/// The columns of [`Session`], for `SELECT` and `RETURNING`.
macro_rules! columns {
    () => {
        "id, owner_id, video_id, storage_upload_id, size_bytes, part_size, title, publish, \
         checksum, status, task_id, refusal_code, refusal_field, refusal_detail, created_at, \
         expires_at"
    };
}

/// What a new session records.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub owner_id: Uuid,
    pub size_bytes: u64,
    pub part_size: u64,
    pub title: String,
    pub publish: bool,
    pub checksum: Option<String>,
}

/// Opens a session for `new`, unless its owner already has `ceiling` sessions open or assembled
/// and not expired: then nothing is written and `None` is returned. The owner's row is locked for
/// the count and the insert, so parallel requests of one account are counted one after another.
/// The owner's refused sessions go (their objects went when they were refused).
pub async fn open_within(
    pool: &PgPool,
    new: &NewSession,
    ceiling: u32,
) -> Result<Option<Session>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE")
        .bind(new.owner_id)
        .fetch_optional(&mut *tx)
        .await?;
    // A refused session is kept only so that a client that lost the answer hears it again; one
    // that opens another has moved on. So refusals cannot pile up rows while the ceiling counts
    // only unfinished sessions.
    sqlx::query("DELETE FROM upload_sessions WHERE owner_id = $1 AND status = 'refused'")
        .bind(new.owner_id)
        .execute(&mut *tx)
        .await?;
    let open: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM upload_sessions
         WHERE owner_id = $1 AND status IN ('open', 'assembled') AND expires_at > now()",
    )
    .bind(new.owner_id)
    .fetch_one(&mut *tx)
    .await?;
    if open >= i64::from(ceiling) {
        tx.rollback().await?;
        return Ok(None);
    }
    let session: Session = sqlx::query_as(concat!(
        "INSERT INTO upload_sessions (id, owner_id, video_id, size_bytes, part_size, title,
                                      publish, checksum, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now() + make_interval(secs => $9))
         RETURNING ",
        columns!(),
        ""
    ))
    .bind(Uuid::now_v7())
    .bind(new.owner_id)
    .bind(Uuid::now_v7())
    .bind(i64::try_from(new.size_bytes).unwrap_or(i64::MAX))
    .bind(i64::try_from(new.part_size).unwrap_or(i64::MAX))
    .bind(&new.title)
    .bind(new.publish)
    .bind(&new.checksum)
    .bind(LIFETIME.as_secs_f64())
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(session))
}

/// Records the store's multipart upload id of session `id`.
pub async fn set_storage_upload(
    pool: &PgPool,
    id: Uuid,
    upload_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE upload_sessions SET storage_upload_id = $2 WHERE id = $1")
        .bind(id)
        .bind(upload_id)
        .execute(pool)
        .await
        .map(drop)
}

/// Session `id`, whoever owns it.
pub async fn find(pool: &PgPool, id: Uuid) -> Result<Option<Session>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM upload_sessions WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// The sessions of `owner_id` still open or assembled and not expired, newest first: what a
/// client that lost track of its uploads resumes from.
pub async fn unfinished_of(pool: &PgPool, owner_id: Uuid) -> Result<Vec<Session>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM upload_sessions
         WHERE owner_id = $1 AND status IN ('open', 'assembled') AND expires_at > now()
         ORDER BY created_at DESC"
    ))
    .bind(owner_id)
    .fetch_all(pool)
    .await
}

/// Takes session `id` of `owner_id` for a completion or an abort: it must be open or assembled,
/// not expired, and not held by another (or held by one that died, [`CLAIM`] ago). `None` when it
/// cannot be taken; the caller reads the row to say why.
pub async fn claim(
    pool: &PgPool,
    id: Uuid,
    owner_id: Uuid,
) -> Result<Option<Session>, sqlx::Error> {
    sqlx::query_as(concat!(
        "UPDATE upload_sessions SET claimed_until = now() + make_interval(secs => $3)
         WHERE id = $1 AND owner_id = $2 AND status IN ('open', 'assembled')
           AND expires_at > now() AND (claimed_until IS NULL OR claimed_until < now())
         RETURNING ",
        columns!(),
        ""
    ))
    .bind(id)
    .bind(owner_id)
    .bind(CLAIM.as_secs_f64())
    .fetch_optional(pool)
    .await
}

/// Whether session `id` is held by a completion now.
pub async fn is_claimed(pool: &PgPool, id: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM upload_sessions WHERE id = $1 AND claimed_until > now())",
    )
    .bind(id)
    .fetch_one(pool)
    .await
}

/// Lets go of a claimed session, leaving its status as it is.
pub async fn release(pool: &PgPool, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE upload_sessions SET claimed_until = NULL WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await
        .map(drop)
}

/// The parts of claimed session `id` are joined into its object.
pub async fn mark_assembled(pool: &PgPool, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE upload_sessions SET status = 'assembled' WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await
        .map(drop)
}

/// Claimed session `id` became a video whose job is `task_id`.
pub async fn mark_completed(pool: &PgPool, id: Uuid, task_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE upload_sessions
         SET status = 'completed', task_id = $2, claimed_until = NULL WHERE id = $1",
    )
    .bind(id)
    .bind(task_id)
    .execute(pool)
    .await
    .map(drop)
}

/// Claimed session `id` broke a rule (its object is removed): the problem is kept, so a client
/// that asks again after a lost answer hears the same.
pub async fn mark_refused(
    pool: &PgPool,
    id: Uuid,
    code: &str,
    field: Option<&str>,
    detail: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE upload_sessions
         SET status = 'refused', refusal_code = $2, refusal_field = $3, refusal_detail = $4,
             claimed_until = NULL
         WHERE id = $1",
    )
    .bind(id)
    .bind(code)
    .bind(field)
    .bind(detail)
    .execute(pool)
    .await
    .map(drop)
}

/// Removes session `id`'s row (its parts or object are the caller's to remove first).
pub async fn delete(pool: &PgPool, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM upload_sessions WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await
        .map(drop)
}

/// Claims up to `limit` expired sessions that nobody holds, for the sweep: it removes what each
/// left in storage, then [`delete`]s the row. Sessions of other sweepers are skipped.
pub async fn claim_expired(pool: &PgPool, limit: i64) -> Result<Vec<Session>, sqlx::Error> {
    sqlx::query_as(concat!(
        "UPDATE upload_sessions SET claimed_until = now() + make_interval(secs => $2)
         WHERE id IN (
             SELECT id FROM upload_sessions
             WHERE expires_at <= now() AND (claimed_until IS NULL OR claimed_until < now())
             ORDER BY expires_at
             LIMIT $1
             FOR UPDATE SKIP LOCKED)
         RETURNING ",
        columns!(),
        ""
    ))
    .bind(limit)
    .bind(CLAIM.as_secs_f64())
    .fetch_all(pool)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(size: i64, part: i64) -> Session {
        Session {
            id: Uuid::nil(),
            owner_id: Uuid::nil(),
            video_id: Uuid::nil(),
            storage_upload_id: None,
            size_bytes: size,
            part_size: part,
            title: String::new(),
            publish: true,
            checksum: None,
            status: "open".to_owned(),
            task_id: None,
            refusal_code: None,
            refusal_field: None,
            refusal_detail: None,
            created_at: Utc::now(),
            expires_at: Utc::now(),
        }
    }

    #[test]
    fn parts_cover_the_file_and_the_last_takes_the_rest() {
        let one = session(10, 4);
        assert_eq!(one.part_count(), 3);
        let sizes: Vec<_> = (0..=4).map(|n| one.expected_part_size(n)).collect();
        assert_eq!(sizes, [None, Some(4), Some(4), Some(2), None]);
        let exact = session(8, 4);
        assert_eq!(
            (exact.part_count(), exact.expected_part_size(2)),
            (2, Some(4))
        );
    }
}
