//! Voting rounds (`platform::rounds`): staff create, close early and cancel them and export a
//! closed round's finalists (`/api/staff/rounds…`); anyone reads the rounds and a closed round's
//! frozen standings (`/api/public/rounds…`).

use chrono::{DateTime, Utc};
use platform::audit::Actor;
use platform::rounds::{self, Changed, Created, NewRound, Round, RoundState, Standing};
use poem::http::StatusCode;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Json, PlainText};
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use uuid::Uuid;

use super::ApiTags;
use super::public::city_key;
use super::staff::{DecisionRequest, staff_member, staff_only};
use crate::auth::StaffAuth;
use crate::domain::{Name, Note};
use crate::http::errors::{ApiError, InternalError};
use crate::http::fields::NameText;
use crate::http::json::{JsonBody, StringFields};
use crate::http::problem::Problem;
use crate::results::{ResultsError, RoundsKey, Standings, StandingsKey};
use crate::state::AppState;

/// The most cities one round may name.
const MAX_CITIES: usize = 50;
const DEFAULT_PAGE_SIZE: u32 = 20;

/// A round's state when it was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum RoundStatus {
    /// Not open yet.
    Scheduled,
    /// Votes for its cities count until `closes_at`.
    Open,
    /// Closed; its standings are being frozen (within seconds).
    Closing,
    /// Closed, its standings and finalists final.
    Closed,
    /// Withdrawn before it opened (staff only see these).
    Cancelled,
}

impl From<RoundState> for RoundStatus {
    fn from(state: RoundState) -> Self {
        match state {
            RoundState::Scheduled => Self::Scheduled,
            RoundState::Open => Self::Open,
            RoundState::Closing => Self::Closing,
            RoundState::Closed => Self::Closed,
            RoundState::Cancelled => Self::Cancelled,
        }
    }
}

/// A voting round.
#[derive(Debug, Clone, Object)]
#[oai(rename = "Round")]
pub struct RoundView {
    pub round_id: Uuid,
    pub name: String,
    pub opens_at: DateTime<Utc>,
    /// When voting closes (earlier than planned if staff closed it early).
    pub closes_at: DateTime<Utc>,
    /// The cities it covers, as staff wrote them; null: every city.
    #[oai(nullable)]
    pub cities: Option<Vec<String>>,
    pub finalists_per_city: i32,
    pub status: RoundStatus,
    /// When its standings were frozen (null until then).
    #[oai(nullable)]
    pub frozen_at: Option<DateTime<Utc>>,
}

impl From<&Round> for RoundView {
    fn from(round: &Round) -> Self {
        Self {
            round_id: round.id,
            name: round.name.clone(),
            opens_at: round.opens_at,
            closes_at: round.closes_at,
            cities: round.cities.clone(),
            finalists_per_city: round.finalists_per_city,
            status: round.state.into(),
            frozen_at: round.frozen_at,
        }
    }
}

/// One player in a closed round's frozen standings.
#[derive(Debug, Clone, Object)]
pub struct RoundStanding {
    /// 1 + the players of the city with strictly more votes: ties share it.
    pub position: i32,
    /// Another player of the city shares this position.
    pub tied: bool,
    /// Within the city's top `finalists_per_city` positions, with at least one vote (a tie at
    /// the cut makes every tied player a finalist).
    pub finalist: bool,
    pub player_id: Uuid,
    pub username: String,
    pub city: String,
    pub country: String,
    pub votes: i64,
}

impl From<&Standing> for RoundStanding {
    fn from(standing: &Standing) -> Self {
        Self {
            position: standing.position,
            tied: standing.tied,
            finalist: standing.finalist,
            player_id: standing.player_id,
            username: standing.username.clone(),
            city: standing.city.clone(),
            country: standing.country.clone(),
            votes: standing.votes,
        }
    }
}

