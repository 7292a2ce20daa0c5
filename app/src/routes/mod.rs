//! The API's routes, grouped by the spec's sections.

pub mod account;
pub mod auth;
pub mod files;
pub mod health;
pub mod public;
pub mod reports;
pub mod rounds;
pub mod staff;
pub mod videos;

use poem::http::StatusCode;
use poem_openapi::Tags;
use poem_openapi::payload::Json;

use crate::http::problem::Problem;

/// 404 `video_not_found`: what every route answers for a video it may not show the caller (no
/// such video, someone else's where that is hidden, unpublished, hidden, or a malformed id).
fn video_not_found() -> Json<Problem> {
    Problem::new(
        StatusCode::NOT_FOUND,
        "video_not_found",
        "Video no encontrado.",
    )
    .json()
}

#[derive(Debug, Tags)]
pub enum ApiTags {
    /// Sign up, log in, the caller's account and e-mail verification.
    Auth,
    /// The caller's own videos (bearer token).
    Videos,
    /// Public listing, votes, reports and rankings.
    Public,
    /// The federation's jury desk: the moderation queue, decisions on reported videos and held
    /// votes, voting rounds and their finalists, and the audit log. Staff accounts only (`staffBearerAuth`: 401 without a valid token, 403
    /// `staff_only` for any other account).
    Staff,
    /// Liveness and readiness probes.
    Health,
}
