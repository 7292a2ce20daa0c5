//! Votes: casting one (recorded with what a reviewer needs, counted or held out of the ranking by
//! the holding rules), and the jury's reads and decisions on held votes.
//!
//! A vote records the voter's network, the account's age and whether its e-mail was verified.
//! Two rules hold a vote out of every count, with the rule's name as its reason:
//! - `young_accounts_burst`: the account is young, and young accounts from its network have
//!   already voted for this player as often as the burst allows within the window;
//! - `signup_network_burst`: accounts that signed up from the voter's signup network have already
//!   given this player as many counted votes as the burst allows, however old they are (accounts
//!   made in bulk come from few networks, however patiently they wait before voting);
//! - `network_share`: with this vote, one network would give more than the allowed share of the
//!   player's counted votes (once it gives at least the floor).
//!
//! A vote first locks its player's rows for its network and its signup network
//! (`network_votes`, then `signup_network_votes`, always in that order), so the rules see every
//! earlier vote from those networks for that player, however many arrive at once: parallel votes
//! cannot all slip under a limit.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

/// The holding rules' settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HoldRules {
    /// An account younger than this is young (zero: no account is).
    pub young_account: std::time::Duration,
    /// Votes from young accounts of one network for one player counted per window before the
    /// next is held.
    pub young_burst: u32,
    /// Counted votes for one player from accounts that signed up on one network before the next
    /// is held.
    pub signup_burst: u32,
    /// One network may give at most this percentage of a player's counted votes...
    pub network_share_percent: u32,
    /// ...once it gives at least this many.
    pub network_share_floor: u32,
}

impl Default for HoldRules {
    fn default() -> Self {
        Self {
            young_account: std::time::Duration::from_secs(24 * 3600),
            young_burst: 2,
            signup_burst: 3,
            network_share_percent: 30,
            network_share_floor: 10,
        }
    }
}

/// Why a vote was held.
pub const YOUNG_ACCOUNTS_BURST: &str = "young_accounts_burst";
pub const NETWORK_SHARE: &str = "network_share";
pub const SIGNUP_NETWORK_BURST: &str = "signup_network_burst";

/// What casting a vote did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Vote {
    /// No such published video.
    NotFound,
    /// The voter owns the video; nothing was recorded.
    OwnVideo,
    /// The voter had already voted for it; nothing was recorded.
    AlreadyVoted,
    /// Counted; the video's new total.
    Counted { votes: i32 },
    /// Recorded but held out of the ranking for review; the video's total is unchanged.
    Held { votes: i32, reason: String },
}

/// The statement's answer: the video's owner (none: no such published video), the vote's state
/// (none: no vote was recorded), the hold reason and the video's total afterwards.
#[derive(sqlx::FromRow)]
struct CastVote {
    owner: Option<Uuid>,
    state: Option<String>,
    reason: Option<String>,
    votes: Option<i32>,
}

/// Casts `voter`'s vote for `video_id` from `network`, on a connection of the pool.
pub async fn cast(
    pool: &PgPool,
    video_id: Uuid,
    voter: Uuid,
    network: &str,
    rules: &HoldRules,
) -> Result<Vote, sqlx::Error> {
    let mut connection = pool.acquire().await?;
    cast_on(&mut connection, video_id, voter, network, rules).await
}

