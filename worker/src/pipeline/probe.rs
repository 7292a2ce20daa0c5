//! Opening the source: the video track, its decoder, and how its picture must be turned and sized.

use std::fs::File;
use std::path::Path;
use std::time::Duration;

use ffmpeg_next as ffmpeg;
use ffmpeg_next::codec::packet::side_data;
use ffmpeg_next::format::stream::Disposition;
use ffmpeg_next::{Dictionary, Rational, codec, decoder, format, frame, media};
use platform::videos::rules::{self, Codec};

use super::contract::{
    InputProblem, OUTPUT_HEIGHT, OUTPUT_WIDTH, PipelineError, is_resource_error, threads_option,
};

/// Demuxers the worker accepts: uploads are validated as MP4, and refusing every other format
/// keeps FFmpeg's wide demuxer surface (playlists that open other files, exotic parsers) out of
/// reach of uploaded bytes.
const ALLOWED_DEMUXERS: &str = "mov,mp4,m4a,3gp,3g2,mj2";

/// An opened source: the demuxer, the chosen video track and its decoder.
pub(crate) struct Source {
    pub input: format::context::Input,
    pub stream_index: usize,
    pub time_base: Rational,
    pub frame_rate: Rational,
    pub decoder: decoder::Video,
    pub width: u32,
    pub height: u32,
    pub codec_name: String,
    pub orientation: Orientation,
    /// Sample aspect ratio from the codec parameters (0/1 when unknown).
    sample_aspect_ratio: Rational,
    pixel_format: format::Pixel,
    duration: Option<Duration>,
}

impl Source {
    /// Opens `path` as MP4/MOV and its first video track (the one the API validated) with a
    /// threaded decoder, if its codec is one the API accepts.
    pub fn open(path: &Path, threads: usize) -> Result<Self, PipelineError> {
        // Open it ourselves first so a missing or unreadable download is an I/O error (worth a
        // retry), not "invalid input".
        File::open(path).map_err(|error| PipelineError::Io {
            action: "opening",
            path: path.to_owned(),
            error,
        })?;
        let url = file_url(path)?;
        let mut options = Dictionary::new();
        options.set("format_whitelist", ALLOWED_DEMUXERS);
        options.set("protocol_whitelist", "file");
        let input = format::input_with_dictionary(&url, options).map_err(|error| {
            if is_resource_error(&error) {
                PipelineError::ffmpeg("opening the input")(error)
            } else {
                PipelineError::invalid(InputProblem::Unreadable, error.to_string())
            }
        })?;

        let stream = first_video_stream(&input).ok_or_else(|| {
            PipelineError::invalid(InputProblem::NoVideoTrack, "the container has no video")
        })?;
        let stream_index = stream.index();
        let time_base = stream.time_base();
        if time_base.numerator() <= 0 || time_base.denominator() <= 0 {
            return Err(PipelineError::invalid(
                InputProblem::Unreadable,
                "the video track has no time base",
            ));
        }
        let frame_rate = stream.avg_frame_rate();
        let orientation = stream
            .side_data()
            .find(|data| data.kind() == side_data::Type::DisplayMatrix)
            .and_then(|data| display_matrix(data.data()))
            .map(|matrix| Orientation::from_display_matrix(&matrix))
            .unwrap_or_default();
        let duration = seconds(stream.duration(), time_base).or_else(|| {
            seconds(
                input.duration(),
                Rational::new(1, ffmpeg::ffi::AV_TIME_BASE),
            )
        });

        let parameters = stream.parameters();
        let codec_id = parameters.id();
        // Only the codecs the API accepts at upload (platform's rules, by FFmpeg's name): no other
        // decoder in libavcodec ever sees an upload.
        if Codec::from_ffmpeg_name(codec_id.name()).is_none() {
            return Err(PipelineError::invalid(
                InputProblem::UnsupportedCodec,
                format!("the video track is {codec_id:?}"),
            ));
        }
        let codec = ffmpeg::decoder::find(codec_id).ok_or_else(|| {
            PipelineError::invalid(
                InputProblem::Undecodable,
                format!("no decoder for the codec {codec_id:?}"),
            )
        })?;
        let mut context = codec::Context::from_parameters(parameters)
            .map_err(PipelineError::ffmpeg("reading the codec parameters"))?;
        // The libraries default to one thread, unlike the CLI: without this a job takes twice as long.
        let mut options = Dictionary::new();
        options.set("threads", &threads_option(threads));
        context.set_time_base(time_base);
        let mut decoder = context.decoder();
        decoder.set_packet_time_base(time_base);
        let decoder = decoder
            .open_as_with(codec, options)
            .and_then(|opened| opened.video())
            .map_err(|error| {
                if is_resource_error(&error) {
                    PipelineError::ffmpeg("opening the decoder")(error)
                } else {
                    PipelineError::invalid(InputProblem::Undecodable, error.to_string())
                }
            })?;
        if decoder.width() == 0 || decoder.height() == 0 {
            return Err(PipelineError::invalid(
                InputProblem::Undecodable,
                "the video track has no picture size",
            ));
        }
        // The bounds on work, whatever else the upload rules say: each frame is decoded before
        // the 30 fps cut, so frames a second and pixels a frame are what a job costs.
        if !rules::accepts_frame_size(decoder.width(), decoder.height()) {
            return Err(PipelineError::invalid(
                InputProblem::FrameTooLarge,
                format!("{}x{} frames", decoder.width(), decoder.height()),
            ));
        }
        let frames = u64::try_from(stream.frames()).unwrap_or(0);
        if let Some(duration) = duration
            && frames > 0
            && !rules::accepts_frame_count(frames, duration)
        {
            return Err(PipelineError::invalid(
                InputProblem::TooManyFrames,
                format!("{frames} frames in {duration:?}"),
            ));
        }

        Ok(Self {
            stream_index,
            time_base,
            frame_rate,
            width: decoder.width(),
            height: decoder.height(),
            codec_name: codec.name().to_owned(),
            orientation,
            sample_aspect_ratio: decoder.aspect_ratio(),
            pixel_format: decoder.format(),
            decoder,
            duration,
            input,
        })
    }

