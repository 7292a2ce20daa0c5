//! A video as its owner reads and changes it: the owner's list and detail, the row locked while
//! publish or delete decides, and the delete itself.

use chrono::{DateTime, Utc};
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::VideoStatus;

/// A video as its owner's endpoints read it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OwnedVideo {
    pub id: Uuid,
    pub owner_id: Uuid,
    pub title: String,
    pub status: VideoStatus,
    pub published: bool,
    pub uploaded_at: DateTime<Utc>,
    pub processed_at: Option<DateTime<Utc>>,
    pub original_key: String,
    pub processed_key: Option<String>,
    pub poster_key: Option<String>,
    pub votes: i32,
    /// Votes held out of `votes` for review.
    pub held_votes: i32,
    pub error: Option<String>,
    /// Set while it is hidden (by reports pending review, or by staff).
    pub hidden_at: Option<DateTime<Utc>>,
    /// Hidden by a staff decision (not only by reports).
    pub hidden_by_staff: bool,
    /// The staff's reason, when they hid it.
    pub hidden_note: Option<String>,
    /// The reports' reasons when it was hidden, most common first.
    pub hidden_reasons: Vec<String>,
}

/// The columns of [`OwnedVideo`].
const OWNED_VIDEO_COLUMNS: &str =
    "id, owner_id, title, status, published_at IS NOT NULL AS published,
     uploaded_at, processed_at, original_key, processed_key, poster_key, votes, error,
     hidden_at, hidden_by IS NOT NULL AS hidden_by_staff, hidden_note, hidden_reasons,
     (SELECT count(*)::int4 FROM votes WHERE video_id = videos.id AND state = 'held')
         AS held_votes";

/// The videos of `owner_id`, newest first.
pub async fn list_of_owner(pool: &PgPool, owner_id: Uuid) -> Result<Vec<OwnedVideo>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {OWNED_VIDEO_COLUMNS} FROM videos WHERE owner_id = $1
         ORDER BY uploaded_at DESC, id DESC"
    )))
    .bind(owner_id)
    .fetch_all(pool)
    .await
}

/// One video, whoever owns it (the caller compares `owner_id`).
pub async fn find(pool: &PgPool, video_id: Uuid) -> Result<Option<OwnedVideo>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {OWNED_VIDEO_COLUMNS} FROM videos WHERE id = $1"
    )))
    .bind(video_id)
    .fetch_optional(pool)
    .await
}

/// Who owns a video, where it is in its life and whether it is published.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LockedVideo {
    pub owner_id: Uuid,
    pub status: VideoStatus,
    pub published: bool,
}

/// The video's owner and state, its row locked for the rest of the transaction; `None` when there
/// is no such video.
pub async fn lock(
    tx: &mut Transaction<'_, Postgres>,
    video_id: Uuid,
) -> Result<Option<LockedVideo>, sqlx::Error> {
    sqlx::query_as(
        "SELECT owner_id, status, published_at IS NOT NULL AS published
         FROM videos WHERE id = $1 FOR UPDATE",
    )
    .bind(video_id)
    .fetch_optional(&mut **tx)
    .await
}

/// The stored files of a deleted video, for the caller to remove after commit.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredKeys {
    pub original_key: String,
    pub processed_key: Option<String>,
    pub poster_key: Option<String>,
}

impl StoredKeys {
    /// Every key there is, the original first.
    pub fn all(self) -> impl Iterator<Item = String> {
        [Some(self.original_key), self.processed_key, self.poster_key]
            .into_iter()
            .flatten()
    }
}

/// Deletes the video's row; its outbox record goes with it (`ON DELETE CASCADE`), and a job
/// already queued or running finds no row and is dropped by the worker. Returns the files it had,
/// or `None` when there was no such video.
pub async fn delete(
    tx: &mut Transaction<'_, Postgres>,
    video_id: Uuid,
) -> Result<Option<StoredKeys>, sqlx::Error> {
    sqlx::query_as(
        "DELETE FROM videos WHERE id = $1 RETURNING original_key, processed_key, poster_key",
    )
    .bind(video_id)
    .fetch_optional(&mut **tx)
    .await
}
