//! Standard input as one chunk.

use std::io::Read;

use super::{text_content, ChunkSink, SkipReason};

/// Reads all of standard input and hands it to `sink` under `name`.
pub fn run(name: &str, sink: &dyn ChunkSink) {
    let mut bytes = Vec::new();
    match std::io::stdin().lock().read_to_end(&mut bytes) {
        Ok(_) => match text_content(bytes) {
            Some(text) => sink.chunk(name, &text),
            None => sink.skipped(name, SkipReason::Binary),
        },
        Err(e) => sink.error(name, &e.to_string()),
    }
}
