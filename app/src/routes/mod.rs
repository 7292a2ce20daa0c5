//! The API's routes, grouped by the spec's sections.

pub mod account;
pub mod auth;
pub mod files;
pub mod health;
pub mod public;
pub mod reports;
pub mod staff;
pub mod videos;

use poem_openapi::Tags;

#[derive(Debug, Tags)]
pub enum ApiTags {
    /// Sign up, log in, the caller's account and e-mail verification.
    Auth,
    /// The caller's own videos (bearer token).
    Videos,
    /// Public listing, votes, reports and rankings.
    Public,
    /// The federation's jury desk: the moderation queue, decisions on reported videos and the
    /// audit log. Staff accounts only (`staffBearerAuth`: 401 without a valid token, 403
    /// `staff_only` for any other account).
    Staff,
    /// Liveness and readiness probes.
    Health,
}
