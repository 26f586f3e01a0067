//! Sources turn places (a directory tree, a stream, later git history and the index) into
//! chunks of bytes with a path, delivered to a `ChunkSink`. A source never knows what a rule is.

pub mod dir;
pub mod git;
pub mod git_index;
pub mod staged;
pub mod stdin;

use std::io::{self, Read};

/// Why a file was not scanned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    Binary,
    TooLarge,
}

/// Receives what a source produces; called from many threads at once.
pub trait ChunkSink: Sync {
    /// Bytes to scan, with the path to report (relative to the scanned root, `/`-separated).
    fn chunk(&self, path: &str, bytes: &[u8]);
    /// A file that was deliberately not scanned.
    fn skipped(&self, path: &str, reason: SkipReason);
    /// A file or directory that could not be read; the scan goes on.
    fn error(&self, path: &str, message: &str);
}

/// Reads `reader` to its end unless it holds more than `limit` bytes (then `None`): memory stays
/// bounded by the limit whatever the input, a growing file or an endless stream included.
/// `size_hint` (a file's size) sizes the buffer once, so a large file is not copied as it grows.
pub fn read_bounded(reader: impl Read, limit: u64, size_hint: u64) -> io::Result<Option<Vec<u8>>> {
    let capacity = size_hint.min(limit).saturating_add(1);
    let mut bytes = Vec::with_capacity(usize::try_from(capacity).unwrap_or(usize::MAX));
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= limit).then_some(bytes))
}

/// Bytes inspected to decide whether content is binary.
const BINARY_SNIFF: usize = 8 * 1024;

/// Prepares raw file content for scanning: UTF-16 text (by its byte-order mark) is transcoded
/// to UTF-8; other content with a NUL byte near the start is binary and yields `None`.
pub fn text_content(bytes: Vec<u8>) -> Option<Vec<u8>> {
    if let Some(text) = utf16_to_utf8(&bytes) {
        return Some(text);
    }
    let sniff = &bytes[..bytes.len().min(BINARY_SNIFF)];
    if memchr::memchr(0, sniff).is_some() {
        return None;
    }
    Some(bytes)
}

fn utf16_to_utf8(bytes: &[u8]) -> Option<Vec<u8>> {
    let little = match bytes {
        [0xFF, 0xFE, ..] => true,
        [0xFE, 0xFF, ..] => false,
        _ => return None,
    };
    let units = bytes[2..].chunks_exact(2).map(|pair| {
        if little {
            u16::from_le_bytes([pair[0], pair[1]])
        } else {
            u16::from_be_bytes([pair[0], pair[1]])
        }
    });
    let text: String = char::decode_utf16(units)
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect();
    Some(text.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_is_skipped_and_utf16_transcoded() {
        assert!(text_content(b"\x7fELF\0\0\x01".to_vec()).is_none());
        assert_eq!(text_content(b"plain".to_vec()).unwrap(), b"plain".to_vec());
        let utf16: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain("key=1".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        assert_eq!(text_content(utf16).unwrap(), b"key=1".to_vec());
    }
}
