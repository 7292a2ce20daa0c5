//! A watch over the framing of a multipart body as it streams past: the preamble and each part's
//! headers may hold at most [`MAX_HEADER_BYTES`]. The multipart parser buffers a part's headers
//! until it finds their end, so without this a body of nothing but one endless header line would
//! sit in memory up to the whole upload limit (and be rescanned at every chunk).

use memchr::memmem;

/// The most bytes before the first boundary, and in one part's headers.
pub const MAX_HEADER_BYTES: usize = 8 * 1024;

/// What the watch found wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("multipart part headers longer than {MAX_HEADER_BYTES} bytes")]
pub struct HeadersTooLong;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    /// Before the first boundary.
    Preamble,
    /// After a boundary, until the empty line.
    Headers,
    /// A part's content, until the next boundary.
    Content,
}

/// Follows one body, chunk by chunk.
#[derive(Debug)]
pub struct FramingWatch {
    /// `\r\n--<boundary>`: what ends a preamble or a part's content.
    delimiter: Vec<u8>,
    section: Section,
    /// Bytes of the current preamble or header section so far.
    seen: usize,
    /// The end of the previous chunk, for a pattern split between two chunks.
    carry: Vec<u8>,
}

const HEADERS_END: &[u8] = b"\r\n\r\n";

impl FramingWatch {
    pub fn new(boundary: &str) -> Self {
        Self {
            delimiter: [b"\r\n--".as_slice(), boundary.as_bytes()].concat(),
            section: Section::Preamble,
            seen: 0,
            // The first boundary may open the body with no line break before it.
            carry: b"\r\n".to_vec(),
        }
    }

    /// Takes the next chunk of the body; an error once a header section is too long.
    pub fn inspect(&mut self, chunk: &[u8]) -> Result<(), HeadersTooLong> {
        let Self {
            delimiter,
            section,
            seen,
            carry,
        } = self;
        let mut rest = chunk;
        loop {
            let pattern = match section {
                Section::Preamble | Section::Content => delimiter.as_slice(),
                Section::Headers => HEADERS_END,
            };
            let Some(end) = find_end(carry, rest, pattern) else {
                count(*section, seen, rest.len())?;
                keep_tail(carry, rest, pattern.len());
                return Ok(());
            };
            count(*section, seen, end)?;
            *section = match section {
                Section::Preamble | Section::Content => Section::Headers,
                Section::Headers => Section::Content,
            };
            *seen = 0;
            carry.clear();
            rest = &rest[end..];
        }
    }
}

/// Adds `bytes` to the current preamble or header section (content is not counted).
fn count(section: Section, seen: &mut usize, bytes: usize) -> Result<(), HeadersTooLong> {
    if section == Section::Content {
        return Ok(());
    }
    *seen += bytes;
    if *seen > MAX_HEADER_BYTES {
        return Err(HeadersTooLong);
    }
    Ok(())
}

/// Keeps the last `pattern_len - 1` bytes seen, where a split pattern may have begun.
fn keep_tail(carry: &mut Vec<u8>, rest: &[u8], pattern_len: usize) {
    let keep = pattern_len.saturating_sub(1);
    if rest.len() >= keep {
        carry.clear();
        carry.extend_from_slice(&rest[rest.len() - keep..]);
    } else {
        carry.extend_from_slice(rest);
        let excess = carry.len().saturating_sub(keep);
        carry.drain(..excess);
    }
}

/// Where in `rest` the first `pattern` ends, counting a match that begins in `carry`.
fn find_end(carry: &[u8], rest: &[u8], pattern: &[u8]) -> Option<usize> {
    if !carry.is_empty() {
        let head = &rest[..rest.len().min(pattern.len().saturating_sub(1))];
        let joined = [carry, head].concat();
        // Only matches that reach into `rest`: those wholly in `carry` were looked for before.
        let mut from = 0;
        while let Some(start) = memmem::find(&joined[from..], pattern) {
            let start = from + start;
            if start + pattern.len() > carry.len() {
                return Some(start + pattern.len() - carry.len());
            }
            from = start + 1;
        }
    }
    memmem::find(rest, pattern).map(|start| start + pattern.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(headers: &str, content: &str) -> Vec<u8> {
        format!("--XyZ\r\n{headers}\r\n\r\n{content}\r\n--XyZ--\r\n").into_bytes()
    }

    fn watch_in_chunks(body: &[u8], size: usize) -> Result<(), HeadersTooLong> {
        let mut watch = FramingWatch::new("XyZ");
        body.chunks(size).try_for_each(|chunk| watch.inspect(chunk))
    }

    #[test]
    fn ordinary_forms_pass_in_any_chunking() {
        let form = [
            body("Content-Disposition: form-data; name=\"title\"", "Triple"),
            body(
                "Content-Disposition: form-data; name=\"video_file\"; filename=\"a.mp4\"",
                &"x".repeat(50_000),
            ),
        ]
        .concat();
        for size in [1, 2, 3, 7, 64, 4096, form.len()] {
            assert_eq!(watch_in_chunks(&form, size), Ok(()), "chunks of {size}");
        }
    }

    #[test]
    fn content_may_be_long_but_headers_may_not() {
        let long_content = body(
            "Content-Disposition: form-data; name=\"f\"",
            &"y".repeat(1 << 20),
        );
        assert_eq!(watch_in_chunks(&long_content, 8192), Ok(()));
        let long_header = body(&format!("X-Pad: {}", "h".repeat(MAX_HEADER_BYTES)), "");
        for size in [1, 5, 8192, long_header.len()] {
            assert_eq!(watch_in_chunks(&long_header, size), Err(HeadersTooLong));
        }
    }

    #[test]
    fn a_second_part_with_long_headers_is_caught_after_a_long_first_part() {
        let form = [
            body(
                "Content-Disposition: form-data; name=\"a\"",
                &"z".repeat(100_000),
            ),
            format!("--XyZ\r\nX-Pad: {}", "p".repeat(3 * MAX_HEADER_BYTES)).into_bytes(),
        ]
        .concat();
        assert_eq!(watch_in_chunks(&form, 1000), Err(HeadersTooLong));
    }

    #[test]
    fn a_preamble_without_a_boundary_is_bounded() {
        let junk = vec![b'q'; MAX_HEADER_BYTES + 1];
        assert_eq!(watch_in_chunks(&junk, 100), Err(HeadersTooLong));
    }
}
