//! Votes: casting one (recorded with what a reviewer needs, counted or held out of the ranking by
//! the holding rules), and the jury's reads and decisions on held votes.
//!
//! A vote records the voter's network, the account's age and whether its e-mail was verified.
//! Three rules hold a vote out of every count, with the rule's name as its reason:
//! - `young_accounts_burst`: the account is young, and young accounts from its network have
//!   already voted for this player as often as the burst allows within the window;
//! - `signup_network_burst`: accounts that signed up from the voter's signup network have already
//!   given this player as many counted votes as the burst allows, however old they are (accounts
//!   made in bulk come from few networks, however patiently they wait before voting);
//! - `network_share`: with this vote, one network would give more than the allowed share of the
//!   player's counted votes (once it gives at least the floor).
//!
//! The rules read the tallies per player and network (`network_votes`, `signup_network_votes`)
//! as the vote's statement finds them; the tallies' upserts then serialise parallel votes, and a
//! vote that a parallel one raced past a burst is held right after (see [`cast`]): parallel
//! votes cannot all slip under a limit.

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
    /// No such account (a valid token for an account that is gone); nothing was counted.
    NoAccount,
    /// The account's e-mail is not verified (and votes need it); nothing was recorded.
    NotVerified,
    /// No such published video.
    NotFound,
    /// Rounds are configured and none is open for the player's city (its key); nothing was
    /// recorded.
    Closed { city_key: Option<String> },
    /// The voter owns the video; nothing was recorded.
    OwnVideo,
    /// The voter had already voted for it; nothing was recorded.
    AlreadyVoted,
    /// Counted; the video's new total.
    Counted { votes: i32 },
    /// Recorded but held out of the ranking for review; the video's total is unchanged.
    Held { votes: i32, reason: String },
}

/// The vote statement's answer when it recorded the vote.
#[derive(sqlx::FromRow)]
struct Recorded {
    state: String,
    reason: Option<String>,
    votes: i32,
    young: bool,
    /// The network's and the signup network's tallies after this vote (serialised by their
    /// rows' locks).
    young_after: Option<i32>,
    signup_counted_after: Option<i32>,
}

/// Why the vote statement recorded nothing, read after it.
#[derive(sqlx::FromRow)]
struct Refusal {
    voter_exists: bool,
    may_vote: bool,
    owner: Option<Uuid>,
    /// The player's city key (`None` with no such video).
    city_key: Option<String>,
    /// A round is open for the player's city, or none is configured.
    round_open: bool,
    voted: bool,
}

/// Whether voting is open for the player whose `player_scores` row is `s`: with no round
/// configured, always; else only inside an open round of the player's city (platform::rounds).
/// One SQL expression for the vote's statement and for the read that explains a refusal, so the
/// two never disagree.
macro_rules! voting_open {
    () => {
        "(NOT EXISTS (SELECT FROM rounds r WHERE r.cancelled_at IS NULL)
          OR EXISTS (SELECT FROM rounds r
                     WHERE r.cancelled_at IS NULL AND r.opens_at <= now() AND now() < r.closes_at
                       AND (r.city_keys IS NULL OR s.city_key = ANY (r.city_keys))))"
    };
}

/// A vote that no refusal explains comes back this many times before it is answered as a
/// missing video: each time the statement and the read after it saw different rows (a video
/// hidden and restored, a round closed and reopened, in between).
const UNEXPLAINED_TRIES: u32 = 3;

