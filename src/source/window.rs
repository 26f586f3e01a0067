//! A file's content as text, in windows of bounded size: memory follows the window, not the
//! file, so nothing is too large to scan. Consecutive windows overlap by more than any secret
//! and the context the engine reads around it, and each window owns the matches that *start*
//! in the middle of its overlaps, so a secret across a window edge is found whole by one
//! window and reported once. The kind of content (text, UTF-16 text, binary) is decided once,
//! from the start of the file: UTF-16 is transcoded to UTF-8, and binary content keeps only its
//! printable runs (as `strings` does), so text after a NUL byte is scanned too.

use std::io::{self, Read};
use std::ops::Range;

/// Bytes of raw content in one window.
pub const WINDOW: usize = 4 * 1024 * 1024;
/// Bytes shared by consecutive windows. Each window owns matches starting up to `OVERLAP / 2`
/// into its overlaps, so an owned match has 128 KiB of its window before and after its start:
/// more than the engine ever reads around a keyword (64 KiB forward for a multi-line rule such
/// as a PEM block, 1 KiB of line context) plus the longest secret a rule matches.
pub const OVERLAP: usize = 256 * 1024;
/// How far one window starts after the previous one.
const STRIDE: usize = WINDOW - OVERLAP;

/// Bytes inspected to decide whether content is binary.
const BINARY_SNIFF: usize = 8 * 1024;
/// Shortest printable run kept in binary content. Shorter runs in compiled code and images are
/// mostly opcodes and pixels that happen to be ASCII; anything worth reporting (a keyword and
/// a value of 16 or more characters, a prefixed token) is longer than this.
pub const MIN_PRINTABLE_RUN: usize = 8;

/// How a file's bytes become text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    /// UTF-16 with a byte-order mark, transcoded to UTF-8.
    Utf16 {
        little_endian: bool,
    },
    /// A NUL byte near the start: only printable runs are scanned, the rest is blanked.
    Binary,
}

impl Kind {
    /// Decides from the first bytes of a file.
    pub fn sniff(start: &[u8]) -> Kind {
        match start {
            [0xFF, 0xFE, ..] => Kind::Utf16 {
                little_endian: true,
            },
            [0xFE, 0xFF, ..] => Kind::Utf16 {
                little_endian: false,
            },
            _ if memchr::memchr(0, &start[..start.len().min(BINARY_SNIFF)]).is_some() => {
                Kind::Binary
            }
            _ => Kind::Text,
        }
    }
}

/// A 1-based line and column (in Unicode code points) in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl Position {
    pub const START: Position = Position { line: 1, column: 1 };

    /// The position just after `text`, which starts at `self`.
    pub fn advance(self, text: &[u8]) -> Position {
        match memchr::memrchr(b'\n', text) {
            Some(last) => Position {
                line: self.line + memchr::memchr_iter(b'\n', text).count(),
                column: 1 + code_points(&text[last + 1..]),
            },
            None => Position {
                line: self.line,
                column: self.column + code_points(text),
            },
        }
    }
}

/// One window of a file, as text.
#[derive(Debug)]
pub struct Window<'a> {
    pub text: &'a [u8],
    /// Matches starting in this range are this window's to report; a neighbouring window
    /// finds the others whole.
    pub owned: Range<usize>,
    /// Where `text` starts in the file.
    pub origin: Position,
    /// Whether the file is binary (only its printable runs are in `text`).
    pub binary: bool,
}

/// Capacity of the first read: most source files fit.
const FIRST_READ: usize = 64 << 10;

