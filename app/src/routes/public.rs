//! Public listing, voting and rankings (`/api/public/…`).

use chrono::{DateTime, Utc};
use platform::rounds;
use platform::videos::votes::{self, Vote};
use poem::Request;
use poem::http::StatusCode;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use uuid::Uuid;

use super::auth::{ProofHeader, too_many};
use super::{ApiTags, video_not_found};
use crate::auth::BearerAuth;
use crate::domain::Name;
use crate::http::client::client_network;
use crate::http::errors::{ApiError, InternalError};
use crate::http::fields::NameText;
use crate::http::problem::Problem;
use crate::integrity::VoteAdmission;
use crate::rankings::{PageKey, RankedPlayer, RankingsError};
use crate::showcase::{ListKey, PublicVideo, ShowcaseError};
use crate::state::AppState;

const DEFAULT_PAGE_SIZE: u32 = 20;
/// The deepest a listing goes: pages end at the 10,000th row (as search engines' result windows
/// do). A deep page costs the database every row before it; nobody reads that far by hand.
const MAX_ROWS: i64 = 10_000;

/// What the caller may do with a published video.
#[derive(sqlx::FromRow)]
struct VoterView {
    voted: bool,
    own_video: bool,
}

#[derive(Debug, ApiResponse)]
pub enum PublicVideoResponse {
    #[oai(status = 200)]
    Ok(Json<PublicVideo>),
    /// No such published video (`video_not_found`).
    #[oai(status = 404, content_type = "application/problem+json")]
    NotFound(Json<Problem>),
    /// The video could not be read in time (`showcase_unavailable`); try again after
    /// `Retry-After` seconds.
    #[oai(status = 503, content_type = "application/problem+json")]
    Unavailable(
        Json<Problem>,
        /// Seconds to wait before asking again.
        #[oai(header = "Retry-After")]
        u32,
    ),
}

/// What the caller may do about one video's vote.
#[derive(Debug, Object)]
pub struct VoteState {
    pub video_id: Uuid,
    /// The caller has voted for it.
    pub voted: bool,
    /// It is the caller's own video (no vote allowed).
    pub own_video: bool,
}

#[derive(Debug, ApiResponse)]
pub enum VoteStateResponse {
    #[oai(status = 200)]
    Ok(Json<VoteState>),
    /// No such published video (`video_not_found`).
    #[oai(status = 404, content_type = "application/problem+json")]
    NotFound(Json<Problem>),
}

#[derive(Debug, ApiResponse)]
pub enum PublicVideosResponse {
    /// Published videos, newest first.
    #[oai(status = 200)]
    Ok(
        Json<Vec<PublicVideo>>,
        /// How many published videos match the filter, across all pages.
        #[oai(header = "X-Total-Count")]
        i64,
    ),
    /// An invalid parameter (`validation_error`, `field` names it), also for a page that ends past
    /// the 10,000th video.
    #[oai(status = 400, content_type = "application/problem+json")]
    BadRequest(Json<Problem>),
    /// The list could not be read in time (`showcase_unavailable`); try again after
    /// `Retry-After` seconds.
    #[oai(status = 503, content_type = "application/problem+json")]
    Unavailable(
        Json<Problem>,
        /// Seconds to wait before asking again.
        #[oai(header = "Retry-After")]
        u32,
    ),
}

#[derive(Debug, Object)]
pub struct VoteRecorded {
    /// "Voto registrado exitosamente." (held: "Voto registrado; queda en revisión antes de
    /// contar en el ranking.")
    pub message: String,
    pub video_id: Uuid,
    /// The video's counted votes after this one.
    pub votes: i32,
    /// Whether the vote counts now or was held for review (docs/api.md, "Votes people can
    /// trust"); a held vote counts once the jury releases it.
    pub status: CastStatus,
}

/// What became of a recorded vote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum)]
#[oai(rename_all = "lowercase")]
pub enum CastStatus {
    /// Counted in the rankings.
    Counted,
    /// Held out of the rankings for review.
    Held,
}

#[derive(Debug, ApiResponse)]
pub enum VoteResponse {
    #[oai(status = 200)]
    Ok(Json<VoteRecorded>),
    /// Already voted for this video (`already_voted`) or it is the caller's own (`own_video`).
    #[oai(status = 400, content_type = "application/problem+json")]
    BadRequest(Json<Problem>),
    /// The caller's e-mail is not verified yet (`email_not_verified`): follow the link in the
    /// verification mail, or ask for a new one with `POST /api/auth/verification`. Or voting is
    /// closed (`voting_closed`): rounds are configured and none is open for the player's city;
    /// `next_round_opens_at` says when the next one opens, if one is scheduled.
    #[oai(status = 403, content_type = "application/problem+json")]
    Forbidden(Json<Problem>),
    /// No such published video (`video_not_found`).
    #[oai(status = 404, content_type = "application/problem+json")]
    NotFound(Json<Problem>),
    /// `too_many_votes`: this account votes faster than a person does (wait `Retry-After`), or
    /// its network has cast its hour's votes: then the problem carries a proof-of-work
    /// `challenge`, whose solution in the `Altcha` header lets the vote through now.
    #[oai(status = 429, content_type = "application/problem+json")]
    TooManyVotes(
        Json<Problem>,
        /// Seconds to wait before trying again.
        #[oai(header = "Retry-After")]
        u64,
    ),
}

