//! The caller's videos: upload, list, detail, publish, delete (`/api/videos…`, bearer token).

use chrono::{DateTime, Utc};
use platform::storage::StorageKey;
use platform::videos::VideoStatus as StoredStatus;
use poem::http::StatusCode;
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use uuid::Uuid;

use super::ApiTags;
use crate::auth::BearerAuth;
use crate::domain::Title;
use crate::errors::ApiError;
use crate::outbox;
use crate::problem::Problem;
use crate::state::AppState;
use crate::upload::probe::{ProbeError, probe};
use crate::upload::{ReceivedUpload, UploadForm, UploadRejection};

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
    /// (not 20–60 s), `invalid_resolution` (shorter side under 1080 px), `validation_error`
    /// (missing file, bad title or publish, malformed body; `field` names it).
    #[oai(status = 400, content_type = "application/problem+json")]
    BadRequest(Json<Problem>),
    /// Over 100 MiB (`file_too_large`); the rest of the body is not kept.
    #[oai(status = 413, content_type = "application/problem+json")]
    TooLarge(Json<Problem>),
    /// This instance is receiving as many uploads as it takes at once (`busy`); try again after
    /// `Retry-After` seconds.
    #[oai(status = 503, content_type = "application/problem+json")]
    Busy(
        Json<Problem>,
        /// Seconds to wait before trying again.
        #[oai(header = "Retry-After")]
        u64,
    ),
}

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
    pub votes: i32,
    /// Why processing failed, when `status` is `failed` (null otherwise).
    #[oai(nullable)]
    pub error: Option<String>,
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
    pub votes: i32,
    /// Why processing failed, when `status` is `failed` (null otherwise).
    #[oai(nullable)]
    pub error: Option<String>,
}

/// A video as its owner's endpoints read it.
#[derive(sqlx::FromRow)]
struct OwnedVideoRow {
    id: Uuid,
    owner_id: Uuid,
    title: String,
    status: StoredStatus,
    published: bool,
    uploaded_at: DateTime<Utc>,
    processed_at: Option<DateTime<Utc>>,
    original_key: String,
    processed_key: Option<String>,
    poster_key: Option<String>,
    votes: i32,
    error: Option<String>,
}

/// The columns of [`OwnedVideoRow`].
const OWNED_VIDEO_COLUMNS: &str =
    "id, owner_id, title, status, published_at IS NOT NULL AS published,
     uploaded_at, processed_at, original_key, processed_key, poster_key, votes, error";

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

