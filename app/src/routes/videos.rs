//! The caller's videos: upload, list, detail, publish, delete (`/api/videos…`, bearer token).

use chrono::{DateTime, Utc};
use platform::storage::StorageKey;
use platform::videos::VideoStatus as StoredStatus;
use platform::videos::owned::{self, LockedVideo};
use poem::http::StatusCode;
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use super::reports::VideoReview;
use super::{ApiTags, video_not_found};
use crate::auth::BearerAuth;
use crate::http::errors::ApiError;
use crate::http::problem::Problem;
use crate::state::AppState;
use crate::upload::intake::{Intake, Refusal, intake};
use crate::upload::{UploadForm, UploadRejection};

#[derive(Debug, Object)]
pub struct UploadAccepted {
    /// "Video subido correctamente. Procesamiento en curso."
    pub message: String,
    /// The processing job's id.
    pub task_id: Uuid,
    pub video_id: Uuid,
}

#[derive(Debug, ApiResponse)]
pub enum UploadResponse {
    /// Stored and queued for processing; the answer does not wait for processing.
    #[oai(status = 201)]
    Created(Json<UploadAccepted>),
    /// `invalid_video` (not an MP4, unreadable, no supported video track), `invalid_duration`
    /// (not 20–60 s), `invalid_resolution` (shorter side under 1080 px, or frames over 4096 × 2304
    /// pixels), `invalid_frame_rate` (over 120 frames a second), `validation_error` (missing
    /// file, bad title or publish, malformed body; `field` names it). The numbers are the
    /// operation's `x-upload-rules`.
    #[oai(status = 400, content_type = "application/problem+json")]
    BadRequest(Json<Problem>),
    /// Over 100 MiB (`file_too_large`); the rest of the body is not kept.
    #[oai(status = 413, content_type = "application/problem+json")]
    TooLarge(Json<Problem>),
    /// This account already sends as many uploads as it may at once
    /// (`UPLOAD_MAX_CONCURRENT_PER_ACCOUNT`): `too_many_uploads`; nothing was read. Or it already
    /// has as many videos waiting for or in processing as it may (`UPLOAD_MAX_IN_FLIGHT_PER_ACCOUNT`):
    /// `too_many_videos_in_flight`; nothing was stored.
    #[oai(status = 429, content_type = "application/problem+json")]
    TooManyUploads(
        Json<Problem>,
        /// Seconds to wait before trying again.
        #[oai(header = "Retry-After")]
        u64,
    ),
    /// This instance is receiving as many uploads as it takes at once, or its probes hold as many
    /// `moov` boxes in memory as it allows (`busy`); try again after `Retry-After` seconds.
    #[oai(status = 503, content_type = "application/problem+json")]
    Busy(
        Json<Problem>,
        /// Seconds to wait before trying again.
        #[oai(header = "Retry-After")]
        u64,
    ),
}

/// How long an account told it sends too many uploads waits: an upload takes seconds to minutes.
const ACCOUNT_BUSY_RETRY_AFTER_SECONDS: u64 = 30;
/// How long an account told its videos fill its share of the queue waits: one is processed in
/// about a minute.
const IN_FLIGHT_RETRY_AFTER_SECONDS: u64 = 60;
/// How long an upload told the instance is busy waits: a slot or `moov` room frees in seconds.
const BUSY_RETRY_AFTER_SECONDS: u64 = 5;

/// Where a video is in its life (the values of `videos.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum VideoStatus {
    /// Stored, waiting for a worker.
    Uploaded,
    /// A worker is rendering it.
    Processing,
    /// The showcase clip and poster are ready.
    Processed,
    /// Processing gave up; `error` says why.
    Failed,
}

/// The API's names for the statuses the database keeps (one for one).
impl From<platform::videos::VideoStatus> for VideoStatus {
    fn from(status: platform::videos::VideoStatus) -> Self {
        use platform::videos::VideoStatus as Stored;
        match status {
            Stored::Uploaded => Self::Uploaded,
            Stored::Processing => Self::Processing,
            Stored::Processed => Self::Processed,
            Stored::Failed => Self::Failed,
        }
    }
}