    /// The source's duration from its headers, if it declares one.
    pub fn expected_footage(&self) -> Option<Duration> {
        self.duration
    }

    /// How frames enter the graph and where they go. The first decoded frame, when there is one,
    /// is the authority on size, pixel format and aspect ratio (containers can disagree).
    pub fn layout(&self, first_frame: Option<&frame::Video>) -> Layout {
        let (width, height, pixel_format, frame_sar) = match first_frame {
            Some(frame) => (
                frame.width(),
                frame.height(),
                frame.format(),
                frame.aspect_ratio(),
            ),
            None => (
                self.width,
                self.height,
                self.pixel_format,
                Rational::new(0, 1),
            ),
        };
        let sample_aspect_ratio = [frame_sar, self.sample_aspect_ratio]
            .into_iter()
            .find(|sar| sar.numerator() > 0 && sar.denominator() > 0)
            .unwrap_or(Rational::new(1, 1));
        let fit = fitted_size(
            width,
            height,
            sample_aspect_ratio,
            self.orientation.swaps_axes,
        );
        Layout {
            width,
            height,
            pixel_format,
            time_base: self.time_base,
            sample_aspect_ratio,
            orientation_filters: self.orientation.filters.clone(),
            fit,
        }
    }
}

/// What the filter graph needs to know about the footage.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub width: u32,
    pub height: u32,
    pub pixel_format: format::Pixel,
    pub time_base: Rational,
    pub sample_aspect_ratio: Rational,
    pub orientation_filters: Vec<String>,
    /// The picture's size inside the 1280×720 frame, before padding.
    pub fit: (u32, u32),
}

/// The first video track in container order, skipping cover art (an "attached picture" is a video
/// stream of one frame): the track the API's probe validated. FFmpeg's "best" track could be
/// another one the API never looked at.
fn first_video_stream(input: &format::context::Input) -> Option<ffmpeg::Stream<'_>> {
    input.streams().find(|stream| {
        stream.parameters().medium() == media::Type::Video
            && !stream.disposition().contains(Disposition::ATTACHED_PIC)
    })
}

