//! Reports and moderation: a logged-in user reports a visible published video once; reports from
//! enough distinct counting accounts hide it at once, pending review; staff hide, restore or
//! dismiss the reports. Every change of visibility is recorded in the audit log
//! ([`crate::audit`]) in the transaction that makes it.
//!
//! While a video is hidden its votes are out of its owner's `player_scores` total (and the owner
//! out of the rankings when no other visible published video is left), and it is out of
//! `listing_counts`; restoring puts back exactly the video's `votes` at that moment. The rule that
//! keeps this exact: a player's score is the sum of `votes` over their visible published videos.
//! A vote whose count lands on a video that a concurrent hide has just hidden adds to the video,
//! not to the score (see `votes::cast`), so restoring adds it with the rest.
//!
//! Every statement that locks rows here takes the video's row first, then the player's score, the
//! order votes take them in.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::audit::{self, Action, Actor};

/// The reasons a report may give (the values of `video_reports.reason`).
pub const REASONS: [&str; 5] = [
    "inappropriate",
    "not_basketball",
    "not_the_player",
    "copyright",
    "other",
];

/// A report as the API received it.
#[derive(Debug, Clone)]
pub struct NewReport<'a> {
    pub video_id: Uuid,
    pub reporter: Uuid,
    /// One of [`REASONS`].
    pub reason: &'a str,
    /// Required for `other` (the caller checks it), else optional.
    pub details: Option<&'a str>,
    /// Whether this report counts toward hiding (the reporter's e-mail is verified, or
    /// verification is off).
    pub counts: bool,
    /// Counting open reports that hide the video.
    pub threshold: u32,
}

/// What a report did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reported {
    /// No such visible published video.
    NotFound,
    /// The reporter owns it.
    OwnVideo,
    /// The reporter had already reported it (however long ago): nothing changed.
    AlreadyReported,
    /// Recorded; `hidden` when this report hid the video.
    Recorded { hidden: bool },
}

/// A video's visibility as moderation sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    Visible,
    /// Hidden by reports, pending review.
    UnderReview,
    /// Hidden by a staff member's decision.
    Hidden,
}

impl Visibility {
    fn of(hidden: bool, by_staff: bool) -> Self {
        match (hidden, by_staff) {
            (false, _) => Self::Visible,
            (true, false) => Self::UnderReview,
            (true, true) => Self::Hidden,
        }
    }
}

/// The video's row as a decision needs it, locked.
#[derive(sqlx::FromRow)]
struct Locked {
    owner_id: Uuid,
    published: bool,
    hidden: bool,
    hidden_by_staff: bool,
    city_key: String,
}

async fn lock(
    connection: &mut PgConnection,
    video_id: Uuid,
) -> Result<Option<Locked>, sqlx::Error> {
    sqlx::query_as(
        "SELECT v.owner_id, v.published_at IS NOT NULL AS published,
                v.hidden_at IS NOT NULL AS hidden, v.hidden_by IS NOT NULL AS hidden_by_staff,
                lower(u.city) AS city_key
         FROM videos v JOIN users u ON u.id = v.owner_id
         WHERE v.id = $1 FOR UPDATE OF v",
    )
    .bind(video_id)
    .fetch_optional(connection)
    .await
}

