//! The jury's desk (`/api/staff/…`, staff tokens only): the moderation queue of reported and
//! hidden videos, one video with its reports and history, the decisions on it (hide, restore,
//! dismiss the reports, each with a reason), the votes held for review by player (release or
//! void each, with a reason), and the audit log.
//!
//! Every operation checks the token's `staff` role and then the account's role in the database,
//! so an operator's `staff remove` takes effect at once, not when the token expires.

use chrono::{DateTime, Utc};
use platform::audit::{self, Actor};
use platform::videos::review::{
    self, Decided, Decision, QueueFilter, Refusal, Visibility, VoteDecision,
};
use platform::videos::votes;
use poem::http::StatusCode;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use uuid::Uuid;

use super::reports::ReportReason;
use super::videos::link;
use super::{ApiTags, video_not_found};
use crate::auth::StaffAuth;
use crate::domain::Note;
use crate::http::errors::ApiError;
use crate::http::fields::NoteText;
use crate::http::json::{JsonBody, StringFields};
use crate::http::problem::Problem;
use crate::state::AppState;

/// A video's visibility, as staff see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum VideoVisibility {
    /// In the showcase and the rankings.
    Visible,
    /// Hidden at once by reports from enough verified accounts, until staff decide.
    UnderReview,
    /// Hidden by a staff decision.
    Hidden,
}

impl From<Visibility> for VideoVisibility {
    fn from(visibility: Visibility) -> Self {
        match visibility {
            Visibility::Visible => Self::Visible,
            Visibility::UnderReview => Self::UnderReview,
            Visibility::Hidden => Self::Hidden,
        }
    }
}

/// Which videos the queue lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum QueueShow {
    /// Videos with open reports, and hidden videos (the default).
    All,
    /// Videos with open reports (visible or under review).
    Open,
    /// Hidden videos (under review or hidden by staff).
    Hidden,
}

/// Open reports per reason.
#[derive(Debug, Object)]
pub struct ReasonCounts {
    pub inappropriate: i64,
    pub not_basketball: i64,
    pub not_the_player: i64,
    pub copyright: i64,
    pub other: i64,
}

/// A video in the moderation queue.
#[derive(Debug, Object)]
pub struct QueuedVideo {
    pub video_id: Uuid,
    pub title: String,
    /// The owner's account id.
    pub player_id: Uuid,
    /// "first_name last_name" of the owner.
    pub username: String,
    pub city: String,
    pub country: String,
    /// The video's counted votes (out of the rankings while it is hidden; they come back with it).
    pub votes: i32,
    pub visibility: VideoVisibility,
    /// When it was hidden (null while visible).
    #[oai(nullable)]
    pub hidden_at: Option<DateTime<Utc>>,
    /// The staff's reason for hiding it (null unless `visibility` is `hidden`).
    #[oai(nullable)]
    pub hidden_note: Option<String>,
    /// Reports not yet decided on.
    pub open_reports: i64,
    /// Open reports from accounts that count toward hiding (verified e-mail).
    pub counting_reports: i64,
    pub open_reports_by_reason: ReasonCounts,
    /// The first and the latest open report (null without open reports).
    #[oai(nullable)]
    pub first_reported_at: Option<DateTime<Utc>>,
    #[oai(nullable)]
    pub last_reported_at: Option<DateTime<Utc>>,
}

impl From<review::QueuedVideo> for QueuedVideo {
    fn from(row: review::QueuedVideo) -> Self {
        Self {
            visibility: row.visibility().into(),
            video_id: row.video_id,
            title: row.title,
            player_id: row.owner_id,
            username: format!("{} {}", row.first_name, row.last_name),
            city: row.city,
            country: row.country,
            votes: row.votes,
            hidden_at: row.hidden_at,
            hidden_note: row.hidden_note,
            open_reports: row.open_reports,
            counting_reports: row.counting_reports,
            open_reports_by_reason: ReasonCounts {
                inappropriate: row.inappropriate,
                not_basketball: row.not_basketball,
                not_the_player: row.not_the_player,
                copyright: row.copyright,
                other: row.other,
            },
            first_reported_at: row.first_reported_at,
            last_reported_at: row.last_reported_at,
        }
    }
}

/// What staff decided about a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum ReportResolution {
    /// The video was hidden.
    Upheld,
    /// The video was restored.
    Rejected,
    /// The reports were dismissed.
    Dismissed,
}

