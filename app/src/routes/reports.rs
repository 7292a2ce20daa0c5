//! Reports (`POST /api/public/videos/{id}/report`, bearer): a logged-in user reports a visible
//! published video once; reports from `REPORTS_TO_HIDE` distinct verified accounts hide it at
//! once, pending review by staff (`platform::videos::review`).

use platform::videos::review::{self, NewReport, Reported};
use poem::http::StatusCode;
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use uuid::Uuid;

use super::{ApiTags, video_not_found};
use crate::auth::BearerAuth;
use crate::domain::Note;
use crate::http::errors::ApiError;
use crate::http::fields::{NoteText, ReportReasonText};
use crate::http::json::{JsonBody, StringFields};
use crate::http::problem::Problem;
use crate::state::AppState;

/// Why a video was reported (the values of `video_reports.reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum ReportReason {
    /// Offensive or inappropriate content.
    Inappropriate,
    /// Not a basketball skill video.
    NotBasketball,
    /// Someone other than the player who uploaded it.
    NotThePlayer,
    /// Someone else's footage.
    Copyright,
    /// Something else, told in `details`.
    Other,
}

impl ReportReason {
    /// The stored value's reason (`None` for a value this build does not know).
    pub fn parse(stored: &str) -> Option<Self> {
        Some(match stored {
            "inappropriate" => Self::Inappropriate,
            "not_basketball" => Self::NotBasketball,
            "not_the_player" => Self::NotThePlayer,
            "copyright" => Self::Copyright,
            "other" => Self::Other,
            _ => return None,
        })
    }

    /// A phrase for the owner's message (Spanish).
    fn phrase(self) -> &'static str {
        match self {
            Self::Inappropriate => "contenido inapropiado",
            Self::NotBasketball => "no es un video de baloncesto",
            Self::NotThePlayer => "no aparece el jugador que lo subió",
            Self::Copyright => "derechos de autor",
            Self::Other => "otros motivos",
        }
    }
}

/// Where a hidden video stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum ReviewState {
    /// Hidden at once by reports, until the federation's staff review it.
    UnderReview,
    /// Hidden by a decision of the federation's staff (`note` says why).
    Hidden,
}

/// Why the owner's video is out of the showcase and the rankings (present only while it is).
#[derive(Debug, Object)]
pub struct VideoReview {
    pub state: ReviewState,
    /// The reports' reasons, most common first (may be empty when staff hid it unreported).
    pub reasons: Vec<ReportReason>,
    /// The staff's reason, when they hid it (null while it is under review).
    #[oai(nullable)]
    pub note: Option<String>,
    /// When it was hidden.
    pub since: chrono::DateTime<chrono::Utc>,
    /// What happens now, for the owner (Spanish).
    pub message: String,
}

impl VideoReview {
    /// The owner's view of a hidden video; `None` while it is visible.
    pub fn of(
        hidden_at: Option<chrono::DateTime<chrono::Utc>>,
        by_staff: bool,
        note: Option<String>,
        reasons: &[String],
    ) -> Option<Self> {
        let since = hidden_at?;
        let reasons: Vec<ReportReason> = reasons
            .iter()
            .filter_map(|r| ReportReason::parse(r))
            .collect();
        let why = reasons
            .iter()
            .map(|reason| reason.phrase())
            .collect::<Vec<_>>()
            .join(", ");
        let (state, message) = if by_staff {
            let note = note.as_deref().unwrap_or_default();
            (
                ReviewState::Hidden,
                format!(
                    "El equipo de la federación ocultó este video: {note}. Sus votos no cuentan \
                     en la clasificación."
                ),
            )
        } else {
            (
                ReviewState::UnderReview,
                format!(
                    "Este video está oculto mientras el equipo de la federación revisa los \
                     reportes recibidos ({why}). Sus votos se conservan y volverán a contar si se \
                     restablece."
                ),
            )
        };
        Some(Self {
            state,
            reasons,
            note,
            since,
            message,
        })
    }
}

/// A report of a video.
#[derive(Debug, Object)]
pub struct ReportRequest {
    pub reason: ReportReasonText,
    /// What is wrong, in the reporter's words: required when `reason` is `other`, optional
    /// otherwise (absent or null: none).
    #[oai(nullable, skip_serializing_if_is_none)]
    pub details: Option<NoteText>,
}