/// Records a report; hides the video when it brings the counting open reports to the threshold.
/// Reports of one video are serialised by its row's lock, so parallel reports cannot all miss the
/// threshold, and an account's second report (from anywhere, at once or later) changes nothing.
pub async fn report(pool: &PgPool, new: &NewReport<'_>) -> Result<Reported, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let video = match lock(&mut tx, new.video_id).await? {
        Some(video) if video.published && !video.hidden => video,
        _ => return Ok(Reported::NotFound),
    };
    if video.owner_id == new.reporter {
        return Ok(Reported::OwnVideo);
    }
    let inserted = sqlx::query(
        "INSERT INTO video_reports (video_id, reporter_id, reason, details, counts)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    )
    .bind(new.video_id)
    .bind(new.reporter)
    .bind(new.reason)
    .bind(new.details)
    .bind(new.counts)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Ok(Reported::AlreadyReported);
    }
    let mut hidden = false;
    if new.counts {
        let counting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM video_reports
             WHERE video_id = $1 AND resolved_at IS NULL AND counts",
        )
        .bind(new.video_id)
        .fetch_one(&mut *tx)
        .await?;
        if counting >= i64::from(new.threshold.max(1)) {
            let reasons = open_reasons(&mut tx, new.video_id).await?;
            take_out(&mut tx, new.video_id, &video, None, None, &reasons).await?;
            audit::record(
                &mut tx,
                &Actor::Reports,
                Action::VideoHiddenByReports,
                new.video_id,
                &format!("{counting} reportes de cuentas verificadas"),
                serde_json::json!({ "counting_reports": counting, "reasons": reasons }),
            )
            .await?;
            hidden = true;
        }
    }
    tx.commit().await?;
    Ok(Reported::Recorded { hidden })
}

/// The reasons of the video's open reports, most common first.
async fn open_reasons(
    connection: &mut PgConnection,
    video_id: Uuid,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT reason FROM video_reports WHERE video_id = $1 AND resolved_at IS NULL
         GROUP BY reason ORDER BY count(*) DESC, reason",
    )
    .bind(video_id)
    .fetch_all(connection)
    .await
}

/// Hides the (locked, visible or under review) video: out of the showcase and, when it was
/// visible, its votes out of its owner's score (the owner out of the rankings when no other
/// visible published video is left) and out of the listing totals.
async fn take_out(
    connection: &mut PgConnection,
    video_id: Uuid,
    video: &Locked,
    staff: Option<Uuid>,
    note: Option<&str>,
    reasons: &[String],
) -> Result<(), sqlx::Error> {
    let votes: i32 = sqlx::query_scalar(
        "UPDATE videos SET hidden_at = coalesce(hidden_at, now()), hidden_by = $2,
                hidden_note = $3, hidden_reasons = $4
         WHERE id = $1 RETURNING votes",
    )
    .bind(video_id)
    .bind(staff)
    .bind(note)
    .bind(reasons)
    .fetch_one(&mut *connection)
    .await?;
    if video.hidden {
        // Already out of the rankings (under review, now hidden by staff).
        return Ok(());
    }
    // The player's score row first (the order votes lock in), then whether anything is left.
    sqlx::query("SELECT 1 FROM player_scores WHERE player_id = $1 FOR UPDATE")
        .bind(video.owner_id)
        .fetch_optional(&mut *connection)
        .await?;
    let others: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM videos WHERE owner_id = $1 AND published_at IS NOT NULL
                                                AND hidden_at IS NULL)",
    )
    .bind(video.owner_id)
    .fetch_one(&mut *connection)
    .await?;
    let players_removed = if others {
        sqlx::query("UPDATE player_scores SET votes = votes - $2 WHERE player_id = $1")
            .bind(video.owner_id)
            .bind(i64::from(votes))
            .execute(&mut *connection)
            .await?;
        0
    } else {
        sqlx::query("DELETE FROM player_scores WHERE player_id = $1")
            .bind(video.owner_id)
            .execute(&mut *connection)
            .await?
            .rows_affected()
    };
    let players_removed = i64::try_from(players_removed).unwrap_or(0);
    // An UPDATE, not publish's upsert: an upsert checks `>= 0` on the row it would insert.
    sqlx::query(
        "UPDATE listing_counts SET ranked_players = ranked_players - $2,
                published_videos = published_videos - 1
         WHERE city_key IN ($1, '')",
    )
    .bind(&video.city_key)
    .bind(players_removed)
    .execute(connection)
    .await?;
    Ok(())
}

