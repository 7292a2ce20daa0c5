//! The append-only audit log of staff actions (`staff_actions`): who did what to which target,
//! when and why. Rows are only ever inserted; the database refuses UPDATE, DELETE and TRUNCATE on
//! the table (a trigger, and the API role's grants), so the log can be trusted to rebuild the
//! moderation state (see [`hidden_videos_from_log`]) and the rounds' life.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

/// Who acted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A staff member, by account id and e-mail.
    Staff { id: Uuid, email: String },
    /// An operator's command (`rising-stars-api staff …`, `cargo xtask staff …`).
    Operator,
    /// Reports from enough verified accounts (the automatic hiding).
    Reports,
    /// The clock: a round's standings frozen after it closed (`rounds::freeze_due`).
    Schedule,
}

impl Actor {
    /// The staff member's account, if a staff member acted.
    pub fn id(&self) -> Option<Uuid> {
        match self {
            Self::Staff { id, .. } => Some(*id),
            Self::Operator | Self::Reports | Self::Schedule => None,
        }
    }

    fn label(&self) -> &str {
        match self {
            Self::Staff { email, .. } => email,
            Self::Operator => "operator",
            Self::Reports => "reports",
            Self::Schedule => "schedule",
        }
    }
}

/// What was done (the values of `staff_actions.action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    StaffAdded,
    StaffRemoved,
    VideoHiddenByReports,
    VideoHidden,
    VideoRestored,
    ReportsDismissed,
    VoteReleased,
    VoteVoided,
    RoundCreated,
    RoundClosedEarly,
    RoundCancelled,
    RoundFrozen,
}

impl Action {
    /// Every action, in the order they were added.
    pub const ALL: [Self; 12] = [
        Self::StaffAdded,
        Self::StaffRemoved,
        Self::VideoHiddenByReports,
        Self::VideoHidden,
        Self::VideoRestored,
        Self::ReportsDismissed,
        Self::VoteReleased,
        Self::VoteVoided,
        Self::RoundCreated,
        Self::RoundClosedEarly,
        Self::RoundCancelled,
        Self::RoundFrozen,
    ];

    /// The action stored as `stored`.
    pub fn parse(stored: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|action| action.as_str() == stored)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::StaffAdded => "staff_added",
            Self::StaffRemoved => "staff_removed",
            Self::VideoHiddenByReports => "video_hidden_by_reports",
            Self::VideoHidden => "video_hidden",
            Self::VideoRestored => "video_restored",
            Self::ReportsDismissed => "reports_dismissed",
            Self::VoteReleased => "vote_released",
            Self::VoteVoided => "vote_voided",
            Self::RoundCreated => "round_created",
            Self::RoundClosedEarly => "round_closed_early",
            Self::RoundCancelled => "round_cancelled",
            Self::RoundFrozen => "round_frozen",
        }
    }

    fn target_kind(self) -> &'static str {
        match self {
            Self::StaffAdded | Self::StaffRemoved => "user",
            Self::VideoHiddenByReports
            | Self::VideoHidden
            | Self::VideoRestored
            | Self::ReportsDismissed => "video",
            Self::VoteReleased | Self::VoteVoided => "vote",
            Self::RoundCreated
            | Self::RoundClosedEarly
            | Self::RoundCancelled
            | Self::RoundFrozen => "round",
        }
    }
}

/// Appends one entry, in the caller's transaction (the entry commits with the change it records,
/// or not at all).
pub async fn record(
    connection: &mut PgConnection,
    actor: &Actor,
    action: Action,
    target: Uuid,
    reason: &str,
    details: serde_json::Value,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO staff_actions (actor_id, actor, action, target_kind, target_id, reason, details)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(actor.id())
    .bind(actor.label())
    .bind(action.as_str())
    .bind(action.target_kind())
    .bind(target)
    .bind(reason)
    .bind(details)
    .fetch_one(connection)
    .await
}

/// One entry of the log.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Entry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor_id: Option<Uuid>,
    pub actor: String,
    pub action: String,
    pub target_kind: String,
    pub target_id: Uuid,
    pub reason: String,
    pub details: serde_json::Value,
}

/// The newest entries first, optionally only those about one target.
pub async fn entries(
    connection: &mut PgConnection,
    target: Option<Uuid>,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Entry>, i64), sqlx::Error> {
    let rows = sqlx::query_as(
        "SELECT id, at, actor_id, actor, action, target_kind, target_id, reason, details
         FROM staff_actions WHERE $1::uuid IS NULL OR target_id = $1
         ORDER BY id DESC LIMIT $2 OFFSET $3",
    )
    .bind(target)
    .bind(limit)
    .bind(offset)
    .fetch_all(&mut *connection)
    .await?;
    let total = sqlx::query_scalar(
        "SELECT count(*) FROM staff_actions WHERE $1::uuid IS NULL OR target_id = $1",
    )
    .bind(target)
    .fetch_one(connection)
    .await?;
    Ok((rows, total))
}

/// The hidden videos as the log alone tells them: for each video, its last visibility change
/// (hidden by reports or by staff; restored, or its reports dismissed, which also restores a
/// video the reports hid). Equal to the `videos` whose `hidden_at` is set, which a test checks.
pub async fn hidden_videos_from_log(
    connection: &mut PgConnection,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT target_id FROM (
             SELECT DISTINCT ON (target_id) target_id, action, details
             FROM staff_actions
             WHERE target_kind = 'video'
               AND (action <> 'reports_dismissed' OR (details ->> 'restored')::boolean)
             ORDER BY target_id, id DESC
         ) last
         WHERE action IN ('video_hidden_by_reports', 'video_hidden')
         ORDER BY target_id",
    )
    .fetch_all(connection)
    .await
}
