//! The API's routes, grouped by the spec's sections.

pub mod files;
pub mod health;

use poem_openapi::Tags;

#[derive(Debug, Tags)]
pub enum ApiTags {
    /// Liveness and readiness probes.
    Health,
}