/// Restores the (locked, hidden) video: visible again, and exactly its `votes` back on its
/// owner's score (the owner back in the rankings if they had left them).
async fn put_back(
    connection: &mut PgConnection,
    video_id: Uuid,
    video: &Locked,
) -> Result<i32, sqlx::Error> {
    let votes: i32 = sqlx::query_scalar(
        "UPDATE videos SET hidden_at = NULL, hidden_by = NULL, hidden_note = NULL,
                hidden_reasons = '{}'
         WHERE id = $1 RETURNING votes",
    )
    .bind(video_id)
    .fetch_one(&mut *connection)
    .await?;
    let inserted: bool = sqlx::query_scalar(
        "INSERT INTO player_scores AS s (player_id, city_key, votes) VALUES ($1, $2, $3)
         ON CONFLICT (player_id) DO UPDATE SET
             votes = s.votes + EXCLUDED.votes,
             reached_at = CASE WHEN EXCLUDED.votes > 0 THEN clock_timestamp() ELSE s.reached_at END
         RETURNING xmax = 0",
    )
    .bind(video.owner_id)
    .bind(&video.city_key)
    .bind(i64::from(votes))
    .fetch_one(&mut *connection)
    .await?;
    super::publish::add_to_counts(connection, &video.city_key, i64::from(inserted), 1).await?;
    Ok(votes)
}

/// Marks the video's open reports resolved.
async fn resolve(
    connection: &mut PgConnection,
    video_id: Uuid,
    resolution: &str,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE video_reports SET resolved_at = now(), resolution = $2
         WHERE video_id = $1 AND resolved_at IS NULL",
    )
    .bind(video_id)
    .bind(resolution)
    .execute(connection)
    .await?
    .rows_affected())
}

/// Why a staff decision was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Hide: it is already hidden by a staff decision.
    AlreadyHidden,
    /// Restore: it is not hidden.
    NotHidden,
    /// Dismiss: it has no open reports.
    NoOpenReports,
}

/// What a staff decision did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decided {
    /// No such published video.
    NotFound,
    Refused(Refusal),
    /// Done: the video's visibility now, the reports it resolved and the audit entry.
    Done {
        visibility: Visibility,
        reports_resolved: u64,
        entry: i64,
    },
}

/// A staff decision on one video.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Hide it (visible or under review); its open reports are upheld.
    Hide,
    /// Make it visible again with its votes (hidden either way); its open reports are rejected.
    Restore,
    /// The open reports are unfounded: dismissed, and a video they hid is restored.
    Dismiss,
}

/// Applies a staff member's `decision` on `video_id`, with their reason, and records it.
pub async fn decide(
    pool: &PgPool,
    video_id: Uuid,
    decision: Decision,
    staff: &Actor,
    reason: &str,
) -> Result<Decided, sqlx::Error> {
    let mut tx: Transaction<'_, Postgres> = pool.begin().await?;
    let video = match lock(&mut tx, video_id).await? {
        Some(video) if video.published => video,
        _ => return Ok(Decided::NotFound),
    };
    let staff_id = staff.id();
    let before = Visibility::of(video.hidden, video.hidden_by_staff);
    let (visibility, resolved, action, details) = match decision {
        Decision::Hide => {
            if before == Visibility::Hidden {
                return Ok(Decided::Refused(Refusal::AlreadyHidden));
            }
            let reasons = open_reasons(&mut tx, video_id).await?;
            take_out(&mut tx, video_id, &video, staff_id, Some(reason), &reasons).await?;
            let resolved = resolve(&mut tx, video_id, "upheld").await?;
            let details = serde_json::json!({ "reports_resolved": resolved, "reasons": reasons });
            (Visibility::Hidden, resolved, Action::VideoHidden, details)
        }
        Decision::Restore => {
            if before == Visibility::Visible {
                return Ok(Decided::Refused(Refusal::NotHidden));
            }
            let votes = put_back(&mut tx, video_id, &video).await?;
            let resolved = resolve(&mut tx, video_id, "rejected").await?;
            let details = serde_json::json!({ "reports_resolved": resolved, "votes": votes });
            (
                Visibility::Visible,
                resolved,
                Action::VideoRestored,
                details,
            )
        }
        Decision::Dismiss => {
            let resolved = resolve(&mut tx, video_id, "dismissed").await?;
            if resolved == 0 {
                return Ok(Decided::Refused(Refusal::NoOpenReports));
            }
            // Open reports exist only on a visible video or one they hid (a hidden video takes no
            // reports, and hiding or restoring resolves them).
            let restored = before == Visibility::UnderReview;
            let mut details =
                serde_json::json!({ "reports_resolved": resolved, "restored": restored });
            if restored {
                let votes = put_back(&mut tx, video_id, &video).await?;
                details["votes"] = votes.into();
            }
            (
                Visibility::Visible,
                resolved,
                Action::ReportsDismissed,
                details,
            )
        }
    };
    let entry = audit::record(&mut tx, staff, action, video_id, reason, details).await?;
    tx.commit().await?;
    Ok(Decided::Done {
        visibility,
        reports_resolved: resolved,
        entry,
    })
}

