//! A finding: what was found (rule, secret fingerprint and redacted form, entropy), where
//! (location, and for history the provenance), and what to do about it (remediation).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::engine::{entropy, Encoding};
use crate::path_context::PathContext;
use crate::remediate::Remediation;
use crate::rules::{Confidence, Severity};
use crate::validate::Validation;

/// One secret at one location.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Finding {
    /// Rule id (stable, kebab-case).
    pub rule: String,
    pub rule_name: String,
    pub provider: String,
    /// The rule's severity adjusted for `path_context` (one step lower in tests, examples, docs
    /// and vendored code).
    pub severity: Severity,
    pub confidence: Confidence,
    /// Where the finding lives, judged from its path.
    #[serde(default)]
    pub path_context: PathContext,
    /// The rule's own severity, when `path_context` lowered it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_severity: Option<Severity>,
    /// Publishable key or other public material (reported only on request).
    pub public: bool,
    pub secret: SecretInfo,
    pub location: Location,
    /// Where in history the secret came from (history scans only).
    pub commit: Option<Provenance>,
    /// The line holding the secret, with the secret redacted.
    pub context: String,
    /// Set when the secret was found by decoding the span at `location`.
    pub decoded: Option<Encoding>,
    pub remediation: Remediation,
    /// What the provider said about the secret (`--validate` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation: Option<Validation>,
}

/// What a finding says about its secret: never the secret itself unless asked for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SecretInfo {
    /// A short prefix and `…`.
    pub redacted: String,
    /// Hex SHA-256 of the raw secret: its fingerprint.
    pub sha256: String,
    /// Length in bytes.
    pub length: usize,
    /// Character-pool estimate L × log2(R) of the secret's random part, in bits.
    pub entropy_bits: f64,
    /// Shannon entropy of the random part, bits per character.
    pub shannon_bits_per_char: f64,
    /// The raw secret, present only with `--show-secrets`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// The raw secret, kept in memory only while `--validate` needs it: never written.
    #[serde(skip)]
    pub raw: Option<RawSecret>,
}

/// A raw secret held for validation; its `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct RawSecret(pub String);

impl RawSecret {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for RawSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RawSecret(…)")
    }
}

/// Where a finding is: path relative to the scanned root, 1-based lines and columns (columns
/// count Unicode code points; `end_column` is exclusive).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    /// The repository, as it was named on the command line or in `--repos-from` (history
    /// scans by `keyhound git` only): with the path, where the secret is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
}

/// The commit that introduced a secret, and where else it appears.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Provenance {
    pub id: String,
    pub author: String,
    pub email: String,
    /// Author time, RFC 3339: when the secret was written.
    pub date: String,
    /// Commit time, RFC 3339: when it entered the history (differs after a rebase).
    pub committer_date: String,
    pub summary: String,
    /// Whether the secret is still in the tree at HEAD.
    pub present_at_head: bool,
    /// The branches and tags (short names) whose tip still holds the secret: where it must be
    /// removed from, besides HEAD.
    pub still_in: Vec<String>,
    /// Other places (commit, path, line) where the same secret appears: later versions of
    /// the file, other files, other branches.
    pub other_locations: Vec<OtherLocation>,
    /// Position of the commit among those that introduced blobs, oldest first, in the order
    /// the history was walked: the earliest place of a secret in one repository is the one
    /// with the lowest, so shard reports of the same history merge to the place one scan
    /// would report.
    #[serde(default)]
    pub order: u32,
}

/// A further occurrence of a secret already reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OtherLocation {
    /// The repository, when it is not the finding's own (a secret copied between
    /// repositories of an audit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    pub commit: String,
    pub path: String,
    pub line: usize,
}

/// Hex SHA-256 of a secret: the fingerprint baselines and SARIF use.
pub fn fingerprint(secret: &[u8]) -> String {
    let digest = Sha256::digest(secret);
    let mut hex = String::with_capacity(64);
    for byte in digest {
        hex.push_str(&format!("{byte:02x}"));
    }
    hex
}

/// `prefix…`: the known prefix plus a few characters, never more than a quarter of the random part.
pub fn redact(secret: &[u8], known_prefix: usize) -> String {
    let text = String::from_utf8_lossy(secret);
    let chars: Vec<char> = text.chars().collect();
    let prefix = known_prefix.min(chars.len());
    let random = chars.len() - prefix;
    let shown = prefix + (random / 4).min(4);
    let mut out: String = chars[..shown].iter().collect();
    out.push('…');
    out
}

impl SecretInfo {
    /// Describes `secret`, whose first `known_prefix` bytes are a fixed, non-secret prefix.
    pub fn new(secret: &[u8], known_prefix: usize, show: bool) -> SecretInfo {
        let random = &secret[known_prefix.min(secret.len())..];
        SecretInfo {
            redacted: redact(secret, known_prefix),
            sha256: fingerprint(secret),
            length: secret.len(),
            entropy_bits: round1(entropy::pool_bits(random)),
            shannon_bits_per_char: round2(entropy::shannon(random)),
            value: show.then(|| String::from_utf8_lossy(secret).into_owned()),
            raw: None,
        }
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_is_hex_sha256() {
        assert_eq!(
            fingerprint(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn redaction_keeps_prefix_and_hides_most_of_the_rest() {
        assert_eq!(redact(b"sk_live_a8Fk2LmQ9zX7pW4rT1vB", 8), "sk_live_a8Fk…");
        assert_eq!(redact(b"hunter2hunter", 0), "hun…");
        assert_eq!(redact(b"ab", 0), "…");
    }
}
