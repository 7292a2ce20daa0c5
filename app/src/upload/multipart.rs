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

use super::MAX_UPLOAD_BYTES;
use crate::state::AppState;

/// Text fields are short; anything longer than this is refused without reading on.
const MAX_TEXT_FIELD_BYTES: usize = 64 * 1024;
/// Room for the text fields and multipart framing around the file.
const FRAMING_ALLOWANCE: u64 = 1024 * 1024;

/// The upload form as the OpenAPI document describes it (the parsing is done by [`UploadForm`]).
#[derive(Debug, Multipart)]
#[allow(dead_code)]
struct UploadFormSchema {
    /// The video: an MP4 with an H.264, H.265, AV1 or MPEG-4 video track, at most 100 MiB,
    /// 20–60 s long, shorter side at least 1080 px. The field may also be called `file`.
    video_file: Upload,
    /// 1–200 characters.
    title: String,
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
        let upload_dir = request
            .data::<AppState>()
            .map(|state| state.upload_dir.clone())
            .unwrap_or_else(std::env::temp_dir);
        Ok(Self(receive(request, body, &upload_dir).await))
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
    let stream = body
        .take()
        .map_err(|error| malformed(None, error.to_string()))?
        .into_bytes_stream();
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
    };
    while let Some(field) = multipart.next_field().await.map_err(from_multer)? {
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
                while field.chunk().await.map_err(from_multer)?.is_some() {}
            }
        }
    }
    Ok(upload)
}

async fn read_text(field: multer::Field<'_>) -> Result<String, UploadRejection> {
    let name = field.name().unwrap_or_default().to_owned();
    let bytes = field.bytes().await.map_err(from_multer)?;
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
    while let Some(chunk) = field.chunk().await.map_err(from_multer)? {
        size += chunk.len() as u64;
        if size > MAX_UPLOAD_BYTES {
            return Err(UploadRejection::TooLarge);
        }
        writer.write_all(&chunk).await.map_err(internal)?;
    }
    writer.flush().await.map_err(internal)?;
    Ok((temp, size))
}