/// A video in the moderation queue.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct QueuedVideo {
    pub video_id: Uuid,
    pub title: String,
    pub owner_id: Uuid,
    pub first_name: String,
    pub last_name: String,
    pub city: String,
    pub country: String,
    pub votes: i32,
    pub hidden: bool,
    pub hidden_by_staff: bool,
    pub hidden_at: Option<DateTime<Utc>>,
    pub hidden_note: Option<String>,
    pub open_reports: i64,
    /// Open reports from accounts that count (verified).
    pub counting_reports: i64,
    pub inappropriate: i64,
    pub not_basketball: i64,
    pub not_the_player: i64,
    pub copyright: i64,
    pub other: i64,
    pub first_reported_at: Option<DateTime<Utc>>,
    pub last_reported_at: Option<DateTime<Utc>>,
}

impl QueuedVideo {
    pub fn visibility(&self) -> Visibility {
        Visibility::of(self.hidden, self.hidden_by_staff)
    }
}

/// Which videos the queue shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueFilter {
    /// Open reports, or hidden (the default: everything staff may act on).
    All,
    /// With open reports (visible or under review).
    Open,
    /// Hidden, by reports or by staff.
    Hidden,
}

/// Published videos as staff review them, with their open reports counted by reason: the queue's
/// rows, and one video's.
/// The reviewed columns of the published videos among `chosen` (a query giving `video_id`): only
/// those videos' rows and open reports are read, so the queue costs what it holds, not what the
/// showcase holds.
fn reviewed(chosen: &str) -> String {
    format!(
        "WITH chosen AS ({chosen}), open AS (
             SELECT video_id, count(*) AS open_reports,
                    count(*) FILTER (WHERE counts) AS counting_reports,
                    count(*) FILTER (WHERE reason = 'inappropriate') AS inappropriate,
                    count(*) FILTER (WHERE reason = 'not_basketball') AS not_basketball,
                    count(*) FILTER (WHERE reason = 'not_the_player') AS not_the_player,
                    count(*) FILTER (WHERE reason = 'copyright') AS copyright,
                    count(*) FILTER (WHERE reason = 'other') AS other,
                    min(created_at) AS first_reported_at, max(created_at) AS last_reported_at
             FROM video_reports
             WHERE resolved_at IS NULL AND video_id IN (SELECT video_id FROM chosen)
             GROUP BY video_id
         ), reviewed AS (
             SELECT v.id AS video_id, v.title, v.owner_id, u.first_name, u.last_name, u.city,
                    u.country, v.votes, v.hidden_at IS NOT NULL AS hidden,
                    v.hidden_by IS NOT NULL AS hidden_by_staff, v.hidden_at, v.hidden_note,
                    coalesce(o.open_reports, 0) AS open_reports,
                    coalesce(o.counting_reports, 0) AS counting_reports,
                    coalesce(o.inappropriate, 0) AS inappropriate,
                    coalesce(o.not_basketball, 0) AS not_basketball,
                    coalesce(o.not_the_player, 0) AS not_the_player,
                    coalesce(o.copyright, 0) AS copyright, coalesce(o.other, 0) AS other,
                    o.first_reported_at, o.last_reported_at
             FROM chosen c JOIN videos v ON v.id = c.video_id JOIN users u ON u.id = v.owner_id
             LEFT JOIN open o ON o.video_id = v.id
             WHERE v.published_at IS NOT NULL
         )"
    )
}

