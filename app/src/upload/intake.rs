//! Upload intake as one decision: a received upload is checked against the rules, its original
//! stored and its video and job recorded (accepted), or it is refused with a reason; the route only
//! turns the outcome into an answer.

use platform::videos::VideoKeys;
use platform::videos::intake::{NewVideo, record_upload_within};
use platform::videos::{outbox, rules};
use uuid::Uuid;

use crate::domain::Title;
use crate::http::errors::ApiError;
use crate::state::AppState;
use crate::upload::ReceivedUpload;
use crate::upload::probe::{ProbeError, VideoProbe, probe};

/// What became of an upload.
#[derive(Debug)]
pub enum Intake {
    /// Stored, recorded, and its processing job published (or left to the outbox relay).
    Accepted { video_id: Uuid, task_id: Uuid },
    /// Nothing stored, nothing recorded.
    Refused(Refusal),
}

/// Why an upload was refused; `detail` is for the user (Spanish).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// A missing or invalid form field (`validation_error`, naming the field).
    Field { field: String, detail: String },
    /// The file breaks a rule: `invalid_video`, `invalid_duration` or `invalid_resolution`.
    Video { code: &'static str, detail: String },
    /// No room in the memory budget for the file's `moov` (`UPLOAD_MOOV_BUDGET_MIB`) within the
    /// wait: `busy`, try again shortly.
    Busy,
    /// The account already has `UPLOAD_MAX_IN_FLIGHT_PER_ACCOUNT` videos waiting for or in
    /// processing (counted again when the video is recorded): `too_many_videos_in_flight`.
    InFlight,
}

/// The upload's fields and file, checked.
struct Checked {
    fields: Fields,
    probed: VideoProbe,
}

/// An upload's text fields, checked.
#[derive(Debug, Clone)]
pub struct Fields {
    pub title: Title,
    pub publish: bool,
}

/// Takes `upload` in for `owner_id`: checks it, stores its original, records the video and its job
/// in one transaction, then publishes the job. A refused upload stores nothing; an upload whose
/// record fails, or finds its account's videos in flight at the ceiling when it is recorded (a
/// parallel upload of the same account got there first), has its stored original removed again.
pub async fn intake(
    state: &AppState,
    owner_id: Uuid,
    upload: &ReceivedUpload,
) -> Result<Intake, ApiError> {
    let Checked { fields, probed } = match check(state, upload).await {
        Ok(checked) => checked,
        Err(refusal) => return Ok(Intake::Refused(refusal)),
    };
    let Some(file) = &upload.file else {
        return Err(ApiError::internal("checked upload without a file"));
    };

    let video_id = Uuid::now_v7();
    let key = VideoKeys::of(video_id).original();
    state
        .storage
        .put_file(&key, file.path(), "video/mp4")
        .await?;
    let recorded = record(state, owner_id, video_id, upload.size, &fields, &probed).await;
    if !matches!(recorded, Ok(Intake::Accepted { .. })) {
        // Leave nothing behind: no row was written, so the stored original goes too.
        if let Err(cleanup) = state.storage.delete(&key).await {
            tracing::error!(%cleanup, key = %key, "could not remove the original of a refused upload");
        }
    }
    recorded
}

/// Records the video `video_id` whose original (of `size` bytes, checked and probed) is stored at
/// its [`VideoKeys::original`], and its job, then publishes the job: accepted, or refused because
/// the account's videos in flight are at the ceiling. It removes nothing: what becomes of the
/// stored original when the video is not recorded is the caller's choice.
pub async fn record(
    state: &AppState,
    owner_id: Uuid,
    video_id: Uuid,
    size: u64,
    fields: &Fields,
    probed: &VideoProbe,
) -> Result<Intake, ApiError> {
    let video = NewVideo {
        id: video_id,
        owner_id,
        title: fields.title.as_str().to_owned(),
        publish_requested: fields.publish,
        original: VideoKeys::of(video_id).original(),
        duration: probed.duration,
        width: probed.width,
        height: probed.height,
        size_bytes: size,
        video_codec: probed.codec.to_owned(),
    };
    let recorded =
        record_upload_within(&state.pool, &video, state.max_in_flight_per_account).await?;
    let Some(task_id) = recorded else {
        tracing::info!(%owner_id, "upload refused: the account's videos in flight are at the ceiling");
        return Ok(Intake::Refused(Refusal::InFlight));
    };
    outbox::publish(&state.pool, state.queue.as_ref(), task_id, video_id).await;
    tracing::info!(%video_id, %task_id, bytes = size, "video uploaded");
    Ok(Intake::Accepted { video_id, task_id })
}

