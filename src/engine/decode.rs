//! Finds base64-encoded spans (Kubernetes Secrets, Docker auth) worth decoding, and decodes
//! them when the result is text, so the engine can scan what they hide.

use std::ops::Range;

use base64::Engine as _;
use serde::Serialize;

/// Keywords that make decoding worthwhile; decoding runs only in chunks that contain one.
pub const TRIGGERS: &[&str] = &["kind: secret", "base64", "dockerconfig", "\"auth\""];

/// Shortest base64 run considered (shorter runs hide nothing worth reporting).
const MIN_RUN: usize = 16;
/// Upper bound on one decoded span and on how many spans one chunk may decode.
const MAX_RUN: usize = 64 * 1024;
const MAX_CANDIDATES: usize = 4096;

/// How a secret was written when it was found inside decoded data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    Base64,
}

/// Base64-looking runs in `hay`, bounded in length and count.
pub fn candidates(hay: &[u8]) -> Vec<Range<usize>> {
    let mut spans = Vec::new();
    let mut i = 0;
    while i < hay.len() && spans.len() < MAX_CANDIDATES {
        if !is_b64(hay[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < hay.len() && is_b64(hay[i]) {
            i += 1;
        }
        while i < hay.len() && hay[i] == b'=' && i - start < MAX_RUN {
            i += 1;
        }
        if (MIN_RUN..=MAX_RUN).contains(&(i - start)) {
            spans.push(start..i);
        }
    }
    spans
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
    fn candidates_are_bounded_runs() {
        let hay = b"a: dXNlcjpodW50ZXIyaHVudGVyMg== b: short";
        let spans = candidates(hay);
        assert_eq!(spans.len(), 1);
        assert_eq!(&hay[spans[0].clone()], b"dXNlcjpodW50ZXIyaHVudGVyMg==");
    }
}
