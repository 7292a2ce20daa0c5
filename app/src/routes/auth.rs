//! `POST /api/auth/signup` and `POST /api/auth/login`.

use poem::Request;
use poem::http::StatusCode;
use poem::web::Data;
use poem_openapi::param::{Header, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use uuid::Uuid;

use super::ApiTags;
use crate::auth::password::HashError;
use crate::auth::throttle::LoginAdmission;
use crate::domain::{Email, Name, Password};
use crate::http::client::client_network;
use crate::http::errors::InternalError;
use crate::http::fields::{EmailText, NameText, PasswordText};
use crate::http::json::{JsonBody, StringFields};
use crate::http::problem::{FieldError, Problem};
use crate::integrity::proof::ProofChallenge;
use crate::integrity::{Admission, Purpose};
use crate::state::AppState;

#[derive(Object)]
pub struct SignupRequest {
    pub first_name: NameText,
    pub last_name: NameText,
    pub email: EmailText,
    pub password1: PasswordText,
    /// The same as `password1`.
    pub password2: PasswordText,
    pub city: NameText,
    pub country: NameText,
}

/// Passwords never reach a log line, whoever formats the body.
impl std::fmt::Debug for SignupRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignupRequest")
            .field("first_name", &self.first_name)
            .field("last_name", &self.last_name)
            .field("email", &self.email)
            .field("password1", &REDACTED)
            .field("password2", &REDACTED)
            .field("city", &self.city)
            .field("country", &self.country)
            .finish()
    }
}

/// What a password's `Debug` shows.
const REDACTED: &str = "[redacted]";

impl StringFields for SignupRequest {
    const FIELDS: &'static [&'static str] = &[
        "first_name",
        "last_name",
        "email",
        "password1",
        "password2",
        "city",
        "country",
    ];
}

#[derive(Debug, Object)]
pub struct SignupCreated {
    /// "Usuario creado exitosamente."
    pub message: String,
    pub id: Uuid,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub city: String,
    pub country: String,
}

#[derive(Debug, ApiResponse)]
pub enum SignupResponse {
    /// The account exists; log in to get a token.
    #[oai(status = 201)]
    Created(Json<SignupCreated>),
    /// A field is invalid (`validation_error`, with `field`), the passwords differ
    /// (`password_mismatch`), the email is taken (`email_taken`) or the body is not a JSON object
    /// of strings (`invalid_body`).
    #[oai(status = 400, content_type = "application/problem+json")]
    BadRequest(Json<Problem>),
    /// Too many signups from this client's network (an IPv6 /64, an IPv4 address, or the IPv4
    /// /24 around it): `too_many_signups`, with a proof-of-work `challenge` whose solution in the
    /// `Altcha` header lets the signup through now. Every attempt counts, a taken email's too,
    /// before the email is looked up.
    #[oai(status = 429, content_type = "application/problem+json")]
    TooManyAttempts(
        Json<Problem>,
        /// Seconds to wait before trying again.
        #[oai(header = "Retry-After")]
        u64,
    ),
    /// Every password hashing slot is taken: `busy`; try again after `Retry-After` seconds.
    #[oai(status = 503, content_type = "application/problem+json")]
    Busy(
        Json<Problem>,
        /// Seconds to wait before trying again.
        #[oai(header = "Retry-After")]
        u64,
    ),
}

/// What a proof-of-work challenge is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum ChallengePurpose {
    Signup,
    Login,
    Vote,
}

#[derive(Debug, ApiResponse)]
pub enum ChallengeResponse {
    /// The challenge, in the shape the ALTCHA widget's `challengejson` takes.
    #[oai(status = 200)]
    Ok(Json<ProofChallenge>),
    /// `purpose` is missing or not one of the listed values (`validation_error`); answered
    /// before the handler runs.
    #[oai(status = 400, content_type = "application/problem+json")]
    BadRequest(Json<Problem>),
}

/// What a login checks the password against.
#[derive(sqlx::FromRow)]
struct Credentials {
    id: Uuid,
    password_hash: String,
    staff: bool,
}

#[derive(Object)]
pub struct LoginRequest {
    #[oai(validator(max_length = 1000))]
    pub email: String,
    #[oai(validator(max_length = 1000))]
    pub password: String,
}

impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest")
            .field("email", &self.email)
            .field("password", &REDACTED)
            .finish()
    }
}

impl StringFields for LoginRequest {
    const FIELDS: &'static [&'static str] = &["email", "password"];
}

#[derive(Debug, Object)]
pub struct LoginToken {
    pub access_token: String,
    /// Always "Bearer".
    pub token_type: String,
    /// Seconds until the token expires.
    pub expires_in: u64,
}

#[derive(Debug, ApiResponse)]
pub enum LoginResponse {
    #[oai(status = 200)]
    Ok(Json<LoginToken>),
    /// The body is not a JSON object with the string fields `email` and `password`
    /// (`invalid_body`, or `validation_error` with `field`); `JsonBody` answers it before the
    /// handler runs.
    #[oai(status = 400, content_type = "application/problem+json")]
    BadRequest(Json<Problem>),
    /// Wrong email or password (the same answer for both): `invalid_credentials`.
    #[oai(status = 401, content_type = "application/problem+json")]
    Unauthorized(Json<Problem>),
    /// Too many failed attempts for this email or from this client's network (an IPv6 /64, an
    /// IPv4 address): `too_many_attempts`, with a proof-of-work `challenge` whose solution in the
    /// `Altcha` header lets the login through now. Attempts still being checked never cause it: a
    /// login waits for them instead.
    #[oai(status = 429, content_type = "application/problem+json")]
    TooManyAttempts(
        Json<Problem>,
        /// Seconds to wait before trying again.
        #[oai(header = "Retry-After")]
        u64,
    ),
    /// Every password hashing slot is taken, or this email's or client's attempts in flight
    /// did not finish in time: `busy`; try again after `Retry-After` seconds.
    #[oai(status = 503, content_type = "application/problem+json")]
    Busy(
        Json<Problem>,
        /// Seconds to wait before trying again.
        #[oai(header = "Retry-After")]
        u64,
    ),
}

/// The answer when the hashing queue is full.
fn busy() -> (Json<Problem>, u64) {
    (
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "El servicio está muy ocupado. Inténtalo de nuevo en unos segundos.",
        )
        .json(),
        BUSY_RETRY_AFTER_SECONDS,
    )
}

/// How long a refused hash waits: the queue drains in well under a second.
const BUSY_RETRY_AFTER_SECONDS: u64 = 1;

/// A 429 with how long to wait and, when the limit can be passed with a proof of work, the
/// challenge to solve.
pub fn too_many(
    code: &str,
    detail: &str,
    wait: std::time::Duration,
    challenge: Option<Box<ProofChallenge>>,
) -> (Json<Problem>, u64) {
    (
        Problem {
            challenge,
            ..Problem::new(StatusCode::TOO_MANY_REQUESTS, code, detail)
        }
        .json(),
        wait.as_secs().max(1),
    )
}

/// The `Altcha` header: a proof of work for a request past a limit.
pub type ProofHeader = Header<Option<String>>;

struct NewUser {
    first_name: Name,
    last_name: Name,
    email: Email,
    password: Password,
    city: Name,
    country: Name,
}

impl TryFrom<&SignupRequest> for NewUser {
    type Error = Problem;

    fn try_from(body: &SignupRequest) -> Result<Self, Problem> {
        let user = Self {
            first_name: Name::parse("first_name", "El nombre", &body.first_name.0)?,
            last_name: Name::parse("last_name", "El apellido", &body.last_name.0)?,
            email: Email::parse("email", &body.email.0)?,
            password: Password::parse("password1", &body.password1.0)?,
            city: Name::parse("city", "La ciudad", &body.city.0)?,
            country: Name::parse("country", "El país", &body.country.0)?,
        };
        if body.password1 != body.password2 {
            return Err(Problem {
                field: Some("password2".to_owned()),
                ..Problem::bad_request("password_mismatch", "Las contraseñas no coinciden.")
            });
        }
        Ok(user)
    }
}

impl From<FieldError> for SignupResponse {
    fn from(error: FieldError) -> Self {
        Self::BadRequest(Problem::from(error).json())
    }
}