/// A finalist as staff export them.
#[derive(Debug, Clone, Object)]
pub struct RoundFinalist {
    #[oai(flatten)]
    pub standing: RoundStanding,
    /// The player's contact e-mail now; null if the account was deleted since the round closed.
    #[oai(nullable)]
    pub email: Option<String>,
}

/// A round to create.
#[derive(Debug, Object)]
pub struct NewRoundRequest {
    pub name: NameText,
    pub opens_at: DateTime<Utc>,
    /// After `opens_at`, and in the future.
    pub closes_at: DateTime<Utc>,
    /// The cities it covers (1–50, distinct ignoring case); absent or null: every city.
    #[oai(nullable, skip_serializing_if_is_none)]
    pub cities: Option<Vec<NameText>>,
    /// How many players of each city become finalists.
    #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
    pub finalists_per_city: u32,
}

impl StringFields for NewRoundRequest {
    const FIELDS: &'static [&'static str] = &["name", "opens_at", "closes_at"];
}

#[derive(Debug, Object)]
pub struct RoundChanged {
    /// "Ronda cerrada." / "Ronda cancelada."
    pub message: String,
    pub round: RoundView,
    /// The audit log entry that records it.
    pub audit_id: i64,
}

#[derive(Debug, ApiResponse)]
pub enum CreateRoundResponse {
    /// Created, and recorded in the audit log.
    #[oai(status = 201)]
    Created(Json<RoundView>),
    /// An invalid field (`validation_error`, `field` names it: `closes_at` not after `opens_at`
    /// or not in the future, `cities` empty, too many or repeated), or `invalid_body`.
    #[oai(status = 400, content_type = "application/problem+json")]
    BadRequest(Json<Problem>),
    /// The account is not staff (`staff_only`).
    #[oai(status = 403, content_type = "application/problem+json")]
    Forbidden(Json<Problem>),
    /// Its window overlaps a round that covers one of its cities (`round_overlaps`).
    #[oai(status = 409, content_type = "application/problem+json")]
    Conflict(Json<Problem>),
}

#[derive(Debug, ApiResponse)]
pub enum StaffRoundsResponse {
    /// The latest opening first, cancelled rounds included.
    #[oai(status = 200)]
    Ok(
        Json<Vec<RoundView>>,
        /// How many rounds there are, across all pages.
        #[oai(header = "X-Total-Count")]
        i64,
    ),
    /// An invalid parameter (`validation_error`, `field` names it).
    #[oai(status = 400, content_type = "application/problem+json")]
    BadRequest(Json<Problem>),
    /// The account is not staff (`staff_only`).
    #[oai(status = 403, content_type = "application/problem+json")]
    Forbidden(Json<Problem>),
}

#[derive(Debug, ApiResponse)]
pub enum RoundChangeResponse {
    /// Done, and recorded in the audit log.
    #[oai(status = 200)]
    Ok(Json<RoundChanged>),
    /// `reason` missing or not 1–500 characters (`validation_error`), or `invalid_body`.
    #[oai(status = 400, content_type = "application/problem+json")]
    BadRequest(Json<Problem>),
    /// The account is not staff (`staff_only`).
    #[oai(status = 403, content_type = "application/problem+json")]
    Forbidden(Json<Problem>),
    /// No such round, or a malformed id (`round_not_found`).
    #[oai(status = 404, content_type = "application/problem+json")]
    NotFound(Json<Problem>),
    /// Closing a round that is not open (`round_not_open`), cancelling one that has opened
    /// (`round_already_opened`).
    #[oai(status = 409, content_type = "application/problem+json")]
    Conflict(Json<Problem>),
}

#[derive(Debug, ApiResponse)]
pub enum FinalistsResponse {
    /// City by city (alphabetically), in ranking order.
    #[oai(status = 200)]
    Ok(Json<Vec<RoundFinalist>>),
    /// The account is not staff (`staff_only`).
    #[oai(status = 403, content_type = "application/problem+json")]
    Forbidden(Json<Problem>),
    /// No such round, or a malformed id (`round_not_found`).
    #[oai(status = 404, content_type = "application/problem+json")]
    NotFound(Json<Problem>),
    /// The round has not closed, or its standings are still being frozen (`round_not_final`).
    #[oai(status = 409, content_type = "application/problem+json")]
    Conflict(Json<Problem>),
}