/// One report, as staff read it.
#[derive(Debug, Object)]
pub struct StaffReport {
    pub reporter_id: Uuid,
    pub reporter_email: String,
    pub reason: ReportReason,
    /// The reporter's words (null when they gave none).
    #[oai(nullable)]
    pub details: Option<String>,
    /// Whether it counts toward hiding (the reporter's e-mail was verified, or verification was
    /// off).
    pub counts: bool,
    pub reported_at: DateTime<Utc>,
    /// When staff decided on it (null while open).
    #[oai(nullable)]
    pub resolved_at: Option<DateTime<Utc>>,
    #[oai(nullable)]
    pub resolution: Option<ReportResolution>,
}

/// What an audit entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum AuditAction {
    /// An operator made an account staff.
    StaffAdded,
    /// An operator took the staff role back.
    StaffRemoved,
    /// Reports from enough verified accounts hid a video (actor `reports`).
    VideoHiddenByReports,
    VideoHidden,
    VideoRestored,
    ReportsDismissed,
    VoteReleased,
    VoteVoided,
    RoundCreated,
    /// A staff member closed an open round before its time.
    RoundClosedEarly,
    RoundCancelled,
    /// A closed round's standings were frozen (actor `schedule`).
    RoundFrozen,
}

impl AuditAction {
    fn parse(stored: &str) -> Option<Self> {
        Some(match audit::Action::parse(stored)? {
            audit::Action::StaffAdded => Self::StaffAdded,
            audit::Action::StaffRemoved => Self::StaffRemoved,
            audit::Action::VideoHiddenByReports => Self::VideoHiddenByReports,
            audit::Action::VideoHidden => Self::VideoHidden,
            audit::Action::VideoRestored => Self::VideoRestored,
            audit::Action::ReportsDismissed => Self::ReportsDismissed,
            audit::Action::VoteReleased => Self::VoteReleased,
            audit::Action::VoteVoided => Self::VoteVoided,
            audit::Action::RoundCreated => Self::RoundCreated,
            audit::Action::RoundClosedEarly => Self::RoundClosedEarly,
            audit::Action::RoundCancelled => Self::RoundCancelled,
            audit::Action::RoundFrozen => Self::RoundFrozen,
        })
    }
}

/// One entry of the append-only audit log.
#[derive(Debug, Object)]
pub struct AuditEntry {
    /// Increasing in the order the actions were taken.
    pub id: i64,
    pub at: DateTime<Utc>,
    /// The staff member's account (null for an operator's command and for reports).
    #[oai(nullable)]
    pub actor_id: Option<Uuid>,
    /// The staff member's e-mail, `operator`, `reports` or `schedule`.
    pub actor: String,
    pub action: AuditAction,
    /// The account (`staff_*`), the round (`round_*`) or the video (the rest) acted on.
    pub target_id: Uuid,
    /// Why, in the actor's words.
    pub reason: String,
}

fn audit_entries(entries: Vec<audit::Entry>) -> Vec<AuditEntry> {
    entries
        .into_iter()
        .filter_map(|entry| {
            Some(AuditEntry {
                action: AuditAction::parse(&entry.action)?,
                id: entry.id,
                at: entry.at,
                actor_id: entry.actor_id,
                actor: entry.actor,
                target_id: entry.target_id,
                reason: entry.reason,
            })
        })
        .collect()
}

/// A video under review: the queue's summary, its files, every report and its history.
#[derive(Debug, Object)]
pub struct ReviewedVideo {
    pub video: QueuedVideo,
    /// Time-limited links to the showcase clip and its poster (null if missing).
    #[oai(nullable)]
    pub processed_url: Option<String>,
    #[oai(nullable)]
    pub poster_url: Option<String>,
    /// Every report, open ones first, oldest first.
    pub reports: Vec<StaffReport>,
    /// The audit log's entries about this video, newest first (at most 100).
    pub history: Vec<AuditEntry>,
}

/// A staff decision's reason.
#[derive(Debug, Object)]
pub struct DecisionRequest {
    /// Why (kept in the audit log; shown to the owner when the video is hidden).
    pub reason: NoteText,
}

impl StringFields for DecisionRequest {
    const FIELDS: &'static [&'static str] = &["reason"];
}

#[derive(Debug, Object)]
pub struct DecisionMade {
    /// "Video ocultado." / "Video restablecido." / "Reportes descartados."
    pub message: String,
    pub video_id: Uuid,
    /// The video's visibility now.
    pub visibility: VideoVisibility,
    /// Open reports this decision closed.
    pub reports_resolved: i64,
    /// The audit log entry that records it.
    pub audit_id: i64,
}

