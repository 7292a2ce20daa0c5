//! The showcase clip: one decode → filter → encode pass over (at most) the first 30 s of an upload.
//!
//! Shape of the pass:
//!
//! ```text
//! demux (mp4/mov only) → decode (threads: auto) ─▶ buffer "in" ─┐
//!                                                              ├─ one libavfilter graph ─▶ buffersink "out"
//! embedded or configured PNG logo, decoded once ─▶ buffer "logo"┘        │
//!                                  libx264 (threads: auto) ◀─ pts = output frame index (1/30 s)
//!                                  mp4 muxer, movflags=+faststart; one frame copied for the poster JPEG
//! ```
//!
//! The graph (see [`filters`]) builds the intro and outro cards itself from lavfi `color` sources
//! with the logo overlaid in the centre, fits the footage into 1280×720 (rotation from the display
//! matrix, size from the display aspect ratio, black padding, `setsar=1`), converts the footage
//! alone to 30 fps, lays the semi-transparent watermark over the footage and joins the three parts
//! with `concat`. Cards are 75 frames each, so the clip is footage + 150 frames at 30 fps.
//!
//! Timestamps: the footage is re-based to start at 0 and its end is given to the graph explicitly
//! (the cut at 30 s, or the end of the last frame), so `fps` emits exactly the right number of
//! frames. The encoder then numbers frames 0, 1, 2, … in a 1/30 time base with a duration of one
//! frame each, instead of putting an `fps` filter after `concat` (which drops the last frame).

mod contract;
pub(crate) mod encode;
mod filters;
mod logo;
mod probe;

use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ffmpeg_next as ffmpeg;
use ffmpeg_next::error::EAGAIN;
use ffmpeg_next::{Packet, frame};
use platform::videos::rules;

pub use self::contract::{
    CARD_FRAMES, InputProblem, MAX_FOOTAGE, OUTPUT_FPS, OUTPUT_HEIGHT, OUTPUT_WIDTH, PipelineError,
    PipelineSettings, ShowcaseReport,
};
pub(crate) use self::contract::{init_ffmpeg, is_resource_error, threads_option};
use self::encode::{H264Writer, write_jpeg};
use self::filters::{ShowcaseGraph, cli_filtergraph};
use self::probe::Source;

/// Renders the showcase clip of `input` to `output_mp4` and its poster to `poster_jpeg`.
///
/// Synchronous and CPU-bound: run it on a blocking thread. `cancel` is checked for every packet
/// and frame; once raised the run stops with [`PipelineError::Cancelled`]. On any error the
/// partly written outputs are removed.
pub fn render_showcase(
    input: &Path,
    output_mp4: &Path,
    poster_jpeg: &Path,
    settings: &PipelineSettings,
    cancel: &AtomicBool,
) -> Result<ShowcaseReport, PipelineError> {
    let started = Instant::now();
    let mut outputs = PartialOutputs {
        paths: [output_mp4, poster_jpeg],
        keep: false,
    };
    let report = render(input, output_mp4, poster_jpeg, settings, cancel)?;
    outputs.keep = true;
    tracing::info!(
        input = %input.display(),
        frames = report.frames,
        duration_s = report.duration.as_secs_f64(),
        source_cut = report.source_cut,
        rotation = report.rotation_degrees,
        decode_errors = report.decode_errors,
        wall_s = started.elapsed().as_secs_f64(),
        "showcase clip rendered"
    );
    Ok(report)
}

/// The `ffmpeg` command line that renders the same clip as [`render_showcase`] (same filter
/// graph, encoder settings and muxer flags): for benchmarks and for debugging by hand.
/// `logo_png` must be a file, as the CLI cannot take the embedded logo.
pub fn ffmpeg_cli_equivalent(
    input: &Path,
    output_mp4: &Path,
    logo_png: &Path,
    settings: &PipelineSettings,
) -> Result<Vec<String>, PipelineError> {
    init_ffmpeg()?;
    let source = Source::open(input, settings.threads)?;
    let layout = source.layout(None);
    let threads = threads_option(settings.threads);
    let path = |path: &Path| path.display().to_string();
    Ok([
        "ffmpeg",
        "-hide_banner",
        "-nostdin",
        "-y",
        "-threads",
        &threads,
        // The graph turns the picture upright itself, as it does in-process.
        "-noautorotate",
        "-t",
        "30",
        "-i",
        &path(input),
        "-i",
        &path(logo_png),
        "-filter_complex",
        &cli_filtergraph(&layout),
        "-map",
        "[out]",
        "-an",
        "-c:v",
        "libx264",
        "-threads",
        &threads,
        "-preset",
        &settings.preset,
        "-crf",
        &settings.crf.to_string(),
        "-pix_fmt",
        "yuv420p",
        "-r",
        "30",
        "-movflags",
        "+faststart",
        &path(output_mp4),
    ]
    .map(str::to_owned)
    .to_vec())
}

