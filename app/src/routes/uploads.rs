//! Upload sessions (`/api/videos/uploads…`): a video sent in parts that survives dropped
//! connections, then completed into the same answer as `POST /api/videos/upload`.

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use poem::Body;
use poem::http::StatusCode;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Binary, Json};
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use tokio::io::AsyncWriteExt;
use uuid::Uuid;

use super::ApiTags;
use super::videos::{UploadAccepted, UploadResponse, upload_refusal};
use crate::auth::BearerAuth;
use crate::http::errors::{ApiError, InternalError};
use crate::http::fields::TitleText;
use crate::http::json::{JsonBody, StringFields};
use crate::http::problem::Problem;
use crate::state::AppState;
use crate::upload::intake::Refusal;
use crate::upload::sessions::{
    self, Aborted, Completion, Opened, SessionRequest, SessionView, part_link_is_valid,
};
use platform::videos::sessions::{self as stored, SessionStatus};

/// How long an account told its sessions are at the ceiling waits: one finishes in minutes.
const SESSIONS_RETRY_AFTER_SECONDS: u64 = 60;
/// The longest one part's body may take to arrive (5 MiB at about 0.1 Mbit/s).
const PART_DEADLINE: std::time::Duration = std::time::Duration::from_secs(600);
/// A part's body that sends nothing for this long is abandoned, as the single upload's is: a
/// stalled client does not hold an upload slot until the deadline.
const PART_STALL: std::time::Duration = std::time::Duration::from_secs(30);

/// A new upload session.
#[derive(Debug, Object)]
pub struct UploadSessionRequest {
    /// The file's size in bytes (at most 100 MiB: `x-upload-rules.max_bytes`).
    #[oai(validator(minimum(value = "1")))]
    pub size: u64,
    pub title: TitleText,
    /// Publish for voting as soon as processing succeeds (absent or null: `true`).
    #[oai(nullable, skip_serializing_if_is_none)]
    pub publish: Option<bool>,
    /// The SHA-256 (hex) of the file's first 5 MiB (its first part; the whole file if smaller),
    /// as the client computed it: kept and given back, so a client can recognise the file a
    /// session is for (absent or null: none). The server does not check it.
    #[oai(
        nullable,
        skip_serializing_if_is_none,
        validator(pattern = "^[0-9a-f]{64}$")
    )]
    pub checksum: Option<String>,
}

impl StringFields for UploadSessionRequest {
    const FIELDS: &'static [&'static str] = &["title"];
}

/// Where a session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum UploadSessionStatus {
    /// Taking parts.
    Open,
    /// Every part arrived and they are joined; completing again takes the video in.
    Assembled,
    /// The video is recorded (`video_id`).
    Completed,
    /// A rule failed and the file was removed; completing again repeats the problem.
    Refused,
}

/// One part of the file.
#[derive(Debug, Object)]
pub struct UploadPart {
    /// 1-based; part `n` holds bytes `(n − 1) × part_size` up to the next part's first.
    pub part_number: u32,
    /// Its exact size in bytes: `part_size`, the last part the rest.
    pub size: u64,
    /// Whether it arrived whole (sending it again replaces it).
    pub received: bool,
    /// Where to `PUT` its bytes, with `Content-Type: application/octet-stream` and no
    /// `Authorization` header, until `links_expire_at`: a pre-signed S3 link (absolute), or with
    /// local storage this API's `PUT /api/videos/uploads/{upload_id}/parts/{part_number}` link
    /// (a path to resolve against the API's address).
    pub url: String,
}

