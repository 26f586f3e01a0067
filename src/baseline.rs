//! Baselines: today's findings, accepted once and hidden from later scans. A baseline names
//! each finding by rule id and fingerprint (SHA-256 of the secret), never by the secret or
//! its line, so it does not churn when code moves, and a new secret on an old line is still
//! reported. `.keyhoundignore` lists fingerprints to ignore for good; `.gitleaksignore` is
//! honoured by location, as gitleaks does.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::finding::Finding;
use crate::gitleaks::{self, LocationFingerprint};
use crate::policy_file::{self, Origin, PolicyFileError, PolicyText};

/// Fingerprints ignored for good, at the scanned root.
pub const IGNORE_NAME: &str = ".keyhoundignore";

/// The baseline format's version; a reader refuses others.
const VERSION: u32 = 1;

#[derive(Debug, Error)]
pub enum BaselineError {
    #[error(transparent)]
    File(#[from] PolicyFileError),
    #[error("invalid {path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

/// A baseline file.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BaselineFile {
    version: u32,
    findings: Vec<BaselineEntry>,
}

/// One accepted secret for one rule.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BaselineEntry {
    rule: String,
    /// Hex SHA-256 of the secret.
    fingerprint: String,
    /// Where it was when the baseline was made: for the reader, never used for matching.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    paths: BTreeSet<String>,
}

/// Writes `findings` as a baseline: one entry per (rule, fingerprint), sorted, so that
/// rewriting it for the same secrets gives the same file.
pub fn write(findings: &[Finding], out: &mut dyn Write) -> io::Result<()> {
    let mut entries: BTreeMap<(&str, &str), BTreeSet<String>> = BTreeMap::new();
    for f in findings {
        entries
            .entry((f.rule.as_str(), f.secret.sha256.as_str()))
            .or_default()
            .insert(f.location.path.clone());
    }
    let file = BaselineFile {
        version: VERSION,
        findings: entries
            .into_iter()
            .map(|((rule, fingerprint), paths)| BaselineEntry {
                rule: rule.to_string(),
                fingerprint: fingerprint.to_string(),
                paths,
            })
            .collect(),
    };
    // Paths come from the scanned tree: no raw C1 or bidi character reaches a terminal.
    let text = serde_json::to_string_pretty(&file)?;
    writeln!(out, "{}", crate::escape::json(&text))
}

/// Findings known and accepted: a baseline's (rule, fingerprint) pairs, `.keyhoundignore`'s
/// fingerprints, `.gitleaksignore`'s locations.
#[derive(Debug, Default)]
pub struct Suppressions {
    pairs: HashSet<(String, String)>,
    /// Fingerprints ignored whatever rule finds them.
    fingerprints: HashSet<String>,
    locations: Vec<LocationFingerprint>,
    /// Ignore files that were not read, and why (for the user, once).
    pub notes: Vec<String>,
}

impl Suppressions {
    /// Loads `baseline` if given (named by the user), and the ignore files at `root` if present
    /// as regular files (see `policy_file`); what was refused is in `notes`.
    pub fn load(baseline: Option<&Path>, root: &Path) -> Result<Suppressions, BaselineError> {
        let mut notes = Vec::new();
        let ignore = root.join(IGNORE_NAME);
        let gitleaks_ignore = root.join(gitleaks::IGNORE_NAME);
        let ignore_text = tree_text(&ignore, &mut notes)?;
        let gitleaks_text = tree_text(&gitleaks_ignore, &mut notes)?;
        let mut known = Suppressions::from_texts(
            baseline,
            ignore_text.as_deref().map(|t| (t, ignore.as_path())),
            gitleaks_text
                .as_deref()
                .map(|t| (t, gitleaks_ignore.as_path())),
        )?;
        known.notes = notes;
        Ok(known)
    }

    /// Loads `baseline` if given (a file named on the command line), and ignore files whose
    /// texts were read elsewhere (the scanned tree, a commit's tree), each with the name to
    /// show in errors.
    pub fn from_texts(
        baseline: Option<&Path>,
        keyhound_ignore: Option<(&str, &Path)>,
        gitleaks_ignore: Option<(&str, &Path)>,
    ) -> Result<Suppressions, BaselineError> {
        let mut known = Suppressions::default();
        if let Some(path) = baseline {
            known.add_baseline(&policy_file::read_named(path)?, path)?;
        }
        if let Some((text, shown)) = keyhound_ignore {
            known.add_ignore_file(text, shown)?;
        }
        if let Some((text, shown)) = gitleaks_ignore {
            known.locations =
                gitleaks::parse_ignore(text, &shown.display().to_string()).map_err(|message| {
                    BaselineError::Invalid {
                        path: shown.to_path_buf(),
                        message,
                    }
                })?;
        }
        Ok(known)
    }