/// Casts `voter`'s vote for `video_id` from `network` (an IPv6 /64 or an IPv4 address); with
/// `verified_only`, only if the voter's e-mail is verified.
///
/// One statement (one short transaction) on the common path: the holding rules decide, the vote
/// is recorded (the primary key settles concurrent duplicates: exactly one insert wins) and, if
/// it counts, added to the video, the player's score and the tallies of the voter's network and
/// signup network. Data-modifying CTEs always run to completion, read or not. Whether the voter
/// may vote this fast (its pace, its network's hour) is the caller's to decide first: the API
/// keeps those counts in memory, shared between instances every second, so the vote's only
/// round trip is this statement and no busy account's or network's row is held across its
/// commit. A vote the statement does not record (no such voter or video, not verified, voting
/// closed, the voter's own video, already voted) is explained by a second, read-only statement.
///
/// The rules read the tallies as the statement found them; the tallies are then updated by
/// upserts that wait for each other, and return the counts this vote made. A vote that counted
/// while another raced it past a burst is then held, in a second statement: of twelve new
/// accounts voting at once from one network, exactly the burst count.
///
/// The statement is built for how often it runs. PostgreSQL sets up every plan node and
/// expression again on each execution, so it joins the rows it reads rather than reading each
/// value in a subquery, carries what the later parts need in the inserted vote's `RETURNING`, and
/// leaves the explaining of refusals to a statement of its own (docs/benchmarks.md, "The checks a
/// vote paid for").
pub async fn cast(
    pool: &PgPool,
    video_id: Uuid,
    voter: Uuid,
    network: &str,
    verified_only: bool,
    rules: &HoldRules,
) -> Result<Vote, sqlx::Error> {
    for _ in 0..UNEXPLAINED_TRIES {
        if let Some(recorded) = crate::db::retry_transient(|| {
            record(pool, video_id, voter, network, verified_only, rules)
        })
        .await?
        {
            return counted_or_held(pool, video_id, voter, rules, recorded).await;
        }
        if let Some(refused) = refusal(pool, video_id, voter, verified_only).await? {
            return Ok(refused);
        }
    }
    Ok(Vote::NotFound)
}

/// The vote statement: the vote recorded, counted or held, with the counts it made; `None` when
/// it recorded nothing.
async fn record(
    pool: &PgPool,
    video_id: Uuid,
    voter: Uuid,
    network: &str,
    verified_only: bool,
    rules: &HoldRules,
) -> Result<Option<Recorded>, sqlx::Error> {
    let limit = |value: u32| i64::from(value);
    sqlx::query_as(concat!(
        "WITH verdict AS (
             SELECT v.owner_id, v.votes, u.signup_network, u.created_at,
                    u.email_verified_at IS NOT NULL AS verified,
                    u.created_at > now() - make_interval(secs => $4) AS young,
                    CASE
                        WHEN u.created_at > now() - make_interval(secs => $4)
                             AND CASE WHEN n.young_window_end > now() THEN n.young_votes
                                      ELSE 0 END >= $5
                            THEN 'young_accounts_burst'
                        WHEN coalesce(sn.counted, 0) >= $8 THEN 'signup_network_burst'
                        WHEN coalesce(n.counted, 0) + 1 >= $7
                             AND (coalesce(n.counted, 0) + 1) * 100
                                 > $6::bigint * (coalesce(s.votes, 0) + 1)
                            THEN 'network_share'
                    END AS reason
             FROM videos v
             JOIN users u ON u.id = $2
             LEFT JOIN player_scores s ON s.player_id = v.owner_id
             LEFT JOIN network_votes n ON n.player_id = v.owner_id AND n.network = $3
             LEFT JOIN signup_network_votes sn
                    ON sn.player_id = v.owner_id AND sn.network = u.signup_network
             WHERE v.id = $1 AND v.published_at IS NOT NULL AND v.hidden_at IS NULL
               AND v.owner_id <> $2 AND (u.email_verified_at IS NOT NULL OR NOT $9)
               AND ",
        voting_open!(),
        "
         ), cast_vote AS (
             INSERT INTO votes (video_id, user_id, player_id, network, signup_network,
                                voter_created_at, voter_verified, state, held_reason)
             SELECT $1, $2, owner_id, $3, signup_network, created_at, verified,
                    CASE WHEN reason IS NULL THEN 'counted' ELSE 'held' END, reason
             FROM verdict
             ON CONFLICT DO NOTHING
             RETURNING player_id, network, signup_network, voter_created_at, state, held_reason,
                       (state = 'counted')::int AS counts
         ), counted AS (
             UPDATE videos v SET votes = v.votes + 1
             FROM cast_vote WHERE v.id = $1 AND cast_vote.counts = 1
             RETURNING v.owner_id, v.votes, v.hidden_at
         ), scored AS (
             -- A hide that committed while this vote waited for the video's row has taken the
             -- video's votes out of the score: this one stays on the video, and comes back with
             -- the rest if the video is restored (videos::review).
             UPDATE player_scores s SET votes = s.votes + 1, reached_at = clock_timestamp()
             FROM counted WHERE s.player_id = counted.owner_id AND counted.hidden_at IS NULL
         ), tallied AS (
             INSERT INTO network_votes AS n (player_id, network, counted, young_votes,
                                             young_window_end)
             SELECT player_id, network, counts,
                    (voter_created_at > now() - make_interval(secs => $4))::int,
                    now() + make_interval(secs => $4)
             FROM cast_vote
             ON CONFLICT (player_id, network) DO UPDATE SET
                 counted = n.counted + EXCLUDED.counted,
                 young_votes = CASE WHEN n.young_window_end > now() THEN n.young_votes ELSE 0 END
                               + EXCLUDED.young_votes,
                 young_window_end = CASE WHEN n.young_window_end > now() THEN n.young_window_end
                                         ELSE EXCLUDED.young_window_end END
             RETURNING young_votes
         ), signup_tallied AS (
             INSERT INTO signup_network_votes AS n (player_id, network, counted)
             SELECT player_id, signup_network, counts FROM cast_vote
             WHERE signup_network IS NOT NULL
             ON CONFLICT (player_id, network) DO UPDATE SET counted = n.counted + EXCLUDED.counted
             RETURNING counted
         )
         SELECT cast_vote.state, cast_vote.held_reason AS reason,
                coalesce(counted.votes, verdict.votes) AS votes, verdict.young,
                tallied.young_votes AS young_after, signup_tallied.counted AS signup_counted_after
         FROM verdict CROSS JOIN cast_vote
         LEFT JOIN counted ON true LEFT JOIN tallied ON true LEFT JOIN signup_tallied ON true"
    ))
    .bind(video_id)
    .bind(voter)
    .bind(network)
    .bind(rules.young_account.as_secs_f64())
    .bind(limit(rules.young_burst))
    .bind(limit(rules.network_share_percent))
    .bind(limit(rules.network_share_floor))
    .bind(limit(rules.signup_burst))
    .bind(verified_only)
    .fetch_optional(pool)
    .await
}