/// The text fields of an upload (a form's or a session's): a title is required, `publish` is
/// `true` unless it says otherwise.
pub fn check_fields(title: Option<&str>, publish: Option<&str>) -> Result<Fields, Refusal> {
    let field = |field: &str, detail: &str| Refusal::Field {
        field: field.to_owned(),
        detail: detail.to_owned(),
    };
    let Some(title) = title else {
        return Err(field("title", "Falta el título del video."));
    };
    let title = Title::parse(title).map_err(|error| field(error.field, &error.detail))?;
    let publish = match publish.map(|p| p.trim().to_ascii_lowercase()) {
        None => true,
        Some(value) => match value.as_str() {
            "true" | "1" | "yes" | "on" => true,
            "false" | "0" | "no" | "off" => false,
            _ => return Err(field("publish", "«publish» debe ser true o false.")),
        },
    };
    Ok(Fields { title, publish })
}

/// The upload's fields, then its file.
async fn check(state: &AppState, upload: &ReceivedUpload) -> Result<Checked, Refusal> {
    let Some(file) = &upload.file else {
        return Err(Refusal::Field {
            field: "video_file".to_owned(),
            detail: "Falta el archivo de video (campo «video_file»).".to_owned(),
        });
    };
    let fields = check_fields(upload.title.as_deref(), upload.publish.as_deref())?;
    let path = file.path().to_owned();
    let probed = probe_with(state, move |reserve| probe(&path, reserve)).await?;
    Ok(Checked { fields, probed })
}

/// Probes a file with `run` and applies the rules to what it finds. The probe runs on a blocking
/// thread so that a hostile file cannot stall the request threads (and with them the health
/// checks), and reads its `moov` only once the process-wide budget has room for it (`run` is given
/// the budget's `reserve`).
pub async fn probe_with<F>(state: &AppState, run: F) -> Result<VideoProbe, Refusal>
where
    F: FnOnce(
            &mut dyn FnMut(u64) -> Result<tokio::sync::OwnedSemaphorePermit, ProbeError>,
        ) -> Result<VideoProbe, ProbeError>
        + Send
        + 'static,
{
    let (budget, runtime) = (state.moov_budget.clone(), tokio::runtime::Handle::current());
    let probed = tokio::task::spawn_blocking(move || {
        let mut reserve = |bytes| budget.reserve_blocking(&runtime, bytes);
        run(&mut reserve)
    })
    .await
    .unwrap_or_else(|join| Err(ProbeError::Io(format!("probe task: {join}"))));
    let video = |code: &'static str, detail: String| Refusal::Video { code, detail };
    let probed = probed.map_err(|error| {
        tracing::info!(%error, "upload refused by the probe");
        match error {
            ProbeError::Busy => Refusal::Busy,
            ProbeError::NotMp4 | ProbeError::Damaged(_) | ProbeError::Io(_) => video(
                "invalid_video",
                "El archivo no es un video MP4 válido.".to_owned(),
            ),
            ProbeError::NoVideoTrack | ProbeError::UnsupportedCodec(_) => video(
                "invalid_video",
                format!(
                    "El archivo no contiene una pista de video {}.",
                    rules::codec_list()
                ),
            ),
        }
    })?;
    judge(&probed)?;
    Ok(probed)
}

/// The upload rules applied to what the probe found.
fn judge(probed: &VideoProbe) -> Result<(), Refusal> {
    let video = |code: &'static str, detail: String| Refusal::Video { code, detail };
    if !rules::accepts_duration(probed.duration) {
        return Err(video(
            "invalid_duration",
            format!(
                "El video debe durar entre {} y {} segundos (dura {:.1} s).",
                rules::MIN_SECONDS,
                rules::MAX_SECONDS,
                probed.duration.as_secs_f64()
            ),
        ));
    }
    // The larger of the display size and the size the decoder is told to allocate.
    let pixels = |(w, h): (u32, u32)| u64::from(w) * u64::from(h);
    let display = (probed.width, probed.height);
    let largest = probed
        .coded
        .filter(|&coded| pixels(coded) > pixels(display))
        .unwrap_or(display);
    if !rules::accepts_frame_size(largest.0, largest.1) {
        return Err(video(
            "invalid_resolution",
            format!(
                "El video es de {}x{}; el máximo es {} megapíxeles por imagen (4K).",
                largest.0,
                largest.1,
                rules::MAX_PIXELS / 1_000_000
            ),
        ));
    }
    if let Some(frames) = probed.frames
        && !rules::accepts_frame_count(frames, probed.duration)
    {
        return Err(video(
            "invalid_frame_rate",
            format!(
                "El video tiene {:.0} imágenes por segundo; el máximo es {}.",
                frames as f64 / probed.duration.as_secs_f64().max(0.001),
                rules::MAX_FRAME_RATE
            ),
        ));
    }
    if !rules::accepts_resolution(probed.width, probed.height) {
        return Err(video(
            "invalid_resolution",
            format!(
                "La resolución mínima es {side}p (lado corto de {side} px); el video es de {}x{}.",
                probed.width,
                probed.height,
                side = rules::MIN_SHORT_SIDE
            ),
        ));
    }
    Ok(())
}
