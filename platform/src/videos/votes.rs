//! A vote for a published video: one statement that finds the video, inserts the vote, and counts
//! it on the video and on its owner's score.

use sqlx::PgPool;
use uuid::Uuid;

/// What casting a vote did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vote {
    /// No such published video.
    NotFound,
    /// The voter owns the video; nothing was counted.
    OwnVideo,
    /// The voter had already voted for it; nothing was counted.
    AlreadyVoted,
    /// Counted; the video's new total.
    Counted { votes: i32 },
}

/// The statement's answer: the video's owner (none: no such published video) and its new count
/// (none: no vote was added).
#[derive(sqlx::FromRow)]
struct CastVote {
    owner: Option<Uuid>,
    votes: Option<i32>,
}

/// Casts `voter`'s vote for `video_id`.
///
/// One statement, so one round trip and one short transaction: find the published video, insert
/// the vote unless it is the voter's own (the primary key settles concurrent duplicates: exactly
/// one insert wins), then count it on the video and on its owner's score. Data-modifying CTEs
/// always run to completion, read or not.
pub async fn cast(pool: &PgPool, video_id: Uuid, voter: Uuid) -> Result<Vote, sqlx::Error> {
    let CastVote { owner, votes } = sqlx::query_as(
        "WITH target AS (
             SELECT owner_id FROM videos WHERE id = $1 AND published_at IS NOT NULL
         ), cast_vote AS (
             INSERT INTO votes (video_id, user_id)
             SELECT $1, $2 FROM target WHERE owner_id <> $2
             ON CONFLICT DO NOTHING
             RETURNING video_id
         ), counted AS (
             UPDATE videos SET votes = votes + 1
             WHERE id IN (SELECT video_id FROM cast_vote)
             RETURNING owner_id, votes
         ), scored AS (
             UPDATE player_scores SET votes = votes + 1, reached_at = clock_timestamp()
             WHERE player_id IN (SELECT owner_id FROM counted)
         )
         SELECT (SELECT owner_id FROM target) AS owner, (SELECT votes FROM counted) AS votes",
    )
    .bind(video_id)
    .bind(voter)
    .fetch_one(pool)
    .await?;
    Ok(match (owner, votes) {
        (None, _) => Vote::NotFound,
        (Some(owner), _) if owner == voter => Vote::OwnVideo,
        // No count: the insert found this voter's vote already there.
        (Some(_), None) => Vote::AlreadyVoted,
        (Some(_), Some(votes)) => Vote::Counted { votes },
    })
}