fn not_found() -> Json<Problem> {
    Problem::new(
        StatusCode::NOT_FOUND,
        "video_not_found",
        "Video no encontrado.",
    )
    .json()
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

/// Who owns a video, where it is in its life and whether it is published.
#[derive(sqlx::FromRow)]
struct VideoState {
    owner_id: Uuid,
    status: StoredStatus,
    published: bool,
}

/// Who owns a video and whether it is published, locked for the rest of the transaction.
async fn owner_and_state(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    video_id: Uuid,
) -> Result<Option<VideoState>, sqlx::Error> {
    sqlx::query_as(
        "SELECT owner_id, status, published_at IS NOT NULL AS published
         FROM videos WHERE id = $1 FOR UPDATE",
    )
    .bind(video_id)
    .fetch_optional(&mut **tx)
    .await
}

/// The stored files of a deleted video.
#[derive(sqlx::FromRow)]
struct StoredKeys {
    original_key: String,
    processed_key: Option<String>,
    poster_key: Option<String>,
}

fn upload_problem(code: &str, detail: &str) -> UploadResponse {
    UploadResponse::BadRequest(Problem::bad_request(code, detail).json())
}

/// Validates a received upload: title, publish flag, and the file itself.
/// The upload's fields, then its file: the probe reads the file on a blocking thread so that a
/// hostile file cannot stall the request threads (and with them the health checks).
async fn check_upload(
    upload: &ReceivedUpload,
) -> Result<(Title, bool, crate::upload::probe::VideoProbe), UploadResponse> {
    let field_problem = |field: &str, detail: &str| {
        UploadResponse::BadRequest(Problem::invalid_field(field, detail).json())
    };
    let Some(file) = &upload.file else {
        return Err(field_problem(
            "video_file",
            "Falta el archivo de video (campo «video_file»).",
        ));
    };
    let Some(title) = &upload.title else {
        return Err(field_problem("title", "Falta el título del video."));
    };
    let title = Title::parse(title).map_err(|error| field_problem(error.field, &error.detail))?;
    let publish = match upload
        .publish
        .as_deref()
        .map(|p| p.trim().to_ascii_lowercase())
    {
        None => true,
        Some(value) => match value.as_str() {
            "true" | "1" | "yes" | "on" => true,
            "false" | "0" | "no" | "off" => false,
            _ => return Err(field_problem("publish", "«publish» debe ser true o false.")),
        },
    };
    let path = file.path().to_owned();
    let probed = tokio::task::spawn_blocking(move || probe(&path))
        .await
        .unwrap_or_else(|join| Err(ProbeError::Io(format!("probe task: {join}"))));
    let probed = probed.map_err(|error| {
        tracing::info!(%error, "upload refused by the probe");
        match error {
            ProbeError::NotMp4 | ProbeError::Damaged(_) | ProbeError::Io(_) => {
                upload_problem("invalid_video", "El archivo no es un video MP4 válido.")
            }
            ProbeError::NoVideoTrack | ProbeError::UnsupportedCodec(_) => upload_problem(
                "invalid_video",
                "El archivo no contiene una pista de video H.264, H.265, AV1 o MPEG-4.",
            ),
        }
    })?;
    let seconds = probed.duration.as_secs_f64();
    if !(20.0..=60.0).contains(&seconds) {
        return Err(upload_problem(
            "invalid_duration",
            &format!("El video debe durar entre 20 y 60 segundos (dura {seconds:.1} s)."),
        ));
    }
    if probed.width.min(probed.height) < 1080 {
        return Err(upload_problem(
            "invalid_resolution",
            &format!(
                "La resolución mínima es 1080p (lado corto de 1080 px); el video es de {}x{}.",
                probed.width, probed.height
            ),
        ));
    }
    Ok((title, publish, probed))
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
            Err(UploadRejection::Busy) => {
                return Ok(UploadResponse::Busy(
                    Problem::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "busy",
                        "El servidor está recibiendo demasiados videos a la vez. Inténtalo de nuevo en unos segundos.",
                    )
                    .json(),
                    5,
                ));
            }
            Err(UploadRejection::Internal(cause)) => return Err(ApiError::internal(cause)),
        };
        let (title, publish, probed) = match check_upload(&upload).await {
            Ok(checked) => checked,
            Err(response) => return Ok(response),
        };
        let Some(file) = &upload.file else {
            return Err(ApiError::internal("checked upload without a file"));
        };

        let video_id = Uuid::now_v7();
        let task_id = Uuid::now_v7();
        let key = StorageKey::parse(&format!("videos/{video_id}/original.mp4"))?;
        state
            .storage
            .put_file(&key, file.path(), "video/mp4")
            .await?;

        let recorded = async {
            let mut tx = state.pool.begin().await?;
            sqlx::query(
                "INSERT INTO videos (id, owner_id, title, publish_requested, original_key,
                                     duration_ms, width, height, size_bytes, video_codec)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(video_id)
            .bind(auth.0)
            .bind(title.as_str())
            .bind(publish)
            .bind(key.as_str())
            .bind(i32::try_from(probed.duration.as_millis()).unwrap_or(i32::MAX))
            .bind(i32::try_from(probed.width).unwrap_or(i32::MAX))
            .bind(i32::try_from(probed.height).unwrap_or(i32::MAX))
            .bind(i64::try_from(upload.size).unwrap_or(i64::MAX))
            .bind(probed.codec)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO job_outbox (id, video_id, next_attempt_at)
                 VALUES ($1, $2, now() + make_interval(secs => $3))",
            )
            .bind(task_id)
            .bind(video_id)
            .bind(outbox::HANDOVER_DELAY.as_secs_f64())
            .execute(&mut *tx)
            .await?;
            tx.commit().await
        }
        .await;
        if let Err(error) = recorded {
            // Leave nothing behind: no row was written, so the stored original goes too.
            if let Err(cleanup) = state.storage.delete(&key).await {
                tracing::error!(%cleanup, key = %key, "could not remove the original of a failed upload");
            }
            return Err(error.into());
        }
        outbox::publish(&state.pool, state.queue.as_ref(), task_id, video_id).await;
        tracing::info!(%video_id, %task_id, bytes = upload.size, "video uploaded");
        Ok(UploadResponse::Created(Json(UploadAccepted {
            message: "Video subido correctamente. Procesamiento en curso.".to_owned(),
            task_id,
            video_id,
        })))
    }

    /// The caller's videos, newest first.
    #[oai(path = "/api/videos", method = "get", operation_id = "list_my_videos")]
    async fn list(
        &self,
        auth: BearerAuth,
        state: Data<&AppState>,
    ) -> Result<ListResponse, ApiError> {
        let rows: Vec<OwnedVideoRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {OWNED_VIDEO_COLUMNS} FROM videos WHERE owner_id = $1
             ORDER BY uploaded_at DESC, id DESC"
        )))
        .bind(auth.0)
        .fetch_all(&state.pool)
        .await?;
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
            return Ok(DetailResponse::NotFound(not_found()));
        };
        let row: Option<OwnedVideoRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {OWNED_VIDEO_COLUMNS} FROM videos WHERE id = $1"
        )))
        .bind(video_id)
        .fetch_optional(&state.pool)
        .await?;
        let Some(row) = row else {
            return Ok(DetailResponse::NotFound(not_found()));
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
        let Ok(video_id) = Uuid::parse_str(&video_id) else {
            return Ok(PublishResponse::NotFound(not_found()));
        };
        let mut tx = state.pool.begin().await?;
        let Some(video) = owner_and_state(&mut tx, video_id).await? else {
            return Ok(PublishResponse::NotFound(not_found()));
        };
        if video.owner_id != auth.0 {
            return Ok(PublishResponse::Forbidden(forbidden()));
        }
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
        let Ok(video_id) = Uuid::parse_str(&video_id) else {
            return Ok(DeleteResponse::NotFound(not_found()));
        };
        let mut tx = state.pool.begin().await?;
        let Some(video) = owner_and_state(&mut tx, video_id).await? else {
            return Ok(DeleteResponse::NotFound(not_found()));
        };
        if video.owner_id != auth.0 {
            return Ok(DeleteResponse::Forbidden(forbidden()));
        }
        if video.published {
            return Ok(DeleteResponse::BadRequest(
                Problem::bad_request(
                    "video_published",
                    "El video está publicado para votación y no puede eliminarse.",
                )
                .json(),
            ));
        }
        // The outbox record goes with the row (ON DELETE CASCADE); a job already queued or running
        // finds no row and is dropped by the worker.
        let keys: StoredKeys = sqlx::query_as(
            "DELETE FROM videos WHERE id = $1 RETURNING original_key, processed_key, poster_key",
        )
        .bind(video_id)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        let StoredKeys {
            original_key,
            processed_key,
            poster_key,
        } = keys;
        for key in [Some(original_key), processed_key, poster_key]
            .into_iter()
            .flatten()
        {
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