#[derive(Debug, ApiResponse)]
pub enum FinalistsCsvResponse {
    /// One line per finalist, city by city in ranking order, with a header line: `ciudad`,
    /// `posicion`, `empate` (`si`/`no`), `jugador`, `votos`, `correo`, `pais`, `id_jugador`.
    /// A cell that a spreadsheet would read as a formula starts with `'`.
    #[oai(status = 200, content_type = "text/csv; charset=utf-8")]
    Ok(
        PlainText<String>,
        /// `attachment; filename="finalistas-<round id>.csv"`.
        #[oai(header = "Content-Disposition")]
        String,
    ),
    /// The account is not staff (`staff_only`).
    #[oai(status = 403, content_type = "application/problem+json")]
    Forbidden(Json<Problem>),
    /// No such round, or a malformed id (`round_not_found`).
    #[oai(status = 404, content_type = "application/problem+json")]
    NotFound(Json<Problem>),
    /// The round has not closed, or its standings are still being frozen (`round_not_final`).
    #[oai(status = 409, content_type = "application/problem+json")]
    Conflict(Json<Problem>),
}

#[derive(Debug, ApiResponse)]
pub enum PublicRoundsResponse {
    /// Rounds that were not cancelled, the latest opening first.
    #[oai(status = 200)]
    Ok(
        Json<Vec<RoundView>>,
        /// How many such rounds there are, across all pages.
        #[oai(header = "X-Total-Count")]
        i64,
    ),
    /// An invalid parameter (`validation_error`, `field` names it).
    #[oai(status = 400, content_type = "application/problem+json")]
    BadRequest(Json<Problem>),
    /// The rounds could not be read in time (`rounds_unavailable`); try again after
    /// `Retry-After`.
    #[oai(status = 503, content_type = "application/problem+json")]
    Unavailable(
        Json<Problem>,
        /// Seconds to wait before trying again.
        #[oai(header = "Retry-After")]
        u32,
    ),
}

#[derive(Debug, ApiResponse)]
pub enum StandingsResponse {
    /// City by city (alphabetically by name), in ranking order within each.
    #[oai(status = 200)]
    Ok(
        Json<Vec<RoundStanding>>,
        /// How many rows the filter holds, across all pages.
        #[oai(header = "X-Total-Count")]
        i64,
    ),
    /// An invalid parameter (`validation_error`, `field` names it).
    #[oai(status = 400, content_type = "application/problem+json")]
    BadRequest(Json<Problem>),
    /// No such round (or a cancelled one), or a malformed id (`round_not_found`).
    #[oai(status = 404, content_type = "application/problem+json")]
    NotFound(Json<Problem>),
    /// The round has not closed, or its standings are still being frozen (`round_not_final`).
    #[oai(status = 409, content_type = "application/problem+json")]
    Conflict(Json<Problem>),
    /// The standings could not be read in time (`rounds_unavailable`); try again after
    /// `Retry-After`.
    #[oai(status = 503, content_type = "application/problem+json")]
    Unavailable(
        Json<Problem>,
        /// Seconds to wait before trying again.
        #[oai(header = "Retry-After")]
        u32,
    ),
}

fn round_not_found() -> Json<Problem> {
    Problem::new(
        StatusCode::NOT_FOUND,
        "round_not_found",
        "Ronda no encontrada.",
    )
    .json()
}

fn round_not_final() -> Json<Problem> {
    Problem::new(
        StatusCode::CONFLICT,
        "round_not_final",
        "Los resultados de esta ronda aún no son definitivos.",
    )
    .json()
}

