//! Drives sources into the engine: each chunk is scanned, its matches filtered (allowlists,
//! inline allows, public keys, confidence) and turned into findings; counts are kept for the
//! summary. Safe to call from many threads.

use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::allow::{line_bounds, Allowlist, Candidate, LineMarkers};
use crate::context::{plain_line, Redactor, Secret};
use crate::engine::{benign, random_part, Engine, RawMatch};
use crate::finding::{redact, Finding, Location, SecretInfo};
use crate::remediate::{playbook, Exposure};
use crate::rules::{Confidence, RuleKind};
use crate::source::{ChunkSink, SkipReason};

/// What to report and how.
#[derive(Debug, Clone, Copy)]
pub struct ReportPolicy {
    pub show_secrets: bool,
    pub include_public: bool,
    pub min_confidence: Confidence,
    pub exposure: Exposure,
}

/// Totals for the closing summary.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    pub files: u64,
    pub bytes: u64,
    pub skipped: u64,
    pub findings: u64,
    pub errors: u64,
}

/// A scan in progress: the sink every source writes to.
pub struct Scanner<'a> {
    engine: &'a Engine,
    allowlist: &'a Allowlist,
    policy: ReportPolicy,
    findings: Mutex<Vec<Finding>>,
    problems: Mutex<Vec<String>>,
    files: AtomicU64,
    bytes: AtomicU64,
    skipped_binary: AtomicU64,
    skipped_large: AtomicU64,
    errors: AtomicU64,
}

impl<'a> Scanner<'a> {
    pub fn new(engine: &'a Engine, allowlist: &'a Allowlist, policy: ReportPolicy) -> Self {
        Scanner {
            engine,
            allowlist,
            policy,
            findings: Mutex::new(Vec::new()),
            problems: Mutex::new(Vec::new()),
            files: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            skipped_binary: AtomicU64::new(0),
            skipped_large: AtomicU64::new(0),
            errors: AtomicU64::new(0),
        }
    }

    /// Findings of one chunk, without recording them (history and staged scans post-process).
    pub fn findings_in(&self, path: &str, bytes: &[u8]) -> Vec<Finding> {
        let matches = self.engine.scan(bytes);
        if matches.is_empty() {
            return Vec::new();
        }
        let prefixes: Vec<usize> = matches
            .iter()
            .map(|m| m.secret.len() - random_part(self.engine.rule(m.rule), &m.secret).len())
            .collect();
        let kept = self.keep_all(path, &matches, bytes);
        if kept.is_empty() {
            return Vec::new();
        }
        // Every match is hidden in context lines, the ones the filters dropped included: a
        // finding's line may hold a second secret that `--min-confidence` or an allowlist
        // kept out of the report, and it must not show there in the clear.
        let redactor = (!self.policy.show_secrets).then(|| {
            Redactor::new(
                bytes,
                matches
                    .iter()
                    .zip(&prefixes)
                    .map(|(m, &prefix)| Secret {
                        span: m.span.clone(),
                        raw: &m.secret,
                        redacted: redact(&m.secret, prefix),
                    })
                    .collect(),
            )
        });
        let mut lines = LineIndex::new(bytes);
        kept.into_iter()
            .map(|i| {
                let m = &matches[i];
                let info = SecretInfo::new(&m.secret, prefixes[i], self.policy.show_secrets);
                let context = match &redactor {
                    Some(redactor) => redactor.line(m.span.start),
                    None => plain_line(bytes, m.span.start),
                };
                self.finding(path, m, info, context, &mut lines)
            })
            .collect()
    }