#[derive(Debug, ApiResponse)]
pub enum RankingsResponse {
    /// Players by total votes of their published videos; ties go to whoever reached the total
    /// first, then to the player id.
    #[oai(status = 200)]
    Ok(
        Json<Vec<RankedPlayer>>,
        /// How many players are ranked within the filter, across all pages.
        #[oai(header = "X-Total-Count")]
        i64,
    ),
    /// An invalid parameter (`validation_error`, `field` names it), also for a page that ends past
    /// the 10,000th player.
    #[oai(status = 400, content_type = "application/problem+json")]
    BadRequest(Json<Problem>),
    /// The ranking could not be read in time (`rankings_unavailable`); try again after
    /// `Retry-After` seconds.
    #[oai(status = 503, content_type = "application/problem+json")]
    Unavailable(
        Json<Problem>,
        /// Seconds to wait before asking again.
        #[oai(header = "Retry-After")]
        u32,
    ),
}

/// The city filter: a city name as signup takes it (trimmed, 1–100 characters), exact and
/// case-insensitive, so it is compared lower-cased.
/// 403 `voting_closed`, with when voting next opens if a round is scheduled.
fn voting_closed(opens: Option<DateTime<Utc>>) -> Problem {
    let detail = match opens {
        Some(opens) => format!(
            "La votación está cerrada. La próxima ronda abre el {} (UTC).",
            opens.format("%d/%m/%Y a las %H:%M")
        ),
        None => "La votación está cerrada: no hay ninguna ronda abierta.".to_owned(),
    };
    Problem {
        next_round_opens_at: opens,
        ..Problem::new(StatusCode::FORBIDDEN, "voting_closed", detail)
    }
}

pub(super) fn city_key(city: Option<&NameText>) -> Result<Option<String>, Problem> {
    match city {
        None => Ok(None),
        Some(city) => Name::parse("city", "El parámetro «city»", &city.0)
            .map(|city| Some(city.as_str().to_lowercase()))
            .map_err(Problem::from),
    }
}

/// Resolves limit/offset or page/page_size into (limit, offset). `limit` is the page size when a
/// page is asked for (course clients send `page=1&limit=10`); only a real contradiction is
/// refused: an `offset` with a page, or a `limit` and a `page_size` that differ.
fn page_window(
    limit: Option<u32>,
    offset: Option<u32>,
    page: Option<u32>,
    page_size: Option<u32>,
) -> Result<(i64, i64), Problem> {
    let paged = page.is_some() || page_size.is_some();
    if paged && offset.is_some() {
        return Err(Problem::invalid_field(
            "offset",
            "Usa «offset» o «page», no ambos.",
        ));
    }
    if let (Some(limit), Some(size)) = (limit, page_size)
        && limit != size
    {
        return Err(Problem::invalid_field(
            "page_size",
            "«limit» y «page_size» indican tamaños de página distintos.",
        ));
    }
    let size = i64::from(page_size.or(limit).unwrap_or(DEFAULT_PAGE_SIZE));
    let (field, offset) = if paged {
        ("page", (i64::from(page.unwrap_or(1)) - 1) * size)
    } else {
        ("offset", i64::from(offset.unwrap_or(0)))
    };
    if offset + size > MAX_ROWS {
        return Err(Problem::invalid_field(
            field,
            "Solo se pueden consultar los primeros 10000 resultados: la página pedida termina \
             más allá.",
        ));
    }
    Ok((size, offset))
}

/// A showcase read that ran out of time is a 503 the client can retry; any other failure is an
/// internal error.
fn unavailable(error: ShowcaseError) -> Result<(Json<Problem>, u32), InternalError> {
    match error {
        ShowcaseError::Timeout => {
            tracing::warn!("showcase: a read timed out");
            let problem = Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "showcase_unavailable",
                "Los videos no están disponibles en este momento. Inténtalo de nuevo en unos \
                 segundos.",
            );
            Ok((problem.json(), 1))
        }
        ShowcaseError::Database(error) => Err(error.into()),
        ShowcaseError::Storage(error) => Err(error.into()),
    }
}

pub struct PublicApi;

