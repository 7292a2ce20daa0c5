//! What the pipeline promises and asks, shared by its stages: the clip's geometry and frame rate,
//! the encoder settings, the report of a run, why a run fails, and FFmpeg's one-time set-up.

use std::path::PathBuf;
use std::sync::Once;
use std::time::Duration;

use ffmpeg_next as ffmpeg;
use ffmpeg_next::error::{EAGAIN, EIO, ENOMEM, ENOSPC};

/// Width of the showcase clip in pixels.
pub const OUTPUT_WIDTH: u32 = 1280;
/// Height of the showcase clip in pixels.
pub const OUTPUT_HEIGHT: u32 = 720;
/// Frame rate of the showcase clip (constant).
pub const OUTPUT_FPS: u32 = 30;
/// Frames in each card (intro and outro): 2.5 s at 30 fps.
pub const CARD_FRAMES: u64 = 75;
/// The longest stretch of the source that goes into the clip.
pub const MAX_FOOTAGE: Duration = Duration::from_secs(30);

/// How the clip is encoded. `Default` gives the production settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineSettings {
    /// libx264 preset (`ultrafast` … `veryslow`).
    pub preset: String,
    /// libx264 constant rate factor (0–51; lower is better quality and bigger files).
    pub crf: u8,
    /// A PNG (with alpha) that replaces the built-in ANB logo; `None` uses the built-in one.
    pub logo_path: Option<PathBuf>,
    /// Decoder and encoder threads; 0 lets FFmpeg pick (one per core), which is what you want
    /// unless several jobs share the machine.
    pub threads: usize,
}

impl Default for PipelineSettings {
    fn default() -> Self {
        Self {
            preset: "veryfast".to_owned(),
            crf: 23,
            logo_path: None,
            threads: 0,
        }
    }
}

/// What a successful run produced.
#[derive(Debug, Clone, PartialEq)]
pub struct ShowcaseReport {
    /// Duration of the clip (frames / 30 fps), cards included.
    pub duration: Duration,
    /// Clip width (always 1280).
    pub width: u32,
    /// Clip height (always 720).
    pub height: u32,
    /// Frames in the clip, cards included.
    pub frames: u64,
    /// Frames of the player's footage (the clip without its cards).
    pub footage_frames: u64,
    /// How much of the source was used: min(source, 30 s), measured on the decoded frames.
    pub source_used: Duration,
    /// Whether the source was longer than 30 s and was cut.
    pub source_cut: bool,
    /// The source's coded width from its track's header, before rotation.
    pub source_width: u32,
    /// The source's coded height from its track's header, before rotation.
    pub source_height: u32,
    /// The decoded frame with the shortest side, `(width, height)` before rotation. Every frame is
    /// measured, so a stream whose pictures shrink part-way shows it here whatever its header says.
    pub smallest_frame: (u32, u32),
    /// The time the decoded footage's frames span: the last used frame's timestamp minus the
    /// first's (at most the 30 s cut). The last frame's own duration is not counted: a container
    /// can stretch it at will.
    pub frames_span: Duration,
    /// The source's video codec (e.g. `h264`, `hevc`).
    pub source_codec: String,
    /// Clockwise rotation applied from the display matrix (0, 90, 180, 270 or another angle).
    pub rotation_degrees: i32,
    /// Where the poster frame was taken, measured from the start of the footage.
    pub poster_at: Duration,
    /// Packets or frames the decoder rejected (the clip was still made from the rest).
    pub decode_errors: u64,
    /// Size of the MP4 in bytes.
    pub output_bytes: u64,
}

