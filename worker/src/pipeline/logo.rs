//! The ANB logo: built into the binary, replaceable by a PNG file, decoded with FFmpeg's PNG decoder.

use std::path::Path;

use ffmpeg_next as ffmpeg;
use ffmpeg_next::software::scaling;
use ffmpeg_next::{Packet, codec, decoder, format, frame};

use super::contract::PipelineError;

/// The project's own logo (see `worker/assets/README.md` for how it is made).
pub const BUILT_IN_LOGO: &[u8] = include_bytes!("../../assets/anb-logo.png");

/// Larger logos are refused: they are scaled down anyway and only cost memory.
const MAX_SIDE: u32 = 4096;

/// The logo as one RGBA frame: the configured file when given, else the built-in one.
pub(crate) fn load(path: Option<&Path>) -> Result<frame::Video, PipelineError> {
    match path {
        None => decode_png(BUILT_IN_LOGO, "built-in"),
        Some(path) => {
            let origin = path.display().to_string();
            let bytes = std::fs::read(path).map_err(|error| PipelineError::Logo {
                origin: origin.clone(),
                reason: error.to_string(),
            })?;
            decode_png(&bytes, &origin)
        }
    }
}

/// Decodes a whole PNG file: the PNG decoder takes the file as a single packet, so no demuxer
/// (and no temporary file for the embedded bytes) is needed.
fn decode_png(bytes: &[u8], origin: &str) -> Result<frame::Video, PipelineError> {
    let fail = |reason: String| PipelineError::Logo {
        origin: origin.to_owned(),
        reason,
    };
    let codec = decoder::find(codec::Id::PNG).ok_or_else(|| fail("no PNG decoder".to_owned()))?;
    let mut decoder = codec::Context::new_with_codec(codec)
        .decoder()
        .open_as(codec)
        .and_then(|opened| opened.video())
        .map_err(|error| fail(error.to_string()))?;
    let mut image = frame::Video::empty();
    decoder
        .send_packet(&Packet::copy(bytes))
        .and_then(|()| decoder.send_eof())
        .and_then(|()| decoder.receive_frame(&mut image))
        .map_err(|error| fail(format!("not a PNG image ({error})")))?;
    let (width, height) = (image.width(), image.height());
    if width == 0 || height == 0 || width > MAX_SIDE || height > MAX_SIDE {
        return Err(fail(format!(
            "{width}x{height} is not a usable size (1 to {MAX_SIDE} px a side)"
        )));
    }
    if image.format() == format::Pixel::RGBA {
        return Ok(image);
    }
    // Grey, palette, RGB or 16-bit PNGs: one format for the graph's overlay.
    let mut rgba = frame::Video::empty();
    scaling::Context::get(
        image.format(),
        width,
        height,
        format::Pixel::RGBA,
        width,
        height,
        scaling::Flags::POINT,
    )
    .and_then(|mut scaler| scaler.run(&image, &mut rgba))
    .map_err(|error: ffmpeg::Error| fail(error.to_string()))?;
    Ok(rgba)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_logo_is_a_small_rgba_image() -> Result<(), PipelineError> {
        super::super::contract::init_ffmpeg()?;
        let logo = load(None)?;
        assert_eq!((logo.width(), logo.height()), (256, 256));
        assert_eq!(logo.format(), format::Pixel::RGBA);
        assert!(BUILT_IN_LOGO.len() < 50 * 1024);
        // The centre of the ball is opaque orange, the corners transparent.
        let stride = logo.stride(0);
        let pixel = |x: usize, y: usize| {
            let offset = y * stride + x * 4;
            <[u8; 4]>::try_from(&logo.data(0)[offset..offset + 4]).unwrap_or_default()
        };
        let [r, g, b, a] = pixel(60, 60);
        assert!(
            r > 200 && g > 80 && g < 140 && b < 80 && a == 255,
            "{r} {g} {b} {a}"
        );
        assert_eq!(pixel(2, 2)[3], 0);
        Ok(())
    }

    #[test]
    fn a_file_that_is_not_a_png_is_refused() -> Result<(), PipelineError> {
        super::super::contract::init_ffmpeg()?;
        let error = decode_png(b"not a png at all", "test").err();
        assert!(
            matches!(error, Some(PipelineError::Logo { .. })),
            "{error:?}"
        );
        Ok(())
    }
}
