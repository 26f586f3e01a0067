//! Allowlists: paths never scanned, secrets never reported, and inline `keyhound:allow`
//! comments that silence one line (optionally for one rule: `keyhound:allow:RULE-ID`).

use std::ops::Range;

use globset::{Glob, GlobSet, GlobSetBuilder};
use regex::bytes::{Regex, RegexBuilder};
use serde::Deserialize;

use crate::rules::REGEX_SIZE_LIMIT;

/// The `[allowlist]` table as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAllowlist {
    /// Globs over paths relative to the scanned root (`tests/**`, `**/*.lock`).
    #[serde(default)]
    pub paths: Vec<String>,
    /// Regexes; a secret matching one is not reported.
    #[serde(default)]
    pub secrets: Vec<String>,
    /// Words; a secret containing one (case-insensitively) is not reported.
    #[serde(default)]
    pub stopwords: Vec<String>,
}

/// Compiled allowlist.
#[derive(Debug, Default)]
pub struct Allowlist {
    paths: Option<GlobSet>,
    secrets: Vec<Regex>,
    stopwords: Vec<String>,
}

/// The inline marker; `gitleaks:allow` is honoured too, for teams switching over.
const INLINE_MARKERS: &[&[u8]] = &[b"keyhound:allow", b"gitleaks:allow"];

impl Allowlist {
    pub fn compile(raw: &RawAllowlist) -> Result<Allowlist, String> {
        let paths = if raw.paths.is_empty() {
            None
        } else {
            let mut builder = GlobSetBuilder::new();
            for glob in &raw.paths {
                builder.add(
                    Glob::new(glob)
                        .map_err(|e| format!("field `allowlist.paths`: `{glob}`: {e}"))?,
                );
            }
            Some(builder.build().map_err(|e| e.to_string())?)
        };
        let secrets = raw
            .secrets
            .iter()
            .map(|r| {
                // The same bound as rule patterns: a user's regex must stay small and linear.
                RegexBuilder::new(r)
                    .size_limit(REGEX_SIZE_LIMIT)
                    .dfa_size_limit(REGEX_SIZE_LIMIT)
                    .build()
                    .map_err(|e| format!("field `allowlist.secrets`: `{r}`: {e}"))
            })
            .collect::<Result<_, _>>()?;
        Ok(Allowlist {
            paths,
            secrets,
            stopwords: raw.stopwords.iter().map(|w| w.to_lowercase()).collect(),
        })
    }

    /// Whether `path` (relative, `/`-separated) is excluded from scanning.
    pub fn allows_path(&self, path: &str) -> bool {
        self.paths.as_ref().is_some_and(|set| set.is_match(path))
    }

    /// Whether `secret` is allowed by a secret regex or a stopword.
    pub fn allows_secret(&self, secret: &[u8]) -> bool {
        if self.secrets.iter().any(|r| r.is_match(secret)) {
            return true;
        }
        if self.stopwords.is_empty() {
            return false;
        }
        let lower = secret.to_ascii_lowercase();
        self.stopwords
            .iter()
            .any(|w| memchr::memmem::find(&lower, w.as_bytes()).is_some())
    }
}

/// Comment leaders: a line starting with one of these (after indentation) is a comment line.
const COMMENT_LEADERS: &[&[u8]] = &[b"#", b"//", b"/*", b"*", b"--", b";", b"<!--", b"%", b"'"];

/// Whether the line holding `offset` carries an inline allow marker covering `rule_id`, or the
/// line before it is a comment line carrying one (a trailing marker on a code line covers only
/// its own line).
pub fn inline_allowed(hay: &[u8], offset: usize, rule_id: &str) -> bool {
    LineMarkers::of_line(hay, line_bounds(hay, offset)).covers(rule_id)
}

