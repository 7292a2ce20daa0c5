//! `--self-check`: renders a synthetic clip through the whole pipeline and verifies the result,
//! using FFmpeg's libraries only (the production image has no ffmpeg CLI).

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::{Context as _, bail, ensure};
use ffmpeg_next as ffmpeg;
use ffmpeg_next::error::EAGAIN;
use ffmpeg_next::{codec, filter, frame};

use crate::inspect::inspect_clip;
use crate::pipeline::encode::H264Writer;
use crate::pipeline::{
    CARD_FRAMES, OUTPUT_FPS, OUTPUT_HEIGHT, OUTPUT_WIDTH, PipelineSettings, init_ffmpeg,
    render_showcase,
};

/// Seconds of synthetic footage: short, so the check takes a few seconds.
const SOURCE_SECONDS: u64 = 3;

/// Runs the check in a temporary directory; the message says what was verified.
pub fn run(settings: &PipelineSettings) -> anyhow::Result<String> {
    init_ffmpeg()?;
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    let source = dir.path().join("synthetic.mp4");
    let output = dir.path().join("showcase.mp4");
    let poster = dir.path().join("poster.jpg");
    write_synthetic_source(&source).context("generating the synthetic source")?;
    let report = render_showcase(&source, &output, &poster, settings, &AtomicBool::new(false))
        .context("rendering the synthetic source")?;

    let facts = inspect_clip(&output)?;
    let expected_frames = SOURCE_SECONDS * u64::from(OUTPUT_FPS) + 2 * CARD_FRAMES;
    let expected = Duration::from_secs_f64(expected_frames as f64 / f64::from(OUTPUT_FPS));
    ensure!(
        (facts.width, facts.height) == (OUTPUT_WIDTH, OUTPUT_HEIGHT),
        "the clip is {}x{}, not {OUTPUT_WIDTH}x{OUTPUT_HEIGHT}",
        facts.width,
        facts.height
    );
    ensure!(facts.codec == "h264", "the clip's codec is {}", facts.codec);
    ensure!(
        facts.pixel_format == "yuv420p",
        "the clip's pixel format is {}",
        facts.pixel_format
    );
    ensure!(
        facts.video_streams == 1 && facts.audio_streams == 0,
        "the clip has {} video and {} audio streams",
        facts.video_streams,
        facts.audio_streams
    );
    ensure!(
        facts.duration.abs_diff(expected) <= Duration::from_millis(100),
        "the clip lasts {:?}, expected {expected:?}",
        facts.duration
    );
    ensure!(
        report.frames == expected_frames,
        "the clip has {} frames, expected {expected_frames}",
        report.frames
    );
    ensure!(
        facts.frame_rate == (OUTPUT_FPS as i32, 1),
        "the clip's frame rate is {}/{}",
        facts.frame_rate.0,
        facts.frame_rate.1
    );
    ensure!(
        facts.moov_before_mdat(),
        "the MP4 index is not at the front (boxes: {:?})",
        facts.boxes
    );
    let (poster_width, poster_height) = image_size(&poster)?;
    ensure!(
        (poster_width, poster_height) == (OUTPUT_WIDTH, OUTPUT_HEIGHT),
        "the poster is {poster_width}x{poster_height}"
    );
    Ok(format!(
        "self-check passed: {}x{} h264 yuv420p, {:.2} s ({} frames at {} fps), no audio, \
         moov before mdat, poster {poster_width}x{poster_height}",
        facts.width,
        facts.height,
        facts.duration.as_secs_f64(),
        report.frames,
        OUTPUT_FPS,
    ))
}

/// A 1920×1080 30 fps H.264 MP4 of lavfi's `testsrc2` pattern, made with a filter graph.
fn write_synthetic_source(path: &Path) -> anyhow::Result<()> {
    let mut graph = filter::Graph::new();
    let sink = filter::find("buffersink").context("no buffersink filter")?;
    graph.add(&sink, "out", "")?;
    graph.input("out", 0)?.parse(&format!(
        "testsrc2=size=1920x1080:rate={OUTPUT_FPS}:duration={SOURCE_SECONDS},format=yuv420p"
    ))?;
    graph.validate()?;
    let settings = PipelineSettings {
        preset: "ultrafast".to_owned(),
        ..PipelineSettings::default()
    };
    let mut writer = H264Writer::create_sized(path, 1920, 1080, &settings)?;
    let mut picture = frame::Video::empty();
    let mut index = 0;
    loop {
        let mut out = graph.get("out").context("no sink in the graph")?;
        match out.sink().frame(&mut picture) {
            Ok(()) => {
                writer.encode(&mut picture, index)?;
                index += 1;
            }
            Err(ffmpeg::Error::Eof) => break,
            Err(ffmpeg::Error::Other { errno }) if errno == EAGAIN => {
                bail!("the test pattern source stalled")
            }
            Err(error) => return Err(error.into()),
        }
    }
    writer.finish()?;
    Ok(())
}

/// Width and height of an image file, read by FFmpeg's image demuxer.
fn image_size(path: &Path) -> anyhow::Result<(u32, u32)> {
    let input =
        ffmpeg::format::input(path).with_context(|| format!("opening {}", path.display()))?;
    let stream = input
        .streams()
        .best(ffmpeg::media::Type::Video)
        .context("the poster is not an image")?;
    let decoder = codec::Context::from_parameters(stream.parameters())?
        .decoder()
        .video()?;
    Ok((decoder.width(), decoder.height()))
}