/// Casts `voter`'s vote for `video_id` from `network` on `connection` (the API's vote takes one
/// connection for all its statements).
///
/// Two statements. The first makes sure the player's row for this network exists. The second,
/// one short transaction, locks that row, applies the rules, records the vote (the primary key
/// settles concurrent duplicates: exactly one insert wins) and, if it counts, adds it to the
/// video, the player's score and the network's tally. Data-modifying CTEs always run to
/// completion, read or not.
pub async fn cast_on(
    connection: &mut sqlx::PgConnection,
    video_id: Uuid,
    voter: Uuid,
    network: &str,
    rules: &HoldRules,
) -> Result<Vote, sqlx::Error> {
    sqlx::query(
        "WITH target AS (
             SELECT owner_id FROM videos WHERE id = $1 AND published_at IS NOT NULL
         ), by_network AS (
             INSERT INTO network_votes (player_id, network) SELECT owner_id, $2 FROM target
             ON CONFLICT DO NOTHING
         )
         INSERT INTO signup_network_votes (player_id, network)
         SELECT target.owner_id, users.signup_network FROM target, users
         WHERE users.id = $3 AND users.signup_network IS NOT NULL
         ON CONFLICT DO NOTHING",
    )
    .bind(video_id)
    .bind(network)
    .bind(voter)
    .execute(&mut *connection)
    .await?;
    let young_seconds = rules.young_account.as_secs_f64();
    let CastVote {
        owner,
        state,
        reason,
        votes,
    } = sqlx::query_as(
        "WITH target AS (
             SELECT v.owner_id, v.votes, coalesce(s.votes, 0) AS player_votes
             FROM videos v LEFT JOIN player_scores s ON s.player_id = v.owner_id
             WHERE v.id = $1 AND v.published_at IS NOT NULL
         ), voter AS (
             SELECT created_at, email_verified_at IS NOT NULL AS verified, signup_network,
                    created_at > now() - make_interval(secs => $4) AS young
             FROM users WHERE id = $2
         ), tally AS (
             SELECT counted,
                    CASE WHEN young_window_end > now() THEN young_votes ELSE 0 END AS young_votes
             FROM network_votes
             WHERE player_id = (SELECT owner_id FROM target) AND network = $3
             FOR UPDATE
         ), signup_tally AS (
             -- Locked after `tally` (it waits for it), so two votes never wait on each other.
             SELECT counted FROM signup_network_votes
             WHERE player_id = (SELECT owner_id FROM target)
               AND network = (SELECT signup_network FROM voter)
               AND EXISTS (SELECT 1 FROM tally)
             FOR UPDATE
         ), verdict AS (
             SELECT CASE
                 WHEN voter.young AND coalesce(tally.young_votes, 0) >= $5
                     THEN 'young_accounts_burst'
                 WHEN coalesce((SELECT counted FROM signup_tally), 0) >= $8
                     THEN 'signup_network_burst'
                 WHEN coalesce(tally.counted, 0) + 1 >= $7
                      AND (coalesce(tally.counted, 0) + 1) * 100
                          > $6::bigint * (target.player_votes + 1)
                     THEN 'network_share'
             END AS reason
             FROM target CROSS JOIN voter LEFT JOIN tally ON true
         ), cast_vote AS (
             INSERT INTO votes (video_id, user_id, player_id, network, signup_network,
                                voter_created_at, voter_verified, state, held_reason)
             SELECT $1, $2, target.owner_id, $3, voter.signup_network, voter.created_at,
                    voter.verified,
                    CASE WHEN verdict.reason IS NULL THEN 'counted' ELSE 'held' END,
                    verdict.reason
             FROM target, voter, verdict
             WHERE target.owner_id <> $2
             ON CONFLICT DO NOTHING
             RETURNING video_id, state, held_reason
         ), counted AS (
             UPDATE videos SET votes = votes + 1
             WHERE id IN (SELECT video_id FROM cast_vote WHERE state = 'counted')
             RETURNING owner_id, votes
         ), scored AS (
             UPDATE player_scores SET votes = votes + 1, reached_at = clock_timestamp()
             WHERE player_id IN (SELECT owner_id FROM counted)
         ), tallied AS (
             UPDATE network_votes SET
                 counted = counted + (SELECT count(*) FROM counted),
                 young_votes = CASE WHEN young_window_end > now() THEN young_votes ELSE 0 END + 1,
                 young_window_end = CASE WHEN young_window_end > now() THEN young_window_end
                                         ELSE now() + make_interval(secs => $4) END
             WHERE player_id = (SELECT owner_id FROM target) AND network = $3
               AND EXISTS (SELECT 1 FROM cast_vote) AND (SELECT young FROM voter)
         ), tallied_old AS (
             UPDATE network_votes SET counted = counted + 1
             WHERE player_id IN (SELECT owner_id FROM counted) AND network = $3
               AND NOT (SELECT young FROM voter)
         ), signup_tallied AS (
             UPDATE signup_network_votes SET counted = counted + 1
             WHERE player_id IN (SELECT owner_id FROM counted)
               AND network = (SELECT signup_network FROM voter)
         )
         SELECT (SELECT owner_id FROM target) AS owner,
                (SELECT state FROM cast_vote) AS state,
                (SELECT held_reason FROM cast_vote) AS reason,
                coalesce((SELECT votes FROM counted), (SELECT votes FROM target)) AS votes",
    )
    .bind(video_id)
    .bind(voter)
    .bind(network)
    .bind(young_seconds)
    .bind(i64::from(rules.young_burst))
    .bind(i64::from(rules.network_share_percent))
    .bind(i64::from(rules.network_share_floor))
    .bind(i64::from(rules.signup_burst))
    .fetch_one(connection)
    .await?;
    Ok(match (owner, state) {
        (None, _) => Vote::NotFound,
        (Some(owner), _) if owner == voter => Vote::OwnVideo,
        // Nothing recorded: the insert found this voter's vote already there.
        (Some(_), None) => Vote::AlreadyVoted,
        (Some(_), Some(state)) if state == "counted" => Vote::Counted {
            votes: votes.unwrap_or_default(),
        },
        (Some(_), Some(_)) => Vote::Held {
            votes: votes.unwrap_or_default(),
            reason: reason.unwrap_or_default(),
        },
    })
}