/// A recorded vote's answer: held as the statement decided, or held now because parallel votes
/// raced it past a burst, or counted.
async fn counted_or_held(
    pool: &PgPool,
    video_id: Uuid,
    voter: Uuid,
    rules: &HoldRules,
    recorded: Recorded,
) -> Result<Vote, sqlx::Error> {
    let Recorded {
        state,
        reason,
        votes,
        young,
        young_after,
        signup_counted_after,
    } = recorded;
    if state != "counted" {
        return Ok(Vote::Held {
            votes,
            reason: reason.unwrap_or_default(),
        });
    }
    // Counted on what the statement saw; raced past a burst by votes it could not see?
    let past = |after: Option<i32>, burst: u32| {
        after.is_some_and(|after| i64::from(after) > i64::from(burst))
    };
    let raced = if young && past(young_after, rules.young_burst) {
        Some(YOUNG_ACCOUNTS_BURST)
    } else if past(signup_counted_after, rules.signup_burst) {
        Some(SIGNUP_NETWORK_BURST)
    } else {
        None
    };
    Ok(match raced {
        None => Vote::Counted { votes },
        Some(reason) => Vote::Held {
            votes: crate::db::retry_transient(|| hold_raced(pool, video_id, voter, reason)).await?,
            reason: reason.to_owned(),
        },
    })
}

/// Why a vote the statement did not record was refused, in the order the API answers them;
/// `None` when nothing refuses it now (the rows changed since the statement).
async fn refusal(
    pool: &PgPool,
    video_id: Uuid,
    voter: Uuid,
    verified_only: bool,
) -> Result<Option<Vote>, sqlx::Error> {
    let refusal: Refusal = sqlx::query_as(concat!(
        "SELECT u.id IS NOT NULL AS voter_exists,
                coalesce(u.email_verified_at IS NOT NULL OR NOT $3, false) AS may_vote,
                v.owner_id AS owner, s.city_key, ",
        voting_open!(),
        " AS round_open,
                EXISTS (SELECT 1 FROM votes WHERE video_id = $1 AND user_id = $2) AS voted
         FROM (SELECT) AS one
         LEFT JOIN users u ON u.id = $2
         LEFT JOIN videos v
                ON v.id = $1 AND v.published_at IS NOT NULL AND v.hidden_at IS NULL
         LEFT JOIN player_scores s ON s.player_id = v.owner_id"
    ))
    .bind(video_id)
    .bind(voter)
    .bind(verified_only)
    .fetch_one(pool)
    .await?;
    Ok(match refusal {
        Refusal {
            voter_exists: false,
            ..
        } => Some(Vote::NoAccount),
        Refusal {
            may_vote: false, ..
        } => Some(Vote::NotVerified),
        Refusal { owner: None, .. } => Some(Vote::NotFound),
        Refusal {
            round_open: false,
            city_key,
            ..
        } => Some(Vote::Closed { city_key }),
        Refusal {
            owner: Some(owner), ..
        } if owner == voter => Some(Vote::OwnVideo),
        Refusal { voted: true, .. } => Some(Vote::AlreadyVoted),
        Refusal { .. } => None,
    })
}