/// Removes the outputs of a failed run (dropped without `keep`).
struct PartialOutputs<'a> {
    paths: [&'a Path; 2],
    keep: bool,
}

impl Drop for PartialOutputs<'_> {
    fn drop(&mut self) {
        if !self.keep {
            for path in self.paths {
                // Nothing to do if the file was never created.
                let _ = fs::remove_file(path);
            }
        }
    }
}

fn render(
    input: &Path,
    output_mp4: &Path,
    poster_jpeg: &Path,
    settings: &PipelineSettings,
    cancel: &AtomicBool,
) -> Result<ShowcaseReport, PipelineError> {
    init_ffmpeg()?;
    check(cancel)?;
    let logo = logo::load(settings.logo_path.as_deref())?;
    let mut source = Source::open(input, settings.threads)?;
    let mut writer = H264Writer::create(output_mp4, settings)?;
    let mut run = Run {
        footage: FootageClock::new(&source),
        sizes: FrameSizes::default(),
        graph: None,
        logo: Some(logo),
        poster: PosterPicker::new(source.expected_footage()),
        writer: &mut writer,
        frames_out: 0,
        decode_errors: 0,
        filtered: frame::Video::empty(),
        cancel,
    };

    let mut decoded = frame::Video::empty();
    let mut cut = false;
    loop {
        check(cancel)?;
        // A fresh packet each time: FFmpeg 5.1's av_read_frame overwrites a packet without
        // releasing what it held, so reusing one leaks every compressed frame read.
        let mut packet = Packet::empty();
        match packet.read(&mut source.input) {
            Ok(()) => {}
            Err(ffmpeg::Error::Eof) => break,
            Err(error) if is_resource_error(&error) => {
                return Err(PipelineError::ffmpeg("reading the input")(error));
            }
            Err(error) => {
                return Err(PipelineError::invalid(
                    InputProblem::Truncated,
                    format!("reading packets failed: {error}"),
                ));
            }
        }
        if packet.stream() != source.stream_index {
            continue;
        }
        match source.decoder.send_packet(&packet) {
            Ok(()) => {}
            Err(ffmpeg::Error::InvalidData) => run.decode_errors += 1,
            Err(error) => return Err(PipelineError::ffmpeg("decoding")(error)),
        }
        if run.drain_decoder(&mut source, &mut decoded)? {
            cut = true;
            break;
        }
    }
    if !cut {
        source
            .decoder
            .send_eof()
            .map_err(PipelineError::ffmpeg("flushing the decoder"))?;
        cut = run.drain_decoder(&mut source, &mut decoded)?;
    }

    let Some(mut graph) = run.graph.take() else {
        return Err(PipelineError::invalid(
            InputProblem::Undecodable,
            format!(
                "no frame could be decoded ({} decoder errors)",
                run.decode_errors
            ),
        ));
    };
    if !cut {
        check_complete(source.expected_footage(), run.footage.used())?;
    }
    graph.close_footage(run.footage.end())?;
    run.pull(&mut graph)?;
    let frames = run.frames_out;
    let decode_errors = run.decode_errors;
    let footage = run.footage;
    let smallest_frame = run.sizes.smallest.unwrap_or((source.width, source.height));
    let poster = run.poster;
    let footage_frames = frames.saturating_sub(2 * CARD_FRAMES);
    if footage_frames == 0 {
        return Err(PipelineError::invalid(
            InputProblem::Undecodable,
            "the video track has no displayable frames",
        ));
    }
    writer.finish()?;

    let (poster_frame, poster_index) = poster.pick(footage_frames).ok_or_else(|| {
        PipelineError::invalid(InputProblem::Undecodable, "no footage frame for the poster")
    })?;
    write_jpeg(poster_frame, poster_jpeg)?;

    let output_bytes = fs::metadata(output_mp4)
        .map_err(|error| PipelineError::Io {
            action: "reading the size of",
            path: output_mp4.to_owned(),
            error,
        })?
        .len();
    Ok(ShowcaseReport {
        duration: frames_to_duration(frames),
        width: OUTPUT_WIDTH,
        height: OUTPUT_HEIGHT,
        frames,
        footage_frames,
        source_used: footage.used(),
        source_cut: cut,
        source_width: source.width,
        source_height: source.height,
        smallest_frame,
        frames_span: footage.span(),
        source_codec: source.codec_name.clone(),
        rotation_degrees: source.orientation.degrees,
        poster_at: frames_to_duration(poster_index),
        decode_errors,
        output_bytes,
    })
}

