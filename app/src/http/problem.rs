//! RFC 9457 problem details, the body of every error response (`application/problem+json`).

use poem::http::StatusCode;
use poem_openapi::Object;
use poem_openapi::payload::Json;

use crate::integrity::proof::ProofChallenge;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An error as clients see it: `detail` is a sentence for people (Spanish), `code` a stable
/// identifier for programs, `field` the offending input field of a validation error.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct Problem {
    /// A URI naming the problem type (`about:blank`: the status and `code` say it all).
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
    /// The request field at fault (validation errors only).
    #[oai(skip_serializing_if_is_none)]
    pub field: Option<String>,
    /// A proof-of-work challenge (429 only): solve it and repeat the request with the solution
    /// in the `Altcha` header to go on now instead of after `Retry-After`.
    #[oai(skip_serializing_if_is_none)]
    pub challenge: Option<Box<ProofChallenge>>,
    /// When voting next opens for the video's city (`voting_closed` only, when a round is
    /// scheduled).
    #[oai(skip_serializing_if_is_none)]
    pub next_round_opens_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl Problem {
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> Self {
        Self {
            kind: "about:blank".to_owned(),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            code: code.to_owned(),
            field: None,
            challenge: None,
            next_round_opens_at: None,
        }
    }

    /// A 400 naming the offending field.
    pub fn invalid_field(field: &str, detail: impl Into<String>) -> Self {
        Self {
            field: Some(field.to_owned()),
            ..Self::new(StatusCode::BAD_REQUEST, "validation_error", detail)
        }
    }

    pub fn bad_request(code: &str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, detail)
    }

    pub fn json(self) -> Json<Self> {
        Json(self)
    }

    /// The same problem as a plain poem response (for code outside poem-openapi handlers).
    pub fn into_response(self) -> poem::Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body =
            serde_json::to_vec(&poem_openapi::types::ToJSON::to_json(&self)).unwrap_or_default();
        poem::Response::builder()
            .status(status)
            .content_type(PROBLEM_JSON)
            .body(body)
    }
}

impl poem_openapi::types::Example for Problem {
    fn example() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "video_not_found",
            "Video no encontrado.",
        )
    }
}

/// A validation failure of one field, raised by the domain types at the edge.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {detail}")]
pub struct FieldError {
    pub field: &'static str,
    pub detail: String,
}

impl FieldError {
    pub fn new(field: &'static str, detail: impl Into<String>) -> Self {
        Self {
            field,
            detail: detail.into(),
        }
    }
}

impl From<FieldError> for Problem {
    fn from(error: FieldError) -> Self {
        Problem::invalid_field(error.field, error.detail)
    }
}
