//! Errors every endpoint shares (401, 500) and the translation of framework errors (bad JSON,
//! bad parameters, unknown routes) into problem details.

use poem::http::StatusCode;
use poem::{Endpoint, IntoResponse, Response};
use poem_openapi::ApiResponse;
use poem_openapi::payload::Json;

use crate::http::problem::{PROBLEM_JSON, Problem};

/// Responses any endpoint may give besides its own: documented once, used everywhere.
#[derive(Debug, ApiResponse)]
pub enum ApiError {
    /// The bearer token is missing, malformed, expired or wrongly signed.
    #[oai(status = 401, content_type = "application/problem+json")]
    Unauthorized(Json<Problem>, #[oai(header = "WWW-Authenticate")] String),
    /// Something failed on our side; the cause is in the logs, never in the answer.
    #[oai(status = 500, content_type = "application/problem+json")]
    Internal(Json<Problem>),
}

impl ApiError {
    pub fn unauthorized() -> Self {
        Self::Unauthorized(
            Problem::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Se requiere un token de acceso válido.",
            )
            .json(),
            "Bearer".to_owned(),
        )
    }

    /// Logs `cause` (with the request's span) and answers a bare 500.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::Internal(
            Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "Ocurrió un error interno. Inténtalo de nuevo más tarde.",
            )
            .json(),
        )
    }
}

/// The only failure a public endpoint shares with the others: ours.
#[derive(Debug, ApiResponse)]
pub enum InternalError {
    /// Something failed on our side; the cause is in the logs, never in the answer.
    #[oai(status = 500, content_type = "application/problem+json")]
    Internal(Json<Problem>),
}

impl InternalError {
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        match ApiError::internal(cause) {
            ApiError::Internal(problem) | ApiError::Unauthorized(problem, _) => {
                Self::Internal(problem)
            }
        }
    }
}

/// Internal causes become 500s (logged) for both error types. A statement that found its
/// connection dropped is noted, so the pool checks its other connections before using them.
macro_rules! internal_causes {
    ($($error:ty),*) => {$(
        impl From<sqlx::Error> for $error {
            fn from(error: sqlx::Error) -> Self {
                platform::db::note_failure(&error);
                Self::internal(format_args!("database: {error}"))
            }
        }

        impl From<platform::storage::StorageError> for $error {
            fn from(error: platform::storage::StorageError) -> Self {
                Self::internal(format_args!("{error}: {:?}", std::error::Error::source(&error)))
            }
        }

        impl From<crate::auth::password::HashError> for $error {
            fn from(error: crate::auth::password::HashError) -> Self {
                Self::internal(error)
            }
        }
    )*};
}

internal_causes!(ApiError, InternalError);

/// Turns every error that escapes a handler into a problem response with the right status.
pub async fn to_problem(error: poem::Error) -> Response {
    use poem_openapi::error::{
        AuthorizationError, ContentTypeError, ParseParamError, ParsePathError,
        ParseRequestPayloadError,
    };
    if error.is::<AuthorizationError>() {
        return ApiError::unauthorized().into_response();
    }
    if let Some(parse) = error.downcast_ref::<ParseParamError>() {
        tracing::debug!(parameter = parse.name, reason = %parse.reason, "bad parameter");
        return Problem::invalid_field(
            parse.name,
            format!("El parámetro «{}» no es válido.", parse.name),
        )
        .into_response();
    }
    if let Some(parse) = error.downcast_ref::<ParsePathError>() {
        tracing::debug!(parameter = parse.name, reason = %parse.reason, "bad path");
        return not_found();
    }
    if let Some(parse) = error.downcast_ref::<ParseRequestPayloadError>() {
        return Problem::bad_request(
            "invalid_body",
            format!("El cuerpo de la solicitud no es válido: {}", parse.reason),
        )
        .into_response();
    }
    if error.is::<ContentTypeError>() {
        return Problem::bad_request(
            "invalid_body",
            "El tipo de contenido de la solicitud no es el esperado.",
        )
        .into_response();
    }
    // Our own error responses (ApiError) pass through; anything else becomes a problem.
    let status = error.status();
    let message = error.to_string();
    let response = error.into_response();
    if is_problem(&response) {
        return response;
    }
    if status.is_server_error() {
        tracing::error!(error = %message, "unhandled error");
    }
    if status == StatusCode::NOT_FOUND {
        return not_found();
    }
    plain_problem(status)
}

fn is_problem(response: &Response) -> bool {
    response
        .content_type()
        .is_some_and(|content_type| content_type.starts_with(PROBLEM_JSON))
}

fn not_found() -> Response {
    Problem::new(StatusCode::NOT_FOUND, "not_found", "Recurso no encontrado.").into_response()
}

fn plain_problem(status: StatusCode) -> Response {
    let (code, detail) = match status {
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "Método no permitido para este recurso.",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "La solicitud es demasiado grande."),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            ("unsupported_media_type", "Tipo de contenido no soportado.")
        }
        s if s.is_client_error() => ("bad_request", "La solicitud no es válida."),
        _ => (
            "internal_error",
            "Ocurrió un error interno. Inténtalo de nuevo más tarde.",
        ),
    };
    Problem::new(status, code, detail).into_response()
}

/// Wraps an endpoint so that no error escapes as anything but a problem response.
pub fn problems<E: Endpoint>(endpoint: E) -> impl Endpoint<Output = Response> {
    use poem::EndpointExt;
    endpoint.map_to_response().catch_all_error(to_problem)
}