/// Holds a vote that counted while another raced it past a burst: out of the video, the score
/// and the tallies again. Returns the video's total.
async fn hold_raced(
    pool: &PgPool,
    video_id: Uuid,
    voter: Uuid,
    reason: &str,
) -> Result<i32, sqlx::Error> {
    let votes: Option<i32> = sqlx::query_scalar(
        "WITH held AS (
             UPDATE votes SET state = 'held', held_reason = $3
             WHERE video_id = $1 AND user_id = $2 AND state = 'counted'
             RETURNING video_id, player_id, network, signup_network
         ), uncounted AS (
             UPDATE videos SET votes = votes - 1 WHERE id IN (SELECT video_id FROM held)
             RETURNING votes, owner_id, hidden_at
         ), unscored AS (
             -- A hidden video's votes are out of the score already (videos::review).
             UPDATE player_scores SET votes = votes - 1
             WHERE player_id IN (SELECT owner_id FROM uncounted WHERE hidden_at IS NULL)
         ), untallied AS (
             UPDATE network_votes n SET counted = n.counted - 1
             FROM held h WHERE n.player_id = h.player_id AND n.network = h.network
         ), unsigned AS (
             UPDATE signup_network_votes n SET counted = n.counted - 1
             FROM held h WHERE n.player_id = h.player_id AND n.network = h.signup_network
         )
         SELECT coalesce((SELECT votes FROM uncounted),
                         (SELECT votes FROM videos WHERE id = $1))",
    )
    .bind(video_id)
    .bind(voter)
    .bind(reason)
    .fetch_one(pool)
    .await?;
    Ok(votes.unwrap_or_default())
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

/// A player with held votes, as the jury's list shows them.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PlayerHeld {
    pub player_id: Uuid,
    pub first_name: String,
    pub last_name: String,
    pub city: String,
    pub held: i64,
    pub young_accounts_burst: i64,
    pub signup_network_burst: i64,
    pub network_share: i64,
    pub oldest_at: DateTime<Utc>,
}

/// Players with held votes, most held first (then the longest waiting), and how many such players
/// there are.
pub async fn players_with_held(
    pool: &PgPool,
    limit: i64,
    offset: i64,
) -> Result<(Vec<PlayerHeld>, i64), sqlx::Error> {
    let rows = sqlx::query_as(
        "SELECT v.player_id, u.first_name, u.last_name, u.city, count(*) AS held,
                count(*) FILTER (WHERE v.held_reason = 'young_accounts_burst')
                    AS young_accounts_burst,
                count(*) FILTER (WHERE v.held_reason = 'signup_network_burst')
                    AS signup_network_burst,
                count(*) FILTER (WHERE v.held_reason = 'network_share') AS network_share,
                min(v.created_at) AS oldest_at
         FROM votes v JOIN users u ON u.id = v.player_id
         WHERE v.state = 'held'
         GROUP BY v.player_id, u.first_name, u.last_name, u.city
         ORDER BY held DESC, oldest_at, v.player_id
         LIMIT $1 OFFSET $2",
    )
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await?;
    let total =
        sqlx::query_scalar("SELECT count(DISTINCT player_id) FROM votes WHERE state = 'held'")
            .fetch_one(pool)
            .await?;
    Ok((rows, total))
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
pub async fn release<'e>(
    executor: impl sqlx::PgExecutor<'e>,
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
             RETURNING owner_id, hidden_at
         ), scored AS (
             -- A hidden video's votes count on the score again when it is restored.
             UPDATE player_scores SET votes = votes + 1, reached_at = clock_timestamp()
             WHERE player_id IN (SELECT owner_id FROM counted WHERE hidden_at IS NULL)
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
    .fetch_optional(executor)
    .await?;
    Ok(match released {
        Some(_) => Decision::Decided,
        None => Decision::NotHeld,
    })
}

/// Voids a held vote: it never counts, and its voter cannot vote for that video again.
pub async fn void<'e>(
    executor: impl sqlx::PgExecutor<'e>,
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
    .execute(executor)
    .await?;
    Ok(match voided.rows_affected() {
        0 => Decision::NotHeld,
        _ => Decision::Decided,
    })
}