#[derive(Debug, ApiResponse)]
pub enum QueueResponse {
    /// Most open reports first, then the latest reported (or hidden), then by id.
    #[oai(status = 200)]
    Ok(
        Json<Vec<QueuedVideo>>,
        /// How many videos the queue holds with this filter, across all pages.
        #[oai(header = "X-Total-Count")]
        i64,
    ),
    /// An invalid parameter (`validation_error`, `field` names it).
    #[oai(status = 400, content_type = "application/problem+json")]
    BadRequest(Json<Problem>),
    /// The account is not staff (`staff_only`).
    #[oai(status = 403, content_type = "application/problem+json")]
    Forbidden(Json<Problem>),
}

#[derive(Debug, ApiResponse)]
pub enum ReviewedVideoResponse {
    #[oai(status = 200)]
    Ok(Json<Box<ReviewedVideo>>),
    /// The account is not staff (`staff_only`).
    #[oai(status = 403, content_type = "application/problem+json")]
    Forbidden(Json<Problem>),
    /// No such published video, or a malformed id (`video_not_found`).
    #[oai(status = 404, content_type = "application/problem+json")]
    NotFound(Json<Problem>),
}

#[derive(Debug, ApiResponse)]
pub enum DecisionResponse {
    /// Done, and recorded in the audit log.
    #[oai(status = 200)]
    Ok(Json<DecisionMade>),
    /// `reason` missing or not 1–500 characters (`validation_error`), or `invalid_body`.
    #[oai(status = 400, content_type = "application/problem+json")]
    BadRequest(Json<Problem>),
    /// The account is not staff (`staff_only`).
    #[oai(status = 403, content_type = "application/problem+json")]
    Forbidden(Json<Problem>),
    /// No such published video, or a malformed id (`video_not_found`).
    #[oai(status = 404, content_type = "application/problem+json")]
    NotFound(Json<Problem>),
    /// The video is not in a state this decision applies to: hide when staff already hid it
    /// (`already_hidden`), restore when it is visible (`not_hidden`), dismiss without open reports
    /// (`no_open_reports`).
    #[oai(status = 409, content_type = "application/problem+json")]
    Conflict(Json<Problem>),
}

#[derive(Debug, ApiResponse)]
pub enum AuditResponse {
    /// Newest first.
    #[oai(status = 200)]
    Ok(
        Json<Vec<AuditEntry>>,
        /// How many entries match, across all pages.
        #[oai(header = "X-Total-Count")]
        i64,
    ),
    /// An invalid parameter (`validation_error`, `field` names it).
    #[oai(status = 400, content_type = "application/problem+json")]
    BadRequest(Json<Problem>),
    /// The account is not staff (`staff_only`).
    #[oai(status = 403, content_type = "application/problem+json")]
    Forbidden(Json<Problem>),
}

/// Held votes per rule.
#[derive(Debug, Object)]
pub struct HeldByRule {
    pub young_accounts_burst: i64,
    pub signup_network_burst: i64,
    pub network_share: i64,
}

/// A player with votes held for review.
#[derive(Debug, Object)]
pub struct PlayerHeldVotes {
    pub player_id: Uuid,
    /// "first_name last_name".
    pub username: String,
    pub city: String,
    pub held_votes: i64,
    pub held_by_rule: HeldByRule,
    /// When the oldest of them was cast.
    pub oldest_at: DateTime<Utc>,
}

/// The rule that held a vote (docs/api.md, "Votes people can trust").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum HoldRule {
    YoungAccountsBurst,
    SignupNetworkBurst,
    NetworkShare,
}

impl HoldRule {
    /// The rule's name as votes record it.
    fn stored(self) -> &'static str {
        match self {
            Self::YoungAccountsBurst => votes::YOUNG_ACCOUNTS_BURST,
            Self::SignupNetworkBurst => votes::SIGNUP_NETWORK_BURST,
            Self::NetworkShare => votes::NETWORK_SHARE,
        }
    }
}

/// A decision on a player's held votes by rule.
#[derive(Debug, Object)]
pub struct RuleDecisionRequest {
    /// Why (kept in each vote's audit entry).
    pub reason: NoteText,
    /// Only the votes this rule held; absent or null: every held vote of the player.
    #[oai(nullable, skip_serializing_if_is_none)]
    pub rule: Option<HoldRule>,
}

impl StringFields for RuleDecisionRequest {
    const FIELDS: &'static [&'static str] = &["reason"];
}

#[derive(Debug, Object)]
pub struct RuleDecided {
    /// "Votos liberados: ya cuentan." / "Votos anulados."
    pub message: String,
    pub player_id: Uuid,
    /// Votes decided by this request (oldest first, at most 500), each with its own audit entry.
    pub decided: i64,
    /// The player's votes still held (by that rule, when one was named): send the request again
    /// to decide them too.
    pub remaining: i64,
}

