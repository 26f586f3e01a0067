//! Sources turn places (a directory tree, a stream, git history and the index) into file
//! content with a path, delivered to a `ChunkSink`, which reads it in windows (`window`). A
//! source never knows what a rule is.

pub mod dir;
pub mod git;
pub mod git_index;
pub mod staged;
pub mod stdin;
pub mod window;
pub mod work_tree;

use std::io::{self, Read};

/// Why a file was not scanned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// Larger than the `--max-file-size` the user gave.
    TooLarge,
}

/// Receives what a source produces; called from many threads at once.
pub trait ChunkSink: Sync {
    /// A file's content to scan, read to its end in bounded windows, with the path to report
    /// (`/`-separated).
    fn file(&self, path: &str, content: &mut dyn Read);
    /// A file that was deliberately not scanned.
    fn skipped(&self, path: &str, reason: SkipReason);
    /// A file or directory that could not be read; the scan goes on.
    fn error(&self, path: &str, message: &str);
    /// Untracked paths git's ignore rules kept out of the scan (a directory counts once).
    fn ignored(&self, paths: u64);
}

/// Reads `reader` to its end unless it holds more than `limit` bytes (then `None`): memory stays
/// bounded by the limit whatever the input, a growing file or an endless stream included.
pub fn read_bounded(reader: impl Read, limit: u64) -> io::Result<Option<Vec<u8>>> {
    let mut bytes = Vec::new();
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= limit).then_some(bytes))
}
