//! Fitting the picture into 1280×720: aspect ratios, padding, non-square pixels, rotation.

use crate::support::{Rgb, Scratch, assert_showcase, duration_seconds, footage_frame, is_black};

/// Solid blue footage (47, 111, 208): easy to tell from the black bars and the orange logo.
const BLUE: &str = "0x2f6fd0";

fn is_blue([r, g, b]: [u8; 3]) -> bool {
    r < 90 && (80..150).contains(&g) && b > 170
}

/// The watermark blends the logo's orange into the footage: reddish, less blue.
fn is_watermark([r, _, b]: [u8; 3]) -> bool {
    r > 110 && b < 170
}

fn solid_source(
    scratch: &Scratch,
    name: &str,
    size: &str,
    extra: &[&str],
) -> anyhow::Result<std::path::PathBuf> {
    let source = format!("color=c={BLUE}:s={size}:r=30:d=4");
    let mut args = vec!["-f", "lavfi", "-i", source.as_str()];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["-c:v", "libx264", "-preset", "ultrafast"]);
    scratch.generate(name, &args)
}

fn assert_columns(
    frame: &Rgb,
    columns: (usize, usize),
    rows: (usize, usize),
    test: fn([u8; 3]) -> bool,
    what: &str,
) -> anyhow::Result<()> {
    let fraction = frame.fraction((columns.0, rows.0, columns.1, rows.1), test);
    anyhow::ensure!(
        fraction > 0.99,
        "x {columns:?}, y {rows:?}: only {:.1} % {what}",
        fraction * 100.0
    );
    Ok(())
}

#[test]
fn landscape_input_fills_the_frame() -> anyhow::Result<()> {
    let scratch = Scratch::new()?;
    let input = solid_source(&scratch, "landscape.mp4", "1920x1080", &[])?;
    let rendered = scratch.render(&input)?;
    assert_showcase(&rendered, duration_seconds(&input)?)?;
    let frame = footage_frame(&rendered, 1.0)?;
    assert_columns(&frame, (0, 1280), (0, 400), is_blue, "footage")?;
    assert_columns(&frame, (0, 900), (400, 720), is_blue, "footage")?;
    Ok(())
}

#[test]
fn four_by_three_input_is_pillarboxed() -> anyhow::Result<()> {
    let scratch = Scratch::new()?;
    let input = solid_source(&scratch, "four-three.mp4", "1440x1080", &[])?;
    let rendered = scratch.render(&input)?;
    assert_showcase(&rendered, duration_seconds(&input)?)?;
    // 960×720 in the middle: black bars 160 px wide on the left and right.
    let frame = footage_frame(&rendered, 1.0)?;
    assert_columns(&frame, (0, 156), (0, 720), is_black, "black")?;
    assert_columns(&frame, (1124, 1280), (0, 720), is_black, "black")?;
    assert_columns(&frame, (164, 1116), (0, 560), is_blue, "footage")?;
    // The watermark sits inside the footage's bottom-right corner, not on the bar.
    let mark = frame.fraction((986, 586, 1098, 698), is_watermark);
    anyhow::ensure!(mark > 0.3, "watermark covers only {:.0} %", mark * 100.0);
    let elsewhere = frame.fraction((170, 586, 282, 698), is_watermark);
    anyhow::ensure!(elsewhere < 0.01, "watermark colour elsewhere: {elsewhere}");
    Ok(())
}

#[test]
fn vertical_input_is_pillarboxed() -> anyhow::Result<()> {
    let scratch = Scratch::new()?;
    let input = solid_source(&scratch, "vertical.mp4", "1080x1920", &[])?;
    let rendered = scratch.render(&input)?;
    assert_showcase(&rendered, duration_seconds(&input)?)?;
    // 406×720 in the middle (436..842).
    let frame = footage_frame(&rendered, 1.0)?;
    assert_columns(&frame, (0, 432), (0, 720), is_black, "black")?;
    assert_columns(&frame, (846, 1280), (0, 720), is_black, "black")?;
    assert_columns(&frame, (440, 838), (0, 600), is_blue, "footage")?;
    Ok(())
}

#[test]
fn ultrawide_input_is_letterboxed() -> anyhow::Result<()> {
    let scratch = Scratch::new()?;
    let input = solid_source(&scratch, "ultrawide.mp4", "2560x1080", &[])?;
    let rendered = scratch.render(&input)?;
    assert_showcase(&rendered, duration_seconds(&input)?)?;
    // 1280×540: bars of 90 px above and below.
    let frame = footage_frame(&rendered, 1.0)?;
    assert_columns(&frame, (0, 1280), (0, 86), is_black, "black")?;
    assert_columns(&frame, (0, 1280), (634, 720), is_black, "black")?;
    assert_columns(&frame, (0, 1000), (94, 626), is_blue, "footage")?;
    Ok(())
}