#[derive(Debug, ApiResponse)]
pub enum RuleDecisionResponse {
    /// Done (possibly nothing to do), and each vote recorded in the audit log.
    #[oai(status = 200)]
    Ok(Json<RuleDecided>),
    /// `reason` missing or not 1–500 characters (`validation_error`), an unknown `rule`, or
    /// `invalid_body`.
    #[oai(status = 400, content_type = "application/problem+json")]
    BadRequest(Json<Problem>),
    /// The account is not staff (`staff_only`).
    #[oai(status = 403, content_type = "application/problem+json")]
    Forbidden(Json<Problem>),
    /// A malformed player id (`player_not_found`).
    #[oai(status = 404, content_type = "application/problem+json")]
    NotFound(Json<Problem>),
}

/// The most held votes one decision by rule takes.
const MAX_DECIDED_BY_RULE: i64 = 500;

/// One held vote, with what a reviewer needs to judge it.
#[derive(Debug, Object)]
pub struct HeldVote {
    pub video_id: Uuid,
    pub voter_id: Uuid,
    /// The voter's network (an IPv6 /64 or an IPv4 address).
    pub network: String,
    pub cast_at: DateTime<Utc>,
    /// When the voter's account was made (its age at the vote is `cast_at` minus this).
    pub voter_created_at: DateTime<Utc>,
    pub voter_verified: bool,
    pub rule: HoldRule,
}

#[derive(Debug, Object)]
pub struct VoteDecided {
    /// "Voto liberado: ya cuenta." / "Voto anulado."
    pub message: String,
    pub video_id: Uuid,
    pub voter_id: Uuid,
    /// The audit log entry that records it.
    pub audit_id: i64,
}

#[derive(Debug, ApiResponse)]
pub enum HeldPlayersResponse {
    /// Most held votes first, then the longest waiting.
    #[oai(status = 200)]
    Ok(
        Json<Vec<PlayerHeldVotes>>,
        /// How many players have held votes.
        #[oai(header = "X-Total-Count")]
        i64,
    ),
    /// An invalid parameter (`validation_error`, `field` names it).
    #[oai(status = 400, content_type = "application/problem+json")]
    BadRequest(Json<Problem>),
    /// The account is not staff (`staff_only`).
    #[oai(status = 403, content_type = "application/problem+json")]
    Forbidden(Json<Problem>),
}

#[derive(Debug, ApiResponse)]
pub enum PlayerHeldResponse {
    /// The player's held votes, oldest first (empty when there are none).
    #[oai(status = 200)]
    Ok(Json<Vec<HeldVote>>),
    /// The account is not staff (`staff_only`).
    #[oai(status = 403, content_type = "application/problem+json")]
    Forbidden(Json<Problem>),
    /// A malformed player id (`player_not_found`).
    #[oai(status = 404, content_type = "application/problem+json")]
    NotFound(Json<Problem>),
}

#[derive(Debug, ApiResponse)]
pub enum VoteDecisionResponse {
    /// Done, and recorded in the audit log.
    #[oai(status = 200)]
    Ok(Json<VoteDecided>),
    /// `reason` missing or not 1–500 characters (`validation_error`), or `invalid_body`.
    #[oai(status = 400, content_type = "application/problem+json")]
    BadRequest(Json<Problem>),
    /// The account is not staff (`staff_only`).
    #[oai(status = 403, content_type = "application/problem+json")]
    Forbidden(Json<Problem>),
    /// No held vote of that voter for that video: never cast, already decided, or a malformed id
    /// (`vote_not_held`).
    #[oai(status = 404, content_type = "application/problem+json")]
    NotFound(Json<Problem>),
}

pub(super) fn staff_only() -> Json<Problem> {
    Problem::new(
        StatusCode::FORBIDDEN,
        "staff_only",
        "Esta sección es solo para el equipo de la federación.",
    )
    .json()
}

/// The staff member behind `auth`, as the audit log names them; `None` when the token does not
/// carry the role or the account no longer has it. A token of an account that is gone is a 401.
pub(super) async fn staff_member(
    state: &AppState,
    auth: &StaffAuth,
) -> Result<Option<Actor>, ApiError> {
    if !auth.0.staff {
        return Ok(None);
    }
    let account: Option<(String, bool)> =
        sqlx::query_as("SELECT email, role = 'staff' FROM users WHERE id = $1")
            .bind(auth.0.id)
            .fetch_optional(&state.pool)
            .await?;
    match account {
        None => Err(ApiError::unauthorized()),
        Some((_, false)) => Ok(None),
        Some((email, true)) => Ok(Some(Actor::Staff {
            id: auth.0.id,
            email,
        })),
    }
}

