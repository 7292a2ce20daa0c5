//! A pure-Rust MP4 (ISO BMFF) probe: container structure, video codec, duration and display size,
//! read from the file itself. No ffmpeg in the web tier.
//!
//! Checks that every top-level box fits in the file (a truncated upload fails here), that there is
//! a `moov` and an `mdat`, and reads `mvhd`/`tkhd`/`mdhd`/`hdlr`/`stsd` of the first video track.
//!
//! Hostile input is expected: reads are buffered, the number of boxes looked at is bounded (a
//! file of millions of 8-byte boxes is refused after [`MAX_BOXES`]), every number read from the
//! file is checked before use, and nothing panics (a mutation test runs thousands of damaged
//! files through it). It is synchronous: callers run it on a blocking thread.
//!
//! The `moov` is the one thing read into memory whole (up to 32 MiB): the caller is asked for room
//! for it first (`reserve`, in practice the process-wide [`super::budget::MoovBudget`]) and the
//! room is held until the `moov` is dropped.

use std::io::{BufReader, Read, Seek};
use std::path::Path;
use std::time::Duration;

use platform::videos::rules::Codec;

/// What the upload rules need to know about a video.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoProbe {
    pub duration: Duration,
    pub width: u32,
    pub height: u32,
    /// The accepted codec's stored name ([`Codec::name`]: `h264`, `h265`, `av1` or `mpeg4`).
    pub codec: &'static str,
    /// The frames the track's sample table lists (`stsz`/`stz2`); `None` when it lists none (a
    /// fragmented file).
    pub frames: Option<u64>,
    /// The size the sample entry declares for the decoder, when it differs from the display size.
    pub coded: Option<(u32, u32)>,
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
    /// No room for the `moov` in the memory budget within the wait: try again shortly.
    #[error("no room for the moov box in the memory budget")]
    Busy,
}

/// The largest `moov` we read into memory (a 60 s clip's is about 100 KiB).
const MAX_MOOV_BYTES: u64 = 32 * 1024 * 1024;
/// The room the `moov` is read into is never smaller than this: more than glibc's largest dynamic
/// mmap threshold (32 MiB on 64-bit), so the allocator always maps it on its own and unmaps it when
/// it is dropped. A smaller one would come from the arena of whichever blocking thread probes, and
/// stay there when freed: sixteen threads each keeping a 24 MiB `moov`'s memory hold as much as
/// sixteen `moov` boxes at once, one at a time or not (measured: 255 MiB of peak RSS for sixteen
/// 24 MiB `moov` boxes read one after the other). Only the pages read into are resident.
const MOOV_ROOM_FLOOR: usize = 32 * 1024 * 1024 + 64 * 1024;
/// The most boxes looked at, top level and inside `moov` together (a real clip has a few dozen).
pub const MAX_BOXES: usize = 10_000;
/// The longest duration taken seriously; anything longer is a damaged header.
const MAX_DURATION: Duration = Duration::from_secs(24 * 3600);

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

/// Probes the MP4 at `path`; `reserve` is asked for room for the `moov` (its size in bytes) before
/// it is read, and what it returns is held until the `moov` is dropped.
pub fn probe<Room>(
    path: &Path,
    reserve: impl FnOnce(u64) -> Result<Room, ProbeError>,
) -> Result<VideoProbe, ProbeError> {
    let file = std::fs::File::open(path).map_err(|e| ProbeError::Io(e.to_string()))?;
    let length = file
        .metadata()
        .map_err(|e| ProbeError::Io(e.to_string()))?
        .len();
    probe_reader(BufReader::with_capacity(64 * 1024, file), length, reserve)
}