/// An upload session.
#[derive(Debug, Object)]
pub struct UploadSession {
    pub upload_id: Uuid,
    pub status: UploadSessionStatus,
    pub size: u64,
    /// Every part's size but the last one's (5 MiB).
    pub part_size: u64,
    pub part_count: u32,
    pub title: String,
    pub publish: bool,
    /// As sent when the session was opened (null if none was).
    #[oai(nullable)]
    pub checksum: Option<String>,
    /// The video the session became (null until `status` is `completed`).
    #[oai(nullable)]
    pub video_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    /// After this the session and its parts are removed (24 h after it was opened).
    pub expires_at: DateTime<Utc>,
    /// When the part links stop working: get the session again for fresh ones.
    pub links_expire_at: DateTime<Utc>,
    /// Every part, in order, while `status` is `open` or `assembled`; empty after.
    pub parts: Vec<UploadPart>,
}

impl From<SessionView> for UploadSession {
    fn from(view: SessionView) -> Self {
        let SessionView {
            session,
            parts,
            links_expire_at,
        } = view;
        let status = match session.status() {
            SessionStatus::Open => UploadSessionStatus::Open,
            SessionStatus::Assembled => UploadSessionStatus::Assembled,
            SessionStatus::Completed => UploadSessionStatus::Completed,
            SessionStatus::Refused => UploadSessionStatus::Refused,
        };
        Self {
            upload_id: session.id,
            status,
            size: session.size(),
            part_size: session.part_size(),
            part_count: session.part_count(),
            video_id: (status == UploadSessionStatus::Completed).then_some(session.video_id),
            title: session.title,
            publish: session.publish,
            checksum: session.checksum,
            created_at: session.created_at,
            expires_at: session.expires_at,
            links_expire_at,
            parts: parts
                .into_iter()
                .map(|part| UploadPart {
                    part_number: part.number,
                    size: part.size,
                    received: part.received,
                    url: part.url,
                })
                .collect(),
        }
    }
}

#[derive(Debug, ApiResponse)]
pub enum CreateSessionResponse {
    /// Opened: send every part to its `url`, then complete.
    #[oai(status = 201)]
    Created(Json<UploadSession>),
    /// `validation_error` (`field`: `title` or `publish`, as for the single upload) or
    /// `invalid_body` (not JSON, `size` missing or under 1, `checksum` not 64 lower-case hex
    /// digits).
    #[oai(status = 400, content_type = "application/problem+json")]
    BadRequest(Json<Problem>),
    /// `size` over 100 MiB (`file_too_large`); nothing was opened.
    #[oai(status = 413, content_type = "application/problem+json")]
    TooLarge(Json<Problem>),
    /// The account has as many sessions open as it may (`UPLOAD_MAX_SESSIONS_PER_ACCOUNT`):
    /// `too_many_upload_sessions`; or as many videos waiting for or in processing as it may:
    /// `too_many_videos_in_flight`. Nothing was opened.
    #[oai(status = 429, content_type = "application/problem+json")]
    TooMany(
        Json<Problem>,
        /// Seconds to wait before trying again.
        #[oai(header = "Retry-After")]
        u64,
    ),
}

#[derive(Debug, ApiResponse)]
pub enum ListSessionsResponse {
    /// The caller's sessions still open or assembled, newest first, with fresh part links.
    #[oai(status = 200)]
    Ok(Json<Vec<UploadSession>>),
}

#[derive(Debug, ApiResponse)]
pub enum SessionResponse {
    #[oai(status = 200)]
    Ok(Json<UploadSession>),
    /// No such session of the caller's, a malformed id, or one past `expires_at`
    /// (`upload_not_found`).
    #[oai(status = 404, content_type = "application/problem+json")]
    NotFound(Json<Problem>),
}

/// A part that arrived.
#[derive(Debug, Object)]
pub struct PartReceived {
    pub part_number: u32,
    pub size: u64,
}