/// The queue, most reported first (then the most recently reported or hidden, then by id), and how
/// many videos it holds in all.
pub async fn queue(
    pool: &PgPool,
    filter: QueueFilter,
    limit: i64,
    offset: i64,
) -> Result<(Vec<QueuedVideo>, i64), sqlx::Error> {
    let condition = match filter {
        QueueFilter::All => "true",
        QueueFilter::Open => "open_reports > 0",
        QueueFilter::Hidden => "hidden",
    };
    // The page is chosen on the open reports' counts and the hidden videos alone (their indexes),
    // and only its rows meet their videos and players: the queue costs what it holds.
    let keys = "WITH open_counts AS (
             SELECT video_id, count(*) AS open_reports, max(created_at) AS last_reported_at
             FROM video_reports WHERE resolved_at IS NULL GROUP BY video_id
         ), keys AS (
             SELECT coalesce(o.video_id, h.id) AS video_id,
                    coalesce(o.open_reports, 0) AS open_reports,
                    coalesce(o.last_reported_at, h.hidden_at) AS sort_at,
                    h.id IS NOT NULL AS hidden
             FROM open_counts o
             FULL JOIN (SELECT id, hidden_at FROM videos WHERE hidden_at IS NOT NULL) h
                 ON h.id = o.video_id
         )";
    let page: Vec<(Uuid, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{keys} SELECT video_id, count(*) OVER () FROM keys WHERE {condition}
         ORDER BY open_reports DESC, sort_at DESC, video_id LIMIT $1 OFFSET $2"
    )))
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await?;
    let total = match page.first() {
        Some((_, total)) => *total,
        // Past the end: the count alone.
        None => {
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "{keys} SELECT count(*) FROM keys WHERE {condition}"
            )))
            .fetch_one(pool)
            .await?
        }
    };
    let ids: Vec<Uuid> = page.iter().map(|(id, _)| *id).collect();
    let reviewed = reviewed("SELECT unnest($1::uuid[]) AS video_id");
    let mut rows: Vec<QueuedVideo> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{reviewed} SELECT * FROM reviewed"
    )))
    .bind(&ids)
    .fetch_all(pool)
    .await?;
    rows.sort_by_key(|row| ids.iter().position(|id| *id == row.video_id));
    Ok((rows, total))
}

/// One published video as staff review it (whether or not it is in the queue).
pub async fn queued_video(
    pool: &PgPool,
    video_id: Uuid,
) -> Result<Option<QueuedVideo>, sqlx::Error> {
    let reviewed = reviewed("SELECT $1::uuid AS video_id");
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{reviewed} SELECT * FROM reviewed"
    )))
    .bind(video_id)
    .fetch_optional(pool)
    .await
}

/// One report as staff read it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ReportRow {
    pub reporter_id: Uuid,
    pub reporter_email: String,
    pub reason: String,
    pub details: Option<String>,
    pub counts: bool,
    pub created_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolution: Option<String>,
}

/// Every report of a video, open ones first, oldest first within each.
pub async fn reports_of(pool: &PgPool, video_id: Uuid) -> Result<Vec<ReportRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT r.reporter_id, u.email AS reporter_email, r.reason, r.details, r.counts,
                r.created_at, r.resolved_at, r.resolution
         FROM video_reports r JOIN users u ON u.id = r.reporter_id
         WHERE r.video_id = $1
         ORDER BY r.resolved_at IS NOT NULL, r.created_at, r.reporter_id",
    )
    .bind(video_id)
    .fetch_all(pool)
    .await
}

/// A staff decision on one held vote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VoteDecision {
    /// It counts from now on (`votes::release`).
    Release,
    /// It never counts (`votes::void`).
    Void,
}

/// Releases or voids `voter`'s held vote for `video_id` and records it in the audit log, in one
/// transaction; `None` when there is no such held vote (never cast, or already decided).
pub async fn decide_vote(
    pool: &PgPool,
    video_id: Uuid,
    voter: Uuid,
    decision: VoteDecision,
    staff: &Actor,
    reason: &str,
) -> Result<Option<i64>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let entry = decide_in(&mut tx, video_id, voter, decision, staff, reason, None).await?;
    if entry.is_some() {
        tx.commit().await?;
    }
    Ok(entry)
}