const DEFAULT_PAGE_SIZE: u32 = 20;

pub struct StaffApi;

#[OpenApi(tag = "ApiTags::Staff", prefix_path = "/api/staff")]
impl StaffApi {
    /// The moderation queue: videos with open reports and hidden videos, most reported first.
    #[oai(path = "/videos", method = "get", operation_id = "staff_queue")]
    async fn queue(
        &self,
        auth: StaffAuth,
        state: Data<&AppState>,
        /// Which videos (default `all`).
        show: Query<Option<QueueShow>>,
        /// Page size, 1–100 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u32>>,
        /// Videos to skip (default 0), at most 9,999.
        #[oai(validator(minimum(value = "0"), maximum(value = "9999")))]
        offset: Query<Option<u32>>,
    ) -> Result<QueueResponse, ApiError> {
        if staff_member(&state, &auth).await?.is_none() {
            return Ok(QueueResponse::Forbidden(staff_only()));
        }
        let filter = match show.0.unwrap_or(QueueShow::All) {
            QueueShow::All => QueueFilter::All,
            QueueShow::Open => QueueFilter::Open,
            QueueShow::Hidden => QueueFilter::Hidden,
        };
        let (rows, total) = review::queue(
            &state.pool,
            filter,
            i64::from(limit.0.unwrap_or(DEFAULT_PAGE_SIZE)),
            i64::from(offset.0.unwrap_or(0)),
        )
        .await?;
        Ok(QueueResponse::Ok(
            Json(rows.into_iter().map(QueuedVideo::from).collect()),
            total,
        ))
    }

