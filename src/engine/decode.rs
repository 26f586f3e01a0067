//! Finds base64-encoded spans (Kubernetes Secrets, Docker auth) worth decoding, and decodes
//! them when the result is text, so the engine can scan what they hide.

use std::ops::Range;

use base64::Engine as _;
use serde::{Deserialize, Serialize};

/// Keywords that make decoding worthwhile; decoding runs only in chunks that contain one.
pub const TRIGGERS: &[&str] = &["kind: secret", "base64", "dockerconfig", "\"auth\""];

/// Shortest base64 run considered (shorter runs hide nothing worth reporting).
const MIN_RUN: usize = 16;
/// Longest stretch of a run decoded at once: a longer run (a large Secret manifest, a data: URI)
/// is decoded in pieces of this size, so memory per piece stays bounded whatever the run.
const PIECE: usize = 64 * 1024;
/// Encoded bytes shared by consecutive pieces. Each piece reports what starts in its half of an
/// overlap, so a secret there has 6 KiB of decoded text around it in that piece: more than the
/// line context the engine reads around a keyword (1 KiB) plus a PEM block of an RSA-4096 key
/// (about 3.2 KiB). A multiple of 4, so every piece starts on a base64 quantum of the run.
const PIECE_OVERLAP: usize = 16 * 1024;
/// `PIECE_OVERLAP` once decoded.
pub const DECODED_OVERLAP: usize = PIECE_OVERLAP / 4 * 3;

/// How a secret was written when it was found inside decoded data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    Base64,
}

/// Every base64-looking run in `hay` of at least `MIN_RUN` bytes. Runs are disjoint, so their
/// decoded size sums to at most three quarters of `hay`: there is no need to cap their number.
pub fn candidates(hay: &[u8]) -> Vec<Range<usize>> {
    let mut spans = Vec::new();
    let mut i = 0;
    while i < hay.len() {
        if !is_b64(hay[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < hay.len() && is_b64(hay[i]) {
            i += 1;
        }
        while i < hay.len() && hay[i] == b'=' {
            i += 1;
        }
        if i - start >= MIN_RUN {
            spans.push(start..i);
        }
    }
    spans
}

/// The pieces `run` is decoded in: itself when short, else `PIECE`-sized stretches that overlap
/// by `PIECE_OVERLAP`, each starting `align` bytes (0 to 3) past a multiple of 4 from its start.
pub fn pieces(run: Range<usize>, align: usize) -> impl Iterator<Item = Range<usize>> {
    let start = run.start + align.min(run.len());
    let step = PIECE - PIECE_OVERLAP;
    let count = if run.end - start <= PIECE {
        1
    } else {
        1 + (run.end - start - PIECE).div_ceil(step)
    };
    (0..count).map(move |k| {
        let from = start + k * step;
        from..(from + PIECE).min(run.end)
    })
}

fn is_b64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'+' || b == b'/'
}

/// Decodes `span` when it is valid base64 of mostly printable text.
pub fn decode(span: &[u8]) -> Option<(Vec<u8>, Encoding)> {
    let trimmed: &[u8] = {
        let end = span.iter().rposition(|&b| b != b'=').map_or(0, |i| i + 1);
        &span[..end]
    };
    let decoded = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(trimmed)
        .ok()?;
    let printable = decoded
        .iter()
        .filter(|&&b| (0x20..0x7f).contains(&b) || matches!(b, b'\n' | b'\r' | b'\t'))
        .count();
    (printable * 100 >= decoded.len() * 97 && !decoded.is_empty())
        .then_some((decoded, Encoding::Base64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_text_and_skips_binary() {
        let text = base64::engine::general_purpose::STANDARD.encode("user:hunter2hunter2");
        assert_eq!(
            decode(text.as_bytes()).unwrap().0,
            b"user:hunter2hunter2".to_vec()
        );
        let binary = base64::engine::general_purpose::STANDARD.encode([0u8, 1, 2, 250, 251, 9, 3]);
        assert!(decode(binary.as_bytes()).is_none());
    }

    #[test]
    fn long_runs_are_cut_into_overlapping_aligned_pieces() {
        assert_eq!(pieces(5..40, 0).collect::<Vec<_>>(), vec![5..40]);
        let run = 0..3 * PIECE;
        let all: Vec<_> = pieces(run.clone(), 1).collect();
        assert_eq!(all[0].start, 1);
        assert_eq!(all.last().unwrap().end, run.end);
        for pair in all.windows(2) {
            assert_eq!(pair[0].end - pair[1].start, PIECE_OVERLAP);
            assert_eq!((pair[1].start - 1) % 4, 0);
        }
    }

    #[test]
    fn candidates_are_runs_of_any_number_and_length() {
        let hay = "x dGVzdHRlc3R0ZXN0dGVzdA== ".repeat(5000) + &"QUJD".repeat(40_000);
        let spans = candidates(hay.as_bytes());
        assert_eq!(spans.len(), 5001);
        assert_eq!(spans[5000].len(), 160_000);
    }

    #[test]
    fn candidates_skip_short_runs() {
        let hay = b"a: dXNlcjpodW50ZXIyaHVudGVyMg== b: short";
        let spans = candidates(hay);
        assert_eq!(spans.len(), 1);
        assert_eq!(&hay[spans[0].clone()], b"dXNlcjpodW50ZXIyaHVudGVyMg==");
    }
}