/// 503 `rounds_unavailable`, or the database's error.
fn unavailable(error: ResultsError) -> Result<(Json<Problem>, u32), InternalError> {
    match error {
        ResultsError::Timeout => {
            tracing::warn!("rounds: a read timed out");
            let problem = Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "rounds_unavailable",
                "Las rondas no están disponibles en este momento. Inténtalo de nuevo en unos \
                 segundos.",
            );
            Ok((problem.json(), 1))
        }
        ResultsError::Database(error) => Err(error.into()),
    }
}

/// Checks a new round's fields; the first fault as a 400 naming its field.
fn new_round(request: NewRoundRequest) -> Result<NewRound, Problem> {
    let name = Name::parse("name", "El nombre", &request.name.0)?;
    if request.closes_at <= request.opens_at {
        return Err(Problem::invalid_field(
            "closes_at",
            "El cierre debe ser posterior a la apertura.",
        ));
    }
    let cities = match request.cities {
        None => None,
        Some(cities) => {
            if cities.is_empty() || cities.len() > MAX_CITIES {
                return Err(Problem::invalid_field(
                    "cities",
                    format!("Indica entre 1 y {MAX_CITIES} ciudades, o ninguna (null) para todas."),
                ));
            }
            let mut names: Vec<String> = Vec::with_capacity(cities.len());
            for city in &cities {
                let city = Name::parse("cities", "Cada ciudad", &city.0)?;
                let key = city.as_str().to_lowercase();
                if names.iter().any(|name| name.to_lowercase() == key) {
                    return Err(Problem::invalid_field(
                        "cities",
                        format!("La ciudad «{}» está repetida.", city.as_str()),
                    ));
                }
                names.push(city.as_str().to_owned());
            }
            Some(names)
        }
    };
    Ok(NewRound {
        name: name.as_str().to_owned(),
        opens_at: request.opens_at,
        closes_at: request.closes_at,
        cities,
        finalists_per_city: i32::try_from(request.finalists_per_city).unwrap_or(i32::MAX),
    })
}

pub struct RoundsApi;