/// A held vote as the jury reviews it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct HeldVote {
    pub video_id: Uuid,
    pub voter_id: Uuid,
    pub network: String,
    pub cast_at: DateTime<Utc>,
    /// The account's creation time; its age at the vote is `cast_at - voter_created_at`.
    pub voter_created_at: DateTime<Utc>,
    pub voter_verified: bool,
    pub reason: String,
}

/// A player's held votes, oldest first.
pub async fn held_for_player(pool: &PgPool, player: Uuid) -> Result<Vec<HeldVote>, sqlx::Error> {
    sqlx::query_as(
        "SELECT video_id, user_id AS voter_id, network, created_at AS cast_at, voter_created_at,
                voter_verified, held_reason AS reason
         FROM votes WHERE player_id = $1 AND state = 'held'
         ORDER BY created_at, user_id",
    )
    .bind(player)
    .fetch_all(pool)
    .await
}

/// Held votes per video, for the videos given (videos with none are left out).
pub async fn held_counts(
    pool: &PgPool,
    videos: &[Uuid],
) -> Result<std::collections::HashMap<Uuid, i64>, sqlx::Error> {
    let rows: Vec<(Uuid, i64)> = sqlx::query_as(
        "SELECT video_id, count(*) FROM votes
         WHERE video_id = ANY($1) AND state = 'held' GROUP BY video_id",
    )
    .bind(videos)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().collect())
}

/// What a decision on a held vote did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Done.
    Decided,
    /// No held vote of that voter for that video (never cast, already decided, or gone).
    NotHeld,
}

/// Releases a held vote: it counts from now on, on the video, the player's score and the
/// network's tally, as if it had counted when cast.
pub async fn release(
    pool: &PgPool,
    video_id: Uuid,
    voter: Uuid,
    reason: &str,
) -> Result<Decision, sqlx::Error> {
    let released: Option<Uuid> = sqlx::query_scalar(
        "WITH released AS (
             UPDATE votes SET state = 'counted', decided_at = now(), decided_reason = $3
             WHERE video_id = $1 AND user_id = $2 AND state = 'held'
             RETURNING video_id, player_id, network, signup_network
         ), counted AS (
             UPDATE videos SET votes = votes + 1
             WHERE id IN (SELECT video_id FROM released) AND published_at IS NOT NULL
             RETURNING owner_id
         ), scored AS (
             UPDATE player_scores SET votes = votes + 1, reached_at = clock_timestamp()
             WHERE player_id IN (SELECT owner_id FROM counted)
         ), tallied AS (
             UPDATE network_votes n SET counted = n.counted + 1
             FROM released r WHERE n.player_id = r.player_id AND n.network = r.network
         ), signup_tallied AS (
             UPDATE signup_network_votes n SET counted = n.counted + 1
             FROM released r WHERE n.player_id = r.player_id AND n.network = r.signup_network
         )
         SELECT video_id FROM released",
    )
    .bind(video_id)
    .bind(voter)
    .bind(reason)
    .fetch_optional(pool)
    .await?;
    Ok(match released {
        Some(_) => Decision::Decided,
        None => Decision::NotHeld,
    })
}

/// Voids a held vote: it never counts, and its voter cannot vote for that video again.
pub async fn void(
    pool: &PgPool,
    video_id: Uuid,
    voter: Uuid,
    reason: &str,
) -> Result<Decision, sqlx::Error> {
    let voided = sqlx::query(
        "UPDATE votes SET state = 'voided', decided_at = now(), decided_reason = $3
         WHERE video_id = $1 AND user_id = $2 AND state = 'held'",
    )
    .bind(video_id)
    .bind(voter)
    .bind(reason)
    .execute(pool)
    .await?;
    Ok(match voided.rows_affected() {
        0 => Decision::NotHeld,
        _ => Decision::Decided,
    })
}
