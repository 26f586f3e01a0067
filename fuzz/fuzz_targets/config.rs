//! Arbitrary text through everything that reads a user's configuration or rule file: the
//! config compiler (TOML, rules, allowlists), the rule file parser, regex compilation under the
//! size limit, and `keyhound rules check` (example templates expanded and run). Bad input must
//! be an error value, never a panic.

#![no_main]

use std::path::Path;

use keyhound::rules::{check::check_examples, compile_all, parse_rule_file};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = keyhound::config::compile(text, Path::new("fuzz.toml"));
    if let Ok(rules) = parse_rule_file(text, "fuzz.toml") {
        if compile_all(&rules).is_ok() {
            let _ = check_examples(&rules);
        }
    }
});