    /// Adds the entries of baseline `text`, read from `path`.
    pub fn add_baseline(&mut self, text: &str, path: &Path) -> Result<(), BaselineError> {
        let invalid = |message: String| BaselineError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        let file: BaselineFile = serde_json::from_str(text).map_err(|e| {
            invalid(format!(
                "{} (a baseline is written by `keyhound baseline … -o FILE`)",
                policy_file::redact_quotes(&e.to_string())
            ))
        })?;
        if file.version != VERSION {
            return Err(invalid(format!(
                "version {} is not supported (this keyhound reads version {VERSION})",
                file.version
            )));
        }
        for (i, entry) in file.findings.into_iter().enumerate() {
            if !is_fingerprint(&entry.fingerprint) {
                return Err(invalid(format!(
                    "findings[{i}].fingerprint: `{}` is not a SHA-256 in hex",
                    policy_file::excerpt(&entry.fingerprint)
                )));
            }
            self.pairs
                .insert((entry.rule, entry.fingerprint.to_ascii_lowercase()));
        }
        Ok(())
    }

    /// `.keyhoundignore`: one `FINGERPRINT` or `RULE-ID:FINGERPRINT` a line, `#` comments.
    fn add_ignore_file(&mut self, text: &str, path: &Path) -> Result<(), BaselineError> {
        for (n, line) in text.lines().enumerate() {
            let entry = line.split('#').next().unwrap_or_default().trim();
            if entry.is_empty() {
                continue;
            }
            let (rule, fingerprint) = match entry.rsplit_once(':') {
                Some((rule, fingerprint)) => (Some(rule.trim()), fingerprint.trim()),
                None => (None, entry),
            };
            if !is_fingerprint(fingerprint) || rule.is_some_and(str::is_empty) {
                return Err(BaselineError::Invalid {
                    path: path.to_path_buf(),
                    message: format!(
                        "line {}: `{}` is not FINGERPRINT or RULE-ID:FINGERPRINT (64 hex digits)",
                        n + 1,
                        policy_file::excerpt(entry)
                    ),
                });
            }
            let fingerprint = fingerprint.to_ascii_lowercase();
            match rule {
                Some(rule) => self.pairs.insert((rule.to_string(), fingerprint)),
                None => self.fingerprints.insert(fingerprint),
            };
        }
        Ok(())
    }

    /// Whether `finding`, whose path the ignore files name as `path`, is known and accepted.
    pub fn hides(&self, finding: &Finding, path: &str) -> bool {
        let fingerprint = &finding.secret.sha256;
        self.fingerprints.contains(fingerprint)
            || self
                .pairs
                .contains(&(finding.rule.clone(), fingerprint.clone()))
            || self.locations.iter().any(|l| l.matches(finding, path))
    }
}

/// The text of an ignore file in the scanned tree, if there is one it may read; a refused one
/// (a symlink, a FIFO) is noted in `notes`.
fn tree_text(path: &Path, notes: &mut Vec<String>) -> Result<Option<String>, BaselineError> {
    Ok(match policy_file::read(path, Origin::Tree)? {
        PolicyText::Text(text) => Some(text),
        PolicyText::Absent => None,
        PolicyText::Refused(note) => {
            notes.push(note);
            None
        }
    })
}

fn is_fingerprint(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ignore_file_takes_bare_and_rule_scoped_fingerprints() {
        let fp = "ab".repeat(32);
        let mut known = Suppressions::default();
        known
            .add_ignore_file(
                &format!("# accepted\n{fp}\ndemo-rule:{fp}  # why\n\n"),
                Path::new("i"),
            )
            .unwrap();
        assert!(known.fingerprints.contains(&fp));
        assert!(known.pairs.contains(&("demo-rule".to_string(), fp.clone())));
        let err = known
            .add_ignore_file("abc\n", Path::new(".keyhoundignore"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(".keyhoundignore") && err.contains("line 1"),
            "{err}"
        );
    }

    #[test]
    fn baseline_refuses_other_versions_and_bad_fingerprints() {
        let mut known = Suppressions::default();
        let err = known
            .add_baseline(r#"{"version": 2, "findings": []}"#, Path::new("b.json"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("version 2"), "{err}");
        let err = known
            .add_baseline(
                r#"{"version": 1, "findings": [{"rule": "r", "fingerprint": "xyz"}]}"#,
                Path::new("b.json"),
            )
            .unwrap_err()
            .to_string();
        assert!(err.contains("findings[0].fingerprint"), "{err}");
    }
}
