//! The `Authorization: Bearer <JWT>` security scheme: the caller's identity comes only from here.

use poem::Request;
use poem_openapi::SecurityScheme;
use poem_openapi::auth::Bearer;
use uuid::Uuid;

use crate::state::AppState;

/// An access token from `POST /api/auth/login`. A missing, malformed, expired or wrongly signed
/// token is answered with 401 and `WWW-Authenticate: Bearer`.
#[derive(Debug, SecurityScheme)]
#[oai(
    ty = "bearer",
    bearer_format = "JWT",
    checker = "check_token",
    rename = "bearerAuth"
)]
pub struct BearerAuth(pub Uuid);

async fn check_token(request: &Request, bearer: Bearer) -> Option<Uuid> {
    let state = request.data::<AppState>()?;
    state.tokens.verify(&bearer.token)
}