/// A source whose frames stop well before the duration its index declares has lost its end (an
/// upload or download cut short): FFmpeg reads such a file up to the break and reports a normal
/// end of file, so the shortfall is the only sign.
fn check_complete(declared: Option<Duration>, decoded: Duration) -> Result<(), PipelineError> {
    let Some(declared) = declared else {
        return Ok(());
    };
    let expected = declared.min(MAX_FOOTAGE);
    let missing = expected.saturating_sub(decoded);
    if missing > Duration::from_secs(1) && missing.as_secs_f64() > 0.05 * expected.as_secs_f64() {
        return Err(PipelineError::invalid(
            InputProblem::Truncated,
            format!(
                "the index declares {:.2} s of video but the data ends after {:.2} s",
                declared.as_secs_f64(),
                decoded.as_secs_f64()
            ),
        ));
    }
    Ok(())
}

fn frames_to_duration(frames: u64) -> Duration {
    Duration::from_secs_f64(frames as f64 / f64::from(OUTPUT_FPS))
}

fn check(cancel: &AtomicBool) -> Result<(), PipelineError> {
    if cancel.load(Ordering::Relaxed) {
        Err(PipelineError::Cancelled)
    } else {
        Ok(())
    }
}

/// The state of one run between the decode loop and the encoder.
struct Run<'a> {
    footage: FootageClock,
    sizes: FrameSizes,
    /// Built from the first decoded frame, whose size, format and aspect are authoritative.
    graph: Option<ShowcaseGraph>,
    logo: Option<frame::Video>,
    poster: PosterPicker,
    writer: &'a mut H264Writer,
    frames_out: u64,
    decode_errors: u64,
    filtered: frame::Video,
    cancel: &'a AtomicBool,
}

impl Run<'_> {
    /// Feeds every frame the decoder has ready into the graph. Returns true once the 30 s cut
    /// is reached (nothing more is needed from the input).
    fn drain_decoder(
        &mut self,
        source: &mut Source,
        decoded: &mut frame::Video,
    ) -> Result<bool, PipelineError> {
        loop {
            check(self.cancel)?;
            match source.decoder.receive_frame(decoded) {
                Ok(()) => {}
                Err(ffmpeg::Error::Eof) => return Ok(false),
                Err(ffmpeg::Error::Other { errno }) if errno == EAGAIN => return Ok(false),
                Err(ffmpeg::Error::InvalidData) => {
                    self.decode_errors += 1;
                    continue;
                }
                Err(error) => return Err(PipelineError::ffmpeg("decoding")(error)),
            }
            self.sizes.observe(decoded)?;
            match self.footage.place(decoded) {
                Placement::At(pts) => decoded.set_pts(Some(pts)),
                Placement::Drop => continue,
                Placement::Cut => return Ok(true),
            }
            let mut graph = match self.graph.take() {
                Some(graph) => graph,
                None => {
                    let layout = source.layout(Some(decoded));
                    let logo = self.logo.take().ok_or_else(|| PipelineError::Logo {
                        origin: "(already used)".to_owned(),
                        reason: "the graph was built twice".to_owned(),
                    })?;
                    ShowcaseGraph::new(&layout, logo)?
                }
            };
            let pushed = graph
                .push_footage(decoded)
                .and_then(|()| self.pull(&mut graph));
            self.graph = Some(graph);
            pushed?;
        }
    }

    /// Encodes every frame the graph has ready.
    fn pull(&mut self, graph: &mut ShowcaseGraph) -> Result<(), PipelineError> {
        while graph.pull(&mut self.filtered)? {
            check(self.cancel)?;
            self.poster.observe(self.frames_out, &self.filtered);
            self.writer.encode(&mut self.filtered, self.frames_out)?;
            self.frames_out += 1;
        }
        Ok(())
    }
}

/// Re-bases footage timestamps to start at 0, applies the 30 s cut and remembers where the
/// footage ends (the graph must be told, or `fps` cannot know how long the last frame lasts).
struct FootageClock {
    start: Option<i64>,
    last: Option<i64>,
    end: i64,
    cut_at: i64,
    /// Used when a frame carries no duration: one frame at the stream's average rate.
    default_duration: i64,
    time_base: ffmpeg::Rational,
}

/// Where a decoded frame goes.
enum Placement {
    /// Into the clip at this timestamp (stream time base, relative to the first frame).
    At(i64),
    /// Nowhere: its timestamp goes backwards.
    Drop,
    /// Nowhere, and nothing after it either: it is at or beyond the 30 s cut.
    Cut,
}

