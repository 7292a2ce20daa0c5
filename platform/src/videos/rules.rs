//! The upload rules, written once: what a file must be to become a video (size, length, shorter
//! side, codec). The API's probe and intake check them, the worker checks them again on what it
//! decodes, and the OpenAPI document publishes them (`x-upload-rules` on the upload operation), so
//! the web app's checks and texts are generated from the same numbers.

use std::time::Duration;

use serde_json::{Value, json};

/// The largest upload, in bytes (100 MiB).
pub const MAX_UPLOAD_BYTES: u64 = 100 * 1024 * 1024;

/// The shortest and the longest video, in whole seconds.
pub const MIN_SECONDS: u64 = 20;
pub const MAX_SECONDS: u64 = 60;

/// The shortest side of the picture, in pixels, at least (1080p, portrait or landscape).
pub const MIN_SHORT_SIDE: u32 = 1080;

/// The most frames a second a video may hold: every frame is decoded before the showcase's 30 fps
/// keeps one in so many, so a file of thousands of tiny frames a second would hold a worker for
/// many minutes.
pub const MAX_FRAME_RATE: u32 = 120;

/// The most pixels a frame may have (4096 × 2304: a phone's 4K either way up, and DCI 4K):
/// decoding a larger one costs memory and time out of proportion to a 720p showcase.
pub const MAX_PIXELS: u64 = 4096 * 2304;

/// Whether `frames` over `duration` stay within [`MAX_FRAME_RATE`] (half a frame a second of
/// rounding allowed).
pub fn accepts_frame_count(frames: u64, duration: Duration) -> bool {
    frames as f64 <= (f64::from(MAX_FRAME_RATE) + 0.5) * duration.as_secs_f64()
}

/// Whether a frame of `width` × `height` stays within [`MAX_PIXELS`].
pub fn accepts_frame_size(width: u32, height: u32) -> bool {
    u64::from(width) * u64::from(height) <= MAX_PIXELS
}

/// Whether a video of `duration` may be uploaded.
pub fn accepts_duration(duration: Duration) -> bool {
    (Duration::from_secs(MIN_SECONDS)..=Duration::from_secs(MAX_SECONDS)).contains(&duration)
}

/// Whether a picture of `width` × `height` may be uploaded.
pub fn accepts_resolution(width: u32, height: u32) -> bool {
    width.min(height) >= MIN_SHORT_SIDE
}

/// A video codec the platform accepts: its MP4 sample-entry codes, the name stored in
/// `videos.video_codec`, FFmpeg's name for it and the name people know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    H264,
    H265,
    Av1,
    Mpeg4,
}

impl Codec {
    pub const ALL: [Self; 4] = [Self::H264, Self::H265, Self::Av1, Self::Mpeg4];

    /// The MP4 sample-entry codes (`stsd` formats) of this codec.
    pub fn fourccs(self) -> &'static [&'static str] {
        match self {
            Self::H264 => &["avc1", "avc3"],
            Self::H265 => &["hvc1", "hev1"],
            Self::Av1 => &["av01"],
            Self::Mpeg4 => &["mp4v"],
        }
    }

    /// The codec of an MP4 sample entry, if it is one of these.
    pub fn from_fourcc(code: &[u8]) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|codec| codec.fourccs().iter().any(|known| known.as_bytes() == code))
    }

    /// The name stored in `videos.video_codec`.
    pub fn name(self) -> &'static str {
        match self {
            Self::H264 => "h264",
            Self::H265 => "h265",
            Self::Av1 => "av1",
            Self::Mpeg4 => "mpeg4",
        }
    }

    /// FFmpeg's name of the codec (its codec descriptor's, as `ffmpeg -codecs` lists it).
    pub fn ffmpeg_name(self) -> &'static str {
        match self {
            Self::H264 => "h264",
            Self::H265 => "hevc",
            Self::Av1 => "av1",
            Self::Mpeg4 => "mpeg4",
        }
    }

    /// The codec accepted under FFmpeg's name `name`, if any.
    pub fn from_ffmpeg_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|codec| codec.ffmpeg_name() == name)
    }

    /// The name people know.
    pub fn label(self) -> &'static str {
        match self {
            Self::H264 => "H.264",
            Self::H265 => "H.265",
            Self::Av1 => "AV1",
            Self::Mpeg4 => "MPEG-4",
        }
    }
}

/// The accepted codecs as a Spanish list: "H.264, H.265, AV1 o MPEG-4".
pub fn codec_list() -> String {
    let labels: Vec<&str> = Codec::ALL.iter().map(|codec| codec.label()).collect();
    match labels.split_last() {
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} o {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// The rules as the OpenAPI document publishes them (`x-upload-rules`).
pub fn document() -> Value {
    json!({
        "max_bytes": MAX_UPLOAD_BYTES,
        "min_seconds": MIN_SECONDS,
        "max_seconds": MAX_SECONDS,
        "min_short_side": MIN_SHORT_SIDE,
        "max_frame_rate": MAX_FRAME_RATE,
        "max_pixels": MAX_PIXELS,
        "codecs": Codec::ALL.iter().map(|codec| json!({
            "name": codec.name(),
            "label": codec.label(),
            "fourcc": codec.fourccs(),
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_codec_reads_back_from_each_of_its_names() {
        for codec in Codec::ALL {
            for code in codec.fourccs() {
                assert_eq!(Codec::from_fourcc(code.as_bytes()), Some(codec));
            }
            assert_eq!(Codec::from_ffmpeg_name(codec.ffmpeg_name()), Some(codec));
        }
        assert_eq!(Codec::from_fourcc(b"vp09"), None);
        assert_eq!(Codec::from_ffmpeg_name("vp9"), None);
    }

    #[test]
    fn the_limits_are_inclusive() {
        assert!(accepts_duration(Duration::from_secs(20)));
        assert!(accepts_duration(Duration::from_secs(60)));
        assert!(!accepts_duration(Duration::from_millis(19_999)));
        assert!(!accepts_duration(Duration::from_millis(60_001)));
        assert!(accepts_resolution(1920, 1080) && accepts_resolution(1080, 1920));
        assert!(!accepts_resolution(1920, 1079));
        assert!(accepts_frame_size(3840, 2160) && accepts_frame_size(2304, 4096));
        assert!(!accepts_frame_size(16_000, 16_000) && !accepts_frame_size(7680, 4320));
        assert!(accepts_frame_count(60 * 120, Duration::from_secs(60)));
        assert!(accepts_frame_count(1 + 20 * 120, Duration::from_secs(20)));
        assert!(!accepts_frame_count(25 * 1500, Duration::from_secs(25)));
        assert!(!accepts_frame_count(21 * 240, Duration::from_secs(21)));
    }

    #[test]
    fn the_codec_list_reads_as_spanish() {
        assert_eq!(codec_list(), "H.264, H.265, AV1 o MPEG-4");
    }

    #[test]
    fn the_document_carries_every_rule() {
        let rules = document();
        assert_eq!(rules["max_bytes"], 104_857_600);
        assert_eq!(rules["min_short_side"], 1080);
        assert_eq!(rules["codecs"][1]["fourcc"], json!(["hvc1", "hev1"]));
    }
}