#[derive(Debug, ApiResponse)]
pub enum PutPartResponse {
    /// Stored (replacing any earlier copy of the part).
    #[oai(status = 200)]
    Ok(
        Json<PartReceived>,
        /// The stored part's entity tag.
        #[oai(header = "ETag")]
        String,
    ),
    /// `validation_error`: the body is not the part's exact size (`field`: `body`), or the signed
    /// part number is not one of the session's parts (`field`: `part_number`).
    #[oai(status = 400, content_type = "application/problem+json")]
    BadRequest(Json<Problem>),
    /// Not a link this API signed (any of its parts changed), or one that expired
    /// (`invalid_link`): get the session again for a fresh one.
    #[oai(status = 403, content_type = "application/problem+json")]
    Forbidden(Json<Problem>),
    /// No such open session taking parts here, or one past `expires_at` (`upload_not_found`).
    #[oai(status = 404, content_type = "application/problem+json")]
    NotFound(Json<Problem>),
    /// The session no longer takes parts: it is being completed or is complete
    /// (`upload_not_open`).
    #[oai(status = 409, content_type = "application/problem+json")]
    Conflict(Json<Problem>),
    /// The body is larger than the part (`file_too_large`); the rest of it is not kept.
    #[oai(status = 413, content_type = "application/problem+json")]
    TooLarge(Json<Problem>),
    /// This instance is receiving as many uploads as it takes at once (`busy`).
    #[oai(status = 503, content_type = "application/problem+json")]
    Busy(
        Json<Problem>,
        /// Seconds to wait before trying again.
        #[oai(header = "Retry-After")]
        u64,
    ),
}

#[derive(Debug, ApiResponse)]
pub enum CompleteResponse {
    /// The single upload's answer: stored and queued for processing. Completing a completed
    /// session again answers the same.
    #[oai(status = 201)]
    Created(Json<UploadAccepted>),
    /// The single upload's refusals (`invalid_video`, `invalid_duration`, `invalid_resolution`,
    /// `invalid_frame_rate`): the file was removed and the session is `refused`; completing it
    /// again repeats the problem.
    #[oai(status = 400, content_type = "application/problem+json")]
    BadRequest(Json<Problem>),
    /// No such session of the caller's, a malformed id, or one past `expires_at`
    /// (`upload_not_found`).
    #[oai(status = 404, content_type = "application/problem+json")]
    NotFound(Json<Problem>),
    /// Parts are missing or not of their size (`upload_incomplete`: `detail` lists them; the
    /// session stays open), or another request is completing or aborting it now
    /// (`upload_in_progress`).
    #[oai(status = 409, content_type = "application/problem+json")]
    Conflict(Json<Problem>),
    /// The account's videos waiting for or in processing are at the ceiling
    /// (`too_many_videos_in_flight`): the file is kept; complete again after `Retry-After`.
    #[oai(status = 429, content_type = "application/problem+json")]
    TooMany(
        Json<Problem>,
        /// Seconds to wait before trying again.
        #[oai(header = "Retry-After")]
        u64,
    ),
    /// The probes hold as many `moov` boxes in memory as the instance allows (`busy`): the file
    /// is kept; complete again after `Retry-After`.
    #[oai(status = 503, content_type = "application/problem+json")]
    Busy(
        Json<Problem>,
        /// Seconds to wait before trying again.
        #[oai(header = "Retry-After")]
        u64,
    ),
}

/// A session aborted.
#[derive(Debug, Object)]
pub struct UploadAborted {
    /// "Subida cancelada."
    pub message: String,
    pub upload_id: Uuid,
}

#[derive(Debug, ApiResponse)]
pub enum AbortResponse {
    /// The session and its parts are gone.
    #[oai(status = 200)]
    Ok(Json<UploadAborted>),
    /// No such session of the caller's, a malformed id, or one past `expires_at`
    /// (`upload_not_found`).
    #[oai(status = 404, content_type = "application/problem+json")]
    NotFound(Json<Problem>),
    /// It already became a video (`upload_completed`: delete the video instead), or a request is
    /// completing it now (`upload_in_progress`).
    #[oai(status = 409, content_type = "application/problem+json")]
    Conflict(Json<Problem>),
}

fn upload_not_found() -> Json<Problem> {
    Problem::new(
        StatusCode::NOT_FOUND,
        "upload_not_found",
        "La subida no existe o ya caducó.",
    )
    .json()
}

