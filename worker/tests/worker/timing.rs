//! Time: the 30 s cut, constant 30 fps from 60 fps and variable frame rate sources.

use crate::support::{CARD_FRAMES, Scratch, assert_showcase, duration_seconds};

#[test]
fn long_input_is_cut_to_30_seconds() -> anyhow::Result<()> {
    let scratch = Scratch::new()?;
    let input = scratch.generate(
        "long.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=1920x1080:rate=30:duration=45",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=45",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-crf",
            "35",
            "-c:a",
            "aac",
            "-shortest",
        ],
    )?;
    let rendered = scratch.render(&input)?;
    assert!(rendered.report.source_cut);
    assert_eq!(rendered.report.footage_frames, 900);
    assert_eq!(rendered.report.frames, 900 + 2 * CARD_FRAMES);
    assert_showcase(&rendered, duration_seconds(&input)?)?;
    // The poster comes from the middle of the footage.
    assert_eq!(rendered.report.poster_at.as_secs(), 15);
    Ok(())
}

#[test]
fn sixty_fps_input_becomes_constant_30_fps() -> anyhow::Result<()> {
    let scratch = Scratch::new()?;
    let input = scratch.generate(
        "sixty.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=1920x1080:rate=60:duration=4",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
        ],
    )?;
    let rendered = scratch.render(&input)?;
    assert!(!rendered.report.source_cut);
    assert_eq!(rendered.report.footage_frames, 120);
    assert_showcase(&rendered, duration_seconds(&input)?)?;
    Ok(())
}

#[test]
fn variable_frame_rate_input_becomes_constant_30_fps() -> anyhow::Result<()> {
    let scratch = Scratch::new()?;
    // One second at 60 fps, then 20 fps: timestamps 1/60 s apart, then 1/20 s.
    let input = scratch.generate(
        "vfr.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=1280x720:rate=60:duration=4",
            "-vf",
            "select='lt(t,1)+not(mod(n,3))'",
            "-vsync",
            "vfr",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
        ],
    )?;
    let probe = crate::support::ffprobe(&input)?;
    anyhow::ensure!(
        probe["streams"][0]["avg_frame_rate"] != "60/1",
        "not VFR: {probe}"
    );
    let rendered = scratch.render(&input)?;
    let source = duration_seconds(&input)?;
    assert_showcase(&rendered, source)?;
    let footage = rendered.report.footage_frames as f64 / 30.0;
    assert!(
        (footage - source).abs() < 0.05,
        "footage {footage} s, source {source} s"
    );
    Ok(())
}