#[derive(Debug, Object)]
pub struct MyVideo {
    pub video_id: Uuid,
    pub title: String,
    pub status: VideoStatus,
    pub published: bool,
    pub uploaded_at: DateTime<Utc>,
    /// When processing finished (null until then).
    #[oai(nullable)]
    pub processed_at: Option<DateTime<Utc>>,
    /// A time-limited link to the showcase clip (null until processed).
    #[oai(nullable)]
    pub processed_url: Option<String>,
    /// A time-limited link to the poster image (null until processed).
    #[oai(nullable)]
    pub poster_url: Option<String>,
    /// Votes counted in the rankings.
    pub votes: i32,
    /// Votes held out of the rankings for review ("N votos en revisión"): they count once the
    /// jury releases them.
    pub held_votes: i32,
    /// Why processing failed, when `status` is `failed` (null otherwise).
    #[oai(nullable)]
    pub error: Option<String>,
    /// While the video is hidden from the public (reported and under review, or hidden by the
    /// federation's staff): why, and since when. Null while it is visible or not published.
    #[oai(nullable)]
    pub review: Option<VideoReview>,
}

#[derive(Debug, ApiResponse)]
pub enum ListResponse {
    /// The caller's videos, newest first.
    #[oai(status = 200)]
    Ok(Json<Vec<MyVideo>>),
}

#[derive(Debug, Object)]
pub struct VideoDetail {
    pub video_id: Uuid,
    pub title: String,
    pub status: VideoStatus,
    pub published: bool,
    pub uploaded_at: DateTime<Utc>,
    /// When processing finished (null until then).
    #[oai(nullable)]
    pub processed_at: Option<DateTime<Utc>>,
    /// Time-limited link to the original upload (null if the storage cannot sign one).
    #[oai(nullable)]
    pub original_url: Option<String>,
    /// Time-limited link to the showcase clip (null until processed).
    #[oai(nullable)]
    pub processed_url: Option<String>,
    /// Time-limited link to the poster image (null until processed).
    #[oai(nullable)]
    pub poster_url: Option<String>,
    /// Votes counted in the rankings.
    pub votes: i32,
    /// Votes held out of the rankings for review ("N votos en revisión"): they count once the
    /// jury releases them.
    pub held_votes: i32,
    /// Why processing failed, when `status` is `failed` (null otherwise).
    #[oai(nullable)]
    pub error: Option<String>,
    /// While the video is hidden from the public (reported and under review, or hidden by the
    /// federation's staff): why, and since when. Null while it is visible or not published.
    #[oai(nullable)]
    pub review: Option<VideoReview>,
}

#[derive(Debug, ApiResponse)]
pub enum DetailResponse {
    #[oai(status = 200)]
    Ok(Json<VideoDetail>),
    /// Someone else's video (`forbidden`).
    #[oai(status = 403, content_type = "application/problem+json")]
    Forbidden(Json<Problem>),
    /// No such video, or a malformed id (`video_not_found`).
    #[oai(status = 404, content_type = "application/problem+json")]
    NotFound(Json<Problem>),
}

#[derive(Debug, Object)]
pub struct VideoMessage {
    pub message: String,
    pub video_id: Uuid,
}

#[derive(Debug, ApiResponse)]
pub enum PublishResponse {
    /// Published for voting.
    #[oai(status = 200)]
    Ok(Json<VideoMessage>),
    /// Not processed yet (`not_processed`) or already published (`already_published`).
    #[oai(status = 400, content_type = "application/problem+json")]
    BadRequest(Json<Problem>),
    #[oai(status = 403, content_type = "application/problem+json")]
    Forbidden(Json<Problem>),
    #[oai(status = 404, content_type = "application/problem+json")]
    NotFound(Json<Problem>),
}

