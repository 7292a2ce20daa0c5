//! Source variety: codecs, audio tracks, and a configured logo.

use crate::support::{Scratch, assert_showcase, duration_seconds, frame, is_orange};

#[test]
fn h265_input_renders() -> anyhow::Result<()> {
    let scratch = Scratch::new()?;
    let input = scratch.generate(
        "hevc.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=1920x1080:rate=30:duration=4",
            "-c:v",
            "libx265",
            "-preset",
            "ultrafast",
            "-x265-params",
            "log-level=error",
            "-tag:v",
            "hvc1",
        ],
    )?;
    let rendered = scratch.render(&input)?;
    assert_eq!(rendered.report.source_codec, "hevc");
    assert_showcase(&rendered, duration_seconds(&input)?)?;
    Ok(())
}

#[test]
fn input_with_audio_gives_a_clip_without_audio() -> anyhow::Result<()> {
    let scratch = Scratch::new()?;
    let input = scratch.generate(
        "with-audio.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=1920x1080:rate=30:duration=4",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=4",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-c:a",
            "aac",
            "-shortest",
        ],
    )?;
    let probe = crate::support::ffprobe(&input)?;
    anyhow::ensure!(
        probe["streams"].as_array().map(Vec::len) == Some(2),
        "{probe}"
    );
    let rendered = scratch.render(&input)?;
    assert_showcase(&rendered, duration_seconds(&input)?)?;
    Ok(())
}

#[test]
fn input_without_audio_renders() -> anyhow::Result<()> {
    let scratch = Scratch::new()?;
    let input = scratch.generate(
        "silent.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=1920x1080:rate=30:duration=4",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
        ],
    )?;
    let rendered = scratch.render(&input)?;
    assert_showcase(&rendered, duration_seconds(&input)?)?;
    Ok(())
}

#[test]
fn configured_logo_replaces_the_built_in_one() -> anyhow::Result<()> {
    let scratch = Scratch::new()?;
    let logo = scratch.generate(
        "green-logo.png",
        &[
            "-f",
            "lavfi",
            "-i",
            "color=c=0x00ff00:s=200x100",
            "-frames:v",
            "1",
            "-pix_fmt",
            "rgb24",
        ],
    )?;
    let input = scratch.generate(
        "plain.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=1920x1080:rate=30:duration=4",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
        ],
    )?;
    let output = scratch.path("custom.mp4");
    let poster = scratch.path("custom.jpg");
    let settings = worker::pipeline::PipelineSettings {
        logo_path: Some(logo),
        ..crate::support::fast_settings()
    };
    let report = worker::pipeline::render_showcase(
        &input,
        &output,
        &poster,
        &settings,
        &std::sync::atomic::AtomicBool::new(false),
    )?;
    let is_green = |[r, g, b]: [u8; 3]| r < 60 && g > 200 && b < 60;
    for index in [0, report.frames - 1] {
        let card = frame(&output, index)?;
        // 480×240 on the cards, centred.
        anyhow::ensure!(card.fraction((420, 260, 860, 460), is_green) > 0.99);
        anyhow::ensure!(card.fraction((0, 0, 1280, 720), is_orange) < 0.001);
    }
    Ok(())
}
