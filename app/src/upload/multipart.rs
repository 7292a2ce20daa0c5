//! The `multipart/form-data` body of `POST /api/videos/upload`, read as a stream: the file goes to
//! a temporary file chunk by chunk and the read stops the moment the size cap is passed.
//!
//! poem-openapi's own multipart support would buffer or spool the whole body before the handler
//! runs, so this type implements `ApiExtractor` itself and borrows a derived schema for the docs.

use std::path::Path;

use poem::{Request, RequestBody};
use poem_openapi::payload::Payload;
use poem_openapi::registry::{MetaMediaType, MetaRequest, MetaSchemaRef, Registry};
use poem_openapi::types::multipart::Upload;
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions, Multipart};
use tokio::io::AsyncWriteExt;

use futures_util::StreamExt;

use super::framing::{FramingWatch, HeadersTooLong};
use crate::state::AppState;

pub use platform::videos::rules::MAX_UPLOAD_BYTES;

/// How long the early look at an account's videos in flight may take before the upload goes on
/// without it.
const EARLY_LOOK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

/// Text fields are short; anything longer than this is refused without reading on.
const MAX_TEXT_FIELD_BYTES: usize = 64 * 1024;
/// Room for the text fields and multipart framing around the file.
const FRAMING_ALLOWANCE: u64 = 1024 * 1024;
/// A body that sends nothing for this long is abandoned (a stalled or deliberately slow client
/// would otherwise hold an upload slot and a temporary file forever).
const STALL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Waits for the next piece of the body, unless the client has stopped sending.
async fn unless_stalled<T>(
    next: impl std::future::Future<Output = Result<T, multer::Error>>,
) -> Result<T, UploadRejection> {
    match tokio::time::timeout(STALL_TIMEOUT, next).await {
        Ok(result) => result.map_err(from_multer),
        Err(_) => Err(malformed(
            None,
            format!(
                "El envío se detuvo: no llegó nada en {} segundos.",
                STALL_TIMEOUT.as_secs()
            ),
        )),
    }
}

/// The upload form as the OpenAPI document describes it (the parsing is done by [`UploadForm`]).
#[derive(Debug, Multipart)]
#[allow(dead_code)]
struct UploadFormSchema {
    /// The video: an MP4 with an H.264, H.265, AV1 or MPEG-4 video track, at most 100 MiB,
    /// 20–60 s long, shorter side at least 1080 px. The field may also be called `file`.
    video_file: Upload,
    /// 1–200 characters once surrounding spaces are trimmed, no control characters.
    title: crate::http::fields::TitleText,
    /// Publish for voting as soon as processing succeeds (default `true`); `false` keeps the video
    /// private until `POST /api/videos/{video_id}/publish`.
    publish: Option<bool>,
}

/// A fully received upload, not yet validated.
#[derive(Debug)]
pub struct ReceivedUpload {
    /// The file, deleted when this value is dropped.
    pub file: Option<tempfile::NamedTempFile>,
    pub size: u64,
    pub title: Option<String>,
    pub publish: Option<String>,
    /// This upload's place among the ones the instance takes at once, freed when dropped.
    pub slot: Option<tokio::sync::OwnedSemaphorePermit>,
    /// Its place among the ones its account sends at once, freed when dropped.
    pub account_slot: Option<crate::lines::Turn>,
}

/// Why the body could not be received.
#[derive(Debug)]
pub enum UploadRejection {
    /// Past [`MAX_UPLOAD_BYTES`]: nothing more was read.
    TooLarge,
    /// Not multipart, bad framing, a repeated or oversized field.
    Malformed {
        field: Option<&'static str>,
        detail: String,
    },
    /// The instance already receives `UPLOAD_MAX_CONCURRENT` uploads: nothing was read.
    Busy,
    /// This account already sends `UPLOAD_MAX_CONCURRENT_PER_ACCOUNT` uploads: nothing was read.
    AccountBusy,
    /// This account already has `UPLOAD_MAX_IN_FLIGHT_PER_ACCOUNT` videos waiting for or in
    /// processing: nothing was read.
    InFlight,
    /// Our side failed (temporary file): a 500, logged.
    Internal(String),
}