/// Why an input can never become a showcase clip, whatever the retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputProblem {
    /// Not an MP4/MOV file, or its structure cannot be read.
    Unreadable,
    /// The container has no video track.
    NoVideoTrack,
    /// The video track's codec is unknown to this build or no frame could be decoded.
    Undecodable,
    /// The file ends before the data its index describes (cut-off upload or download).
    Truncated,
    /// The video track's codec is not one uploads may use (H.264, H.265, AV1, MPEG-4).
    UnsupportedCodec,
    /// Frames larger than uploads may have (`platform::videos::rules::MAX_PIXELS`).
    FrameTooLarge,
    /// More frames a second than uploads may have (`platform::videos::rules::MAX_FRAME_RATE`).
    TooManyFrames,
}

impl std::fmt::Display for InputProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Unreadable => "the file is not a readable MP4 video",
            Self::NoVideoTrack => "the file has no video track",
            Self::Undecodable => "the video track cannot be decoded",
            Self::Truncated => "the file is truncated or corrupt",
            Self::UnsupportedCodec => "the video track's codec is not accepted",
            Self::FrameTooLarge => "the frames are larger than uploads may have",
            Self::TooManyFrames => "the track has more frames a second than uploads may have",
        })
    }
}

/// A failed run. [`PipelineError::is_permanent`] tells whether retrying can help.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The input itself is at fault; retrying cannot succeed.
    #[error("{problem}: {detail}")]
    InvalidInput {
        problem: InputProblem,
        detail: String,
    },
    /// A file could not be read or written (disk full, permissions, missing download…).
    // The cause is part of the message rather than a `source()`: one line says it all, and the
    // cause would otherwise be printed twice by `{:#}` chains.
    #[error("{action} {}: {error}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        error: std::io::Error,
    },
    /// FFmpeg failed for a reason that is not the input's fault (resources, encoder set-up…).
    #[error("ffmpeg failed while {stage}: {error}")]
    Ffmpeg {
        stage: &'static str,
        error: ffmpeg::Error,
    },
    /// The configured logo cannot be used (a deployment problem, not the input's).
    #[error("the logo {origin} cannot be used: {reason}")]
    Logo { origin: String, reason: String },
    /// The cancel flag was raised (timeout or shutdown).
    #[error("processing was cancelled")]
    Cancelled,
}

impl PipelineError {
    /// True when the input can never succeed (unreadable, no video, undecodable, truncated):
    /// the job should fail at once instead of being retried.
    pub fn is_permanent(&self) -> bool {
        matches!(self, Self::InvalidInput { .. })
    }

    /// True when the run stopped because the cancel flag was raised.
    pub fn is_cancelled(&self) -> bool {
        matches!(self, Self::Cancelled)
    }

    pub(crate) fn ffmpeg(stage: &'static str) -> impl FnOnce(ffmpeg::Error) -> Self {
        move |error| Self::Ffmpeg { stage, error }
    }

    pub(crate) fn invalid(problem: InputProblem, detail: impl Into<String>) -> Self {
        Self::InvalidInput {
            problem,
            detail: detail.into(),
        }
    }
}

/// FFmpeg errors that say "the machine is in trouble" rather than "this file is bad".
pub(crate) fn is_resource_error(error: &ffmpeg::Error) -> bool {
    matches!(error, ffmpeg::Error::Other { errno } if [ENOMEM, EIO, ENOSPC, EAGAIN].contains(errno))
}

/// The value of FFmpeg's `threads` option: 0 means one per core.
pub(crate) fn threads_option(threads: usize) -> String {
    if threads == 0 {
        "auto".to_owned()
    } else {
        threads.to_string()
    }
}

/// Initialises FFmpeg once per process and keeps its own logging to errors only, so that the
/// worker's structured logs stay readable (our errors carry FFmpeg's reason anyway).
pub(crate) fn init_ffmpeg() -> Result<(), PipelineError> {
    static INIT: Once = Once::new();
    let mut result = Ok(());
    INIT.call_once(|| {
        result = ffmpeg::init().map_err(PipelineError::ffmpeg("initialising"));
        ffmpeg::log::set_level(ffmpeg::log::Level::Error);
    });
    result
}
