//! A pure-Rust MP4 (ISO BMFF) probe: container structure, video codec, duration and display size,
//! read from the file itself. No ffmpeg in the web tier.
//!
//! Checks that every top-level box fits in the file (a truncated upload fails here), that there is
//! a `moov` and an `mdat`, and reads `mvhd`/`tkhd`/`mdhd`/`hdlr`/`stsd` of the first video track.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::time::Duration;

/// What the upload rules need to know about a video.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoProbe {
    pub duration: Duration,
    pub width: u32,
    pub height: u32,
    /// `h264`, `h265`, `av1` or `mpeg4`.
    pub codec: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProbeError {
    #[error("not an MP4 file")]
    NotMp4,
    #[error("damaged or incomplete MP4: {0}")]
    Damaged(&'static str),
    #[error("no video track")]
    NoVideoTrack,
    #[error("unsupported video codec {0}")]
    UnsupportedCodec(String),
    #[error("cannot read the file: {0}")]
    Io(String),
}

/// The largest `moov` we read into memory (a 60 s clip's is about 100 KiB).
const MAX_MOOV_BYTES: u64 = 32 * 1024 * 1024;

struct BoxHeader {
    kind: [u8; 4],
    /// Offset of the payload from the start of the box.
    header_len: u64,
    /// Whole box size, header included.
    size: u64,
}

fn read_header(reader: &mut impl Read, remaining: u64) -> Result<Option<BoxHeader>, ProbeError> {
    if remaining == 0 {
        return Ok(None);
    }
    if remaining < 8 {
        return Err(ProbeError::Damaged("trailing bytes after the last box"));
    }
    let mut header = [0u8; 8];
    reader
        .read_exact(&mut header)
        .map_err(|e| ProbeError::Io(e.to_string()))?;
    let size32 = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
    let kind = [header[4], header[5], header[6], header[7]];
    let (size, header_len) = match size32 {
        0 => (remaining, 8),
        1 => {
            let mut large = [0u8; 8];
            reader
                .read_exact(&mut large)
                .map_err(|e| ProbeError::Io(e.to_string()))?;
            (u64::from_be_bytes(large), 16)
        }
        n => (u64::from(n), 8),
    };
    if size < header_len {
        return Err(ProbeError::Damaged("a box is smaller than its header"));
    }
    if size > remaining {
        return Err(ProbeError::Damaged("a box runs past the end of the file"));
    }
    Ok(Some(BoxHeader {
        kind,
        header_len,
        size,
    }))
}

/// Probes the MP4 at `path`.
pub fn probe(path: &Path) -> Result<VideoProbe, ProbeError> {
    let mut file = std::fs::File::open(path).map_err(|e| ProbeError::Io(e.to_string()))?;
    let length = file
        .metadata()
        .map_err(|e| ProbeError::Io(e.to_string()))?
        .len();
    let mut position = 0;
    let mut moov = None;
    let (mut seen_ftyp, mut seen_mdat) = (false, false);
    while let Some(header) = read_header(&mut file, length - position).map_err(|error| {
        // Garbage before any box means this is not an MP4 at all.
        if seen_ftyp { error } else { ProbeError::NotMp4 }
    })? {
        match &header.kind {
            b"ftyp" => seen_ftyp = true,
            _ if !seen_ftyp => return Err(ProbeError::NotMp4),
            b"mdat" => seen_mdat = true,
            b"moov" => {
                let payload = header.size - header.header_len;
                if payload > MAX_MOOV_BYTES {
                    return Err(ProbeError::Damaged("the moov box is implausibly large"));
                }
                let mut bytes = vec![0u8; usize::try_from(payload).unwrap_or(0)];
                file.read_exact(&mut bytes)
                    .map_err(|e| ProbeError::Io(e.to_string()))?;
                moov = Some(bytes);
                position += header.size;
                continue;
            }
            _ => {}
        }
        position += header.size;
        file.seek(SeekFrom::Start(position))
            .map_err(|e| ProbeError::Io(e.to_string()))?;
    }
    if !seen_ftyp {
        return Err(ProbeError::NotMp4);
    }
    let moov = moov.ok_or(ProbeError::Damaged("no moov box"))?;
    if !seen_mdat {
        return Err(ProbeError::Damaged("no media data"));
    }
    parse_moov(&moov)
}

/// Iterates the child boxes of an in-memory payload as (kind, payload).
fn children(mut data: &[u8]) -> impl Iterator<Item = Result<([u8; 4], &[u8]), ProbeError>> {
    std::iter::from_fn(move || {
        if data.is_empty() {
            return None;
        }
        let result = (|| {
            let header = read_header(&mut &data[..], data.len() as u64)?
                .ok_or(ProbeError::Damaged("empty box"))?;
            let size = usize::try_from(header.size).map_err(|_| ProbeError::Damaged("box size"))?;
            let start = usize::try_from(header.header_len).unwrap_or(8);
            let payload = &data[start..size];
            let kind = header.kind;
            data = &data[size..];
            Ok((kind, payload))
        })();
        if result.is_err() {
            data = &[];
        }
        Some(result)
    })
}

fn find<'a>(data: &'a [u8], kind: &[u8; 4]) -> Result<Option<&'a [u8]>, ProbeError> {
    for child in children(data) {
        let (found, payload) = child?;
        if &found == kind {
            return Ok(Some(payload));
        }
    }
    Ok(None)
}