fn email_taken() -> SignupResponse {
    SignupResponse::BadRequest(
        Problem {
            field: Some("email".to_owned()),
            ..Problem::bad_request(
                "email_taken",
                "Ya existe un usuario registrado con este correo electrónico.",
            )
        }
        .json(),
    )
}

pub struct AuthApi;

#[OpenApi(tag = "ApiTags::Auth", prefix_path = "/api/auth")]
impl AuthApi {
    /// Create a player account.
    #[oai(path = "/signup", method = "post", operation_id = "signup")]
    async fn signup(
        &self,
        request: &Request,
        state: Data<&AppState>,
        body: JsonBody<SignupRequest>,
        /// A solved proof-of-work challenge, when a 429 asked for one.
        #[oai(name = "Altcha")]
        altcha: ProofHeader,
    ) -> Result<SignupResponse, InternalError> {
        let user = match NewUser::try_from(&body.0) {
            Ok(user) => user,
            Err(problem) => return Ok(SignupResponse::BadRequest(problem.json())),
        };
        // Counted before the email is looked up: a script cannot test addresses for accounts
        // faster than it may sign up.
        let client = client_network(request, &state);
        if let Admission::Refused { wait, challenge } = state
            .integrity
            .admit_signup(&client, altcha.0.as_deref())
            .await?
        {
            tracing::warn!(client = %client, "signup throttled");
            let (problem, wait) = too_many(
                "too_many_signups",
                "Demasiados registros desde esta conexión. Completa la verificación para \
                 continuar o inténtalo de nuevo más tarde.",
                wait,
                challenge,
            );
            return Ok(SignupResponse::TooManyAttempts(problem, wait));
        }
        let taken: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE email = $1)")
                .bind(user.email.as_str())
                .fetch_one(&state.pool)
                .await?;
        if taken {
            return Ok(email_taken());
        }
        let hash = match state.passwords.hash(user.password.into_inner()).await {
            Ok(hash) => hash,
            Err(HashError::Busy) => {
                state.integrity.give_back_signup(&client).await?;
                let (problem, wait) = busy();
                return Ok(SignupResponse::Busy(problem, wait));
            }
            Err(error) => return Err(error.into()),
        };
        let id = Uuid::now_v7();
        // The unique constraint settles races between two signups with one email.
        let inserted = sqlx::query(
            "INSERT INTO users (id, email, password_hash, first_name, last_name, city, country,
                                signup_network)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (email) DO NOTHING",
        )
        .bind(id)
        .bind(user.email.as_str())
        .bind(&hash)
        .bind(user.first_name.as_str())
        .bind(user.last_name.as_str())
        .bind(user.city.as_str())
        .bind(user.country.as_str())
        .bind(&client.key)
        .execute(&state.pool)
        .await?;
        if inserted.rows_affected() == 0 {
            return Ok(email_taken());
        }
        tracing::info!(user_id = %id, "user signed up");
        if let Some(verification) = &state.verification {
            // Off the answer's path: a slow or failing mail service never delays a signup.
            verification.send_after_signup(
                state.pool.clone(),
                crate::verification::Recipient {
                    user_id: id,
                    email: user.email.as_str().to_owned(),
                    first_name: user.first_name.as_str().to_owned(),
                },
            );
        }
        Ok(SignupResponse::Created(Json(SignupCreated {
            message: "Usuario creado exitosamente.".to_owned(),
            id,
            first_name: user.first_name.as_str().to_owned(),
            last_name: user.last_name.as_str().to_owned(),
            email: user.email.as_str().to_owned(),
            city: user.city.as_str().to_owned(),
            country: user.country.as_str().to_owned(),
        })))
    }

    /// A proof-of-work challenge (ALTCHA) as hard as the caller's network now needs for
    /// `purpose`, to solve ahead of a request (a 429 past a limit carries one too). A network
    /// below its limits gets the easiest; its requests need no proof at all.
    #[oai(path = "/challenge", method = "get", operation_id = "get_challenge")]
    async fn challenge(
        &self,
        request: &Request,
        state: Data<&AppState>,
        /// What the proof is for.
        purpose: Query<ChallengePurpose>,
    ) -> Result<ChallengeResponse, InternalError> {
        let network = client_network(request, &state);
        let challenge = match purpose.0 {
            ChallengePurpose::Signup => {
                state
                    .integrity
                    .challenge_for(&network, Purpose::Signup)
                    .await?
            }
            ChallengePurpose::Vote => {
                state
                    .integrity
                    .challenge_for(&network, Purpose::Vote)
                    .await?
            }
            ChallengePurpose::Login => {
                let difficulty = state.throttle.client_difficulty(&network.key).await?;
                state.integrity.proofs.challenge(difficulty)
            }
        };
        match challenge {
            Some(challenge) => Ok(ChallengeResponse::Ok(Json(*challenge))),
            None => Err(InternalError::internal(
                "no proof-of-work challenge could be made",
            )),
        }
    }

    /// Exchange email and password for an access token.
    #[oai(path = "/login", method = "post", operation_id = "login")]
    async fn login(
        &self,
        request: &Request,
        state: Data<&AppState>,
        body: JsonBody<LoginRequest>,
        /// A solved proof-of-work challenge, when a 429 asked for one.
        #[oai(name = "Altcha")]
        altcha: ProofHeader,
    ) -> Result<LoginResponse, InternalError> {
        let email = body.0.email.trim().to_lowercase();
        let client = client_network(request, &state).key;
        // Admitted before the hash: parallel wrong guesses cannot all slip past the limit.
        let admission = state
            .throttle
            .admit_login(&email, &client, altcha.0.as_deref())
            .await?;
        let attempt = match admission {
            LoginAdmission::Admitted(attempt) => attempt,
            LoginAdmission::Throttled { wait, difficulty } => {
                tracing::warn!(client = %client, "login throttled");
                let (problem, wait) = too_many(
                    "too_many_attempts",
                    "Demasiados intentos fallidos. Completa la verificación para continuar o \
                     inténtalo de nuevo más tarde.",
                    wait,
                    state.integrity.proofs.challenge(difficulty),
                );
                return Ok(LoginResponse::TooManyAttempts(problem, wait));
            }
            LoginAdmission::Busy => {
                let (problem, wait) = busy();
                return Ok(LoginResponse::Busy(problem, wait));
            }
        };
        let user: Option<Credentials> = sqlx::query_as(
            "SELECT id, password_hash, role = 'staff' AS staff FROM users WHERE email = $1",
        )
        .bind(&email)
        .fetch_optional(&state.pool)
        .await?;
        let (user_id, hash, staff) = match user {
            Some(user) => (Some(user.id), Some(user.password_hash), user.staff),
            None => (None, None, false),
        };
        let valid = match state.passwords.verify(body.0.password.clone(), hash).await {
            Ok(valid) => valid,
            Err(HashError::Busy) => {
                attempt.abandoned().await?;
                let (problem, wait) = busy();
                return Ok(LoginResponse::Busy(problem, wait));
            }
            Err(error) => return Err(error.into()),
        };
        let Some(user_id) = user_id.filter(|_| valid) else {
            attempt.failed().await?;
            return Ok(LoginResponse::Unauthorized(
                Problem::new(
                    StatusCode::UNAUTHORIZED,
                    "invalid_credentials",
                    "Correo electrónico o contraseña incorrectos.",
                )
                .json(),
            ));
        };
        attempt.succeeded().await?;
        let token = state
            .tokens
            .issue(user_id, staff)
            .map_err(|error| InternalError::internal(format_args!("token: {error}")))?;
        Ok(LoginResponse::Ok(Json(LoginToken {
            access_token: token,
            token_type: "Bearer".to_owned(),
            expires_in: state.tokens.lifetime().as_secs(),
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_bodies_never_show_their_passwords() {
        let signup = SignupRequest {
            first_name: "Ana".into(),
            last_name: "Pérez".into(),
            email: "ana@example.com".into(),
            password1: "secreto-uno-123".into(),
            password2: "secreto-dos-456".into(),
            city: "Cali".into(),
            country: "Colombia".into(),
        };
        let login = LoginRequest {
            email: "ana@example.com".into(),
            password: "secreto-tres-789".into(),
        };
        let shown = format!("{signup:?} {login:?} {signup:#?}");
        assert!(shown.contains("ana@example.com") && shown.contains(REDACTED));
        for secret in ["secreto-uno", "secreto-dos", "secreto-tres"] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }
}