#[derive(Debug, ApiResponse)]
pub enum DeleteResponse {
    /// The video, its files and any pending job are gone.
    #[oai(status = 200)]
    Ok(Json<VideoMessage>),
    /// Published for voting (`video_published`): it can no longer be deleted.
    #[oai(status = 400, content_type = "application/problem+json")]
    BadRequest(Json<Problem>),
    #[oai(status = 403, content_type = "application/problem+json")]
    Forbidden(Json<Problem>),
    #[oai(status = 404, content_type = "application/problem+json")]
    NotFound(Json<Problem>),
}

fn forbidden() -> Json<Problem> {
    Problem::new(
        StatusCode::FORBIDDEN,
        "forbidden",
        "No tienes permiso para acceder a este video.",
    )
    .json()
}

/// A time-limited link to a stored file; `None` when there is no file (or no key).
pub async fn link(
    state: &AppState,
    key: Option<&str>,
) -> Result<Option<String>, platform::storage::StorageError> {
    let Some(key) = key else { return Ok(None) };
    let key = StorageKey::parse(key)?;
    Ok(Some(
        state.storage.signed_url(&key, state.signed_url_ttl).await?,
    ))
}

/// Why an owned video could not be taken.
enum NotYours {
    NotFound,
    Forbidden,
}

/// The caller's video `video_id`, its row locked in a transaction the caller goes on with: what
/// publish and delete decide on. A malformed or unknown id is not found; someone else's video is
/// forbidden.
async fn owned_video_locked(
    state: &AppState,
    owner_id: Uuid,
    video_id: &str,
) -> Result<Result<(Uuid, Transaction<'static, Postgres>, LockedVideo), NotYours>, ApiError> {
    let Ok(video_id) = Uuid::parse_str(video_id) else {
        return Ok(Err(NotYours::NotFound));
    };
    let mut tx = state.pool.begin().await?;
    let Some(video) = owned::lock(&mut tx, video_id).await? else {
        return Ok(Err(NotYours::NotFound));
    };
    if video.owner_id != owner_id {
        return Ok(Err(NotYours::Forbidden));
    }
    Ok(Ok((video_id, tx, video)))
}

/// The single upload's answer to a refusal (an upload session's completion answers the same).
pub fn upload_refusal(refusal: Refusal) -> UploadResponse {
    let problem = match refusal {
        Refusal::Field { field, detail } => Problem::invalid_field(&field, detail),
        Refusal::Video { code, detail } => Problem::bad_request(code, detail),
        Refusal::InFlight => return too_many_in_flight(),
        Refusal::Busy => {
            return UploadResponse::Busy(
                Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "busy",
                    "El servidor está revisando demasiados videos a la vez. Inténtalo de nuevo en unos segundos.",
                )
                .json(),
                BUSY_RETRY_AFTER_SECONDS,
            );
        }
    };
    UploadResponse::BadRequest(problem.json())
}

/// The answer to an account whose videos waiting for or in processing are at the ceiling.
fn too_many_in_flight() -> UploadResponse {
    UploadResponse::TooManyUploads(
        Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_videos_in_flight",
            "Ya tienes demasiados videos en espera de procesamiento. Espera a que terminen e inténtalo de nuevo.",
        )
        .json(),
        IN_FLIGHT_RETRY_AFTER_SECONDS,
    )
}

pub struct VideosApi;

