//! The caller's account and e-mail verification: `GET /api/auth/me`, `POST /api/auth/verify`
//! (the token of a mailed link) and `POST /api/auth/verification` (mail a new link).

use chrono::{DateTime, Utc};
use poem::http::StatusCode;
use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use uuid::Uuid;

use super::ApiTags;
use crate::auth::BearerAuth;
use crate::http::errors::{ApiError, InternalError};
use crate::http::json::{JsonBody, StringFields};
use crate::http::problem::Problem;
use crate::state::AppState;
use crate::verification::{self, Resend, SendError, Verified};

/// What an account may do: play and vote, or also sit at the jury's desk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum, sqlx::Type)]
#[oai(rename_all = "lowercase")]
#[sqlx(type_name = "text", rename_all = "lowercase")]
pub enum AccountRole {
    /// Every account made by signup.
    Player,
    /// Granted by an operator's command (`cargo xtask staff add`); opens `/api/staff`.
    Staff,
}

/// A signed-up person as they see themselves.
#[derive(Debug, Object, sqlx::FromRow)]
pub struct Account {
    pub id: Uuid,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub city: String,
    pub country: String,
    /// Whether the address was verified through a mailed link. While it is not (and
    /// verification is on), the account's votes are refused (`email_not_verified`).
    pub email_verified: bool,
    pub created_at: DateTime<Utc>,
    /// `staff` for the federation's staff (the token they get at login carries it too).
    pub role: AccountRole,
}

#[derive(Debug, ApiResponse)]
pub enum MeResponse {
    #[oai(status = 200)]
    Ok(Json<Account>),
}

#[derive(Object)]
pub struct VerifyRequest {
    /// The `token` parameter of the link in the verification mail.
    #[oai(validator(max_length = 1000))]
    pub token: String,
}

/// A token is as good as a password until it is used: it never reaches a log line.
impl std::fmt::Debug for VerifyRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyRequest")
            .field("token", &"[redacted]")
            .finish()
    }
}

impl StringFields for VerifyRequest {
    const FIELDS: &'static [&'static str] = &["token"];
}

#[derive(Debug, Object)]
pub struct EmailVerified {
    /// "Correo electrónico verificado."
    pub message: String,
    /// Always true.
    pub email_verified: bool,
}

#[derive(Debug, ApiResponse)]
pub enum VerifyResponse {
    /// The link's account is verified (now, or already before); the link is used up.
    #[oai(status = 200)]
    Ok(Json<EmailVerified>),
    /// The token is unknown, malformed or already used (`invalid_verification_link`), or it
    /// expired unused (`verification_link_expired`); the body is not a JSON object with the
    /// string `token` (`invalid_body`, or `validation_error` with `field`).
    #[oai(status = 400, content_type = "application/problem+json")]
    BadRequest(Json<Problem>),
}

#[derive(Debug, Object)]
pub struct VerificationSent {
    /// "Te enviamos un nuevo enlace de verificación. Revisa tu correo electrónico."
    pub message: String,
}

#[derive(Debug, ApiResponse)]
pub enum ResendResponse {
    /// A new link is on its way to the account's address; earlier links still work until they
    /// expire.
    #[oai(status = 202)]
    Accepted(Json<VerificationSent>),
    /// The address is already verified (`already_verified`), or this server does not ask for
    /// verification (`verification_not_required`, `EMAIL_VERIFICATION` off).
    #[oai(status = 409, content_type = "application/problem+json")]
    Conflict(Json<Problem>),
    /// A link went to this account less than `EMAIL_VERIFICATION_RESEND_SECONDS` ago (default
    /// 60), or `EMAIL_VERIFICATION_MAX_PER_DAY` (default 5) went in the last 24 hours, the
    /// signup's included: `too_many_verification_emails`.
    #[oai(status = 429, content_type = "application/problem+json")]
    TooMany(
        Json<Problem>,
        /// Seconds to wait before asking again.
        #[oai(header = "Retry-After")]
        u64,
    ),
    /// The mail service failed (`mail_unavailable`); the attempt does not count against the
    /// limits.
    #[oai(status = 503, content_type = "application/problem+json")]
    MailUnavailable(
        Json<Problem>,
        /// Seconds to wait before trying again.
        #[oai(header = "Retry-After")]
        u64,
    ),
}