/// The parsed upload request (or why it could not be parsed): the handler turns either into the
/// endpoint's documented answers.
#[derive(Debug)]
pub struct UploadForm(pub Result<ReceivedUpload, UploadRejection>);

impl<'a> ApiExtractor<'a> for UploadForm {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        <UploadFormSchema as Payload>::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        Some(MetaRequest {
            description: None,
            content: vec![MetaMediaType {
                content_type: "multipart/form-data",
                schema: schema_ref(),
            }],
            required: true,
        })
    }

    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        let Some(state) = request.data::<AppState>() else {
            return Ok(Self(Err(UploadRejection::Internal(
                "no application state".to_owned(),
            ))));
        };
        // An account's share first (the bearer token is checked before the body is read; an
        // invalid one is answered 401 by the handler's guard and never gets here with a body).
        let account = request
            .header("authorization")
            .and_then(|value| value.strip_prefix("Bearer "))
            .and_then(|token| state.tokens.verify(token.trim()));
        let account_slot = match account {
            Some(account) => match state
                .account_uploads
                .try_enter(&account.to_string(), state.max_uploads_per_account)
            {
                Some(place) => Some(place),
                None => return Ok(Self(Err(UploadRejection::AccountBusy))),
            },
            None => None,
        };
        // An account whose videos already fill its share of the queue is told so before it sends
        // the body. Only an early look: the recording transaction counts again under a lock and
        // decides, so a database that does not answer at once does not hold the upload here (it
        // is then refused, or not, when it is recorded).
        if let Some(account) = account {
            let look = tokio::time::timeout(
                EARLY_LOOK_TIMEOUT,
                platform::videos::intake::in_flight(&state.pool, account),
            )
            .await;
            match look {
                Ok(Ok(count)) if count >= i64::from(state.max_in_flight_per_account) => {
                    return Ok(Self(Err(UploadRejection::InFlight)));
                }
                Ok(Ok(_)) => {}
                Ok(Err(error)) => {
                    tracing::warn!(%error, "the early look at the videos in flight failed");
                }
                Err(_) => tracing::warn!("the early look at the videos in flight timed out"),
            }
        }
        // Each upload holds a temporary file and a parser: a fixed number at once per instance.
        let Ok(slot) = state.uploads.clone().try_acquire_owned() else {
            return Ok(Self(Err(UploadRejection::Busy)));
        };
        // However it trickles, a body has a deadline: a slot is never held for ever.
        let received = tokio::time::timeout(
            state.upload_deadline,
            receive(request, body, &state.upload_dir),
        )
        .await
        .unwrap_or_else(|_| {
            Err(malformed(
                None,
                format!(
                    "El envío tardó más de {} minutos; inténtalo con una conexión más rápida.",
                    state.upload_deadline.as_secs().div_ceil(60)
                ),
            ))
        });
        Ok(Self(received.map(|upload| ReceivedUpload {
            slot: Some(slot),
            account_slot,
            ..upload
        })))
    }
}

fn schema_ref() -> MetaSchemaRef {
    <UploadFormSchema as Payload>::schema_ref()
}

fn malformed(field: Option<&'static str>, detail: impl Into<String>) -> UploadRejection {
    UploadRejection::Malformed {
        field,
        detail: detail.into(),
    }
}

fn from_multer(error: multer::Error) -> UploadRejection {
    match error {
        multer::Error::StreamSizeExceeded { .. } => UploadRejection::TooLarge,
        multer::Error::StreamReadFailed(cause)
            if cause
                .downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .is_some_and(|inner| inner.is::<HeadersTooLong>()) =>
        {
            malformed(
                None,
                "Las cabeceras de una parte del formulario son demasiado largas.",
            )
        }
        multer::Error::FieldSizeExceeded { field_name, .. } => malformed(
            None,
            format!(
                "El campo «{}» es demasiado largo.",
                field_name.unwrap_or_default()
            ),
        ),
        other => malformed(None, format!("El cuerpo multipart no es válido: {other}")),
    }
}