/// Reads `content` to its end, one window at a time; returns the number of bytes read.
pub fn for_each_window(
    content: &mut dyn Read,
    on_window: &mut dyn FnMut(Window<'_>),
) -> io::Result<u64> {
    // Room for most files in one read: grown from empty, the buffer made `read_to_end` issue a
    // read per doubling (and a `take` hides a file's size from it), which cost a sixth of a
    // tree scan.
    let mut raw = Vec::with_capacity(FIRST_READ);
    let mut scratch = Vec::new();
    let mut kind = None;
    let mut origin = Position::START;
    let mut total = 0u64;
    let mut first = true;
    loop {
        total += fill(content, &mut raw)? as u64;
        let kind = *kind.get_or_insert_with(|| Kind::sniff(&raw));
        // A window that is not full ends the file; one that is full may be followed by
        // nothing but its own overlap, which the next turn then owns.
        let last = raw.len() < WINDOW;
        let owned_start = if first { 0 } else { OVERLAP / 2 };
        let owned_end = if last {
            raw.len()
        } else {
            STRIDE + OVERLAP / 2
        };
        let skip = if first { bom_len(kind) } else { 0 };
        let cuts = [owned_start, STRIDE.min(raw.len()), owned_end];
        let (text, [start, next, end]) = prepare(kind, &raw, skip, cuts, &mut scratch);
        on_window(Window {
            text,
            owned: start..end,
            origin,
            binary: kind == Kind::Binary,
        });
        if last {
            return Ok(total);
        }
        origin = origin.advance(&text[..next]);
        raw.drain(..STRIDE);
        first = false;
    }
}

/// `for_each_window` over bytes already in memory, without copying plain text that fits in
/// one window (most files).
pub fn for_each_window_of(bytes: &[u8], on_window: &mut dyn FnMut(Window<'_>)) {
    if bytes.len() <= WINDOW && Kind::sniff(bytes) == Kind::Text {
        return on_window(Window {
            text: bytes,
            owned: 0..bytes.len(),
            origin: Position::START,
            binary: false,
        });
    }
    // Reading from a slice cannot fail.
    let _ = for_each_window(&mut &bytes[..], on_window);
}

/// Reads until `raw` holds a whole window or the content ends; returns the bytes added.
fn fill(content: &mut dyn Read, raw: &mut Vec<u8>) -> io::Result<usize> {
    let wanted = (WINDOW - raw.len()) as u64;
    content.take(wanted).read_to_end(raw)
}

fn bom_len(kind: Kind) -> usize {
    match kind {
        Kind::Utf16 { .. } => 2,
        Kind::Text | Kind::Binary => 0,
    }
}

/// The text of one raw window, and where the raw offsets `cuts` fall in it.
fn prepare<'a>(
    kind: Kind,
    raw: &'a [u8],
    skip: usize,
    cuts: [usize; 3],
    scratch: &'a mut Vec<u8>,
) -> (&'a [u8], [usize; 3]) {
    match kind {
        Kind::Text => (raw, cuts),
        Kind::Binary => {
            scratch.clear();
            scratch.extend_from_slice(raw);
            keep_printable_runs(scratch);
            (scratch, cuts)
        }
        Kind::Utf16 { little_endian } => {
            // Each stretch between cuts is transcoded on its own, so the cuts map exactly.
            scratch.clear();
            let mut mapped = [0; 3];
            let mut from = skip;
            for (cut, at) in cuts.iter().zip(&mut mapped) {
                let to = (*cut).max(from);
                transcode_utf16(&raw[from..to], little_endian, scratch);
                *at = scratch.len();
                from = to;
            }
            transcode_utf16(&raw[from..], little_endian, scratch);
            (scratch, mapped)
        }
    }
}

/// Appends UTF-16 `bytes` as UTF-8 (a lone surrogate becomes U+FFFD).
fn transcode_utf16(bytes: &[u8], little_endian: bool, out: &mut Vec<u8>) {
    let units = bytes.chunks_exact(2).map(|pair| {
        if little_endian {
            u16::from_le_bytes([pair[0], pair[1]])
        } else {
            u16::from_be_bytes([pair[0], pair[1]])
        }
    });
    let mut utf8 = [0; 4];
    for c in char::decode_utf16(units) {
        let c = c.unwrap_or(char::REPLACEMENT_CHARACTER);
        out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
    }
}

/// What blanked bytes of binary content become: a space ends a value as the NUL or garbage
/// after it in the file should (a NUL would be taken into an unquoted value).
const BLANK: u8 = b' ';

/// Blanks every byte outside a run of at least `MIN_PRINTABLE_RUN` printable ASCII bytes,
/// except line breaks: none is removed or added, so line numbers stay the file's.
///
/// Binary content alternates printable and other bytes unpredictably, so a byte-by-byte walk
/// over runs mispredicts most branches. Instead, a few passes of independent byte operations
/// (which the compiler vectorises): where runs of `MIN_PRINTABLE_RUN` start, then every byte
/// such a start covers.
fn keep_printable_runs(bytes: &mut [u8]) {
    let printable: Vec<u8> = bytes.iter().map(|&b| u8::from(is_printable(b))).collect();
    let Some(starts_len) = bytes.len().checked_sub(MIN_PRINTABLE_RUN - 1) else {
        return bytes
            .iter_mut()
            .for_each(|b| *b = blank_unless_line_break(*b));
    };
    let mut run_starts = printable[..starts_len].to_vec();
    for k in 1..MIN_PRINTABLE_RUN {
        for (start, &p) in run_starts.iter_mut().zip(&printable[k..]) {
            *start &= p;
        }
    }
    let mut kept = run_starts.clone();
    kept.resize(bytes.len(), 0);
    for k in 1..MIN_PRINTABLE_RUN {
        for (keep, &start) in kept[k..].iter_mut().zip(&run_starts) {
            *keep |= start;
        }
    }
    for (b, &keep) in bytes.iter_mut().zip(&kept) {
        *b = if keep == 1 {
            *b
        } else {
            blank_unless_line_break(*b)
        };
    }
}

fn blank_unless_line_break(b: u8) -> u8 {
    if b == b'\n' {
        b
    } else {
        BLANK
    }
}

fn is_printable(b: u8) -> bool {
    (b.wrapping_sub(0x20) < 0x5f) | (b == b'\t') | (b == b'\n') | (b == b'\r')
}

/// Code points in `bytes`: every byte but UTF-8 continuation bytes (additive over any split).
/// Valid stretches are counted by std, which is optimised even in a debug build (a line can be
/// hundreds of megabytes); invalid bytes one by one.
pub fn code_points(mut bytes: &[u8]) -> usize {
    let mut count = 0;
    loop {
        match std::str::from_utf8(bytes) {
            Ok(text) => return count + text.chars().count(),
            Err(e) => {
                let (valid, rest) = bytes.split_at(e.valid_up_to());
                count += std::str::from_utf8(valid).map_or(0, |t| t.chars().count());
                let bad = e.error_len().unwrap_or(rest.len());
                count += rest[..bad].iter().filter(|&&b| b & 0xC0 != 0x80).count();
                bytes = &rest[bad..];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every window's text, owned part and origin, for content read from a reader.
    fn windows(content: &[u8]) -> Vec<(Vec<u8>, Range<usize>, Position)> {
        let mut out = Vec::new();
        let read = for_each_window(&mut &content[..], &mut |w| {
            out.push((w.text.to_vec(), w.owned, w.origin))
        })
        .unwrap();
        assert_eq!(read, content.len() as u64);
        out
    }

    #[test]
    fn owned_parts_tile_the_file_exactly() {
        for len in [0, 10, WINDOW - 1, WINDOW, WINDOW + 1, 2 * WINDOW + 12345] {
            let content: Vec<u8> = (0..len).map(|i| b'a' + (i % 7) as u8).collect();
            let mut owned = Vec::new();
            for (i, (text, range, _)) in windows(&content).into_iter().enumerate() {
                let start = i * STRIDE;
                assert_eq!(text[..], content[start..start + text.len()]);
                owned.extend_from_slice(&text[range]);
            }
            assert_eq!(owned, content, "length {len}");
        }
    }

    #[test]
    fn origins_count_lines_and_columns_across_windows() {
        let mut content = "line\n".repeat(STRIDE / 5 - 1).into_bytes();
        content.extend_from_slice("abcdé".as_bytes());
        content.resize(WINDOW + 100, b'x');
        let found = windows(&content);
        assert_eq!(found.len(), 2);
        let expected = Position::START.advance(&content[..STRIDE]);
        assert_eq!(found[1].2, expected);
        assert_eq!(expected.line, STRIDE / 5);
        assert_eq!(
            expected.column,
            1 + code_points(&content[STRIDE - 5..STRIDE])
        );
    }

    #[test]
    fn binary_keeps_printable_runs_and_line_numbers() {
        // A line break is printable: `x` belongs to the run before it.
        let mut bytes = b"\x7fELF\0\0\x01ab\0\0API_KEY=value1234\nx\0next line ok\n\x01\n".to_vec();
        keep_printable_runs(&mut bytes);
        let text = String::from_utf8(bytes).unwrap();
        assert_eq!(text, "           API_KEY=value1234\nx next line ok\n \n");
        assert_eq!(Kind::sniff(b"\x7fELF\0\0\x01"), Kind::Binary);
        assert_eq!(Kind::sniff(b"plain"), Kind::Text);
    }

    /// The vectorised blanking agrees with a plain walk over runs, on every short length.
    #[test]
    fn printable_runs_agree_with_a_plain_walk() {
        let mut seed = 7u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let r = (seed >> 33) as u8;
            match r {
                0..=127 => b'a' + r % 26,
                128..=139 => b'\n',
                _ => r,
            }
        };
        for len in 0..400 {
            let bytes: Vec<u8> = (0..len).map(|_| next()).collect();
            let mut fast = bytes.clone();
            keep_printable_runs(&mut fast);
            let mut plain = bytes.clone();
            let mut at = 0;
            while at < len {
                let end = at + bytes[at..].iter().take_while(|&&b| is_printable(b)).count();
                if end - at < MIN_PRINTABLE_RUN {
                    for b in &mut plain[at..end] {
                        *b = blank_unless_line_break(*b);
                    }
                }
                if end < len {
                    plain[end] = BLANK;
                }
                at = end + 1;
            }
            assert_eq!(fast, plain, "{bytes:?}");
        }
    }

    #[test]
    fn utf16_is_transcoded_with_exact_cuts() {
        let utf16: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain("key=1".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        let found = windows(&utf16);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, b"key=1".to_vec());
        assert_eq!(found[0].1, 0..5);
    }

    #[test]
    fn utf16_across_windows_tiles_its_transcoding_and_counts_lines() {
        let text = "key=\u{e9}1\n".repeat(2 * WINDOW / 14 + 3);
        let utf16: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        let found = windows(&utf16);
        assert!(found.len() > 2);
        let owned: Vec<u8> = found
            .iter()
            .flat_map(|(text, range, _)| text[range.clone()].to_vec())
            .collect();
        assert_eq!(owned, text.as_bytes());
        // The last window's text is the end of the transcoding: its origin is the position
        // of everything before it.
        let (last, _, origin) = found.last().unwrap();
        let before = &text.as_bytes()[..text.len() - last.len()];
        assert_eq!(*origin, Position::START.advance(before));
    }

    #[test]
    fn code_points_count_invalid_utf8_byte_by_byte() {
        for bytes in [
            &b"plain"[..],
            "caf\u{e9} \u{263a}".as_bytes(),
            b"caf\xe9 \xc3\x28 \xff\x80\x80",
            b"\xe2\x98",
            b"",
        ] {
            let expected = bytes.iter().filter(|&&b| b & 0xC0 != 0x80).count();
            assert_eq!(code_points(bytes), expected, "{bytes:?}");
        }
    }
}
