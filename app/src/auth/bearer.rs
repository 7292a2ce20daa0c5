//! The `Authorization: Bearer <JWT>` security schemes: the caller's identity comes only from here.

use poem::Request;
use poem_openapi::SecurityScheme;
use poem_openapi::auth::Bearer;
use uuid::Uuid;

use crate::auth::token::Caller;
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

/// The access token of a staff account (`POST /api/auth/login` gives staff a token that carries
/// the `staff` role). A missing or invalid token is answered with 401 as for `bearerAuth`; a
/// valid token of an account that is not staff (now: a removed role takes effect at once) with
/// 403 `staff_only`.
#[derive(Debug, SecurityScheme)]
#[oai(
    ty = "bearer",
    bearer_format = "JWT",
    checker = "check_staff_token",
    rename = "staffBearerAuth"
)]
pub struct StaffAuth(pub Caller);

async fn check_staff_token(request: &Request, bearer: Bearer) -> Option<Caller> {
    let state = request.data::<AppState>()?;
    state.tokens.caller(&bearer.token)
}