async fn receive(
    request: &Request,
    body: &mut RequestBody,
    upload_dir: &Path,
) -> Result<ReceivedUpload, UploadRejection> {
    let declared_length = request
        .header("content-length")
        .and_then(|length| length.parse::<u64>().ok());
    if declared_length.is_some_and(|length| length > MAX_UPLOAD_BYTES + FRAMING_ALLOWANCE) {
        return Err(UploadRejection::TooLarge);
    }
    let content_type = request.content_type().unwrap_or_default();
    let boundary = multer::parse_boundary(content_type)
        .map_err(|_| malformed(None, "Se esperaba un cuerpo multipart/form-data."))?;
    // The parser holds a part's headers in memory until their end: the watch refuses a body whose
    // headers (or preamble) run past a few KiB, before the parser can buffer more.
    let mut watch = FramingWatch::new(&boundary);
    let stream = body
        .take()
        .map_err(|error| malformed(None, error.to_string()))?
        .into_bytes_stream()
        .map(move |chunk| {
            let chunk = chunk?;
            watch
                .inspect(&chunk)
                .map_err(|error| std::io::Error::new(std::io::ErrorKind::InvalidData, error))?;
            Ok::<_, std::io::Error>(chunk)
        });
    let constraints = multer::Constraints::new().size_limit(
        multer::SizeLimit::new()
            .whole_stream(MAX_UPLOAD_BYTES + FRAMING_ALLOWANCE)
            .for_field("title", MAX_TEXT_FIELD_BYTES as u64)
            .for_field("publish", MAX_TEXT_FIELD_BYTES as u64),
    );
    let mut multipart = multer::Multipart::with_constraints(stream, boundary, constraints);
    let mut upload = ReceivedUpload {
        file: None,
        size: 0,
        title: None,
        publish: None,
        slot: None,
        account_slot: None,
    };
    while let Some(field) = unless_stalled(multipart.next_field()).await? {
        match field.name() {
            Some("video_file" | "file") => {
                if upload.file.is_some() {
                    return Err(malformed(
                        Some("video_file"),
                        "Envía un solo archivo de video.",
                    ));
                }
                let (file, size) = stream_to_file(field, upload_dir).await?;
                upload.file = Some(file);
                upload.size = size;
            }
            Some("title") => upload.title = Some(read_text(field).await?),
            Some("publish") => upload.publish = Some(read_text(field).await?),
            // Unknown fields are read and dropped (within the whole-stream limit).
            _ => {
                let mut field = field;
                while unless_stalled(field.chunk()).await?.is_some() {}
            }
        }
    }
    Ok(upload)
}

async fn read_text(field: multer::Field<'_>) -> Result<String, UploadRejection> {
    let name = field.name().unwrap_or_default().to_owned();
    let bytes = unless_stalled(field.bytes()).await?;
    if bytes.len() > MAX_TEXT_FIELD_BYTES {
        return Err(malformed(
            None,
            format!("El campo «{name}» es demasiado largo."),
        ));
    }
    String::from_utf8(bytes.to_vec())
        .map_err(|_| malformed(None, format!("El campo «{name}» no es texto UTF-8 válido.")))
}

async fn stream_to_file(
    mut field: multer::Field<'_>,
    upload_dir: &Path,
) -> Result<(tempfile::NamedTempFile, u64), UploadRejection> {
    let internal = |error: std::io::Error| UploadRejection::Internal(error.to_string());
    let temp = tempfile::Builder::new()
        .prefix("upload-")
        .suffix(".mp4")
        .tempfile_in(upload_dir)
        .map_err(internal)?;
    let mut writer = tokio::fs::File::from_std(temp.reopen().map_err(internal)?);
    let mut size: u64 = 0;
    while let Some(chunk) = unless_stalled(field.chunk()).await? {
        size += chunk.len() as u64;
        if size > MAX_UPLOAD_BYTES {
            return Err(UploadRejection::TooLarge);
        }
        writer.write_all(&chunk).await.map_err(internal)?;
    }
    writer.flush().await.map_err(internal)?;
    Ok((temp, size))
}
