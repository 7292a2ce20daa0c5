//! The `Authorization: Bearer <JWT>` security scheme: the caller's identity comes only from here.

use poem::Request;
use poem_openapi::SecurityScheme;
use poem_openapi::auth::Bearer;
use uuid::Uuid;

use crate::state::AppState;

/// The authenticated caller. Any token problem answers 401 with `WWW-Authenticate: Bearer`
/// (see `crate::errors`).
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