#[OpenApi]
impl RoundsApi {
    /// Create a voting round. Once any round exists (and was not cancelled), votes count only
    /// inside an open round of the player's city; the rest are refused with `voting_closed`.
    #[oai(
        path = "/api/staff/rounds",
        method = "post",
        operation_id = "staff_create_round",
        tag = "ApiTags::Staff"
    )]
    async fn create(
        &self,
        auth: StaffAuth,
        state: Data<&AppState>,
        body: JsonBody<NewRoundRequest>,
    ) -> Result<CreateRoundResponse, ApiError> {
        let Some(staff) = staff_member(&state, &auth).await? else {
            return Ok(CreateRoundResponse::Forbidden(staff_only()));
        };
        let new = match new_round(body.0) {
            Ok(new) => new,
            Err(problem) => return Ok(CreateRoundResponse::BadRequest(problem.json())),
        };
        match rounds::create(&state.pool, &new, &staff).await? {
            Created::Created { round, entry } => {
                tracing::info!(round = %round.id, staff = %auth.0.id, audit = entry, "round created");
                Ok(CreateRoundResponse::Created(Json(RoundView::from(&round))))
            }
            Created::ClosesInPast => Ok(CreateRoundResponse::BadRequest(
                Problem::invalid_field("closes_at", "El cierre debe ser una fecha futura.").json(),
            )),
            Created::Overlaps(other) => Ok(CreateRoundResponse::Conflict(
                Problem::new(
                    StatusCode::CONFLICT,
                    "round_overlaps",
                    format!(
                        "Las fechas se solapan con la ronda «{}», que cubre alguna de las mismas \
                         ciudades.",
                        other.name
                    ),
                )
                .json(),
            )),
        }
    }

    /// Every round, cancelled ones included, the latest opening first.
    #[oai(
        path = "/api/staff/rounds",
        method = "get",
        operation_id = "staff_rounds",
        tag = "ApiTags::Staff"
    )]
    async fn staff_rounds(
        &self,
        auth: StaffAuth,
        state: Data<&AppState>,
        /// Page size, 1–100 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u32>>,
        /// Rounds to skip (default 0), at most 9,999.
        #[oai(validator(minimum(value = "0"), maximum(value = "9999")))]
        offset: Query<Option<u32>>,
    ) -> Result<StaffRoundsResponse, ApiError> {
        if staff_member(&state, &auth).await?.is_none() {
            return Ok(StaffRoundsResponse::Forbidden(staff_only()));
        }
        let (rows, total) = rounds::list(
            &state.pool,
            true,
            i64::from(limit.0.unwrap_or(DEFAULT_PAGE_SIZE)),
            i64::from(offset.0.unwrap_or(0)),
        )
        .await?;
        Ok(StaffRoundsResponse::Ok(
            Json(rows.iter().map(RoundView::from).collect()),
            total,
        ))
    }

    /// Close an open round now: later votes for its cities are refused at once, on every
    /// instance, and its standings are frozen within seconds.
    #[oai(
        path = "/api/staff/rounds/:round_id/close",
        method = "post",
        operation_id = "staff_close_round",
        tag = "ApiTags::Staff"
    )]
    async fn close(
        &self,
        auth: StaffAuth,
        state: Data<&AppState>,
        round_id: Path<String>,
        body: JsonBody<DecisionRequest>,
    ) -> Result<RoundChangeResponse, ApiError> {
        change(&state, &auth, &round_id, body.0, RoundChange::Close).await
    }

    /// Cancel a round that has not opened yet.
    #[oai(
        path = "/api/staff/rounds/:round_id/cancel",
        method = "post",
        operation_id = "staff_cancel_round",
        tag = "ApiTags::Staff"
    )]
    async fn cancel(
        &self,
        auth: StaffAuth,
        state: Data<&AppState>,
        round_id: Path<String>,
        body: JsonBody<DecisionRequest>,
    ) -> Result<RoundChangeResponse, ApiError> {
        change(&state, &auth, &round_id, body.0, RoundChange::Cancel).await
    }

    /// A closed round's finalists, with their contact e-mail.
    #[oai(
        path = "/api/staff/rounds/:round_id/finalists",
        method = "get",
        operation_id = "staff_round_finalists",
        tag = "ApiTags::Staff"
    )]
    async fn finalists(
        &self,
        auth: StaffAuth,
        state: Data<&AppState>,
        round_id: Path<String>,
    ) -> Result<FinalistsResponse, ApiError> {
        if staff_member(&state, &auth).await?.is_none() {
            return Ok(FinalistsResponse::Forbidden(staff_only()));
        }
        match final_round(&state, &round_id).await? {
            Err(RoundFault::NotFound) => Ok(FinalistsResponse::NotFound(round_not_found())),
            Err(RoundFault::NotFinal) => Ok(FinalistsResponse::Conflict(round_not_final())),
            Ok(round) => {
                let finalists = rounds::finalists(&state.pool, round.id).await?;
                Ok(FinalistsResponse::Ok(Json(
                    finalists
                        .iter()
                        .map(|finalist| RoundFinalist {
                            standing: RoundStanding::from(&finalist.standing),
                            email: finalist.email.clone(),
                        })
                        .collect(),
                )))
            }
        }
    }

    /// A closed round's finalists as CSV, for a spreadsheet.
    #[oai(
        path = "/api/staff/rounds/:round_id/finalists.csv",
        method = "get",
        operation_id = "staff_round_finalists_csv",
        tag = "ApiTags::Staff"
    )]
    async fn finalists_csv(
        &self,
        auth: StaffAuth,
        state: Data<&AppState>,
        round_id: Path<String>,
    ) -> Result<FinalistsCsvResponse, ApiError> {
        if staff_member(&state, &auth).await?.is_none() {
            return Ok(FinalistsCsvResponse::Forbidden(staff_only()));
        }
        match final_round(&state, &round_id).await? {
            Err(RoundFault::NotFound) => Ok(FinalistsCsvResponse::NotFound(round_not_found())),
            Err(RoundFault::NotFinal) => Ok(FinalistsCsvResponse::Conflict(round_not_final())),
            Ok(round) => {
                let finalists = rounds::finalists(&state.pool, round.id).await?;
                Ok(FinalistsCsvResponse::Ok(
                    PlainText(finalists_csv_text(&finalists)),
                    format!("attachment; filename=\"finalistas-{}.csv\"", round.id),
                ))
            }
        }
    }

    /// Voting rounds (cancelled ones left out), the latest opening first: what is open now and
    /// until when, and which rounds have final results.
    #[oai(
        path = "/api/public/rounds",
        method = "get",
        operation_id = "rounds",
        tag = "ApiTags::Public"
    )]
    async fn public_rounds(
        &self,
        state: Data<&AppState>,
        /// Page size, 1–100 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u32>>,
        /// Rounds to skip (default 0), at most 9,999.
        #[oai(validator(minimum(value = "0"), maximum(value = "9999")))]
        offset: Query<Option<u32>>,
    ) -> Result<PublicRoundsResponse, InternalError> {
        let key = RoundsKey {
            limit: i64::from(limit.0.unwrap_or(DEFAULT_PAGE_SIZE)),
            offset: i64::from(offset.0.unwrap_or(0)),
        };
        match state.results.rounds(key).await {
            Ok(page) => Ok(PublicRoundsResponse::Ok(
                Json(page.items.iter().map(RoundView::from).collect()),
                page.total,
            )),
            Err(error) => {
                let (problem, wait) = unavailable(error)?;
                Ok(PublicRoundsResponse::Unavailable(problem, wait))
            }
        }
    }

    /// A closed round's final standings, frozen when it closed, finalists marked.
    #[oai(
        path = "/api/public/rounds/:round_id/standings",
        method = "get",
        operation_id = "round_standings",
        tag = "ApiTags::Public"
    )]
    async fn standings(
        &self,
        state: Data<&AppState>,
        round_id: Path<String>,
        /// Only players of this city (exact, case-insensitive).
        city: Query<Option<NameText>>,
        /// Only the finalists (default false).
        finalists: Query<Option<bool>>,
        /// Page size, 1–100 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u32>>,
        /// Rows to skip (default 0), at most 9,999.
        #[oai(validator(minimum(value = "0"), maximum(value = "9999")))]
        offset: Query<Option<u32>>,
    ) -> Result<StandingsResponse, InternalError> {
        let city = match city_key(city.0.as_ref()) {
            Ok(city) => city,
            Err(problem) => return Ok(StandingsResponse::BadRequest(problem.json())),
        };
        let Ok(round) = Uuid::parse_str(&round_id) else {
            return Ok(StandingsResponse::NotFound(round_not_found()));
        };
        let key = StandingsKey {
            round,
            filter: rounds::StandingsFilter {
                city_key: city,
                finalists_only: finalists.0.unwrap_or(false),
            },
            limit: i64::from(limit.0.unwrap_or(DEFAULT_PAGE_SIZE)),
            offset: i64::from(offset.0.unwrap_or(0)),
        };
        match state.results.standings(key).await {
            Ok(standings) => match standings.as_ref() {
                Standings::NoRound => Ok(StandingsResponse::NotFound(round_not_found())),
                Standings::NotFinal(_) => Ok(StandingsResponse::Conflict(round_not_final())),
                Standings::Final { page, .. } => Ok(StandingsResponse::Ok(
                    Json(page.items.iter().map(RoundStanding::from).collect()),
                    page.total,
                )),
            },
            Err(error) => {
                let (problem, wait) = unavailable(error)?;
                Ok(StandingsResponse::Unavailable(problem, wait))
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum RoundChange {
    Close,
    Cancel,
}

async fn change(
    state: &AppState,
    auth: &StaffAuth,
    round_id: &str,
    body: DecisionRequest,
    change: RoundChange,
) -> Result<RoundChangeResponse, ApiError> {
    let Some(staff): Option<Actor> = staff_member(state, auth).await? else {
        return Ok(RoundChangeResponse::Forbidden(staff_only()));
    };
    let reason = match Note::parse("reason", "El motivo", &body.reason.0) {
        Ok(reason) => reason,
        Err(error) => return Ok(RoundChangeResponse::BadRequest(Problem::from(error).json())),
    };
    let Ok(round_id) = Uuid::parse_str(round_id) else {
        return Ok(RoundChangeResponse::NotFound(round_not_found()));
    };
    let changed = match change {
        RoundChange::Close => {
            rounds::close_early(&state.pool, round_id, &staff, reason.as_str()).await?
        }
        RoundChange::Cancel => {
            rounds::cancel(&state.pool, round_id, &staff, reason.as_str()).await?
        }
    };
    let conflict = |code: &str, detail: &str| {
        Ok(RoundChangeResponse::Conflict(
            Problem::new(StatusCode::CONFLICT, code, detail).json(),
        ))
    };
    match (changed, change) {
        (Changed::NotFound, _) => Ok(RoundChangeResponse::NotFound(round_not_found())),
        (Changed::NotApplicable(_), RoundChange::Close) => {
            conflict("round_not_open", "La ronda no está abierta.")
        }
        (Changed::NotApplicable(_), RoundChange::Cancel) => conflict(
            "round_already_opened",
            "Solo se puede cancelar una ronda que aún no ha abierto; ciérrala en su lugar.",
        ),
        (Changed::Done { round, entry }, change) => {
            tracing::info!(round = %round_id, ?change, staff = %auth.0.id, audit = entry, "round changed");
            Ok(RoundChangeResponse::Ok(Json(RoundChanged {
                message: match change {
                    RoundChange::Close => "Ronda cerrada.",
                    RoundChange::Cancel => "Ronda cancelada.",
                }
                .to_owned(),
                round: RoundView::from(&round),
                audit_id: entry,
            })))
        }
    }
}

enum RoundFault {
    NotFound,
    NotFinal,
}

/// The round `round_id` names, once its standings are frozen.
async fn final_round(
    state: &AppState,
    round_id: &str,
) -> Result<Result<Round, RoundFault>, ApiError> {
    let Ok(round_id) = Uuid::parse_str(round_id) else {
        return Ok(Err(RoundFault::NotFound));
    };
    Ok(match rounds::get(&state.pool, round_id).await? {
        None => Err(RoundFault::NotFound),
        Some(round) if round.frozen_at.is_none() => Err(RoundFault::NotFinal),
        Some(round) => Ok(round),
    })
}

/// The finalists as CSV (RFC 4180, CRLF line ends).
fn finalists_csv_text(finalists: &[rounds::Finalist]) -> String {
    let mut csv = String::from("ciudad,posicion,empate,jugador,votos,correo,pais,id_jugador\r\n");
    for finalist in finalists {
        let standing = &finalist.standing;
        let cells = [
            cell(&standing.city),
            standing.position.to_string(),
            if standing.tied { "si" } else { "no" }.to_owned(),
            cell(&standing.username),
            standing.votes.to_string(),
            cell(finalist.email.as_deref().unwrap_or("")),
            cell(&standing.country),
            standing.player_id.to_string(),
        ];
        csv.push_str(&cells.join(","));
        csv.push_str("\r\n");
    }
    csv
}

/// One text cell: a leading `'` before what a spreadsheet would run as a formula, and quoted
/// when it holds a comma, a quote or a line break.
fn cell(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::cell;

    #[test]
    fn csv_cells_are_quoted_and_never_run_as_formulas() {
        assert_eq!(cell("Bogotá"), "Bogotá");
        assert_eq!(cell("Pérez, Ana"), "\"Pérez, Ana\"");
        assert_eq!(cell("Ana \"La Flecha\""), "\"Ana \"\"La Flecha\"\"\"");
        assert_eq!(cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(cell("+57"), "'+57");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
    }
}