/// Decides one held vote in `tx` and records it; `None` if it is not held. `rule`: the rule a
/// decision by rule was about (kept in the entry's details).
async fn decide_in(
    tx: &mut Transaction<'_, Postgres>,
    video_id: Uuid,
    voter: Uuid,
    decision: VoteDecision,
    staff: &Actor,
    reason: &str,
    rule: Option<&str>,
) -> Result<Option<i64>, sqlx::Error> {
    let (decided, action) = match decision {
        VoteDecision::Release => (
            super::votes::release(&mut **tx, video_id, voter, reason).await?,
            Action::VoteReleased,
        ),
        VoteDecision::Void => (
            super::votes::void(&mut **tx, video_id, voter, reason).await?,
            Action::VoteVoided,
        ),
    };
    if decided == super::votes::Decision::NotHeld {
        return Ok(None);
    }
    let details = match rule {
        None => serde_json::json!({ "voter_id": voter }),
        Some(rule) => serde_json::json!({ "voter_id": voter, "by_rule": rule }),
    };
    let entry = audit::record(tx, staff, action, video_id, reason, details).await?;
    Ok(Some(entry))
}

/// What a decision by rule did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecidedByRule {
    /// Votes decided by this call.
    pub decided: u64,
    /// Votes of the player still held (by that rule, when one was named): more than one call's
    /// worth were, or others were held meanwhile.
    pub remaining: i64,
}

/// Decides the player's held votes (only those `rule` held, when given), oldest first, at most
/// `limit` of them, in one transaction; each decision is its own audit entry, naming the rule.
/// Votes another decision holds locked are left for the next call.
pub async fn decide_by_rule(
    pool: &PgPool,
    player: Uuid,
    rule: Option<&str>,
    decision: VoteDecision,
    staff: &Actor,
    reason: &str,
    limit: i64,
) -> Result<DecidedByRule, sqlx::Error> {
    crate::db::retry_transient(|| {
        decide_by_rule_once(pool, player, rule, decision, staff, reason, limit)
    })
    .await
}

async fn decide_by_rule_once(
    pool: &PgPool,
    player: Uuid,
    rule: Option<&str>,
    decision: VoteDecision,
    staff: &Actor,
    reason: &str,
    limit: i64,
) -> Result<DecidedByRule, sqlx::Error> {
    let mut tx = pool.begin().await?;
    // A vote being cast takes its video's row, then the player's score: take every video's row
    // first (in one order), then the score, so that no vote waits for this while holding a row
    // this waits for.
    sqlx::query("SELECT 1 FROM videos WHERE owner_id = $1 ORDER BY id FOR UPDATE")
        .bind(player)
        .execute(&mut *tx)
        .await?;
    sqlx::query("SELECT 1 FROM player_scores WHERE player_id = $1 FOR UPDATE")
        .bind(player)
        .execute(&mut *tx)
        .await?;
    let held: Vec<(Uuid, Uuid)> = sqlx::query_as(
        "SELECT video_id, user_id FROM votes
         WHERE player_id = $1 AND state = 'held' AND ($2::text IS NULL OR held_reason = $2)
         ORDER BY created_at, user_id LIMIT $3
         FOR UPDATE SKIP LOCKED",
    )
    .bind(player)
    .bind(rule)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    let mut decided = 0;
    for (video_id, voter) in held {
        let label = Some(rule.unwrap_or("any"));
        if decide_in(&mut tx, video_id, voter, decision, staff, reason, label)
            .await?
            .is_some()
        {
            decided += 1;
        }
    }
    let remaining = sqlx::query_scalar(
        "SELECT count(*) FROM votes
         WHERE player_id = $1 AND state = 'held' AND ($2::text IS NULL OR held_reason = $2)",
    )
    .bind(player)
    .bind(rule)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(DecidedByRule { decided, remaining })
}