/// The start and end (exclusive, before the `\n`) of the line holding `offset`.
pub fn line_bounds(hay: &[u8], offset: usize) -> Range<usize> {
    let start = memchr::memrchr(b'\n', &hay[..offset]).map_or(0, |i| i + 1);
    let end = memchr::memchr(b'\n', &hay[offset..]).map_or(hay.len(), |i| offset + i);
    start..end
}

/// The inline allow markers that cover one line. Found once per line and then asked per
/// match: a minified file's single line can hold thousands of matches, and searching the whole
/// line for each of them would be quadratic.
#[derive(Debug, Default)]
pub struct LineMarkers {
    /// An unscoped marker: every rule is allowed.
    all: bool,
    /// Rule ids named by scoped markers (`keyhound:allow:RULE-ID`).
    rules: Vec<Vec<u8>>,
}

impl LineMarkers {
    /// Markers on `line` (a range of `hay` as given by `line_bounds`) and on the comment line
    /// just before it.
    pub fn of_line(hay: &[u8], line: Range<usize>) -> LineMarkers {
        let mut markers = LineMarkers::default();
        markers.add(&hay[line.clone()]);
        if line.start > 0 {
            let prev_start = memchr::memrchr(b'\n', &hay[..line.start - 1]).map_or(0, |i| i + 1);
            let prev = hay[prev_start..line.start - 1].trim_ascii_start();
            if COMMENT_LEADERS.iter().any(|c| prev.starts_with(c)) {
                markers.add(prev);
            }
        }
        markers
    }

    fn add(&mut self, text: &[u8]) {
        for marker in INLINE_MARKERS {
            for at in memchr::memmem::find_iter(text, marker) {
                let rest = &text[at + marker.len()..];
                match rest.strip_prefix(b":") {
                    Some(scope) => {
                        let end = scope
                            .iter()
                            .position(|b| !(b.is_ascii_alphanumeric() || *b == b'-'))
                            .unwrap_or(scope.len());
                        self.rules.push(scope[..end].to_vec());
                    }
                    None => self.all = true,
                }
            }
        }
    }

    /// Whether these markers allow a match of `rule_id`.
    pub fn covers(&self, rule_id: &str) -> bool {
        self.all || self.rules.iter().any(|r| r == rule_id.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_marker_on_line_or_comment_line_before() {
        let hay = b"a\n  # keyhound:allow\nkey=SECRET\nother=SECRET\n";
        let first = memchr::memmem::find(hay, b"SECRET").unwrap();
        let second = memchr::memmem::rfind(hay, b"SECRET").unwrap();
        assert!(inline_allowed(hay, first, "any-rule"));
        assert!(!inline_allowed(hay, second, "any-rule"));
    }

    #[test]
    fn trailing_marker_does_not_cover_the_next_line() {
        let hay = b"a = SECRET // keyhound:allow\nb = SECRET\n";
        let second = memchr::memmem::rfind(hay, b"SECRET").unwrap();
        assert!(inline_allowed(hay, 4, "any-rule"));
        assert!(!inline_allowed(hay, second, "any-rule"));
    }

    #[test]
    fn scoped_marker_covers_only_its_rule() {
        let hay = b"key=SECRET # keyhound:allow:stripe-live-secret-key\n";
        assert!(inline_allowed(hay, 4, "stripe-live-secret-key"));
        assert!(!inline_allowed(hay, 4, "generic-api-key"));
    }

    #[test]
    fn path_globs_and_stopwords() {
        let allow = Allowlist::compile(&RawAllowlist {
            paths: vec!["tests/**".into()],
            secrets: vec!["^EXAMPLE".into()],
            stopwords: vec!["fixture".into()],
        })
        .unwrap();
        assert!(allow.allows_path("tests/a/b.rs"));
        assert!(!allow.allows_path("src/main.rs"));
        assert!(allow.allows_secret(b"EXAMPLE123"));
        assert!(allow.allows_secret(b"abcFIXTUREdef"));
        assert!(!allow.allows_secret(b"abc"));
    }
}
