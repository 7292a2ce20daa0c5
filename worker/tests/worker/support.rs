//! Shared helpers: generating inputs, rendering them, and checking a clip against the spec.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::AtomicBool;

use anyhow::{Context as _, bail, ensure};
use tempfile::TempDir;
use worker::pipeline::{PipelineError, PipelineSettings, ShowcaseReport, render_showcase};

pub const WIDTH: usize = 1280;
pub const HEIGHT: usize = 720;
pub const CARD_FRAMES: u64 = 75;

/// A temporary directory holding one test's inputs and outputs.
pub struct Scratch {
    dir: TempDir,
}

/// A rendered clip and where its files are.
pub struct Rendered {
    pub report: ShowcaseReport,
    pub mp4: PathBuf,
    pub poster: PathBuf,
}

impl Scratch {
    pub fn new() -> anyhow::Result<Self> {
        Ok(Self {
            dir: tempfile::tempdir()?,
        })
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs `ffmpeg -y <args> <dir>/<name>` and returns the new file's path.
    pub fn generate(&self, name: &str, args: &[&str]) -> anyhow::Result<PathBuf> {
        let path = self.path(name);
        run(Command::new("ffmpeg")
            .args(["-hide_banner", "-nostdin", "-v", "error", "-y"])
            .args(args)
            .arg(&path))?;
        Ok(path)
    }

    /// One H.264 track whose pictures change size part-way, as `<dir>/<name>`: each
    /// `(size, seconds)` segment (5 fps) encoded on its own as a raw Annex B stream (its SPS
    /// in-band), the streams joined byte for byte and put in an MP4 without re-encoding. The
    /// track's header gives the first segment's size; only the decoded frames show the others.
    pub fn resized_mid_stream(
        &self,
        name: &str,
        segments: &[(&str, u32)],
    ) -> anyhow::Result<PathBuf> {
        let mut joined = Vec::new();
        for (index, (size, seconds)) in segments.iter().enumerate() {
            let source = format!("testsrc2=size={size}:rate=5:duration={seconds}");
            let part = self.generate(
                &format!("{name}-part-{index}.h264"),
                &[
                    "-f",
                    "lavfi",
                    "-i",
                    &source,
                    "-c:v",
                    "libx264",
                    "-preset",
                    "ultrafast",
                    "-pix_fmt",
                    "yuv420p",
                    "-f",
                    "h264",
                ],
            )?;
            joined.extend(std::fs::read(part)?);
        }
        let raw = self.path(&format!("{name}-joined.h264"));
        std::fs::write(&raw, joined)?;
        let raw = raw.to_string_lossy().into_owned();
        self.generate(name, &["-framerate", "5", "-i", &raw, "-c", "copy"])
    }

    /// Renders `input` with the production settings except the fastest x264 preset (the encoder's
    /// speed is not what these tests are about).
    pub fn render(&self, input: &Path) -> Result<Rendered, PipelineError> {
        let stem = input
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mp4 = self.path(&format!("{stem}-showcase.mp4"));
        let poster = self.path(&format!("{stem}-poster.jpg"));
        let report = render_showcase(
            input,
            &mp4,
            &poster,
            &fast_settings(),
            &AtomicBool::new(false),
        )?;
        Ok(Rendered {
            report,
            mp4,
            poster,
        })
    }
}

pub fn fast_settings() -> PipelineSettings {
    PipelineSettings {
        preset: "ultrafast".to_owned(),
        ..PipelineSettings::default()
    }
}

fn run(command: &mut Command) -> anyhow::Result<Vec<u8>> {
    let output = command
        .output()
        .with_context(|| format!("running {command:?}"))?;
    if !output.status.success() {
        bail!(
            "{command:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(output.stdout)
}

pub use testkit::media::ffprobe;

/// The container duration ffprobe reports, in seconds.
pub fn duration_seconds(path: &Path) -> anyhow::Result<f64> {
    let probe = ffprobe(path)?;
    probe["format"]["duration"]
        .as_str()
        .context("no duration")?
        .parse()
        .context("duration is not a number")
}

/// Presentation timestamps and durations of the video packets, in the stream's time base.
fn video_packets(path: &Path) -> anyhow::Result<Vec<(i64, i64)>> {
    let stdout = run(Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "packet=pts,duration",
        ])
        .args(["-of", "csv=p=0"])
        .arg(path))?;
    String::from_utf8(stdout)?
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let (pts, duration) = line.split_once(',').context("bad packet line")?;
            Ok((pts.trim().parse()?, duration.trim().parse()?))
        })
        .collect()
}