#[OpenApi(tag = "ApiTags::Videos")]
impl VideosApi {
    /// Upload a skill video for processing.
    #[oai(
        path = "/api/videos/upload",
        method = "post",
        operation_id = "upload_video"
    )]
    async fn upload(
        &self,
        auth: BearerAuth,
        state: Data<&AppState>,
        form: UploadForm,
    ) -> Result<UploadResponse, ApiError> {
        let upload = match form.0 {
            Ok(upload) => upload,
            Err(UploadRejection::TooLarge) => {
                return Ok(UploadResponse::TooLarge(
                    Problem::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "file_too_large",
                        "El archivo supera el tamaño máximo de 100 MB.",
                    )
                    .json(),
                ));
            }
            Err(UploadRejection::Malformed { field, detail }) => {
                let problem = match field {
                    Some(field) => Problem::invalid_field(field, detail),
                    None => Problem {
                        field: None,
                        ..Problem::invalid_field("body", detail)
                    },
                };
                return Ok(UploadResponse::BadRequest(problem.json()));
            }
            Err(UploadRejection::AccountBusy) => {
                return Ok(UploadResponse::TooManyUploads(
                    Problem::new(
                        StatusCode::TOO_MANY_REQUESTS,
                        "too_many_uploads",
                        "Ya estás subiendo otros videos. Espera a que terminen e inténtalo de nuevo.",
                    )
                    .json(),
                    ACCOUNT_BUSY_RETRY_AFTER_SECONDS,
                ));
            }
            Err(UploadRejection::InFlight) => return Ok(too_many_in_flight()),
            Err(UploadRejection::Busy) => {
                return Ok(UploadResponse::Busy(
                    Problem::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "busy",
                        "El servidor está recibiendo demasiados videos a la vez. Inténtalo de nuevo en unos segundos.",
                    )
                    .json(),
                    BUSY_RETRY_AFTER_SECONDS,
                ));
            }
            Err(UploadRejection::Internal(cause)) => return Err(ApiError::internal(cause)),
        };
        let refusal = match intake(&state, auth.0, &upload).await? {
            Intake::Accepted { video_id, task_id } => {
                return Ok(UploadResponse::Created(Json(UploadAccepted {
                    message: "Video subido correctamente. Procesamiento en curso.".to_owned(),
                    task_id,
                    video_id,
                })));
            }
            Intake::Refused(refusal) => refusal,
        };
        Ok(upload_refusal(refusal))
    }

    /// The caller's videos, newest first.
    #[oai(path = "/api/videos", method = "get", operation_id = "list_my_videos")]
    async fn list(
        &self,
        auth: BearerAuth,
        state: Data<&AppState>,
    ) -> Result<ListResponse, ApiError> {
        let rows = owned::list_of_owner(&state.pool, auth.0).await?;
        let mut videos = Vec::with_capacity(rows.len());
        for row in rows {
            videos.push(MyVideo {
                processed_url: link(&state, row.processed_key.as_deref()).await?,
                poster_url: link(&state, row.poster_key.as_deref()).await?,
                status: row.status.into(),
                video_id: row.id,
                title: row.title,
                published: row.published,
                uploaded_at: row.uploaded_at,
                processed_at: row.processed_at,
                votes: row.votes,
                held_votes: row.held_votes,
                review: VideoReview::of(
                    row.hidden_at,
                    row.hidden_by_staff,
                    row.hidden_note.clone(),
                    &row.hidden_reasons,
                ),
                error: row.error,
            });
        }
        Ok(ListResponse::Ok(Json(videos)))
    }

    /// One of the caller's videos, with time-limited links to its files.
    #[oai(
        path = "/api/videos/:video_id",
        method = "get",
        operation_id = "get_video"
    )]
    async fn detail(
        &self,
        auth: BearerAuth,
        state: Data<&AppState>,
        video_id: Path<String>,
    ) -> Result<DetailResponse, ApiError> {
        let Ok(video_id) = Uuid::parse_str(&video_id) else {
            return Ok(DetailResponse::NotFound(video_not_found()));
        };
        let Some(row) = owned::find(&state.pool, video_id).await? else {
            return Ok(DetailResponse::NotFound(video_not_found()));
        };
        if row.owner_id != auth.0 {
            return Ok(DetailResponse::Forbidden(forbidden()));
        }
        Ok(DetailResponse::Ok(Json(VideoDetail {
            original_url: link(&state, Some(&row.original_key)).await?,
            processed_url: link(&state, row.processed_key.as_deref()).await?,
            poster_url: link(&state, row.poster_key.as_deref()).await?,
            status: row.status.into(),
            video_id,
            title: row.title,
            published: row.published,
            uploaded_at: row.uploaded_at,
            processed_at: row.processed_at,
            votes: row.votes,
            held_votes: row.held_votes,
            review: VideoReview::of(
                row.hidden_at,
                row.hidden_by_staff,
                row.hidden_note.clone(),
                &row.hidden_reasons,
            ),
            error: row.error,
        })))
    }

    /// Publish a processed video for voting.
    #[oai(
        path = "/api/videos/:video_id/publish",
        method = "post",
        operation_id = "publish_video"
    )]
    async fn publish(
        &self,
        auth: BearerAuth,
        state: Data<&AppState>,
        video_id: Path<String>,
    ) -> Result<PublishResponse, ApiError> {
        let (video_id, mut tx, video) = match owned_video_locked(&state, auth.0, &video_id).await? {
            Ok(owned) => owned,
            Err(NotYours::NotFound) => return Ok(PublishResponse::NotFound(video_not_found())),
            Err(NotYours::Forbidden) => return Ok(PublishResponse::Forbidden(forbidden())),
        };
        if video.published {
            return Ok(PublishResponse::BadRequest(
                Problem::bad_request("already_published", "El video ya está publicado.").json(),
            ));
        }
        if video.status != StoredStatus::Processed {
            return Ok(PublishResponse::BadRequest(
                Problem::bad_request("not_processed", "El video aún no ha sido procesado.").json(),
            ));
        }
        if !platform::videos::publish(&mut tx, video_id).await? {
            return Err(ApiError::internal(
                "a locked, processed, unpublished video did not publish",
            ));
        }
        tx.commit().await?;
        // The rankings show the player within rankings::MAX_STALENESS, as they show a vote.
        Ok(PublishResponse::Ok(Json(VideoMessage {
            message: "El video ha sido publicado para votación.".to_owned(),
            video_id,
        })))
    }

    /// Delete a video that is not published for voting, with its files and pending job.
    #[oai(
        path = "/api/videos/:video_id",
        method = "delete",
        operation_id = "delete_video"
    )]
    async fn delete(
        &self,
        auth: BearerAuth,
        state: Data<&AppState>,
        video_id: Path<String>,
    ) -> Result<DeleteResponse, ApiError> {
        let (video_id, mut tx, video) = match owned_video_locked(&state, auth.0, &video_id).await? {
            Ok(owned) => owned,
            Err(NotYours::NotFound) => return Ok(DeleteResponse::NotFound(video_not_found())),
            Err(NotYours::Forbidden) => return Ok(DeleteResponse::Forbidden(forbidden())),
        };
        if video.published {
            return Ok(DeleteResponse::BadRequest(
                Problem::bad_request(
                    "video_published",
                    "El video está publicado para votación y no puede eliminarse.",
                )
                .json(),
            ));
        }
        // The outbox record goes with the row; a job already queued or running finds no row and
        // is dropped by the worker.
        let Some(keys) = owned::delete(&mut tx, video_id).await? else {
            return Err(ApiError::internal("a locked video was not there to delete"));
        };
        tx.commit().await?;
        for key in keys.all() {
            let removed = match StorageKey::parse(&key) {
                Ok(key) => state.storage.delete(&key).await.map_err(|e| e.to_string()),
                Err(error) => Err(error.to_string()),
            };
            if let Err(error) = removed {
                tracing::error!(%video_id, key, %error, "could not delete a file of a deleted video");
            }
        }
        tracing::info!(%video_id, "video deleted");
        Ok(DeleteResponse::Ok(Json(VideoMessage {
            message: "El video ha sido eliminado exitosamente.".to_owned(),
            video_id,
        })))
    }
}
