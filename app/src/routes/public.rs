//! Public listing, voting and rankings (`/api/public/…`).

use chrono::{DateTime, Utc};
use platform::videos::votes::{self, Vote};
use poem::Request;
use poem::http::StatusCode;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use uuid::Uuid;

use super::ApiTags;
use super::auth::{ProofHeader, too_many};
use super::videos::link;
use crate::auth::BearerAuth;
use crate::domain::Name;
use crate::http::client::client_network;
use crate::http::errors::{ApiError, InternalError};
use crate::http::fields::NameText;
use crate::http::problem::Problem;
use crate::integrity::VoteAdmission;
use crate::rankings::{PageKey, RankedPlayer, RankingsError};
use crate::state::AppState;

const DEFAULT_PAGE_SIZE: u32 = 20;

#[derive(Debug, Object)]
pub struct PublicVideo {
    pub video_id: Uuid,
    pub title: String,
    /// The player's id (the `sub` of their access token).
    pub player_id: Uuid,
    /// The player's "first_name last_name".
    pub username: String,
    pub city: String,
    pub country: String,
    pub votes: i32,
    /// A time-limited link to the showcase clip (null only if the storage cannot sign one).
    #[oai(nullable)]
    pub processed_url: Option<String>,
    /// A time-limited link to the poster image (null only if the storage cannot sign one).
    #[oai(nullable)]
    pub poster_url: Option<String>,
    pub uploaded_at: DateTime<Utc>,
}

/// What the caller may do with a published video.
#[derive(sqlx::FromRow)]
struct VoterView {
    voted: bool,
    own_video: bool,
}

/// A published video as the public endpoints read it.
#[derive(sqlx::FromRow)]
struct PublicVideoRow {
    id: Uuid,
    title: String,
    owner_id: Uuid,
    first_name: String,
    last_name: String,
    city: String,
    country: String,
    votes: i32,
    processed_key: Option<String>,
    poster_key: Option<String>,
    uploaded_at: DateTime<Utc>,
}

/// The columns of [`PublicVideoRow`], from `videos v JOIN users u`.
const PUBLIC_VIDEO_COLUMNS: &str = "v.id, v.title, v.owner_id, u.first_name, u.last_name, u.city,
     u.country, v.votes, v.processed_key, v.poster_key, v.uploaded_at";

impl PublicVideo {
    async fn from_row(
        state: &AppState,
        row: PublicVideoRow,
    ) -> Result<Self, platform::storage::StorageError> {
        Ok(Self {
            processed_url: link(state, row.processed_key.as_deref()).await?,
            poster_url: link(state, row.poster_key.as_deref()).await?,
            video_id: row.id,
            title: row.title,
            player_id: row.owner_id,
            username: format!("{} {}", row.first_name, row.last_name),
            city: row.city,
            country: row.country,
            votes: row.votes,
            uploaded_at: row.uploaded_at,
        })
    }
}

#[derive(Debug, ApiResponse)]
pub enum PublicVideoResponse {
    #[oai(status = 200)]
    Ok(Json<PublicVideo>),
    /// No such published video (`video_not_found`).
    #[oai(status = 404, content_type = "application/problem+json")]
    NotFound(Json<Problem>),
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

fn video_not_found() -> Json<Problem> {
    Problem::new(
        StatusCode::NOT_FOUND,
        "video_not_found",
        "Video no encontrado.",
    )
    .json()
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
    /// An invalid parameter (`validation_error`, `field` names it).
    #[oai(status = 400, content_type = "application/problem+json")]
    BadRequest(Json<Problem>),
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
    /// verification mail, or ask for a new one with `POST /api/auth/verification`.
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
fn city_key(city: Option<&NameText>) -> Result<Option<String>, Problem> {
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
    if paged {
        let page = i64::from(page.unwrap_or(1));
        return Ok((size, (page - 1) * size));
    }
    Ok((size, i64::from(offset.unwrap_or(0))))
}

/// How many published videos match the city filter (all cities: `''`).
async fn published_total(state: &AppState, city: Option<&str>) -> Result<i64, sqlx::Error> {
    Ok(
        sqlx::query_scalar("SELECT published_videos FROM listing_counts WHERE city_key = $1")
            .bind(city.unwrap_or(""))
            .fetch_optional(&state.pool)
            .await?
            .unwrap_or(0),
    )
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
        /// Videos to skip (default 0).
        #[oai(validator(minimum(value = "0"), maximum(value = "1000000000")))]
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
        let rows: Vec<PublicVideoRow> = match &city {
            None => {
                sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {PUBLIC_VIDEO_COLUMNS} FROM videos v JOIN users u ON u.id = v.owner_id
                     WHERE v.published_at IS NOT NULL
                     ORDER BY v.uploaded_at DESC, v.id DESC LIMIT $1 OFFSET $2"
                )))
                .bind(limit)
                .bind(offset)
                .fetch_all(&state.pool)
                .await?
            }
            Some(city) => {
                sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {PUBLIC_VIDEO_COLUMNS} FROM videos v JOIN users u ON u.id = v.owner_id
                     WHERE v.published_at IS NOT NULL AND lower(u.city) = $3
                     ORDER BY v.uploaded_at DESC, v.id DESC LIMIT $1 OFFSET $2"
                )))
                .bind(limit)
                .bind(offset)
                .bind(city)
                .fetch_all(&state.pool)
                .await?
            }
        };
        let total = published_total(&state, city.as_deref()).await?;
        let mut videos = Vec::with_capacity(rows.len());
        for row in rows {
            videos.push(PublicVideo::from_row(&state, row).await?);
        }
        Ok(PublicVideosResponse::Ok(Json(videos), total))
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
        let row: Option<PublicVideoRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {PUBLIC_VIDEO_COLUMNS} FROM videos v JOIN users u ON u.id = v.owner_id
             WHERE v.id = $1 AND v.published_at IS NOT NULL"
        )))
        .bind(video_id)
        .fetch_optional(&state.pool)
        .await?;
        match row {
            Some(row) => Ok(PublicVideoResponse::Ok(Json(
                PublicVideo::from_row(&state, row).await?,
            ))),
            None => Ok(PublicVideoResponse::NotFound(video_not_found())),
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
             FROM videos v WHERE v.id = $1 AND v.published_at IS NOT NULL",
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
            Vote::NotFound | Vote::OwnVideo | Vote::AlreadyVoted => {
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
        /// Players to skip (default 0).
        #[oai(validator(minimum(value = "0"), maximum(value = "1000000000")))]
        offset: Query<Option<u32>>,
        /// Page number from 1, instead of offset (its size is `page_size` or `limit`).
        #[oai(validator(minimum(value = "1"), maximum(value = "10000000")))]
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