/// How long a person told the mail service failed waits.
const MAIL_RETRY_AFTER_SECONDS: u64 = 60;

fn verify_refused(code: &str, detail: &str) -> VerifyResponse {
    VerifyResponse::BadRequest(Problem::bad_request(code, detail).json())
}

fn conflict(code: &str, detail: &str) -> ResendResponse {
    ResendResponse::Conflict(Problem::new(StatusCode::CONFLICT, code, detail).json())
}

impl From<SendError> for ApiError {
    fn from(error: SendError) -> Self {
        Self::internal(format_args!("verification mail: {error}"))
    }
}

pub struct AccountApi;

#[OpenApi(tag = "ApiTags::Auth", prefix_path = "/api/auth")]
impl AccountApi {
    /// The caller's account, with whether its e-mail address is verified.
    #[oai(path = "/me", method = "get", operation_id = "me")]
    async fn me(&self, auth: BearerAuth, state: Data<&AppState>) -> Result<MeResponse, ApiError> {
        let account: Option<Account> = sqlx::query_as(
            "SELECT id, first_name, last_name, email, city, country,
                    email_verified_at IS NOT NULL AS email_verified, created_at, role
             FROM users WHERE id = $1",
        )
        .bind(auth.0)
        .fetch_optional(&state.pool)
        .await?;
        // A valid token of an account that is gone proves nothing any more.
        let account = account.ok_or_else(ApiError::unauthorized)?;
        Ok(MeResponse::Ok(Json(account)))
    }

    /// Verify the caller's e-mail address with the token of a mailed link (no bearer token:
    /// the link is the proof). Each link works once.
    #[oai(path = "/verify", method = "post", operation_id = "verify_email")]
    async fn verify(
        &self,
        state: Data<&AppState>,
        body: JsonBody<VerifyRequest>,
    ) -> Result<VerifyResponse, InternalError> {
        match verification::verify(&state.pool, &body.0.token).await? {
            Verified::Account(user_id) => {
                tracing::info!(user_id = %user_id, "e-mail address verified");
                Ok(VerifyResponse::Ok(Json(EmailVerified {
                    message: "Correo electrónico verificado.".to_owned(),
                    email_verified: true,
                })))
            }
            Verified::Expired => Ok(verify_refused(
                "verification_link_expired",
                "El enlace de verificación expiró. Pide uno nuevo desde tu cuenta.",
            )),
            Verified::Invalid => Ok(verify_refused(
                "invalid_verification_link",
                "El enlace de verificación no es válido o ya fue usado. Pide uno nuevo desde tu \
                 cuenta.",
            )),
        }
    }

    /// Mail a new verification link to the caller's address.
    #[oai(
        path = "/verification",
        method = "post",
        operation_id = "resend_verification"
    )]
    async fn resend(
        &self,
        auth: BearerAuth,
        state: Data<&AppState>,
    ) -> Result<ResendResponse, ApiError> {
        let Some(verification) = &state.verification else {
            return Ok(conflict(
                "verification_not_required",
                "Este servidor no pide verificar el correo electrónico.",
            ));
        };
        Ok(match verification.resend(&state.pool, auth.0).await? {
            Resend::Sent => ResendResponse::Accepted(Json(VerificationSent {
                message: "Te enviamos un nuevo enlace de verificación. Revisa tu correo \
                          electrónico."
                    .to_owned(),
            })),
            Resend::AlreadyVerified => conflict(
                "already_verified",
                "Tu correo electrónico ya está verificado.",
            ),
            Resend::TooSoon(wait) => ResendResponse::TooMany(
                Problem::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too_many_verification_emails",
                    "Ya te enviamos un enlace hace poco. Revisa tu correo electrónico o pide \
                     otro más tarde.",
                )
                .json(),
                u64::try_from(wait.as_millis().div_ceil(1000))
                    .unwrap_or(u64::MAX)
                    .max(1),
            ),
            Resend::MailFailed => ResendResponse::MailUnavailable(
                Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "mail_unavailable",
                    "No pudimos enviar el correo en este momento. Inténtalo de nuevo en unos \
                     minutos.",
                )
                .json(),
                MAIL_RETRY_AFTER_SECONDS,
            ),
            Resend::NoAccount => return Err(ApiError::unauthorized()),
        })
    }
}