fn in_progress() -> Json<Problem> {
    Problem::new(
        StatusCode::CONFLICT,
        "upload_in_progress",
        "La subida se está completando en este momento. Inténtalo de nuevo en unos segundos.",
    )
    .json()
}

pub struct UploadsApi;

#[OpenApi(tag = "ApiTags::Videos")]
impl UploadsApi {
    /// Open a resumable upload session: the file then goes in parts, each to its own link.
    #[oai(
        path = "/api/videos/uploads",
        method = "post",
        operation_id = "create_upload_session"
    )]
    async fn create(
        &self,
        auth: BearerAuth,
        state: Data<&AppState>,
        body: JsonBody<UploadSessionRequest>,
    ) -> Result<CreateSessionResponse, ApiError> {
        let UploadSessionRequest {
            size,
            title,
            publish,
            checksum,
        } = body.0;
        let request = SessionRequest {
            size,
            title: title.0,
            publish,
            checksum,
        };
        Ok(match sessions::open(&state, auth.0, request).await? {
            Opened::Opened(view) => CreateSessionResponse::Created(Json((*view).into())),
            Opened::TooLarge => CreateSessionResponse::TooLarge(
                Problem::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "file_too_large",
                    "El archivo supera el tamaño máximo de 100 MB.",
                )
                .json(),
            ),
            Opened::Refused(refusal) => match upload_refusal(refusal) {
                UploadResponse::BadRequest(problem) => CreateSessionResponse::BadRequest(problem),
                other => return Err(ApiError::internal(format!("opening a session: {other:?}"))),
            },
            Opened::InFlight => match upload_refusal(Refusal::InFlight) {
                UploadResponse::TooManyUploads(problem, after) => {
                    CreateSessionResponse::TooMany(problem, after)
                }
                other => return Err(ApiError::internal(format!("opening a session: {other:?}"))),
            },
            Opened::TooManySessions => CreateSessionResponse::TooMany(
                Problem::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too_many_upload_sessions",
                    "Ya tienes demasiadas subidas sin terminar. Termina o cancela alguna e \
                     inténtalo de nuevo.",
                )
                .json(),
                SESSIONS_RETRY_AFTER_SECONDS,
            ),
        })
    }

    /// The caller's unfinished upload sessions (to resume one after losing track of it).
    #[oai(
        path = "/api/videos/uploads",
        method = "get",
        operation_id = "list_upload_sessions"
    )]
    async fn list(
        &self,
        auth: BearerAuth,
        state: Data<&AppState>,
    ) -> Result<ListSessionsResponse, ApiError> {
        let mut found = Vec::new();
        for session in stored::unfinished_of(&state.pool, auth.0).await? {
            found.push(sessions::view(&state, session).await?.into());
        }
        Ok(ListSessionsResponse::Ok(Json(found)))
    }

    /// An upload session: which parts arrived, and fresh links for every part.
    #[oai(
        path = "/api/videos/uploads/:upload_id",
        method = "get",
        operation_id = "get_upload_session"
    )]
    async fn get(
        &self,
        auth: BearerAuth,
        state: Data<&AppState>,
        upload_id: Path<String>,
    ) -> Result<SessionResponse, ApiError> {
        let Some(session) = sessions::find(&state, auth.0, &upload_id).await? else {
            return Ok(SessionResponse::NotFound(upload_not_found()));
        };
        Ok(SessionResponse::Ok(Json(
            sessions::view(&state, session).await?.into(),
        )))
    }

    /// Send one part of a session's file (the link a session gives with local storage; with S3
    /// the links go to the bucket). Authorised by the link's signature, not a token.
    #[oai(
        path = "/api/videos/uploads/:upload_id/parts/:part_number",
        method = "put",
        operation_id = "put_upload_part"
    )]
    async fn put_part(
        &self,
        state: Data<&AppState>,
        upload_id: Path<String>,
        part_number: Path<String>,
        /// When the link stops working (seconds since the Unix epoch), as the session gave it.
        expires: Query<String>,
        /// The link's signature, as the session gave it.
        signature: Query<String>,
        body: Binary<Body>,
    ) -> Result<PutPartResponse, InternalError> {
        // The signature first: a link this API did not sign is refused whatever it holds.
        if !part_link_is_valid(&state, &upload_id, &part_number, &expires, &signature) {
            return Ok(PutPartResponse::Forbidden(
                Problem::new(
                    StatusCode::FORBIDDEN,
                    "invalid_link",
                    "El enlace de la parte no es válido o caducó.",
                )
                .json(),
            ));
        }
        let (Ok(session_id), Ok(number)) =
            (Uuid::parse_str(&upload_id), part_number.parse::<u32>())
        else {
            return Ok(PutPartResponse::NotFound(upload_not_found()));
        };
        let Some(session) = stored::find(&state.pool, session_id).await? else {
            return Ok(PutPartResponse::NotFound(upload_not_found()));
        };
        let Some(upload) = session
            .storage_upload_id
            .clone()
            .filter(|_| session.is_live(Utc::now()))
        else {
            return Ok(PutPartResponse::NotFound(upload_not_found()));
        };
        if session.status() != SessionStatus::Open
            || stored::is_claimed(&state.pool, session.id).await?
        {
            return Ok(PutPartResponse::Conflict(
                Problem::new(
                    StatusCode::CONFLICT,
                    "upload_not_open",
                    "La subida ya no recibe partes: se está completando o ya terminó.",
                )
                .json(),
            ));
        }
        let Some(expected) = session.expected_part_size(number) else {
            return Ok(PutPartResponse::BadRequest(
                Problem::invalid_field(
                    "part_number",
                    format!(
                        "La subida tiene {} partes; la {number} no es una de ellas.",
                        session.part_count()
                    ),
                )
                .json(),
            ));
        };
        let Ok(_slot) = state.uploads.clone().try_acquire_owned() else {
            return Ok(PutPartResponse::Busy(
                Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "busy",
                    "El servidor está recibiendo demasiados videos a la vez. Inténtalo de nuevo en unos segundos.",
                )
                .json(),
                5,
            ));
        };
        let received = tokio::time::timeout(
            PART_DEADLINE,
            receive_part(&state.upload_dir, body.0, expected),
        )
        .await
        .unwrap_or(Err(PartError::Short(0)));
        let file = match received {
            Ok(file) => file,
            Err(PartError::TooLarge) => {
                return Ok(PutPartResponse::TooLarge(
                    Problem::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "file_too_large",
                        format!("La parte {number} debe tener {expected} bytes; llegaron más."),
                    )
                    .json(),
                ));
            }
            Err(PartError::Short(got)) => {
                return Ok(PutPartResponse::BadRequest(
                    Problem::invalid_field(
                        "body",
                        format!("La parte {number} debe tener {expected} bytes; llegaron {got}."),
                    )
                    .json(),
                ));
            }
            Err(PartError::Internal(cause)) => return Err(InternalError::internal(cause)),
        };
        let etag = state
            .storage
            .put_part(&session.key(), &upload, number, file.path())
            .await?;
        Ok(PutPartResponse::Ok(
            Json(PartReceived {
                part_number: number,
                size: expected,
            }),
            etag,
        ))
    }

    /// Complete an upload session: its parts become the file, which is checked by the single
    /// upload's rules and taken in with the single upload's answer.
    #[oai(
        path = "/api/videos/uploads/:upload_id/complete",
        method = "post",
        operation_id = "complete_upload_session"
    )]
    async fn complete(
        &self,
        auth: BearerAuth,
        state: Data<&AppState>,
        upload_id: Path<String>,
    ) -> Result<CompleteResponse, ApiError> {
        Ok(
            match sessions::complete(&state, auth.0, &upload_id).await? {
                Completion::Accepted { video_id, task_id } => {
                    CompleteResponse::Created(Json(UploadAccepted {
                        message: "Video subido correctamente. Procesamiento en curso.".to_owned(),
                        task_id,
                        video_id,
                    }))
                }
                Completion::Refused(refusal) => match upload_refusal(refusal) {
                    UploadResponse::BadRequest(problem) => CompleteResponse::BadRequest(problem),
                    UploadResponse::TooManyUploads(problem, after) => {
                        CompleteResponse::TooMany(problem, after)
                    }
                    UploadResponse::Busy(problem, after) => CompleteResponse::Busy(problem, after),
                    other => return Err(ApiError::internal(format!("completing: {other:?}"))),
                },
                Completion::Incomplete(missing) => {
                    let listed: Vec<String> = missing.iter().map(u32::to_string).collect();
                    CompleteResponse::Conflict(
                        Problem::new(
                            StatusCode::CONFLICT,
                            "upload_incomplete",
                            format!(
                                "Faltan partes del archivo (o no tienen su tamaño): {}.",
                                listed.join(", ")
                            ),
                        )
                        .json(),
                    )
                }
                Completion::Busy => CompleteResponse::Conflict(in_progress()),
                Completion::NotFound => CompleteResponse::NotFound(upload_not_found()),
            },
        )
    }

    /// Abort an upload session: its parts are removed.
    #[oai(
        path = "/api/videos/uploads/:upload_id",
        method = "delete",
        operation_id = "abort_upload_session"
    )]
    async fn abort(
        &self,
        auth: BearerAuth,
        state: Data<&AppState>,
        upload_id: Path<String>,
    ) -> Result<AbortResponse, ApiError> {
        Ok(match sessions::abort(&state, auth.0, &upload_id).await? {
            Aborted::Aborted => AbortResponse::Ok(Json(UploadAborted {
                message: "Subida cancelada.".to_owned(),
                upload_id: Uuid::parse_str(&upload_id).unwrap_or_default(),
            })),
            Aborted::NotFound => AbortResponse::NotFound(upload_not_found()),
            Aborted::Busy => AbortResponse::Conflict(in_progress()),
            Aborted::Completed => AbortResponse::Conflict(
                Problem::new(
                    StatusCode::CONFLICT,
                    "upload_completed",
                    "La subida ya terminó y el video existe: bórralo desde tus videos.",
                )
                .json(),
            ),
        })
    }
}