    /// Indexes of the matches to report. Inline allow markers are looked up once per line
    /// (matches come sorted by position), so a long line with many matches stays linear.
    fn keep_all(&self, path: &str, matches: &[RawMatch], bytes: &[u8]) -> Vec<usize> {
        let mut line: Option<(Range<usize>, LineMarkers)> = None;
        let mut kept = Vec::new();
        for (i, m) in matches.iter().enumerate() {
            let rule = self.engine.rule(m.rule);
            if (rule.public && !self.policy.include_public)
                || rule.confidence < self.policy.min_confidence
            {
                continue;
            }
            if rule.kind == RuleKind::Generic
                && m.encoding.is_none()
                && benign::unquoted_in_source_code(path, bytes, m.span.start)
            {
                continue;
            }
            let on_line = line
                .as_ref()
                .is_some_and(|(range, _)| range.start <= m.span.start && m.span.start <= range.end);
            if !on_line {
                let range = line_bounds(bytes, m.span.start);
                let markers = LineMarkers::of_line(bytes, range.clone());
                line = Some((range, markers));
            }
            let Some((range, markers)) = line.as_ref() else {
                continue;
            };
            let candidate = Candidate {
                rule: &rule.id,
                path,
                secret: &m.secret,
                matched: &bytes[m.matched.clone()],
                line: &bytes[range.clone()],
            };
            if markers.covers(&rule.id) || self.allowlist.allows(&candidate) {
                continue;
            }
            kept.push(i);
        }
        kept
    }

    fn finding(
        &self,
        path: &str,
        m: &RawMatch,
        secret: SecretInfo,
        context: String,
        lines: &mut LineIndex,
    ) -> Finding {
        let rule = self.engine.rule(m.rule);
        let (line, column) = lines.position(m.span.start);
        let (end_line, end_column) = lines.position(m.span.end);
        Finding {
            rule: rule.id.clone(),
            rule_name: rule.name.clone(),
            provider: rule.provider.clone(),
            severity: rule.severity,
            confidence: rule.confidence,
            public: rule.public,
            context,
            secret,
            location: Location {
                path: path.to_string(),
                line,
                column,
                end_line,
                end_column,
            },
            commit: None,
            decoded: m.encoding,
            remediation: playbook(rule, self.policy.exposure),
        }
    }

    /// Whether the path allowlists exclude `path` from scanning altogether.
    pub fn allows_path(&self, path: &str) -> bool {
        self.allowlist.allows_path(path)
    }

    /// Records findings produced outside `chunk` (e.g. by a history scan).
    pub fn record(&self, findings: Vec<Finding>) {
        if !findings.is_empty() {
            self.findings.lock().unwrap().extend(findings);
        }
    }

    /// Scans one file's bytes and counts them; nothing when the allowlist excludes `path`.
    /// The findings are returned, not recorded, for callers that judge them further.
    pub fn scan_chunk(&self, path: &str, bytes: &[u8]) -> Vec<Finding> {
        if self.allowlist.allows_path(path) {
            return Vec::new();
        }
        self.scan_chunk_at_any_path(path, bytes)
    }

    /// Like `scan_chunk`, whatever the path allowlists say of `path`: for a history whose
    /// walker could not apply them location by location and waived them (over-reporting
    /// rather than hiding a copy at a path they do not cover).
    pub fn scan_chunk_at_any_path(&self, path: &str, bytes: &[u8]) -> Vec<Finding> {
        self.files.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        self.findings_in(path, bytes)
    }

    /// Findings sorted by path and position, messages about unreadable or skipped-for-size
    /// input, and totals.
    pub fn finish(self) -> (Vec<Finding>, Vec<String>, Summary) {
        let mut findings = self.findings.into_inner().unwrap();
        findings.sort_by(|a, b| {
            (
                &a.location.path,
                a.location.line,
                a.location.column,
                &a.rule,
            )
                .cmp(&(
                    &b.location.path,
                    b.location.line,
                    b.location.column,
                    &b.rule,
                ))
        });
        let summary = Summary {
            files: self.files.into_inner(),
            bytes: self.bytes.into_inner(),
            skipped: self.skipped_binary.into_inner() + self.skipped_large.into_inner(),
            findings: findings.len() as u64,
            errors: self.errors.into_inner(),
        };
        (findings, self.problems.into_inner().unwrap(), summary)
    }
}