/// A `file:` URL, so that names containing `:` are never taken for another FFmpeg protocol.
pub(crate) fn file_url(path: &Path) -> Result<String, PipelineError> {
    let text = path.to_str().ok_or_else(|| PipelineError::Io {
        action: "using",
        path: path.to_owned(),
        error: std::io::Error::new(std::io::ErrorKind::InvalidInput, "the path is not UTF-8"),
    })?;
    Ok(format!("file:{text}"))
}

fn seconds(value: i64, time_base: Rational) -> Option<Duration> {
    let seconds =
        value as f64 * f64::from(time_base.numerator()) / f64::from(time_base.denominator());
    (value > 0 && seconds.is_finite() && seconds > 0.0).then(|| Duration::from_secs_f64(seconds))
}

/// The 3×3 display matrix (16.16 and 2.30 fixed point) stored as nine native-endian `i32`.
fn display_matrix(bytes: &[u8]) -> Option<[i32; 9]> {
    let mut matrix = [0i32; 9];
    if bytes.len() < 36 {
        return None;
    }
    for (value, chunk) in matrix.iter_mut().zip(bytes.chunks_exact(4)) {
        *value = i32::from_ne_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
    }
    Some(matrix)
}

/// How to turn decoded pictures upright.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Orientation {
    /// Clockwise rotation in degrees, normalised to 0..360.
    pub degrees: i32,
    /// Filters that turn the decoded picture upright, in order (empty when it already is).
    pub filters: Vec<String>,
    /// Whether width and height trade places.
    pub swaps_axes: bool,
}

impl Orientation {
    /// The same decision as the ffmpeg 5.1 CLI's autorotation (`fftools/ffmpeg_filter.c`),
    /// so a clip comes out the way `ffmpeg -i` would show it.
    pub fn from_display_matrix(matrix: &[i32; 9]) -> Self {
        let fixed = |value: i32| f64::from(value) / 65536.0;
        let scale_x = fixed(matrix[0]).hypot(fixed(matrix[3]));
        let scale_y = fixed(matrix[1]).hypot(fixed(matrix[4]));
        // av_display_rotation_get: counter-clockwise angle; the CLI negates and rounds it.
        let counter_clockwise = if scale_x == 0.0 || scale_y == 0.0 {
            0.0
        } else {
            -(fixed(matrix[1]) / scale_y)
                .atan2(fixed(matrix[0]) / scale_x)
                .to_degrees()
        };
        let mut theta = -counter_clockwise.round();
        theta -= 360.0 * (theta / 360.0 + 0.9 / 360.0).floor();

        let filter = |name: &str| name.to_owned();
        let (filters, swaps_axes) = if (theta - 90.0).abs() < 1.0 {
            let mode = if matrix[3] > 0 {
                "cclock_flip"
            } else {
                "clock"
            };
            (vec![format!("transpose={mode}")], true)
        } else if (theta - 180.0).abs() < 1.0 {
            let mut filters = Vec::new();
            if matrix[0] < 0 {
                filters.push(filter("hflip"));
            }
            if matrix[4] < 0 {
                filters.push(filter("vflip"));
            }
            (filters, false)
        } else if (theta - 270.0).abs() < 1.0 {
            let mode = if matrix[3] < 0 {
                "clock_flip"
            } else {
                "cclock"
            };
            (vec![format!("transpose={mode}")], true)
        } else if theta.abs() > 1.0 {
            (vec![format!("rotate={theta}*PI/180")], false)
        } else if matrix[4] < 0 {
            (vec![filter("vflip")], false)
        } else {
            (Vec::new(), false)
        };
        Self {
            degrees: theta as i32,
            filters,
            swaps_axes,
        }
    }
}