    /// One published video as staff review it: its state, its files, every report and its
    /// history in the audit log.
    #[oai(
        path = "/videos/:video_id",
        method = "get",
        operation_id = "staff_video"
    )]
    async fn video(
        &self,
        auth: StaffAuth,
        state: Data<&AppState>,
        video_id: Path<String>,
    ) -> Result<ReviewedVideoResponse, ApiError> {
        if staff_member(&state, &auth).await?.is_none() {
            return Ok(ReviewedVideoResponse::Forbidden(staff_only()));
        }
        let Ok(video_id) = Uuid::parse_str(&video_id) else {
            return Ok(ReviewedVideoResponse::NotFound(video_not_found()));
        };
        let Some(row) = review::queued_video(&state.pool, video_id).await? else {
            return Ok(ReviewedVideoResponse::NotFound(video_not_found()));
        };
        let keys: Option<(Option<String>, Option<String>)> =
            sqlx::query_as("SELECT processed_key, poster_key FROM videos WHERE id = $1")
                .bind(video_id)
                .fetch_optional(&state.pool)
                .await?;
        let (processed_key, poster_key) = keys.unwrap_or_default();
        let reports = review::reports_of(&state.pool, video_id)
            .await?
            .into_iter()
            .filter_map(|report| {
                Some(StaffReport {
                    reason: ReportReason::parse(&report.reason)?,
                    resolution: match report.resolution.as_deref() {
                        Some("upheld") => Some(ReportResolution::Upheld),
                        Some("rejected") => Some(ReportResolution::Rejected),
                        Some("dismissed") => Some(ReportResolution::Dismissed),
                        _ => None,
                    },
                    reporter_id: report.reporter_id,
                    reporter_email: report.reporter_email,
                    details: report.details,
                    counts: report.counts,
                    reported_at: report.created_at,
                    resolved_at: report.resolved_at,
                })
            })
            .collect();
        let mut connection = state.pool.acquire().await?;
        let (history, _) = audit::entries(&mut connection, Some(video_id), 100, 0).await?;
        drop(connection);
        Ok(ReviewedVideoResponse::Ok(Json(Box::new(ReviewedVideo {
            video: row.into(),
            processed_url: link(&state, processed_key.as_deref()).await?,
            poster_url: link(&state, poster_key.as_deref()).await?,
            reports,
            history: audit_entries(history),
        }))))
    }

    /// Hide a video (visible or under review): out of the showcase, its page and the rankings;
    /// its open reports are upheld and its owner sees the reason.
    #[oai(
        path = "/videos/:video_id/hide",
        method = "post",
        operation_id = "staff_hide_video"
    )]
    async fn hide(
        &self,
        auth: StaffAuth,
        state: Data<&AppState>,
        video_id: Path<String>,
        body: JsonBody<DecisionRequest>,
    ) -> Result<DecisionResponse, ApiError> {
        decide(&state, &auth, &video_id, body.0, Decision::Hide).await
    }

    /// Restore a hidden video: back in the showcase and the rankings with exactly the votes it
    /// has; its open reports are rejected.
    #[oai(
        path = "/videos/:video_id/restore",
        method = "post",
        operation_id = "staff_restore_video"
    )]
    async fn restore(
        &self,
        auth: StaffAuth,
        state: Data<&AppState>,
        video_id: Path<String>,
        body: JsonBody<DecisionRequest>,
    ) -> Result<DecisionResponse, ApiError> {
        decide(&state, &auth, &video_id, body.0, Decision::Restore).await
    }

    /// Dismiss a video's open reports as unfounded; a video they hid is restored with its votes.
    #[oai(
        path = "/videos/:video_id/dismiss",
        method = "post",
        operation_id = "staff_dismiss_reports"
    )]
    async fn dismiss(
        &self,
        auth: StaffAuth,
        state: Data<&AppState>,
        video_id: Path<String>,
        body: JsonBody<DecisionRequest>,
    ) -> Result<DecisionResponse, ApiError> {
        decide(&state, &auth, &video_id, body.0, Decision::Dismiss).await
    }

    /// Players with votes held for review, most held first, with how many each rule held.
    #[oai(
        path = "/held-votes",
        method = "get",
        operation_id = "staff_held_votes"
    )]
    async fn held_votes(
        &self,
        auth: StaffAuth,
        state: Data<&AppState>,
        /// Page size, 1–100 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u32>>,
        /// Players to skip (default 0), at most 9,999.
        #[oai(validator(minimum(value = "0"), maximum(value = "9999")))]
        offset: Query<Option<u32>>,
    ) -> Result<HeldPlayersResponse, ApiError> {
        if staff_member(&state, &auth).await?.is_none() {
            return Ok(HeldPlayersResponse::Forbidden(staff_only()));
        }
        let (rows, total) = votes::players_with_held(
            &state.pool,
            i64::from(limit.0.unwrap_or(DEFAULT_PAGE_SIZE)),
            i64::from(offset.0.unwrap_or(0)),
        )
        .await?;
        let players = rows
            .into_iter()
            .map(|row| PlayerHeldVotes {
                player_id: row.player_id,
                username: format!("{} {}", row.first_name, row.last_name),
                city: row.city,
                held_votes: row.held,
                held_by_rule: HeldByRule {
                    young_accounts_burst: row.young_accounts_burst,
                    signup_network_burst: row.signup_network_burst,
                    network_share: row.network_share,
                },
                oldest_at: row.oldest_at,
            })
            .collect();
        Ok(HeldPlayersResponse::Ok(Json(players), total))
    }

    /// One player's held votes, oldest first, with what a reviewer needs about each.
    #[oai(
        path = "/players/:player_id/held-votes",
        method = "get",
        operation_id = "staff_player_held_votes"
    )]
    async fn player_held_votes(
        &self,
        auth: StaffAuth,
        state: Data<&AppState>,
        player_id: Path<String>,
    ) -> Result<PlayerHeldResponse, ApiError> {
        if staff_member(&state, &auth).await?.is_none() {
            return Ok(PlayerHeldResponse::Forbidden(staff_only()));
        }
        let Ok(player_id) = Uuid::parse_str(&player_id) else {
            return Ok(PlayerHeldResponse::NotFound(player_not_found()));
        };
        let held = votes::held_for_player(&state.pool, player_id)
            .await?
            .into_iter()
            .filter_map(|vote| {
                Some(HeldVote {
                    rule: match vote.reason.as_str() {
                        votes::YOUNG_ACCOUNTS_BURST => HoldRule::YoungAccountsBurst,
                        votes::SIGNUP_NETWORK_BURST => HoldRule::SignupNetworkBurst,
                        votes::NETWORK_SHARE => HoldRule::NetworkShare,
                        _ => return None,
                    },
                    video_id: vote.video_id,
                    voter_id: vote.voter_id,
                    network: vote.network,
                    cast_at: vote.cast_at,
                    voter_created_at: vote.voter_created_at,
                    voter_verified: vote.voter_verified,
                })
            })
            .collect();
        Ok(PlayerHeldResponse::Ok(Json(held)))
    }

    /// Release a held vote: it counts from now on (on the video, the player's score and the
    /// rankings, within the same second's bound as any vote).
    #[oai(
        path = "/videos/:video_id/votes/:voter_id/release",
        method = "post",
        operation_id = "staff_release_vote"
    )]
    async fn release_vote(
        &self,
        auth: StaffAuth,
        state: Data<&AppState>,
        video_id: Path<String>,
        voter_id: Path<String>,
        body: JsonBody<DecisionRequest>,
    ) -> Result<VoteDecisionResponse, ApiError> {
        decide_vote(
            &state,
            &auth,
            (&video_id, &voter_id),
            body.0,
            VoteDecision::Release,
        )
        .await
    }

    /// Void a held vote: it never counts, and its voter cannot vote for that video again.
    #[oai(
        path = "/videos/:video_id/votes/:voter_id/void",
        method = "post",
        operation_id = "staff_void_vote"
    )]
    async fn void_vote(
        &self,
        auth: StaffAuth,
        state: Data<&AppState>,
        video_id: Path<String>,
        voter_id: Path<String>,
        body: JsonBody<DecisionRequest>,
    ) -> Result<VoteDecisionResponse, ApiError> {
        decide_vote(
            &state,
            &auth,
            (&video_id, &voter_id),
            body.0,
            VoteDecision::Void,
        )
        .await
    }

    /// Release a player's held votes by rule (or all of them): they count from now on.
    #[oai(
        path = "/players/:player_id/held-votes/release",
        method = "post",
        operation_id = "staff_release_votes_by_rule"
    )]
    async fn release_by_rule(
        &self,
        auth: StaffAuth,
        state: Data<&AppState>,
        player_id: Path<String>,
        body: JsonBody<RuleDecisionRequest>,
    ) -> Result<RuleDecisionResponse, ApiError> {
        decide_by_rule(&state, &auth, &player_id, body.0, VoteDecision::Release).await
    }

    /// Void a player's held votes by rule (or all of them): they never count.
    #[oai(
        path = "/players/:player_id/held-votes/void",
        method = "post",
        operation_id = "staff_void_votes_by_rule"
    )]
    async fn void_by_rule(
        &self,
        auth: StaffAuth,
        state: Data<&AppState>,
        player_id: Path<String>,
        body: JsonBody<RuleDecisionRequest>,
    ) -> Result<RuleDecisionResponse, ApiError> {
        decide_by_rule(&state, &auth, &player_id, body.0, VoteDecision::Void).await
    }

    /// The audit log of staff actions (append-only), newest first.
    #[oai(path = "/audit", method = "get", operation_id = "staff_audit_log")]
    async fn audit(
        &self,
        auth: StaffAuth,
        state: Data<&AppState>,
        /// Only entries about this account or video.
        target: Query<Option<Uuid>>,
        /// Page size, 1–100 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u32>>,
        /// Entries to skip (default 0), at most 9,999.
        #[oai(validator(minimum(value = "0"), maximum(value = "9999")))]
        offset: Query<Option<u32>>,
    ) -> Result<AuditResponse, ApiError> {
        if staff_member(&state, &auth).await?.is_none() {
            return Ok(AuditResponse::Forbidden(staff_only()));
        }
        let mut connection = state.pool.acquire().await?;
        let (entries, total) = audit::entries(
            &mut connection,
            target.0,
            i64::from(limit.0.unwrap_or(DEFAULT_PAGE_SIZE)),
            i64::from(offset.0.unwrap_or(0)),
        )
        .await?;
        Ok(AuditResponse::Ok(Json(audit_entries(entries)), total))
    }
}