impl ChunkSink for Scanner<'_> {
    fn chunk(&self, path: &str, bytes: &[u8]) {
        self.record(self.scan_chunk(path, bytes));
    }

    fn skipped(&self, path: &str, reason: SkipReason) {
        match reason {
            SkipReason::Binary => self.skipped_binary.fetch_add(1, Ordering::Relaxed),
            SkipReason::TooLarge => {
                // Named, not only counted: a secret in a skipped file goes unreported, and the
                // user should know which file to look at or which limit to raise.
                self.problems.lock().unwrap().push(format!(
                    "{}: not scanned: larger than --max-file-size",
                    crate::escape::text(path)
                ));
                self.skipped_large.fetch_add(1, Ordering::Relaxed)
            }
        };
    }

    fn error(&self, path: &str, message: &str) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        self.problems
            .lock()
            .unwrap()
            .push(format!("{}: {message}", crate::escape::text(path)));
    }
}

/// Maps byte offsets to 1-based (line, column) with a cursor that counts only the bytes between
/// one offset and the next, so a file's matches cost about one pass over it even when they all
/// sit on one line of many megabytes. Columns count Unicode code points.
pub struct LineIndex<'a> {
    bytes: &'a [u8],
    offset: usize,
    line: usize,
    column: usize,
}

impl<'a> LineIndex<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        LineIndex {
            bytes,
            offset: 0,
            line: 1,
            column: 1,
        }
    }

    pub fn position(&mut self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.bytes.len());
        if offset >= self.offset {
            let ahead = &self.bytes[self.offset..offset];
            match memchr::memrchr(b'\n', ahead) {
                Some(last) => {
                    self.line += memchr::memchr_iter(b'\n', ahead).count();
                    self.column = 1 + code_points(&ahead[last + 1..]);
                }
                None => self.column += code_points(ahead),
            }
        } else {
            // Backwards: the next match may start before the previous one ended.
            let behind = &self.bytes[offset..self.offset];
            let newlines = memchr::memchr_iter(b'\n', behind).count();
            if newlines == 0 {
                self.column -= code_points(behind);
            } else {
                self.line -= newlines;
                let line_start = memchr::memrchr(b'\n', &self.bytes[..offset]).map_or(0, |i| i + 1);
                self.column = 1 + code_points(&self.bytes[line_start..offset]);
            }
        }
        self.offset = offset;
        (self.line, self.column)
    }
}

/// Code points in `bytes`: every byte but UTF-8 continuation bytes (additive over any split).
/// Valid stretches are counted by std, which is optimised even in a debug build (a line can be
/// hundreds of megabytes); invalid bytes one by one.
fn code_points(mut bytes: &[u8]) -> usize {
    let mut count = 0;
    loop {
        match std::str::from_utf8(bytes) {
            Ok(text) => return count + text.chars().count(),
            Err(e) => {
                let (valid, rest) = bytes.split_at(e.valid_up_to());
                count += std::str::from_utf8(valid).map_or(0, |t| t.chars().count());
                let bad = e.error_len().unwrap_or(rest.len());
                count += rest[..bad].iter().filter(|&&b| b & 0xC0 != 0x80).count();
                bytes = &rest[bad..];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_index_counts_lines_and_code_points() {
        let text = "ab\ncé d\n";
        let mut idx = LineIndex::new(text.as_bytes());
        assert_eq!(idx.position(0), (1, 1));
        assert_eq!(idx.position(4), (2, 2));
        let d = text.find('d').unwrap();
        assert_eq!(idx.position(d), (2, 4));
        assert_eq!(idx.position(1), (1, 2));
    }

    #[test]
    fn code_points_count_invalid_utf8_byte_by_byte() {
        for bytes in [
            &b"plain"[..],
            "caf\u{e9} \u{263a}".as_bytes(),
            b"caf\xe9 \xc3\x28 \xff\x80\x80",
            b"\xe2\x98",
            b"",
        ] {
            let expected = bytes.iter().filter(|&&b| b & 0xC0 != 0x80).count();
            assert_eq!(code_points(bytes), expected, "{bytes:?}");
        }
    }
}