impl StringFields for ReportRequest {
    const FIELDS: &'static [&'static str] = &["reason"];
}

#[derive(Debug, Object)]
pub struct ReportReceived {
    /// "Gracias. El equipo de la federación revisará el video."
    pub message: String,
    pub video_id: Uuid,
}

#[derive(Debug, ApiResponse)]
pub enum ReportResponse {
    /// Recorded. Whether it hid the video is not said: a reporter learns nothing about the
    /// others.
    #[oai(status = 201)]
    Created(Json<ReportReceived>),
    /// `validation_error` (`field`: `reason` not one of the list, `details` missing for
    /// `other` or not 1–500 characters), `invalid_body`, or `own_video` (the caller's own video).
    #[oai(status = 400, content_type = "application/problem+json")]
    BadRequest(Json<Problem>),
    /// No such visible published video, or a malformed id (`video_not_found`).
    #[oai(status = 404, content_type = "application/problem+json")]
    NotFound(Json<Problem>),
    /// The caller already reported this video (`already_reported`); nothing changed.
    #[oai(status = 409, content_type = "application/problem+json")]
    Conflict(Json<Problem>),
}

pub struct ReportsApi;

#[OpenApi(tag = "ApiTags::Public")]
impl ReportsApi {
    /// Report a published video to the federation's staff, once per account.
    #[oai(
        path = "/api/public/videos/:video_id/report",
        method = "post",
        operation_id = "report_video"
    )]
    async fn report(
        &self,
        auth: BearerAuth,
        state: Data<&AppState>,
        video_id: Path<String>,
        body: JsonBody<ReportRequest>,
    ) -> Result<ReportResponse, ApiError> {
        let Ok(video_id) = Uuid::parse_str(&video_id) else {
            return Ok(ReportResponse::NotFound(video_not_found()));
        };
        let ReportRequest { reason, details } = body.0;
        let Some(reason) = review::REASONS.iter().find(|known| **known == reason.0) else {
            return Ok(ReportResponse::BadRequest(
                Problem::invalid_field(
                    "reason",
                    "El motivo debe ser inappropriate, not_basketball, not_the_player, copyright \
                     u other.",
                )
                .json(),
            ));
        };
        let details = match details {
            Some(details) => match Note::parse("details", "La descripción", &details.0) {
                Ok(details) => Some(details),
                Err(error) => return Ok(ReportResponse::BadRequest(Problem::from(error).json())),
            },
            None if *reason == "other" => {
                return Ok(ReportResponse::BadRequest(
                    Problem::invalid_field(
                        "details",
                        "Cuéntanos qué ocurre con el video cuando el motivo es «other».",
                    )
                    .json(),
                ));
            }
            None => None,
        };
        let verified: Option<bool> =
            sqlx::query_scalar("SELECT email_verified_at IS NOT NULL FROM users WHERE id = $1")
                .bind(auth.0)
                .fetch_optional(&state.pool)
                .await?;
        // A valid token of an account that is gone proves nothing any more.
        let verified = verified.ok_or_else(ApiError::unauthorized)?;
        let reported = review::report(
            &state.pool,
            &NewReport {
                video_id,
                reporter: auth.0,
                reason,
                details: details.as_ref().map(Note::as_str),
                counts: verified || !state.email_verification,
                threshold: state.reports_to_hide,
            },
        )
        .await?;
        match reported {
            Reported::NotFound => Ok(ReportResponse::NotFound(video_not_found())),
            Reported::OwnVideo => Ok(ReportResponse::BadRequest(
                Problem::bad_request("own_video", "No puedes reportar tu propio video.").json(),
            )),
            Reported::AlreadyReported => Ok(ReportResponse::Conflict(
                Problem::new(
                    StatusCode::CONFLICT,
                    "already_reported",
                    "Ya reportaste este video. El equipo de la federación lo revisará.",
                )
                .json(),
            )),
            Reported::Recorded { hidden } => {
                if hidden {
                    tracing::info!(%video_id, "video hidden by reports, pending review");
                }
                Ok(ReportResponse::Created(Json(ReportReceived {
                    message: "Gracias. El equipo de la federación revisará el video.".to_owned(),
                    video_id,
                })))
            }
        }
    }
}