/// The types of the top-level MP4 boxes, in file order (read here, independently of the crate).
pub fn top_level_boxes(path: &Path) -> anyhow::Result<Vec<String>> {
    let bytes = std::fs::read(path)?;
    let mut boxes = Vec::new();
    let mut offset = 0usize;
    while offset + 8 <= bytes.len() {
        let size32 = u32::from_be_bytes(bytes[offset..offset + 4].try_into()?);
        let size = match size32 {
            0 => bytes.len() - offset,
            1 => usize::try_from(u64::from_be_bytes(
                bytes[offset + 8..offset + 16].try_into()?,
            ))?,
            size => size as usize,
        };
        ensure!(size >= 8, "bad box size {size} at {offset}");
        boxes.push(String::from_utf8_lossy(&bytes[offset + 4..offset + 8]).into_owned());
        offset += size;
    }
    Ok(boxes)
}

/// One decoded frame as 8-bit RGB.
pub struct Rgb {
    pub width: usize,
    pub data: Vec<u8>,
}

impl Rgb {
    pub fn pixel(&self, x: usize, y: usize) -> [u8; 3] {
        let offset = (y * self.width + x) * 3;
        [
            self.data[offset],
            self.data[offset + 1],
            self.data[offset + 2],
        ]
    }

    /// Fraction of the pixels in the rectangle that satisfy `test`.
    pub fn fraction(
        &self,
        (x0, y0, x1, y1): (usize, usize, usize, usize),
        test: impl Fn([u8; 3]) -> bool,
    ) -> f64 {
        let mut hits = 0usize;
        for y in y0..y1 {
            for x in x0..x1 {
                if test(self.pixel(x, y)) {
                    hits += 1;
                }
            }
        }
        hits as f64 / ((x1 - x0) * (y1 - y0)) as f64
    }
}

pub fn is_black([r, g, b]: [u8; 3]) -> bool {
    r < 24 && g < 24 && b < 24
}

/// The logo's orange (242, 110, 34), allowing for compression.
pub fn is_orange([r, g, b]: [u8; 3]) -> bool {
    r > 190 && (70..160).contains(&g) && b < 100
}

/// Frame number `index` of a clip (counting from 0), decoded by the ffmpeg CLI.
pub fn frame(path: &Path, index: u64) -> anyhow::Result<Rgb> {
    let data = run(Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-v", "error", "-i"])
        .arg(path)
        .args(["-vf", &format!("select=eq(n\\,{index})"), "-frames:v", "1"])
        .args(["-f", "rawvideo", "-pix_fmt", "rgb24", "-"]))?;
    ensure!(
        data.len() == WIDTH * HEIGHT * 3,
        "frame {index} of {} has {} bytes",
        path.display(),
        data.len()
    );
    Ok(Rgb { width: WIDTH, data })
}

/// A frame of the footage part of the clip, `seconds` into it.
pub fn footage_frame(rendered: &Rendered, seconds: f64) -> anyhow::Result<Rgb> {
    frame(&rendered.mp4, CARD_FRAMES + (seconds * 30.0).round() as u64)
}

