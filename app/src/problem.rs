//! RFC 9457 problem details, the body of every error response (`application/problem+json`).

use poem_openapi::Object;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An error as clients see it: `detail` is a sentence for people (Spanish), `code` a stable
/// identifier for programs.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct Problem {
    /// A URI naming the problem type (`about:blank` when the status says it all).
    #[oai(rename = "type")]
    pub kind: String,
    /// The HTTP reason phrase.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What happened, for people.
    pub detail: String,
    /// What happened, for programs (snake_case, stable).
    pub code: String,
}

impl Problem {
    pub fn new(status: poem::http::StatusCode, code: &str, detail: impl Into<String>) -> Self {
        Self {
            kind: "about:blank".to_owned(),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            code: code.to_owned(),
        }
    }
}

impl poem_openapi::types::Example for Problem {
    fn example() -> Self {
        Self::new(
            poem::http::StatusCode::NOT_FOUND,
            "video_not_found",
            "Video no encontrado.",
        )
    }
}
