//! Reading a finished clip back: the facts the spec promises, checked with ffmpeg-next alone.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use ffmpeg_next as ffmpeg;
use ffmpeg_next::{codec, media};

/// What a clip turned out to be.
#[derive(Debug, Clone, PartialEq)]
pub struct ClipFacts {
    pub width: u32,
    pub height: u32,
    /// Codec name, e.g. `h264`.
    pub codec: String,
    /// Pixel format name, e.g. `yuv420p`.
    pub pixel_format: String,
    /// Sample aspect ratio (0/1 when unset, which players take as square).
    pub sample_aspect_ratio: (i32, i32),
    /// Average frame rate of the video stream.
    pub frame_rate: (i32, i32),
    /// Container duration.
    pub duration: Duration,
    pub video_streams: usize,
    pub audio_streams: usize,
    /// Top-level MP4 boxes in file order.
    pub boxes: Vec<String>,
}

impl ClipFacts {
    /// Whether the index (`moov`) comes before the media data (`mdat`): faststart.
    pub fn moov_before_mdat(&self) -> bool {
        let position = |name: &str| self.boxes.iter().position(|found| found == name);
        matches!((position("moov"), position("mdat")), (Some(moov), Some(mdat)) if moov < mdat)
    }
}

/// Probes the clip at `path` (its first video stream) and lists its top-level MP4 boxes.
pub fn inspect_clip(path: &Path) -> anyhow::Result<ClipFacts> {
    crate::pipeline::init_ffmpeg()?;
    let input =
        ffmpeg::format::input(path).with_context(|| format!("opening {}", path.display()))?;
    let count = |kind: media::Type| {
        input
            .streams()
            .filter(|stream| stream.parameters().medium() == kind)
            .count()
    };
    let (video_streams, audio_streams) = (count(media::Type::Video), count(media::Type::Audio));
    let stream = input
        .streams()
        .best(media::Type::Video)
        .context("the clip has no video stream")?;
    let rate = stream.avg_frame_rate();
    let decoder = codec::Context::from_parameters(stream.parameters())?
        .decoder()
        .video()
        .context("opening a decoder for the clip")?;
    let sar = decoder.aspect_ratio();
    let duration_us = input.duration().max(0) as u64;
    Ok(ClipFacts {
        width: decoder.width(),
        height: decoder.height(),
        codec: decoder
            .codec()
            .map(|codec| codec.name().to_owned())
            .unwrap_or_default(),
        pixel_format: decoder
            .format()
            .descriptor()
            .map(|descriptor| descriptor.name().to_owned())
            .unwrap_or_default(),
        sample_aspect_ratio: (sar.numerator(), sar.denominator()),
        frame_rate: (rate.numerator(), rate.denominator()),
        duration: Duration::from_micros(duration_us),
        video_streams,
        audio_streams,
        boxes: top_level_boxes(path)?,
    })
}

/// The types of the top-level boxes of an MP4 file, in order.
pub fn top_level_boxes(path: &Path) -> anyhow::Result<Vec<String>> {
    let mut file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let length = file.metadata()?.len();
    let mut boxes = Vec::new();
    let mut offset = 0u64;
    while offset + 8 <= length {
        file.seek(SeekFrom::Start(offset))?;
        let mut header = [0u8; 8];
        file.read_exact(&mut header)?;
        let [s0, s1, s2, s3, t0, t1, t2, t3] = header;
        let mut size = u64::from(u32::from_be_bytes([s0, s1, s2, s3]));
        if size == 1 {
            let mut large = [0u8; 8];
            file.read_exact(&mut large)?;
            size = u64::from_be_bytes(large);
        } else if size == 0 {
            size = length - offset;
        }
        anyhow::ensure!(
            size >= 8,
            "box at offset {offset} has an impossible size {size}"
        );
        boxes.push(String::from_utf8_lossy(&[t0, t1, t2, t3]).into_owned());
        offset += size;
    }
    Ok(boxes)
}