/// Why a part's body was not taken.
enum PartError {
    /// More bytes than the part has.
    TooLarge,
    /// Fewer (the count that came), or the client stopped sending.
    Short(u64),
    Internal(String),
}

/// Streams a part's body to a temporary file under `dir`, refusing it the moment it passes
/// `expected` bytes.
async fn receive_part(
    dir: &std::path::Path,
    body: Body,
    expected: u64,
) -> Result<tempfile::NamedTempFile, PartError> {
    let internal = |error: std::io::Error| PartError::Internal(error.to_string());
    let temp = tempfile::Builder::new()
        .prefix("part-")
        .tempfile_in(dir)
        .map_err(internal)?;
    let mut writer = tokio::fs::File::from_std(temp.reopen().map_err(internal)?);
    let mut stream = body.into_bytes_stream();
    let mut size: u64 = 0;
    loop {
        let chunk = match tokio::time::timeout(PART_STALL, stream.next()).await {
            Ok(Some(Ok(chunk))) => chunk,
            Ok(None) => break,
            Ok(Some(Err(_))) | Err(_) => return Err(PartError::Short(size)),
        };
        size += chunk.len() as u64;
        if size > expected {
            return Err(PartError::TooLarge);
        }
        writer.write_all(&chunk).await.map_err(internal)?;
    }
    if size != expected {
        return Err(PartError::Short(size));
    }
    writer.flush().await.map_err(internal)?;
    Ok(temp)
}
