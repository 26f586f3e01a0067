//! Standard input as one chunk, read up to `--max-file-size`: a stream is one input the user
//! named, so one that is too large is an error, not a silent skip.

use super::{read_bounded, text_content, ChunkSink, SkipReason};

/// Reads standard input (at most `max_bytes`) and hands it to `sink` under `name`.
pub fn run(name: &str, max_bytes: u64, sink: &dyn ChunkSink) {
    match read_bounded(std::io::stdin().lock(), max_bytes, 0) {
        Ok(Some(bytes)) => match text_content(bytes) {
            Some(text) => sink.chunk(name, &text),
            None => sink.skipped(name, SkipReason::Binary),
        },
        Ok(None) => sink.error(
            name,
            &format!(
                "not scanned: the stream is larger than --max-file-size ({max_bytes} bytes); raise the limit to scan it"
            ),
        ),
        Err(e) => sink.error(name, &e.to_string()),
    }
}
