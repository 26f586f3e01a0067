//! Allowlists: paths never scanned, secrets never reported, and inline `keyhound:allow`
//! comments that silence one line (optionally for one rule: `keyhound:allow:RULE-ID`).

use globset::{Glob, GlobSet, GlobSetBuilder};
use regex::bytes::Regex;
use serde::Deserialize;

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
            .map(|r| Regex::new(r).map_err(|e| format!("field `allowlist.secrets`: `{r}`: {e}")))
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
    let line_start = memchr::memrchr(b'\n', &hay[..offset]).map_or(0, |i| i + 1);
    let line_end = memchr::memchr(b'\n', &hay[offset..]).map_or(hay.len(), |i| offset + i);
    if marker_covers(&hay[line_start..line_end], rule_id) {
        return true;
    }
    if line_start == 0 {
        return false;
    }
    let prev_start = memchr::memrchr(b'\n', &hay[..line_start - 1]).map_or(0, |i| i + 1);
    let prev = hay[prev_start..line_start - 1].trim_ascii_start();
    COMMENT_LEADERS.iter().any(|c| prev.starts_with(c)) && marker_covers(prev, rule_id)
}

fn marker_covers(text: &[u8], rule_id: &str) -> bool {
    INLINE_MARKERS.iter().any(|marker| {
        memchr::memmem::find_iter(text, marker).any(|at| {
            let rest = &text[at + marker.len()..];
            match rest.strip_prefix(b":") {
                Some(scope) => {
                    let end = scope
                        .iter()
                        .position(|b| !(b.is_ascii_alphanumeric() || *b == b'-'))
                        .unwrap_or(scope.len());
                    &scope[..end] == rule_id.as_bytes()
                }
                None => true,
            }
        })
    })
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