/// The largest even size with the picture's display aspect ratio that fits 1280×720.
///
/// Computed here rather than with the scale filter's `force_original_aspect_ratio`, which looks
/// at storage pixels and ignores a non-square sample aspect ratio.
pub(crate) fn fitted_size(
    width: u32,
    height: u32,
    sample_aspect_ratio: Rational,
    swaps_axes: bool,
) -> (u32, u32) {
    let sar = if sample_aspect_ratio.numerator() > 0 && sample_aspect_ratio.denominator() > 0 {
        f64::from(sample_aspect_ratio.numerator()) / f64::from(sample_aspect_ratio.denominator())
    } else {
        1.0
    };
    let (mut display_width, mut display_height) = (f64::from(width) * sar, f64::from(height));
    if swaps_axes {
        std::mem::swap(&mut display_width, &mut display_height);
    }
    if display_width <= 0.0 || display_height <= 0.0 {
        return (OUTPUT_WIDTH, OUTPUT_HEIGHT);
    }
    let scale =
        (f64::from(OUTPUT_WIDTH) / display_width).min(f64::from(OUTPUT_HEIGHT) / display_height);
    let even = |value: f64, max: u32| ((value / 2.0).round() as u32 * 2).clamp(2, max);
    (
        even(display_width * scale, OUTPUT_WIDTH),
        even(display_height * scale, OUTPUT_HEIGHT),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A display matrix as the mov demuxer stores a `tkhd` matrix `[a b; c d]` (16.16 fixed point).
    fn matrix(a: i32, b: i32, c: i32, d: i32) -> [i32; 9] {
        [a << 16, b << 16, 0, c << 16, d << 16, 0, 0, 0, 1 << 30]
    }

    #[test]
    fn identity_matrix_needs_no_filter() {
        let orientation = Orientation::from_display_matrix(&matrix(1, 0, 0, 1));
        assert_eq!(orientation, Orientation::default());
    }

    #[test]
    fn phone_portrait_matrix_turns_clockwise() {
        // What phones (and ffmpeg's mov muxer for `rotate=90`) write; ffprobe calls it -90 degrees.
        let orientation = Orientation::from_display_matrix(&matrix(0, 1, -1, 0));
        assert_eq!(orientation.degrees, 90);
        assert_eq!(orientation.filters, ["transpose=clock"]);
        assert!(orientation.swaps_axes);
    }

    #[test]
    fn upside_down_matrix_flips_both_ways() {
        let orientation = Orientation::from_display_matrix(&matrix(-1, 0, 0, -1));
        assert_eq!(orientation.degrees, 180);
        assert_eq!(orientation.filters, ["hflip", "vflip"]);
        assert!(!orientation.swaps_axes);
    }

    #[test]
    fn rotate_270_matrix_turns_counter_clockwise() {
        let orientation = Orientation::from_display_matrix(&matrix(0, -1, 1, 0));
        assert_eq!(orientation.degrees, 270);
        assert_eq!(orientation.filters, ["transpose=cclock"]);
        assert!(orientation.swaps_axes);
    }

    #[test]
    fn mirrored_matrix_is_flipped_back() {
        let orientation = Orientation::from_display_matrix(&matrix(1, 0, 0, -1));
        assert_eq!(orientation.filters, ["vflip"]);
    }

    #[test]
    fn fitted_sizes_keep_the_display_aspect_ratio() {
        let square = Rational::new(1, 1);
        assert_eq!(fitted_size(1920, 1080, square, false), (1280, 720));
        assert_eq!(fitted_size(1440, 1080, square, false), (960, 720));
        assert_eq!(fitted_size(1080, 1920, square, false), (406, 720));
        assert_eq!(fitted_size(1920, 1080, square, true), (406, 720));
        assert_eq!(fitted_size(2560, 1080, square, false), (1280, 540));
        // Anamorphic 1440x1080 with 4:3 pixels is a 16:9 picture.
        assert_eq!(
            fitted_size(1440, 1080, Rational::new(4, 3), false),
            (1280, 720)
        );
        assert_eq!(
            fitted_size(1081, 1081, Rational::new(0, 1), false),
            (720, 720)
        );
    }

    #[test]
    fn display_matrix_needs_nine_values() {
        assert_eq!(display_matrix(&[0; 35]), None);
        let bytes: Vec<u8> = (1..=9i32).flat_map(i32::to_ne_bytes).collect();
        assert_eq!(display_matrix(&bytes), Some([1, 2, 3, 4, 5, 6, 7, 8, 9]));
    }
}
