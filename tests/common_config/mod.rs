//! Helpers for the config, baseline and gitleaks-compatibility tests: git repositories in temp
//! dirs, made-up ACME tokens generated at run time, and running keyhound with JSON output
//! while checking that no raw secret leaks into what it prints.

#![allow(dead_code)] // each test crate uses a different part of this module

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use keyhound::rules::templates::ExampleRng;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tempfile::TempDir;

#[path = "../common_git/mod.rs"]
mod common_git;
use common_git::Git;

/// Made-up token formats, so that nothing here looks like a real provider's key: `acme_` +
/// 32 base62 characters, `acmesk_` + 40 hex digits, and 24 base62 characters assigned to a
/// name ending in `acme_pass` (a rule whose match is more than its secret).
pub const ACME_RULES: &str = r#"
[[rule]]
id = "acme-api-token"
name = "ACME API token"
provider = "ACME"
description = "Made-up token format for tests: acme_ + 32 base62 characters."
keywords = ["acme_"]
regex = '''\b(?P<secret>acme_[0-9A-Za-z]{32})\b'''
min_entropy_bits = 120
severity = "high"
confidence = "high"
revoke_url = "https://acme.example/tokens"
examples = ["ACME=acme_@{rand:alnum:32}"]
negative_examples = ["acme_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"]

[[rule]]
id = "acme-signing-key"
name = "ACME signing key"
provider = "ACME"
description = "Made-up key format for tests: acmesk_ + 40 hex digits."
keywords = ["acmesk_"]
regex = '''\b(?P<secret>acmesk_[0-9a-f]{40})\b'''
min_entropy_bits = 120
severity = "critical"
confidence = "high"
revoke_url = "https://acme.example/keys"
examples = ["KEY=acmesk_@{rand:hex:40}"]
negative_examples = ["acmesk_0000000000000000000000000000000000000000"]

[[rule]]
id = "acme-passphrase"
name = "ACME passphrase"
provider = "ACME"
description = "Made-up format for tests: 24 base62 characters assigned to a name ending in acme_pass."
keywords = ["acme_pass"]
regex = '''(?i)\b(?P<name>[a-z_]*acme_pass)\s*[:=]\s*["']?(?P<secret>[0-9A-Za-z]{24})\b'''
min_entropy_bits = 100
severity = "high"
confidence = "high"
revoke_url = "https://acme.example/passphrases"
examples = ["ACME_PASS=@{rand:alnum:24}"]
negative_examples = ["ACME_PASS=XXXXXXXXXXXXXXXXXXXXXXXX"]
"#;

/// A config with only the ACME rules, so that tests see exactly the findings they expect.
pub fn acme_config(extra: &str) -> String {
    format!("[rules]\nuse_default = false\n{ACME_RULES}\n{extra}")
}

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Deterministic made-up tokens, generated so that none is committed.
pub struct Tokens(ExampleRng);

impl Tokens {
    pub fn new(seed: u64) -> Tokens {
        Tokens(ExampleRng::new(seed))
    }

    /// An `acme-api-token` secret.
    pub fn api(&mut self) -> String {
        format!("acme_{}", self.0.string(BASE62, 32))
    }

    /// An `acme-passphrase` secret.
    pub fn passphrase(&mut self) -> String {
        self.0.string(BASE62, 24)
    }

    /// An `acme-signing-key` secret.
    pub fn signing(&mut self) -> String {
        format!("acmesk_{}", self.0.string(b"0123456789abcdef", 40))
    }
}

/// Hex SHA-256: a finding's fingerprint.
pub fn sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A git repository in a temp dir.
pub struct Repo {
    dir: TempDir,
}

impl Repo {
    pub fn new() -> Repo {
        let repo = Repo {
            dir: tempfile::tempdir().expect("temp dir"),
        };
        repo.git(&["init", "-q", "-b", "main"]);
        repo
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn join(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn write(&self, rel: &str, content: &str) {
        let path = self.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, content).unwrap();
    }

    pub fn git(&self, args: &[&str]) {
        git_in(self.path(), args);
    }

    pub fn commit(&self, message: &str) {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", message]);
    }
}

/// Runs git in `dir` with the tests' fixed identity; panics on failure, returns trimmed stdout.
pub fn git_in(dir: &Path, args: &[&str]) -> String {
    Git::undated().run(dir, args)
}

/// What a keyhound run printed.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The findings of a `--format json` report.
    pub fn findings(&self) -> Vec<Value> {
        let doc: Value = serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!("{e}: not a JSON report:\n{}\n{}", self.stdout, self.stderr)
        });
        doc["findings"].as_array().cloned().unwrap_or_default()
    }

    /// (rule, path, line, fingerprint) of every finding, sorted.
    pub fn locations(&self) -> Vec<(String, String, u64, String)> {
        let mut all: Vec<_> = self
            .findings()
            .iter()
            .map(|f| {
                (
                    f["rule"].as_str().unwrap().to_string(),
                    f["location"]["path"].as_str().unwrap().to_string(),
                    f["location"]["line"].as_u64().unwrap(),
                    f["secret"]["sha256"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        all.sort();
        all
    }
}

/// Runs keyhound with `args` and asserts that none of `secrets` appears in its output.
pub fn keyhound(args: &[&str], stdin: Option<&str>, secrets: &[&str]) -> Run {
    keyhound_in(Path::new("."), args, stdin, secrets)
}

/// As `keyhound`, run from directory `cwd` (paths are reported from where the user stands).
pub fn keyhound_in(cwd: &Path, args: &[&str], stdin: Option<&str>, secrets: &[&str]) -> Run {
    let mut cmd = Command::cargo_bin("keyhound").expect("keyhound binary");
    cmd.current_dir(cwd).args(args).env("NO_COLOR", "1");
    if let Some(input) = stdin {
        cmd.write_stdin(input.to_string());
    }
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().expect("keyhound runs");
    let run = Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    };
    for secret in secrets {
        assert!(
            !run.stdout.contains(secret) && !run.stderr.contains(secret),
            "raw secret {secret} printed:\n{}\n{}",
            run.stdout,
            run.stderr
        );
    }
    run
}

/// Runs `keyhound dir . --format json` plus `extra` arguments in `root`.
pub fn scan_dir(root: &Path, extra: &[&str], secrets: &[&str]) -> Run {
    let mut args = vec!["dir", ".", "--format", "json"];
    args.extend_from_slice(extra);
    keyhound_in(root, &args, None, secrets)
}