/// Probes `length` bytes of MP4 from `reader` (buffered, so skipping small boxes costs no I/O);
/// `reserve` as for [`probe`].
pub fn probe_reader<R: Read + Seek, Room>(
    mut reader: BufReader<R>,
    length: u64,
    reserve: impl FnOnce(u64) -> Result<Room, ProbeError>,
) -> Result<VideoProbe, ProbeError> {
    let io = |e: std::io::Error| ProbeError::Io(e.to_string());
    let mut position = 0;
    let mut boxes = 0;
    let mut reserve = Some(reserve);
    let mut room = None;
    let mut moov = None;
    let (mut seen_ftyp, mut seen_mdat) = (false, false);
    while let Some(header) = read_header(&mut reader, length - position).map_err(|error| {
        // Garbage before any box means this is not an MP4 at all.
        if seen_ftyp { error } else { ProbeError::NotMp4 }
    })? {
        boxes += 1;
        if boxes > MAX_BOXES {
            return Err(ProbeError::Damaged("too many boxes"));
        }
        let payload = header.size - header.header_len;
        match &header.kind {
            b"ftyp" => seen_ftyp = true,
            _ if !seen_ftyp => return Err(ProbeError::NotMp4),
            b"mdat" => seen_mdat = true,
            b"moov" if moov.is_none() => {
                if payload > MAX_MOOV_BYTES {
                    return Err(ProbeError::Damaged("the moov box is implausibly large"));
                }
                if let Some(reserve) = reserve.take() {
                    room = Some(reserve(payload)?);
                }
                let length = usize::try_from(payload).unwrap_or(0);
                let mut bytes = Vec::with_capacity(length.max(MOOV_ROOM_FLOOR));
                (&mut reader)
                    .take(payload)
                    .read_to_end(&mut bytes)
                    .map_err(io)?;
                if bytes.len() != length {
                    return Err(ProbeError::Damaged("the file ends inside the moov box"));
                }
                moov = Some(bytes);
                position += header.size;
                continue;
            }
            b"moov" => return Err(ProbeError::Damaged("more than one moov box")),
            _ => {}
        }
        position += header.size;
        let skip = i64::try_from(payload).map_err(|_| ProbeError::Damaged("box size"))?;
        reader.seek_relative(skip).map_err(io)?;
    }
    if !seen_ftyp {
        return Err(ProbeError::NotMp4);
    }
    let moov = moov.ok_or(ProbeError::Damaged("no moov box"))?;
    if !seen_mdat {
        return Err(ProbeError::Damaged("no media data"));
    }
    let probed = parse_moov(&moov, MAX_BOXES - boxes);
    // The moov's memory goes back before its room does.
    drop(moov);
    drop(room);
    probed
}

/// How many more boxes may be looked at (see [`MAX_BOXES`]).
struct Budget(std::cell::Cell<usize>);

impl Budget {
    fn spend(&self) -> Result<(), ProbeError> {
        let left = self.0.get();
        if left == 0 {
            return Err(ProbeError::Damaged("too many boxes"));
        }
        self.0.set(left - 1);
        Ok(())
    }
}

