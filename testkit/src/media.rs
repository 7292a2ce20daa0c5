//! Test videos generated with the ffmpeg CLI and cached by content in the temp directory, so a test
//! run makes each clip once however many tests use it. Nothing large is committed or downloaded.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, bail};

/// What to generate. Low frame rates keep generation fast; the pipeline resamples to 30 fps.
#[derive(Debug, Clone, PartialEq)]
pub struct Clip {
    pub width: u32,
    pub height: u32,
    pub seconds: f64,
    pub fps: u32,
    pub audio: bool,
    /// `libx264` or `libx265`.
    pub encoder: &'static str,
}

impl Clip {
    /// An H.264 clip with audio at 5 fps.
    pub fn h264(width: u32, height: u32, seconds: f64) -> Self {
        Self {
            width,
            height,
            seconds,
            fps: 5,
            audio: true,
            encoder: "libx264",
        }
    }

    fn name(&self) -> String {
        format!(
            "{}x{}-{}s-{}fps-{}-{}.mp4",
            self.width,
            self.height,
            self.seconds,
            self.fps,
            if self.audio { "audio" } else { "mute" },
            self.encoder
        )
    }

    /// The clip's path, generating it on first use.
    pub fn path(&self) -> anyhow::Result<PathBuf> {
        cached(&self.name(), |command| {
            command.args(["-f", "lavfi", "-i"]).arg(format!(
                "testsrc2=size={}x{}:rate={}:duration={}",
                self.width, self.height, self.fps, self.seconds
            ));
            if self.audio {
                command
                    .args(["-f", "lavfi", "-i"])
                    .arg(format!("sine=frequency=440:duration={}", self.seconds))
                    .args(["-c:a", "aac", "-b:a", "64k"]);
            }
            command
                .args([
                    "-c:v",
                    self.encoder,
                    "-preset",
                    "ultrafast",
                    "-pix_fmt",
                    "yuv420p",
                ])
                .args(if self.encoder == "libx265" {
                    &["-tag:v", "hvc1", "-x265-params", "log-level=error"][..]
                } else {
                    &[][..]
                })
                .args(["-movflags", "+faststart"]);
        })
    }
}

/// An MP4 with only an audio track (no video), `seconds` long.
pub fn audio_only(seconds: f64) -> anyhow::Result<PathBuf> {
    cached(&format!("audio-only-{seconds}s.mp4"), |command| {
        command
            .args(["-f", "lavfi", "-i"])
            .arg(format!("sine=frequency=440:duration={seconds}"))
            .args(["-c:a", "aac"]);
    })
}

/// What `ffprobe -show_format -show_streams` says of a media file, as JSON.
pub fn ffprobe(path: &std::path::Path) -> anyhow::Result<serde_json::Value> {
    let output = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-print_format",
            "json",
            "-show_format",
            "-show_streams",
        ])
        .arg(path)
        .output()
        .context("cannot run ffprobe: `cargo xtask test` installs it")?;
    if !output.status.success() {
        bail!(
            "ffprobe {} failed: {}",
            path.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(serde_json::from_slice(&output.stdout)?)
}

/// The file `name` in the shared media cache, made by ffmpeg with the inputs and options that
/// `arguments` adds, on first use.
fn cached(name: &str, arguments: impl FnOnce(&mut Command)) -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join("rising-stars-test-media");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(name);
    if path.exists() {
        return Ok(path);
    }
    // Generate beside the target and rename: concurrent tests never see half a file.
    let partial = dir.join(format!("{name}.{}.partial.mp4", std::process::id()));
    let mut command = Command::new("ffmpeg");
    command.args(["-hide_banner", "-loglevel", "error", "-y"]);
    arguments(&mut command);
    let output = command
        .arg(&partial)
        .output()
        .context("cannot run ffmpeg: `cargo xtask test` installs it")?;
    if !output.status.success() {
        bail!("ffmpeg failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    std::fs::rename(&partial, &path)?;
    Ok(path)
}

/// `clip` remuxed with its `moov` after the media data (no faststart), as many phones write it.
pub fn moov_at_end(clip: &Clip) -> anyhow::Result<PathBuf> {
    let source = clip.path()?;
    cached(&format!("moov-at-end-{}", clip.name()), |command| {
        command
            .arg("-i")
            .arg(&source)
            .args(["-c", "copy", "-map", "0"]);
    })
}

/// `clip` followed by a top-level `free` box that brings it to `bytes` in all: a valid MP4 of an
/// upload's full size that takes no time to make (what a probe does is skip it).
pub fn padded_to(clip: &std::path::Path, bytes: u64) -> anyhow::Result<tempfile::NamedTempFile> {
    use std::io::Write;
    let mut file = tempfile::NamedTempFile::new()?;
    let original = std::fs::read(clip)?;
    let padding = bytes
        .checked_sub(original.len() as u64)
        .filter(|padding| *padding >= 8)
        .context("the clip is already as large as the padded file would be")?;
    file.write_all(&original)?;
    file.write_all(&u32::try_from(padding)?.to_be_bytes())?;
    file.write_all(b"free")?;
    let block = vec![0_u8; 1024 * 1024];
    let mut left = padding - 8;
    while left > 0 {
        let now = left.min(block.len() as u64);
        file.write_all(&block[..usize::try_from(now)?])?;
        left -= now;
    }
    file.flush()?;
    Ok(file)
}