fn be_u32(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(data.get(at..at + 4)?.try_into().ok()?))
}

fn be_u64(data: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(data.get(at..at + 8)?.try_into().ok()?))
}

fn be_u16(data: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(data.get(at..at + 2)?.try_into().ok()?))
}

/// (timescale, duration) of an `mvhd` or `mdhd` payload (versions 0 and 1).
fn timescale_and_duration(payload: &[u8]) -> Option<(u32, u64)> {
    match payload.first()? {
        0 => Some((be_u32(payload, 12)?, u64::from(be_u32(payload, 16)?))),
        1 => Some((be_u32(payload, 20)?, be_u64(payload, 24)?)),
        _ => None,
    }
}

fn seconds(timescale: u32, duration: u64) -> Option<Duration> {
    (timescale > 0 && duration > 0 && duration != u64::from(u32::MAX))
        .then(|| Duration::from_secs_f64(duration as f64 / f64::from(timescale)))
}

/// Display width and height of a `tkhd` payload (16.16 fixed point at its end).
fn tkhd_size(payload: &[u8]) -> Option<(u32, u32)> {
    let at = match payload.first()? {
        0 => 76,
        1 => 88,
        _ => return None,
    };
    Some((be_u32(payload, at)? >> 16, be_u32(payload, at + 4)? >> 16))
}

fn parse_moov(moov: &[u8]) -> Result<VideoProbe, ProbeError> {
    let movie_duration = find(moov, b"mvhd")?
        .and_then(timescale_and_duration)
        .and_then(|(scale, duration)| seconds(scale, duration));
    for child in children(moov) {
        let (kind, trak) = child?;
        if &kind != b"trak" {
            continue;
        }
        let Some(mdia) = find(trak, b"mdia")? else {
            continue;
        };
        let is_video = find(mdia, b"hdlr")?.and_then(|h| h.get(8..12)) == Some(b"vide".as_slice());
        if !is_video {
            continue;
        }
        let entry = find(mdia, b"minf")?
            .map(|minf| find(minf, b"stbl"))
            .transpose()?
            .flatten()
            .map(|stbl| find(stbl, b"stsd"))
            .transpose()?
            .flatten()
            // stsd: version/flags (4), entry count (4), then the first sample entry box.
            .and_then(|stsd| stsd.get(8..))
            .ok_or(ProbeError::Damaged(
                "video track without sample description",
            ))?;
        let format = entry.get(4..8).ok_or(ProbeError::Damaged("sample entry"))?;
        let codec = match format {
            b"avc1" | b"avc3" => "h264",
            b"hvc1" | b"hev1" => "h265",
            b"av01" => "av1",
            b"mp4v" => "mpeg4",
            other => {
                return Err(ProbeError::UnsupportedCodec(
                    String::from_utf8_lossy(other).into_owned(),
                ));
            }
        };
        // Visual sample entry (after its 8-byte box header): width at 24, height at 26.
        let coded = (
            be_u16(entry, 8 + 24).map(u32::from),
            be_u16(entry, 8 + 26).map(u32::from),
        );
        let display = find(trak, b"tkhd")?.and_then(tkhd_size);
        let (width, height) = match (display, coded) {
            (Some((w, h)), _) if w > 0 && h > 0 => (w, h),
            (_, (Some(w), Some(h))) if w > 0 && h > 0 => (w, h),
            _ => return Err(ProbeError::Damaged("video track without a size")),
        };
        let track_duration = find(mdia, b"mdhd")?
            .and_then(timescale_and_duration)
            .and_then(|(scale, duration)| seconds(scale, duration));
        let duration = track_duration
            .or(movie_duration)
            .ok_or(ProbeError::Damaged("no duration"))?;
        return Ok(VideoProbe {
            duration,
            width,
            height,
            codec,
        });
    }
    Err(ProbeError::NoVideoTrack)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(bytes: &[u8]) -> tempfile::NamedTempFile {
        use std::io::Write;
        let mut file = tempfile::NamedTempFile::new().unwrap_or_else(|e| panic!("{e}"));
        file.write_all(bytes).unwrap_or_else(|e| panic!("{e}"));
        file
    }

    #[test]
    fn text_is_not_an_mp4() {
        let file = write(b"this is a text file renamed to .mp4, not a video at all");
        assert_eq!(probe(file.path()), Err(ProbeError::NotMp4));
        let empty = write(b"");
        assert_eq!(probe(empty.path()), Err(ProbeError::NotMp4));
    }

    #[test]
    fn a_box_past_the_end_is_damage() {
        let mut bytes = vec![
            0, 0, 0, 16, b'f', b't', b'y', b'p', b'i', b's', b'o', b'm', 0, 0, 0, 0,
        ];
        bytes.extend_from_slice(&[0, 0, 1, 0, b'm', b'd', b'a', b't', 1, 2, 3]);
        let file = write(&bytes);
        assert!(matches!(probe(file.path()), Err(ProbeError::Damaged(_))));
    }
}
