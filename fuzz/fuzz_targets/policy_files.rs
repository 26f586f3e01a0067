//! Arbitrary text as each file a scanned tree may plant to steer keyhound: `keyhound.toml`,
//! `.gitleaks.toml` (with `[extend]` chains), `.keyhoundignore` and `.gitleaksignore`. Bad
//! input must be an error value, never a panic; and an error about the text must not quote a
//! long stretch of it (a planted "config" may really be a credentials file).

#![no_main]

use std::path::Path;

use keyhound::baseline::Suppressions;
use keyhound::config;
use keyhound::gitleaks;
use keyhound::policy_file::{redact_quotes, Origin};
use libfuzzer_sys::fuzz_target;

/// The longest run of the input an error may repeat: names (field, rule ids) are kept whole up
/// to 40 characters; a value is cut to 4.
const MAX_ECHO: usize = 64;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // A directory that does not exist: `[extend] path` chains must fail cleanly, not read
    // whatever the fuzzer's working directory holds.
    let dir = Path::new("/nonexistent-keyhound-fuzz");
    let mut messages = Vec::new();
    for name in ["keyhound.toml", ".gitleaks.toml"] {
        if let Err(e) = config::from_text(text, &dir.join(name), Origin::Tree) {
            messages.push(e.to_string());
        }
    }
    if let Err(e) = gitleaks::parse_ignore(text, ".gitleaksignore") {
        messages.push(e);
    }
    if let Err(e) = Suppressions::from_texts(
        None,
        Some((text, Path::new(".keyhoundignore"))),
        Some((text, Path::new(".gitleaksignore"))),
    ) {
        messages.push(e.to_string());
    }
    let _ = redact_quotes(text);
    for message in &messages {
        assert_no_long_echo(text, message);
    }
});

/// Fails when `message` holds a run of more than `MAX_ECHO` characters of `text` that is not
/// also one of keyhound's own words (a long line of the input repeated verbatim).
fn assert_no_long_echo(text: &str, message: &str) {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= MAX_ECHO {
        return;
    }
    for window in chars.windows(MAX_ECHO + 1).step_by(MAX_ECHO / 2) {
        let run: String = window.iter().collect();
        if run.trim().len() == run.len() && message.contains(&run) {
            panic!("an error repeats {} characters of its input", run.len());
        }
    }
}
