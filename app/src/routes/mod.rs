//! The API's routes, grouped by the spec's sections.

pub mod account;
pub mod auth;
pub mod files;
pub mod health;
pub mod public;
pub mod videos;

use poem_openapi::Tags;

#[derive(Debug, Tags)]
pub enum ApiTags {
    /// Sign up, log in, the caller's account and e-mail verification.
    Auth,
    /// The caller's own videos (bearer token).
    Videos,
    /// Public listing, votes and rankings.
    Public,
    /// Liveness and readiness probes.
    Health,
}
