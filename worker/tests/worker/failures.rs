//! Inputs that can never succeed are permanent errors; I/O trouble is not; cancelling stops a job.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use worker::pipeline::{InputProblem, PipelineError, render_showcase};

use crate::support::{Scratch, fast_settings};

fn expect_permanent(
    result: Result<crate::support::Rendered, PipelineError>,
    problem: InputProblem,
) {
    match result {
        Err(error @ PipelineError::InvalidInput { .. }) => {
            assert!(error.is_permanent(), "{error}");
            assert!(
                matches!(error, PipelineError::InvalidInput { problem: found, .. } if found == problem),
                "expected {problem:?}, got {error:?}"
            );
        }
        Err(error) => panic!("expected a permanent {problem:?} error, got {error:?}"),
        Ok(rendered) => panic!("rendered {:?}", rendered.report),
    }
}

#[test]
fn random_bytes_are_rejected_permanently() -> anyhow::Result<()> {
    let scratch = Scratch::new()?;
    let noise = testkit::random_file(256 * 1024, 7)?;
    let input = scratch.path("noise.mp4");
    std::fs::copy(noise.path(), &input)?;
    let result = scratch.render(&input);
    expect_permanent(result, InputProblem::Unreadable);
    assert!(!scratch.path("noise-showcase.mp4").exists());
    assert!(!scratch.path("noise-poster.jpg").exists());
    Ok(())
}

fn truncated_copy(
    scratch: &Scratch,
    name: &str,
    extra: &[&str],
) -> anyhow::Result<std::path::PathBuf> {
    let mut args = vec![
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=1280x720:rate=30:duration=4",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
    ];
    args.extend_from_slice(extra);
    let whole = scratch.generate(&format!("whole-{name}"), &args)?;
    let bytes = std::fs::read(&whole)?;
    let cut = scratch.path(name);
    std::fs::write(&cut, &bytes[..bytes.len() / 2])?;
    Ok(cut)
}

#[test]
fn truncated_mp4_is_rejected_permanently() -> anyhow::Result<()> {
    let scratch = Scratch::new()?;
    // The index is written last by default: half a file has no index at all.
    let input = truncated_copy(&scratch, "truncated.mp4", &[])?;
    expect_permanent(scratch.render(&input), InputProblem::Unreadable);
    Ok(())
}

#[test]
fn truncated_faststart_mp4_is_rejected_permanently() -> anyhow::Result<()> {
    let scratch = Scratch::new()?;
    // The index is intact but describes media data that is not there.
    let input = truncated_copy(
        &scratch,
        "truncated-faststart.mp4",
        &["-movflags", "+faststart"],
    )?;
    expect_permanent(scratch.render(&input), InputProblem::Truncated);
    Ok(())
}

#[test]
fn audio_only_file_is_rejected_permanently() -> anyhow::Result<()> {
    let scratch = Scratch::new()?;
    let input = scratch.generate(
        "audio-only.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=3",
            "-c:a",
            "aac",
        ],
    )?;
    expect_permanent(scratch.render(&input), InputProblem::NoVideoTrack);
    Ok(())
}

#[test]
fn missing_input_is_a_retryable_io_error() -> anyhow::Result<()> {
    let scratch = Scratch::new()?;
    let error = scratch.render(&scratch.path("not-downloaded.mp4")).err();
    assert!(
        matches!(&error, Some(error @ PipelineError::Io { .. }) if !error.is_permanent()),
        "{error:?}"
    );
    Ok(())
}

#[test]
fn cancel_flag_raised_before_start_returns_cancelled() -> anyhow::Result<()> {
    let scratch = Scratch::new()?;
    let input = scratch.generate(
        "short.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=640x360:rate=30:duration=2",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
        ],
    )?;
    let result = render_showcase(
        &input,
        &scratch.path("out.mp4"),
        &scratch.path("out.jpg"),
        &fast_settings(),
        &AtomicBool::new(true),
    );
    assert!(
        matches!(&result, Err(error) if error.is_cancelled() && !error.is_permanent()),
        "{:?}",
        result.err()
    );
    Ok(())
}

#[test]
fn cancel_flag_stops_a_running_job_quickly() -> anyhow::Result<()> {
    let scratch = Scratch::new()?;
    // Long enough (30 s of 1080p) that rendering cannot finish before the flag is raised.
    let input = scratch.generate(
        "busy.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=1920x1080:rate=30:duration=30",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-crf",
            "40",
        ],
    )?;
    let cancel = Arc::new(AtomicBool::new(false));
    let (output, poster) = (scratch.path("busy-out.mp4"), scratch.path("busy-out.jpg"));
    let job = {
        let (input, output, poster, cancel) = (
            input.clone(),
            output.clone(),
            poster.clone(),
            Arc::clone(&cancel),
        );
        std::thread::spawn(move || {
            render_showcase(&input, &output, &poster, &fast_settings(), &cancel)
        })
    };
    std::thread::sleep(Duration::from_millis(700));
    let raised = Instant::now();
    cancel.store(true, Ordering::Relaxed);
    let result = job
        .join()
        .map_err(|_| anyhow::anyhow!("the job panicked"))?;
    let stopped_after = raised.elapsed();
    assert!(
        matches!(&result, Err(PipelineError::Cancelled)),
        "{:?}",
        result.map(|r| r.frames)
    );
    assert!(
        stopped_after < Duration::from_secs(1),
        "took {stopped_after:?} to stop"
    );
    assert!(!output.exists(), "the partial clip was left behind");
    Ok(())
}

#[test]
fn a_frame_too_large_part_way_is_rejected_before_it_is_rendered() -> anyhow::Result<()> {
    let scratch = Scratch::new()?;
    // 2 s of 360p, then frames of 4608x2592 (above 4096 × 2304 pixels) in the same H.264 track:
    // the header says 640x360, so only the decoded frames show the large ones.
    let input = scratch.resized_mid_stream("growing.mp4", &[("640x360", 2), ("4608x2592", 1)])?;
    expect_permanent(scratch.render(&input), InputProblem::FrameTooLarge);
    assert!(!scratch.path("growing-showcase.mp4").exists());
    Ok(())
}
