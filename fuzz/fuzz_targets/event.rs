//! Arbitrary payloads through the GitHub event parser that `keyhound ci` runs on
//! `$GITHUB_EVENT_PATH`, under every event name it treats differently. A malformed payload
//! must be an error value, never a panic.

#![no_main]

use keyhound::github_event::plan;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(json) = std::str::from_utf8(data) else {
        return;
    };
    for event in ["push", "pull_request", "pull_request_target", "schedule", "other"] {
        let _ = plan(event, json);
    }
});