/// A decision on a video, by the staff member behind `auth`.
async fn decide(
    state: &AppState,
    auth: &StaffAuth,
    video_id: &str,
    body: DecisionRequest,
    decision: Decision,
) -> Result<DecisionResponse, ApiError> {
    let Some(staff) = staff_member(state, auth).await? else {
        return Ok(DecisionResponse::Forbidden(staff_only()));
    };
    let reason = match Note::parse("reason", "El motivo", &body.reason.0) {
        Ok(reason) => reason,
        Err(error) => return Ok(DecisionResponse::BadRequest(Problem::from(error).json())),
    };
    let Ok(video_id) = Uuid::parse_str(video_id) else {
        return Ok(DecisionResponse::NotFound(video_not_found()));
    };
    let decided = review::decide(&state.pool, video_id, decision, &staff, reason.as_str()).await?;
    let conflict = |code: &str, detail: &str| {
        Ok(DecisionResponse::Conflict(
            Problem::new(StatusCode::CONFLICT, code, detail).json(),
        ))
    };
    match decided {
        Decided::NotFound => Ok(DecisionResponse::NotFound(video_not_found())),
        Decided::Refused(Refusal::AlreadyHidden) => conflict(
            "already_hidden",
            "El video ya está oculto por decisión del equipo.",
        ),
        Decided::Refused(Refusal::NotHidden) => conflict("not_hidden", "El video no está oculto."),
        Decided::Refused(Refusal::NoOpenReports) => {
            conflict("no_open_reports", "El video no tiene reportes pendientes.")
        }
        Decided::Done {
            visibility,
            reports_resolved,
            entry,
        } => {
            tracing::info!(%video_id, ?decision, staff = %auth.0.id, audit = entry, "staff decision");
            Ok(DecisionResponse::Ok(Json(DecisionMade {
                message: match decision {
                    Decision::Hide => "Video ocultado.",
                    Decision::Restore => "Video restablecido.",
                    Decision::Dismiss => "Reportes descartados.",
                }
                .to_owned(),
                video_id,
                visibility: visibility.into(),
                reports_resolved: i64::try_from(reports_resolved).unwrap_or(i64::MAX),
                audit_id: entry,
            })))
        }
    }
}

