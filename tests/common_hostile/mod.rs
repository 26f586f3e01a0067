//! Helpers shared by the hostile-input and hygiene tests: running the binary, reading its JSON,
//! and fake secrets generated at run time (no literal token is ever committed).

#![allow(dead_code)] // each test crate uses a different subset

use std::fs;
use std::path::Path;
use std::process::Output;

use assert_cmd::Command;
use keyhound::engine::{benign, placeholder};
use keyhound::rules::templates::{expand, ExampleRng};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Runs `git ARGS` in `dir` (outside any enclosing repository's GIT_DIR) and asserts it passed.
pub fn git(dir: &Path, args: &[&str]) {
    let ok = std::process::Command::new("git")
        .current_dir(dir)
        .args(args)
        .env_remove("GIT_DIR")
        .status()
        .unwrap()
        .success();
    assert!(ok, "git {args:?}");
}

pub fn keyhound() -> Command {
    let mut cmd = Command::cargo_bin("keyhound").unwrap();
    cmd.env_remove("NO_COLOR").env("CI", "true");
    cmd
}

/// What one run of the binary left behind.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(out: Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

pub fn run(cmd: &mut Command) -> Run {
    cmd.output().unwrap().into()
}

/// `keyhound dir PATH --format json`: the run most tests read findings from.
pub fn scan_json(path: &Path) -> Run {
    run(keyhound()
        .current_dir(path)
        .args(["dir", ".", "--format", "json"]))
}

/// The JSON report on stdout.
pub fn report(run: &Run) -> Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not a JSON report ({e}); stderr: {}\nstdout: {:.2000}",
            run.stderr, run.stdout
        )
    })
}

pub fn findings(run: &Run) -> Vec<Value> {
    report(run)["findings"].as_array().unwrap().clone()
}

/// Fails, without printing it, if a raw secret shows on stdout or stderr.
pub fn assert_no_raw(run: &Run, secrets: &[&str]) {
    for (i, secret) in secrets.iter().enumerate() {
        assert!(!run.stdout.contains(secret), "raw secret #{i} in stdout");
        assert!(!run.stderr.contains(secret), "raw secret #{i} in stderr");
    }
}

pub fn sha256_hex(s: &str) -> String {
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub fn write(root: &Path, rel: &str, contents: impl AsRef<[u8]>) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, contents).unwrap();
}

/// A value the generic detector reports when assigned to `API_KEY` and the like: random
/// base62 from `seed`, redrawn until it clears the detector's own filters.
pub fn generic_secret(seed: u64) -> String {
    let mut rng = ExampleRng::new(seed);
    loop {
        let value = expand("@{rand:alnum:32}", &mut rng).unwrap();
        if benign::plausible_generic_secret(value.as_bytes())
            && !placeholder::is_placeholder(value.as_bytes())
        {
            return value;
        }
    }
}

/// A token for the custom rule of `TOKEN_RULES`: `prefix` + 32 random base62.
pub fn token(prefix: &str, seed: u64) -> String {
    let mut rng = ExampleRng::new(seed);
    loop {
        let value = expand(&format!("{prefix}@{{rand:alnum:32}}"), &mut rng).unwrap();
        if !placeholder::is_placeholder(value.as_bytes()) {
            return value;
        }
    }
}

/// A `keyhound.toml` adding two token rules to the embedded pack: `hdemo_` (critical, high
/// confidence) and `hlow_` (low confidence), so tests need no provider's real format.
pub const TOKEN_RULES: &str = r#"
[[rule]]
id = "demo-token"
name = "Demo token"
provider = "Demo"
description = "A made-up token format for tests."
keywords = ["hdemo_"]
regex = '\b(?P<secret>hdemo_[0-9A-Za-z]{32})\b'
min_entropy_bits = 128
severity = "critical"
confidence = "high"
revoke_url = "https://example.invalid/revoke"

[[rule]]
id = "demo-low-token"
name = "Demo low-confidence token"
provider = "Demo"
description = "A made-up token format for tests, of low confidence."
keywords = ["hlow_"]
regex = '\b(?P<secret>hlow_[0-9A-Za-z]{32})\b'
min_entropy_bits = 128
severity = "medium"
confidence = "low"
revoke_url = "https://example.invalid/revoke"
"#;
