//! Standard input, read to its end in windows. With an explicit `--max-file-size` the stream is
//! one input the user bounded, so one larger than that is an error, not a silent skip.

use super::{read_bounded, ChunkSink};

/// Reads standard input (at most `max_bytes`, when given) and hands it to `sink` under `name`.
pub fn run(name: &str, max_bytes: Option<u64>, sink: &dyn ChunkSink) {
    let mut stdin = std::io::stdin().lock();
    let Some(limit) = max_bytes else {
        return sink.file(name, &mut stdin);
    };
    match read_bounded(stdin, limit) {
        Ok(Some(bytes)) => sink.file(name, &mut &bytes[..]),
        Ok(None) => sink.error(
            name,
            &format!(
                "not scanned: the stream is larger than --max-file-size ({limit} bytes); raise the limit to scan it"
            ),
        ),
        Err(e) => sink.error(name, &e.to_string()),
    }
}
