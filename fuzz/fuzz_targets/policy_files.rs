//! Arbitrary text as each file a scanned tree may plant to steer keyhound: `keyhound.toml`,
//! `.gitleaks.toml` (with `[extend]` chains), `.keyhoundignore` and `.gitleaksignore`. Bad
//! input must be an error value, never a panic; and an error about the text must not quote a
//! whole value of it (see `PROBE`).

#![no_main]

use std::path::Path;

use keyhound::baseline::Suppressions;
use keyhound::config;
use keyhound::gitleaks;
use keyhound::policy_file::{redact_quotes, Origin};
use libfuzzer_sys::fuzz_target;

/// A secret-like value planted in every input: an error may quote a few characters of a value,
/// never the whole of it (a planted "config" may really be a credentials file).
const PROBE: &str = "Zk3vQ9pLm2Xw8RtY6nBc4HsJ7dGf1UaE5oKi0VyTq";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // The probe as a top-level value, as a value in the last table, and as a line of its own.
    let planted = format!("probe = \"{PROBE}\"\n{text}\nprobe = \"{PROBE}\"\n{PROBE}\n");
    // A directory that does not exist: `[extend] path` chains must fail cleanly, not read
    // whatever the fuzzer's working directory holds.
    let dir = Path::new("/nonexistent-keyhound-fuzz");
    let mut messages = Vec::new();
    for input in [text, planted.as_str()] {
        for name in ["keyhound.toml", ".gitleaks.toml"] {
            if let Err(e) = config::from_text(input, &dir.join(name), Origin::Tree) {
                messages.push(e.to_string());
            }
        }
        if let Err(e) = gitleaks::parse_ignore(input, ".gitleaksignore") {
            messages.push(e);
        }
        if let Err(e) = Suppressions::from_texts(
            None,
            Some((input, Path::new(".keyhoundignore"))),
            Some((input, Path::new(".gitleaksignore"))),
        ) {
            messages.push(e.to_string());
        }
        let _ = redact_quotes(input);
    }
    for message in &messages {
        assert!(
            !message.contains(PROBE),
            "an error quotes a whole value of its input"
        );
    }
});