impl FootageClock {
    fn new(source: &Source) -> Self {
        let time_base = source.time_base;
        let ticks_per_second =
            f64::from(time_base.denominator()) / f64::from(time_base.numerator());
        let rate = source.frame_rate;
        let default_duration = if rate.numerator() > 0 && rate.denominator() > 0 {
            (ticks_per_second * f64::from(rate.denominator()) / f64::from(rate.numerator())).round()
                as i64
        } else {
            (ticks_per_second / f64::from(OUTPUT_FPS)).round() as i64
        };
        Self {
            start: None,
            last: None,
            end: 0,
            cut_at: (ticks_per_second * MAX_FOOTAGE.as_secs_f64()).round() as i64,
            default_duration: default_duration.max(1),
            time_base,
        }
    }

    fn place(&mut self, frame: &frame::Video) -> Placement {
        let absolute = frame
            .timestamp()
            .or_else(|| frame.pts())
            .or_else(|| self.last.map(|last| last + self.default_duration))
            .unwrap_or(0);
        let start = *self.start.get_or_insert(absolute);
        let relative = absolute - start;
        if relative >= self.cut_at {
            self.end = self.cut_at;
            return Placement::Cut;
        }
        if self.last.is_some_and(|last| absolute <= last) {
            return Placement::Drop;
        }
        self.last = Some(absolute);
        let duration = match frame.packet().duration {
            duration if duration > 0 => duration,
            _ => self.default_duration,
        };
        self.end = self.end.max((relative + duration).min(self.cut_at));
        Placement::At(relative)
    }

    /// Where the footage ends, in the stream's time base, relative to its start.
    fn end(&self) -> i64 {
        self.end
    }

    /// The last placed frame's timestamp minus the first's: the time the frames themselves cover,
    /// whatever durations the container gives them.
    fn span(&self) -> Duration {
        let (Some(start), Some(last)) = (self.start, self.last) else {
            return Duration::ZERO;
        };
        let seconds = (last - start) as f64 * f64::from(self.time_base.numerator())
            / f64::from(self.time_base.denominator());
        Duration::from_secs_f64(seconds.max(0.0))
    }

    fn used(&self) -> Duration {
        let seconds = self.end as f64 * f64::from(self.time_base.numerator())
            / f64::from(self.time_base.denominator());
        Duration::from_secs_f64(seconds.max(0.0))
    }
}

/// Every decoded frame's size: the track's header is read once, at open, but a stream may change
/// its picture size at any keyframe, so each frame is measured as it comes out of the decoder.
#[derive(Default)]
struct FrameSizes {
    /// The frame with the shortest side so far, `(width, height)`.
    smallest: Option<(u32, u32)>,
}

impl FrameSizes {
    /// Fails at once on a frame larger than uploads may have (the bound on a job's work, as at
    /// open) and remembers the frame with the shortest side, for the upload rules' minimum.
    fn observe(&mut self, frame: &frame::Video) -> Result<(), PipelineError> {
        let (width, height) = (frame.width(), frame.height());
        if !rules::accepts_frame_size(width, height) {
            return Err(PipelineError::invalid(
                InputProblem::FrameTooLarge,
                format!("a decoded frame of {width}x{height}"),
            ));
        }
        if self
            .smallest
            .is_none_or(|(w, h)| width.min(height) < w.min(h))
        {
            self.smallest = Some((width, height));
        }
        Ok(())
    }
}

/// Keeps a copy of the output frame for the poster: the middle of the footage when the source's
/// duration is known, else 1 s in; the first footage frame if the footage is shorter than expected.
struct PosterPicker {
    target: u64,
    first: Option<frame::Video>,
    chosen: Option<frame::Video>,
}

impl PosterPicker {
    fn new(expected_footage: Option<Duration>) -> Self {
        let offset = expected_footage
            .map(|footage| footage.min(MAX_FOOTAGE).as_secs_f64() / 2.0)
            .unwrap_or(1.0);
        Self {
            target: CARD_FRAMES + (offset * f64::from(OUTPUT_FPS)).floor() as u64,
            first: None,
            chosen: None,
        }
    }

    fn observe(&mut self, index: u64, frame: &frame::Video) {
        if index == CARD_FRAMES {
            self.first = Some(frame.clone());
        }
        if index == self.target {
            self.chosen = Some(frame.clone());
        }
    }

    /// The poster frame and its index within the footage.
    fn pick(&self, footage_frames: u64) -> Option<(&frame::Video, u64)> {
        match &self.chosen {
            Some(frame) if self.target < CARD_FRAMES + footage_frames => {
                Some((frame, self.target - CARD_FRAMES))
            }
            _ => self.first.as_ref().map(|frame| (frame, 0)),
        }
    }
}