/// Iterates the child boxes of an in-memory payload as (kind, payload).
fn children<'a>(
    mut data: &'a [u8],
    budget: &'a Budget,
) -> impl Iterator<Item = Result<([u8; 4], &'a [u8]), ProbeError>> + 'a {
    std::iter::from_fn(move || {
        if data.is_empty() {
            return None;
        }
        let result = (|| {
            budget.spend()?;
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

fn find<'a>(
    data: &'a [u8],
    kind: &[u8; 4],
    budget: &'a Budget,
) -> Result<Option<&'a [u8]>, ProbeError> {
    for child in children(data, budget) {
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

/// A header's duration, when it is one: positive, known (all ones means unknown) and at most
/// [`MAX_DURATION`].
fn seconds(timescale: u32, duration: u64) -> Option<Duration> {
    if timescale == 0 || duration == 0 || duration == u64::from(u32::MAX) || duration == u64::MAX {
        return None;
    }
    Duration::try_from_secs_f64(duration as f64 / f64::from(timescale))
        .ok()
        .filter(|duration| *duration <= MAX_DURATION)
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

fn parse_moov(moov: &[u8], boxes_left: usize) -> Result<VideoProbe, ProbeError> {
    let budget = &Budget(std::cell::Cell::new(boxes_left));
    let movie_duration = find(moov, b"mvhd", budget)?
        .and_then(timescale_and_duration)
        .and_then(|(scale, duration)| seconds(scale, duration));
    for child in children(moov, budget) {
        let (kind, trak) = child?;
        if &kind != b"trak" {
            continue;
        }
        let Some(mdia) = find(trak, b"mdia", budget)? else {
            continue;
        };
        let is_video =
            find(mdia, b"hdlr", budget)?.and_then(|h| h.get(8..12)) == Some(b"vide".as_slice());
        if !is_video {
            continue;
        }
        let stbl = find(mdia, b"minf", budget)?
            .map(|minf| find(minf, b"stbl", budget))
            .transpose()?
            .flatten();
        // stsz: version/flags (4), sample size (4), sample count (4); stz2: version/flags (4),
        // reserved and field size (4), sample count (4).
        let mut frames = None;
        if let Some(stbl) = stbl {
            for table in [b"stsz", b"stz2"] {
                if let Some(count) = find(stbl, table, budget)?.and_then(|t| be_u32(t, 8)) {
                    frames = (count > 0).then_some(u64::from(count));
                    break;
                }
            }
        }
        let entry = stbl
            .map(|stbl| find(stbl, b"stsd", budget))
            .transpose()?
            .flatten()
            // stsd: version/flags (4), entry count (4), then the first sample entry box.
            .and_then(|stsd| stsd.get(8..))
            .ok_or(ProbeError::Damaged(
                "video track without sample description",
            ))?;
        let format = entry.get(4..8).ok_or(ProbeError::Damaged("sample entry"))?;
        let codec = Codec::from_fourcc(format)
            .ok_or_else(|| ProbeError::UnsupportedCodec(String::from_utf8_lossy(format).into()))?
            .name();
        // Visual sample entry (after its 8-byte box header): width at 24, height at 26.
        let coded = (
            be_u16(entry, 8 + 24).map(u32::from),
            be_u16(entry, 8 + 26).map(u32::from),
        );
        let display = find(trak, b"tkhd", budget)?.and_then(tkhd_size);
        let (width, height) = match (display, coded) {
            (Some((w, h)), _) if w > 0 && h > 0 => (w, h),
            (_, (Some(w), Some(h))) if w > 0 && h > 0 => (w, h),
            _ => return Err(ProbeError::Damaged("video track without a size")),
        };
        let coded = match coded {
            (Some(w), Some(h)) if (w, h) != (width, height) => Some((w, h)),
            _ => None,
        };
        let track_duration = find(mdia, b"mdhd", budget)?
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
            frames,
            coded,
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
        assert_eq!(probe(file.path(), |_| Ok(())), Err(ProbeError::NotMp4));
        let empty = write(b"");
        assert_eq!(probe(empty.path(), |_| Ok(())), Err(ProbeError::NotMp4));
    }

    #[test]
    fn a_box_past_the_end_is_damage() {
        let mut bytes = vec![
            0, 0, 0, 16, b'f', b't', b'y', b'p', b'i', b's', b'o', b'm', 0, 0, 0, 0,
        ];
        bytes.extend_from_slice(&[0, 0, 1, 0, b'm', b'd', b'a', b't', 1, 2, 3]);
        let file = write(&bytes);
        assert!(matches!(
            probe(file.path(), |_| Ok(())),
            Err(ProbeError::Damaged(_))
        ));
    }

    /// A real MP4 (ffmpeg's H.264 with AAC) reduced to its `ftyp`, `moov` and a 16-byte `mdat`:
    /// the structure the probe reads, small enough to mutate thousands of times.
    fn real_skeleton() -> Vec<u8> {
        let clip = testkit::media::Clip::h264(1920, 1080, 21.0)
            .path()
            .unwrap_or_else(|e| panic!("{e:#}"));
        let bytes = std::fs::read(clip).unwrap_or_else(|e| panic!("{e}"));
        let mut skeleton = Vec::new();
        let mut at = 0;
        while at + 8 <= bytes.len() {
            let size =
                u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap_or_default()) as usize;
            let kind = &bytes[at + 4..at + 8];
            assert!(
                size >= 8 && at + size <= bytes.len(),
                "the clip has plain box sizes"
            );
            match kind {
                b"mdat" => {
                    skeleton.extend_from_slice(&24_u32.to_be_bytes());
                    skeleton.extend_from_slice(b"mdat");
                    skeleton.extend_from_slice(&[0x5a; 16]);
                }
                _ => skeleton.extend_from_slice(&bytes[at..at + size]),
            }
            at += size;
        }
        skeleton
    }

    fn probe_bytes(bytes: &[u8]) -> Result<VideoProbe, ProbeError> {
        let length = bytes.len() as u64;
        probe_reader(BufReader::new(std::io::Cursor::new(bytes)), length, |_| {
            Ok(())
        })
    }

    #[test]
    fn room_for_the_moov_is_asked_for_its_size_and_held_until_it_is_dropped() {
        let bytes = real_skeleton();
        let length = bytes.len() as u64;
        let held = std::rc::Rc::new(());
        let mut asked = None;
        let probed = probe_reader(
            BufReader::new(std::io::Cursor::new(&bytes)),
            length,
            |size| {
                asked = Some(size);
                Ok(std::rc::Rc::clone(&held))
            },
        );
        assert!(probed.is_ok(), "{probed:?}");
        let moov = bytes
            .windows(4)
            .position(|window| window == b"moov")
            .unwrap();
        let size = u32::from_be_bytes(bytes[moov - 4..moov].try_into().unwrap());
        assert_eq!(asked, Some(u64::from(size) - 8));
        assert_eq!(
            std::rc::Rc::strong_count(&held),
            1,
            "the room was given back"
        );
        // No room: the upload is refused as busy, not as a bad file.
        let refused = probe_reader(BufReader::new(std::io::Cursor::new(&bytes)), length, |_| {
            Err::<(), _>(ProbeError::Busy)
        });
        assert_eq!(refused, Err(ProbeError::Busy));
    }

    /// xorshift64*: a fixed, dependency-free sequence, so a failing case can be replayed.
    struct Cases(u64);

    impl Cases {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }

        /// A number a hostile file would use: an edge or anything at all.
        fn nasty(&mut self) -> u64 {
            const EDGES: [u64; 10] = [
                0,
                1,
                7,
                8,
                16,
                u32::MAX as u64,
                u32::MAX as u64 - 1,
                u64::MAX,
                u64::MAX - 1,
                1 << 63,
            ];
            match self.below(3) {
                0 => EDGES[self.below(EDGES.len())],
                1 => self.next() >> self.below(64),
                _ => self.next(),
            }
        }
    }

    /// Every offset of `kind` in the file, as the start of its box.
    fn boxes_of(bytes: &[u8], kind: &[u8; 4]) -> Vec<usize> {
        bytes
            .windows(4)
            .enumerate()
            .filter(|(at, window)| *at >= 4 && window == kind)
            .map(|(at, _)| at - 4)
            .collect()
    }

    fn put(bytes: &mut [u8], at: usize, value: &[u8]) {
        if let Some(target) = bytes.get_mut(at..at + value.len()) {
            target.copy_from_slice(value);
        }
    }

    #[test]
    fn the_skeleton_of_a_real_clip_probes_as_the_clip() {
        let probed = probe_bytes(&real_skeleton());
        assert!(
            matches!(&probed, Ok(p) if p.codec == "h264" && p.width == 1920 && p.height == 1080),
            "{probed:?}"
        );
    }

    #[test]
    fn absurd_header_durations_are_damage_not_a_panic() {
        let original = real_skeleton();
        for kind in [b"mvhd", b"mdhd"] {
            for at in boxes_of(&original, kind) {
                for (version, scale, duration) in [
                    (1_u8, 1_u32, u64::MAX - 1),
                    (1, 1, 1 << 62),
                    (0, 1, u64::from(u32::MAX - 1)),
                ] {
                    let mut bytes = original.clone();
                    let payload = at + 8;
                    bytes[payload] = version;
                    if version == 1 {
                        put(&mut bytes, payload + 20, &scale.to_be_bytes());
                        put(&mut bytes, payload + 24, &duration.to_be_bytes());
                    } else {
                        put(&mut bytes, payload + 12, &scale.to_be_bytes());
                        put(&mut bytes, payload + 16, &(duration as u32).to_be_bytes());
                    }
                    // Whatever the answer, it is an answer.
                    let _ = probe_bytes(&bytes);
                }
            }
        }
    }

    #[test]
    fn thousands_of_mutated_real_files_never_panic() {
        let original = real_skeleton();
        let headers: Vec<usize> = [
            b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stsd", b"mvhd", b"mdhd", b"tkhd",
            b"hdlr", b"mdat", b"ftyp",
        ]
        .iter()
        .flat_map(|kind| boxes_of(&original, kind))
        .collect();
        let mut cases = Cases(0x9e37_79b9_7f4a_7c15);
        let mut outcomes = [0_usize; 2];
        for case in 0..6000 {
            let mut bytes = original.clone();
            for _ in 0..1 + cases.below(4) {
                match cases.below(6) {
                    // A box size (32-bit or, after a 1, 64-bit) set to something hostile.
                    0 => {
                        let at = headers[cases.below(headers.len())];
                        let size = cases.nasty();
                        put(&mut bytes, at, &(size as u32).to_be_bytes());
                        if size as u32 == 1 {
                            put(&mut bytes, at + 8, &cases.nasty().to_be_bytes());
                        }
                    }
                    // A field inside a box: version bytes, timescales, durations, sizes.
                    1 => {
                        let at = headers[cases.below(headers.len())] + 8 + cases.below(96);
                        let value = cases.nasty();
                        match cases.below(3) {
                            0 => put(&mut bytes, at, &[value as u8]),
                            1 => put(&mut bytes, at, &(value as u32).to_be_bytes()),
                            _ => put(&mut bytes, at, &value.to_be_bytes()),
                        }
                    }
                    // Random bytes anywhere.
                    2 => {
                        for _ in 0..1 + cases.below(8) {
                            let at = cases.below(bytes.len());
                            bytes[at] = cases.next() as u8;
                        }
                    }
                    // Cut short.
                    3 => bytes.truncate(cases.below(bytes.len())),
                    // A stretch repeated (boxes inside boxes inside boxes).
                    4 => {
                        let from = cases.below(bytes.len());
                        let to = (from + cases.below(4096)).min(bytes.len());
                        let copy = bytes[from..to].to_vec();
                        let at = cases.below(bytes.len());
                        bytes.splice(at..at, copy);
                    }
                    // A box type swapped for another one's.
                    _ => {
                        let (at, other) = (
                            headers[cases.below(headers.len())],
                            headers[cases.below(headers.len())],
                        );
                        let kind: [u8; 4] = original[other + 4..other + 8]
                            .try_into()
                            .unwrap_or(*b"free");
                        put(&mut bytes, at + 4, &kind);
                    }
                }
            }
            let outcome = std::panic::catch_unwind(|| probe_bytes(&bytes));
            match outcome {
                Ok(result) => outcomes[usize::from(result.is_err())] += 1,
                Err(_) => panic!("case {case} panicked the probe"),
            }
        }
        // The mutations reach both outcomes: the test exercises the parser, not just its door.
        assert!(outcomes[0] > 100 && outcomes[1] > 1000, "{outcomes:?}");
    }

    #[test]
    fn a_file_of_millions_of_tiny_boxes_stops_at_the_budget() {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&[
            0, 0, 0, 16, b'f', b't', b'y', b'p', b'i', b's', b'o', b'm', 0, 0, 0, 0,
        ]);
        for _ in 0..(MAX_BOXES + 10) {
            bytes.extend_from_slice(&[0, 0, 0, 8, b'f', b'r', b'e', b'e']);
        }
        assert_eq!(
            probe_bytes(&bytes),
            Err(ProbeError::Damaged("too many boxes"))
        );
    }
}
