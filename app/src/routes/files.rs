//! `GET /files/{key}?expires=…&signature=…`: serves local-storage files under signed, expiring
//! links (with S3, clients get presigned S3 links instead and this route answers 404).

use std::time::SystemTime;

use poem::http::StatusCode;
use poem::web::{Data, Path, Query, StaticFileRequest};
use poem::{IntoResponse, Response, handler};
use serde::Deserialize;

use crate::http::problem::Problem;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct LinkQuery {
    expires: Option<u64>,
    signature: Option<String>,
}

fn problem(status: StatusCode, code: &str, detail: &str) -> Response {
    Problem::new(status, code, detail).into_response()
}

#[handler]
pub async fn serve(
    Path(key): Path<String>,
    Query(link): Query<LinkQuery>,
    state: Data<&AppState>,
    file: StaticFileRequest,
) -> Response {
    let not_found = || {
        problem(
            StatusCode::NOT_FOUND,
            "file_not_found",
            "Archivo no encontrado.",
        )
    };
    let Some(local) = state.storage.as_local() else {
        return not_found();
    };
    let (Some(expires), Some(signature)) = (link.expires, link.signature) else {
        return problem(
            StatusCode::FORBIDDEN,
            "invalid_link",
            "El enlace no es válido.",
        );
    };
    let path = match local.open_link(&key, expires, &signature, SystemTime::now()) {
        Ok(path) => path,
        Err(platform::storage::LinkRejection::Expired) => {
            return problem(
                StatusCode::FORBIDDEN,
                "link_expired",
                "El enlace ha expirado.",
            );
        }
        Err(platform::storage::LinkRejection::BadSignature) => {
            return problem(
                StatusCode::FORBIDDEN,
                "invalid_link",
                "El enlace no es válido.",
            );
        }
    };
    match file.create_response(&path, false, false) {
        Ok(response) => response.into_response(),
        Err(poem::error::StaticFileError::NotFound) => not_found(),
        Err(error) => poem::Error::from(error).into_response(),
    }
}