#[OpenApi(tag = "ApiTags::Public")]
impl PublicApi {
    /// Videos published for voting, newest first.
    #[oai(
        path = "/api/public/videos",
        method = "get",
        operation_id = "list_public_videos"
    )]
    async fn videos(
        &self,
        state: Data<&AppState>,
        /// Only players of this city (exact, case-insensitive).
        city: Query<Option<NameText>>,
        /// Page size, 1–100 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u32>>,
        /// Videos to skip (default 0); a page may end at the 10,000th video at most.
        #[oai(validator(minimum(value = "0"), maximum(value = "9999")))]
        offset: Query<Option<u32>>,
    ) -> Result<PublicVideosResponse, InternalError> {
        let city = match city_key(city.0.as_ref()) {
            Ok(city) => city,
            Err(problem) => return Ok(PublicVideosResponse::BadRequest(problem.json())),
        };
        let (limit, offset) = match page_window(limit.0, offset.0, None, None) {
            Ok(window) => window,
            Err(problem) => return Ok(PublicVideosResponse::BadRequest(problem.json())),
        };
        let key = ListKey {
            city,
            limit,
            offset,
        };
        match state.showcase.page(key).await {
            Ok(page) => Ok(PublicVideosResponse::Ok(
                Json(page.videos.clone()),
                page.total,
            )),
            Err(error) => {
                let (problem, wait) = unavailable(error)?;
                Ok(PublicVideosResponse::Unavailable(problem, wait))
            }
        }
    }

    /// One published video.
    #[oai(
        path = "/api/public/videos/:video_id",
        method = "get",
        operation_id = "get_public_video"
    )]
    async fn video(
        &self,
        state: Data<&AppState>,
        video_id: Path<String>,
    ) -> Result<PublicVideoResponse, InternalError> {
        let Ok(video_id) = Uuid::parse_str(&video_id) else {
            return Ok(PublicVideoResponse::NotFound(video_not_found()));
        };
        match state.showcase.video(video_id).await {
            Ok(Some(video)) => Ok(PublicVideoResponse::Ok(Json(video))),
            Ok(None) => Ok(PublicVideoResponse::NotFound(video_not_found())),
            Err(error) => {
                let (problem, wait) = unavailable(error)?;
                Ok(PublicVideoResponse::Unavailable(problem, wait))
            }
        }
    }

    /// Whether the caller has voted for a published video, or owns it: what a vote button shows.
    #[oai(
        path = "/api/public/videos/:video_id/vote",
        method = "get",
        operation_id = "get_vote_state"
    )]
    async fn vote_state(
        &self,
        auth: BearerAuth,
        state: Data<&AppState>,
        video_id: Path<String>,
    ) -> Result<VoteStateResponse, ApiError> {
        let Ok(video_id) = Uuid::parse_str(&video_id) else {
            return Ok(VoteStateResponse::NotFound(video_not_found()));
        };
        let row: Option<VoterView> = sqlx::query_as(
            "SELECT EXISTS (SELECT 1 FROM votes WHERE video_id = v.id AND user_id = $2) AS voted,
                    v.owner_id = $2 AS own_video
             FROM videos v
             WHERE v.id = $1 AND v.published_at IS NOT NULL AND v.hidden_at IS NULL",
        )
        .bind(video_id)
        .bind(auth.0)
        .fetch_optional(&state.pool)
        .await?;
        match row {
            Some(row) => Ok(VoteStateResponse::Ok(Json(VoteState {
                video_id,
                voted: row.voted,
                own_video: row.own_video,
            }))),
            None => Ok(VoteStateResponse::NotFound(video_not_found())),
        }
    }

    /// Vote for a published video: one vote per user per video, never for one's own.
    #[oai(
        path = "/api/public/videos/:video_id/vote",
        method = "post",
        operation_id = "vote"
    )]
    async fn vote(
        &self,
        request: &Request,
        auth: BearerAuth,
        state: Data<&AppState>,
        video_id: Path<String>,
        /// A solved proof-of-work challenge, when a 429 asked for one.
        #[oai(name = "Altcha")]
        altcha: ProofHeader,
    ) -> Result<VoteResponse, ApiError> {
        let not_found = || VoteResponse::NotFound(video_not_found());
        let Ok(video_id) = Uuid::parse_str(&video_id) else {
            return Ok(not_found());
        };
        let network = client_network(request, &state);
        let admission = state
            .integrity
            .admit_vote(auth.0, &network, altcha.0.as_deref())
            .await?;
        match admission {
            VoteAdmission::Admitted => {}
            VoteAdmission::TooFast { wait } => {
                let (problem, wait) = too_many(
                    "too_many_votes",
                    "Estás votando demasiado rápido. Espera un momento.",
                    wait,
                    None,
                );
                return Ok(VoteResponse::TooManyVotes(problem, wait));
            }
            VoteAdmission::Refused { wait, challenge } => {
                tracing::warn!(client = %network, "votes throttled");
                let (problem, wait) = too_many(
                    "too_many_votes",
                    "Demasiados votos desde esta conexión. Completa la verificación para \
                     votar o inténtalo de nuevo más tarde.",
                    wait,
                    challenge,
                );
                return Ok(VoteResponse::TooManyVotes(problem, wait));
            }
        }
        let cast = votes::cast(
            &state.pool,
            video_id,
            auth.0,
            &network.key,
            state.email_verification,
            state.integrity.hold_rules(),
        )
        .await?;
        match cast {
            Vote::NoAccount | Vote::NotVerified => {
                state
                    .integrity
                    .give_back_refused_vote(auth.0, &network)
                    .await?;
            }
            // The account's pace counts votes cast; its network's hour counts attempts.
            Vote::NotFound | Vote::Closed { .. } | Vote::OwnVideo | Vote::AlreadyVoted => {
                state.integrity.give_back_vote(auth.0).await?;
            }
            Vote::Counted { .. } | Vote::Held { .. } => {}
        }
        let (votes, status) = match cast {
            // A valid token for an account that is gone.
            Vote::NoAccount => return Err(ApiError::unauthorized()),
            Vote::NotVerified => {
                return Ok(VoteResponse::Forbidden(
                    Problem::new(
                        StatusCode::FORBIDDEN,
                        "email_not_verified",
                        "Verifica tu correo electrónico para votar: sigue el enlace que te \
                         enviamos o pide uno nuevo.",
                    )
                    .json(),
                ));
            }
            Vote::NotFound => return Ok(not_found()),
            Vote::Closed { city_key } => {
                let opens = rounds::next_opening(&state.pool, city_key.as_deref()).await?;
                return Ok(VoteResponse::Forbidden(voting_closed(opens).json()));
            }
            Vote::OwnVideo => {
                return Ok(VoteResponse::BadRequest(
                    Problem::bad_request("own_video", "No puedes votar por tu propio video.")
                        .json(),
                ));
            }
            Vote::AlreadyVoted => {
                return Ok(VoteResponse::BadRequest(
                    Problem::bad_request("already_voted", "Ya has votado por este video.").json(),
                ));
            }
            Vote::Counted { votes } => (votes, CastStatus::Counted),
            Vote::Held { votes, reason } => {
                tracing::info!(%video_id, voter = %auth.0, client = %network, %reason, "vote held");
                (votes, CastStatus::Held)
            }
        };
        // No cache to tell: every instance re-reads its ranking pages within MAX_STALENESS.
        Ok(VoteResponse::Ok(Json(VoteRecorded {
            message: match status {
                CastStatus::Counted => "Voto registrado exitosamente.",
                CastStatus::Held => {
                    "Voto registrado; queda en revisión antes de contar en el ranking."
                }
            }
            .to_owned(),
            video_id,
            votes,
            status,
        })))
    }

    /// Players ranked by the votes of their published videos.
    #[oai(
        path = "/api/public/rankings",
        method = "get",
        operation_id = "rankings"
    )]
    async fn rankings(
        &self,
        state: Data<&AppState>,
        /// Only players of this city (exact, case-insensitive).
        city: Query<Option<NameText>>,
        /// Page size, 1–100 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u32>>,
        /// Players to skip (default 0); a page may end at the 10,000th player at most.
        #[oai(validator(minimum(value = "0"), maximum(value = "9999")))]
        offset: Query<Option<u32>>,
        /// Page number from 1, instead of offset (its size is `page_size` or `limit`); a page may
        /// end at the 10,000th player at most.
        #[oai(validator(minimum(value = "1"), maximum(value = "10000")))]
        page: Query<Option<u32>>,
        /// Page size 1–100 with `page` (the same as `limit`; when both are given they must agree).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        page_size: Query<Option<u32>>,
    ) -> Result<RankingsResponse, InternalError> {
        let checked = city_key(city.0.as_ref())
            .and_then(|city| Ok((city, page_window(limit.0, offset.0, page.0, page_size.0)?)));
        let (city, (limit, offset)) = match checked {
            Ok(checked) => checked,
            Err(problem) => return Ok(RankingsResponse::BadRequest(problem.json())),
        };
        let key = PageKey {
            city,
            limit,
            offset,
        };
        match state.rankings.page(key).await {
            Ok(page) => Ok(RankingsResponse::Ok(Json(page.players.clone()), page.total)),
            Err(RankingsError::Timeout) => {
                tracing::warn!("rankings: a page read timed out");
                Ok(RankingsResponse::Unavailable(
                    Problem::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "rankings_unavailable",
                        "La clasificación no está disponible en este momento. Inténtalo de nuevo en unos segundos.",
                    )
                    .json(),
                    1,
                ))
            }
            Err(RankingsError::Database(error)) => Err(error.into()),
        }
    }
}