/// Everything the spec promises of every clip: 1280×720 H.264 yuv420p, square pixels, constant
/// 30 fps, min(source, 30 s) + 5 s, no audio, faststart, a 1280×720 poster, and the logo on the
/// first and last frames.
pub fn assert_showcase(rendered: &Rendered, source_seconds: f64) -> anyhow::Result<()> {
    let expected = source_seconds.min(30.0) + 5.0;
    let probe = ffprobe(&rendered.mp4)?;
    let streams = probe["streams"].as_array().context("no streams")?;
    ensure!(streams.len() == 1, "expected one stream, got {streams:#?}");
    ensure!(
        !streams.iter().any(|s| s["codec_type"] == "audio"),
        "the clip has audio"
    );
    let video = &streams[0];
    ensure!(video["codec_type"] == "video", "{video}");
    ensure!(
        video["codec_name"] == "h264",
        "codec {}",
        video["codec_name"]
    );
    ensure!(
        video["width"] == 1280 && video["height"] == 720,
        "size {video}"
    );
    ensure!(
        video["pix_fmt"] == "yuv420p",
        "pix_fmt {}",
        video["pix_fmt"]
    );
    ensure!(
        video["sample_aspect_ratio"] == "1:1",
        "SAR {}",
        video["sample_aspect_ratio"]
    );
    ensure!(
        video["r_frame_rate"] == "30/1",
        "r_frame_rate {}",
        video["r_frame_rate"]
    );
    ensure!(
        video["avg_frame_rate"] == "30/1",
        "avg_frame_rate {}",
        video["avg_frame_rate"]
    );
    let duration: f64 = probe["format"]["duration"]
        .as_str()
        .context("no duration")?
        .parse()?;
    ensure!(
        (duration - expected).abs() <= 0.1,
        "the clip lasts {duration} s, expected {expected} s (source {source_seconds} s)"
    );
    ensure!(
        (rendered.report.duration.as_secs_f64() - duration).abs() < 0.02,
        "report says {:?}, file says {duration}",
        rendered.report.duration
    );
    ensure!(rendered.report.footage_frames + 2 * CARD_FRAMES == rendered.report.frames);

    // Constant frame rate: every packet lasts the same and the timestamps are evenly spaced.
    let packets = video_packets(&rendered.mp4)?;
    ensure!(
        packets.len() as u64 == rendered.report.frames,
        "{} packets for {} frames",
        packets.len(),
        rendered.report.frames
    );
    let tick = packets[0].1;
    ensure!(tick > 0, "packets have no duration");
    ensure!(
        packets.iter().all(|(_, duration)| *duration == tick),
        "packet durations differ: {packets:?}"
    );
    let mut pts: Vec<i64> = packets.iter().map(|(pts, _)| *pts).collect();
    pts.sort_unstable();
    for (index, pair) in pts.windows(2).enumerate() {
        ensure!(
            pair[1] - pair[0] == tick,
            "frames {index} and {} are {} apart, not {tick}",
            index + 1,
            pair[1] - pair[0]
        );
    }

    let boxes = top_level_boxes(&rendered.mp4)?;
    let position = |name: &str| boxes.iter().position(|found| found == name);
    ensure!(
        matches!((position("moov"), position("mdat")), (Some(moov), Some(mdat)) if moov < mdat),
        "moov is not before mdat: {boxes:?}"
    );

    let poster = ffprobe(&rendered.poster)?;
    let image = &poster["streams"][0];
    ensure!(
        image["codec_name"] == "mjpeg",
        "poster codec {}",
        image["codec_name"]
    );
    ensure!(
        image["width"] == 1280 && image["height"] == 720,
        "poster {image}"
    );

    // The logo in the middle of the intro's first frame and the outro's last frame.
    let centre = (540, 260, 740, 460);
    for index in [0, rendered.report.frames - 1] {
        let orange = frame(&rendered.mp4, index)?.fraction(centre, is_orange);
        ensure!(
            orange > 0.3,
            "frame {index}: only {:.0} % of the centre is logo orange",
            orange * 100.0
        );
    }
    Ok(())
}