#[test]
fn non_square_pixels_use_the_display_aspect_ratio() -> anyhow::Result<()> {
    let scratch = Scratch::new()?;
    // 1440×1080 storage with 4:3 pixels is a 16:9 picture: it must fill the frame, no bars.
    let input = solid_source(
        &scratch,
        "anamorphic.mp4",
        "1440x1080",
        &["-vf", "setsar=4/3"],
    )?;
    let probe = crate::support::ffprobe(&input)?;
    anyhow::ensure!(
        probe["streams"][0]["sample_aspect_ratio"] == "4:3",
        "{probe}"
    );
    let rendered = scratch.render(&input)?;
    assert_showcase(&rendered, duration_seconds(&input)?)?;
    let frame = footage_frame(&rendered, 1.0)?;
    assert_columns(&frame, (0, 1280), (0, 400), is_blue, "footage")?;
    Ok(())
}

#[test]
fn odd_sized_input_is_fitted() -> anyhow::Result<()> {
    let scratch = Scratch::new()?;
    // Odd sizes need 4:4:4 in H.264, which also covers a pixel format other than 4:2:0.
    let input = solid_source(&scratch, "odd.mp4", "1279x1083", &["-pix_fmt", "yuv444p"])?;
    let rendered = scratch.render(&input)?;
    assert_showcase(&rendered, duration_seconds(&input)?)?;
    // 1279/1083 of 720 px is 850 px wide: bars of 215 px either side.
    let frame = footage_frame(&rendered, 1.0)?;
    assert_columns(&frame, (0, 210), (0, 720), is_black, "black")?;
    assert_columns(&frame, (220, 1060), (0, 560), is_blue, "footage")?;
    assert_columns(&frame, (1070, 1280), (0, 720), is_black, "black")?;
    Ok(())
}

/// Renders a 1920×1080 clip with a red block in its stored top-left corner, tagged with the
/// ffmpeg `rotate` stream tag, and returns the footage frame at 1 s.
fn render_rotated(scratch: &Scratch, rotate_tag: &str) -> anyhow::Result<(Rgb, i32, String)> {
    let stored = scratch.generate(
        &format!("stored-{rotate_tag}.mp4"),
        &[
            "-f",
            "lavfi",
            "-i",
            &format!("color=c={BLUE}:s=1920x1080:r=30:d=4"),
            "-vf",
            "drawbox=x=0:y=0:w=480:h=270:color=red:t=fill",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
        ],
    )?;
    let input = scratch.generate(
        &format!("rotated-{rotate_tag}.mp4"),
        &[
            "-i",
            &stored.to_string_lossy(),
            "-c",
            "copy",
            "-metadata:s:v",
            &format!("rotate={rotate_tag}"),
        ],
    )?;
    let probe = crate::support::ffprobe(&input)?;
    let side_data = probe["streams"][0]["side_data_list"].to_string();
    let rendered = scratch.render(&input)?;
    assert_showcase(&rendered, duration_seconds(&input)?)?;
    Ok((
        footage_frame(&rendered, 1.0)?,
        rendered.report.rotation_degrees,
        side_data,
    ))
}

fn is_red([r, g, b]: [u8; 3]) -> bool {
    r > 200 && g < 60 && b < 60
}

/// Corners of the portrait footage (x 436..842): where the block, about 101×180 once scaled,
/// may land.
const TOP_LEFT: (usize, usize, usize, usize) = (440, 4, 530, 172);
const TOP_RIGHT: (usize, usize, usize, usize) = (748, 4, 838, 172);
const BOTTOM_LEFT: (usize, usize, usize, usize) = (440, 548, 530, 716);

fn assert_portrait_with_block(
    frame: &Rgb,
    block: (usize, usize, usize, usize),
) -> anyhow::Result<()> {
    assert_columns(frame, (0, 432), (0, 720), is_black, "black")?;
    assert_columns(frame, (846, 1280), (0, 720), is_black, "black")?;
    for corner in [TOP_LEFT, TOP_RIGHT, BOTTOM_LEFT] {
        if corner == block {
            let red = frame.fraction(corner, is_red);
            anyhow::ensure!(red > 0.99, "the block is not at {corner:?}: {red}");
        } else {
            let blue = frame.fraction(corner, is_blue);
            anyhow::ensure!(blue > 0.99, "{corner:?} of the footage is not blue: {blue}");
        }
    }
    Ok(())
}

#[test]
fn rotated_phone_clip_comes_out_upright() -> anyhow::Result<()> {
    let scratch = Scratch::new()?;
    // What a phone writes for portrait video: turn the stored picture 90° clockwise to show it
    // (ffprobe: "rotation -90"; ffmpeg 5.1 writes this matrix for the tag rotate=270). The
    // stored top-left corner ends up top-right.
    let (frame, degrees, side_data) = render_rotated(&scratch, "270")?;
    anyhow::ensure!(side_data.contains("\"rotation\":-90"), "{side_data}");
    assert_eq!(degrees, 90);
    assert_portrait_with_block(&frame, TOP_RIGHT)
}

#[test]
fn counter_clockwise_rotation_is_applied_too() -> anyhow::Result<()> {
    let scratch = Scratch::new()?;
    // The opposite matrix (ffprobe: "rotation 90"): the stored top-left corner ends up bottom-left.
    let (frame, degrees, side_data) = render_rotated(&scratch, "90")?;
    anyhow::ensure!(side_data.contains("\"rotation\":90"), "{side_data}");
    assert_eq!(degrees, 270);
    assert_portrait_with_block(&frame, BOTTOM_LEFT)
}