/// A decision on a player's held votes by rule, by the staff member behind `auth`.
async fn decide_by_rule(
    state: &AppState,
    auth: &StaffAuth,
    player_id: &str,
    body: RuleDecisionRequest,
    decision: VoteDecision,
) -> Result<RuleDecisionResponse, ApiError> {
    let Some(staff) = staff_member(state, auth).await? else {
        return Ok(RuleDecisionResponse::Forbidden(staff_only()));
    };
    let reason = match Note::parse("reason", "El motivo", &body.reason.0) {
        Ok(reason) => reason,
        Err(error) => {
            return Ok(RuleDecisionResponse::BadRequest(
                Problem::from(error).json(),
            ));
        }
    };
    let Ok(player_id) = Uuid::parse_str(player_id) else {
        return Ok(RuleDecisionResponse::NotFound(player_not_found()));
    };
    let done = review::decide_by_rule(
        &state.pool,
        player_id,
        body.rule.map(HoldRule::stored),
        decision,
        &staff,
        reason.as_str(),
        MAX_DECIDED_BY_RULE,
    )
    .await?;
    tracing::info!(player = %player_id, ?decision, rule = ?body.rule, decided = done.decided, staff = %auth.0.id, "held votes decided by rule");
    Ok(RuleDecisionResponse::Ok(Json(RuleDecided {
        message: match decision {
            VoteDecision::Release => "Votos liberados: ya cuentan.",
            VoteDecision::Void => "Votos anulados.",
        }
        .to_owned(),
        player_id,
        decided: i64::try_from(done.decided).unwrap_or(i64::MAX),
        remaining: done.remaining,
    })))
}

fn player_not_found() -> Json<Problem> {
    Problem::new(
        StatusCode::NOT_FOUND,
        "player_not_found",
        "Jugador no encontrado.",
    )
    .json()
}

/// A decision on one held vote, by the staff member behind `auth`.
async fn decide_vote(
    state: &AppState,
    auth: &StaffAuth,
    (video_id, voter_id): (&str, &str),
    body: DecisionRequest,
    decision: VoteDecision,
) -> Result<VoteDecisionResponse, ApiError> {
    let Some(staff) = staff_member(state, auth).await? else {
        return Ok(VoteDecisionResponse::Forbidden(staff_only()));
    };
    let reason = match Note::parse("reason", "El motivo", &body.reason.0) {
        Ok(reason) => reason,
        Err(error) => {
            return Ok(VoteDecisionResponse::BadRequest(
                Problem::from(error).json(),
            ));
        }
    };
    let not_held = || {
        VoteDecisionResponse::NotFound(
            Problem::new(
                StatusCode::NOT_FOUND,
                "vote_not_held",
                "No hay un voto en revisión de esa persona para ese video.",
            )
            .json(),
        )
    };
    let (Ok(video_id), Ok(voter_id)) = (Uuid::parse_str(video_id), Uuid::parse_str(voter_id))
    else {
        return Ok(not_held());
    };
    let entry = review::decide_vote(
        &state.pool,
        video_id,
        voter_id,
        decision,
        &staff,
        reason.as_str(),
    )
    .await?;
    let Some(entry) = entry else {
        return Ok(not_held());
    };
    tracing::info!(%video_id, voter = %voter_id, ?decision, staff = %auth.0.id, audit = entry, "held vote decided");
    Ok(VoteDecisionResponse::Ok(Json(VoteDecided {
        message: match decision {
            VoteDecision::Release => "Voto liberado: ya cuenta.",
            VoteDecision::Void => "Voto anulado.",
        }
        .to_owned(),
        video_id,
        voter_id,
        audit_id: entry,
    })))
}
