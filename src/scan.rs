//! Drives sources into the engine: each chunk is scanned, its matches filtered (allowlists,
//! inline allows, public keys, confidence) and turned into findings; counts are kept for the
//! summary. Safe to call from many threads.

use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::allow::{inline_allowed, Allowlist, Candidate};
use crate::engine::{random_part, Engine, RawMatch};
use crate::finding::{Finding, Location, SecretInfo};
use crate::remediate::{playbook, Exposure};
use crate::rules::Confidence;
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
        let kept: Vec<(RawMatch, SecretInfo)> = matches
            .into_iter()
            .filter(|m| self.keep(path, m, bytes))
            .map(|m| {
                let rule = self.engine.rule(m.rule);
                let prefix = m.secret.len() - random_part(rule, &m.secret).len();
                let info = SecretInfo::new(&m.secret, prefix, self.policy.show_secrets);
                (m, info)
            })
            .collect();
        let redactions: Vec<(Range<usize>, &str)> = kept
            .iter()
            .map(|(m, info)| (m.span.clone(), info.redacted.as_str()))
            .collect();
        let mut lines = LineIndex::new(bytes);
        kept.iter()
            .map(|(m, info)| {
                let context = if self.policy.show_secrets {
                    context_line(bytes, m.span.start, &[])
                } else {
                    context_line(bytes, m.span.start, &redactions)
                };
                self.finding(path, m, info.clone(), context, &mut lines)
            })
            .collect()
    }

    fn keep(&self, path: &str, m: &RawMatch, bytes: &[u8]) -> bool {
        let rule = self.engine.rule(m.rule);
        let candidate = Candidate {
            rule: &rule.id,
            path,
            secret: &m.secret,
            matched: &bytes[m.matched.clone()],
            line: &bytes[line_around(bytes, m.span.start)],
        };
        (self.policy.include_public || !rule.public)
            && rule.confidence >= self.policy.min_confidence
            && !self.allowlist.allows(&candidate)
            && !inline_allowed(bytes, m.span.start, &rule.id)
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

    /// Records findings produced outside `chunk` (e.g. by a history scan).
    pub fn record(&self, findings: Vec<Finding>) {
        if !findings.is_empty() {
            self.findings.lock().unwrap().extend(findings);
        }
    }

    /// Counts a scanned chunk of `len` bytes.
    pub fn count_chunk(&self, len: usize) {
        self.files.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(len as u64, Ordering::Relaxed);
    }

    /// Findings sorted by path and position, messages about unreadable input, and totals.
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
        if self.allowlist.allows_path(path) {
            return;
        }
        self.count_chunk(bytes.len());
        let found = self.findings_in(path, bytes);
        self.record(found);
    }

    fn skipped(&self, _path: &str, reason: SkipReason) {
        match reason {
            SkipReason::Binary => &self.skipped_binary,
            SkipReason::TooLarge => &self.skipped_large,
        }
        .fetch_add(1, Ordering::Relaxed);
    }

    fn error(&self, path: &str, message: &str) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        self.problems
            .lock()
            .unwrap()
            .push(format!("{path}: {message}"));
    }
}

/// Maps byte offsets to 1-based (line, column) with a forward-moving cursor, so a file's
/// matches cost one pass over it. Columns count Unicode code points.
pub struct LineIndex<'a> {
    bytes: &'a [u8],
    offset: usize,
    line: usize,
    line_start: usize,
}

impl<'a> LineIndex<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        LineIndex {
            bytes,
            offset: 0,
            line: 1,
            line_start: 0,
        }
    }

    pub fn position(&mut self, offset: usize) -> (usize, usize) {
        if offset < self.offset {
            *self = LineIndex::new(self.bytes);
        }
        for i in memchr::memchr_iter(b'\n', &self.bytes[self.offset..offset]) {
            self.line += 1;
            self.line_start = self.offset + i + 1;
        }
        self.offset = offset;
        let column = self.bytes[self.line_start..offset]
            .iter()
            .filter(|&&b| b & 0xC0 != 0x80)
            .count()
            + 1;
        (self.line, column)
    }
}

/// The line holding `offset`, without its newline.
fn line_around(bytes: &[u8], offset: usize) -> Range<usize> {
    let start = memchr::memrchr(b'\n', &bytes[..offset]).map_or(0, |i| i + 1);
    let end = memchr::memchr(b'\n', &bytes[offset..]).map_or(bytes.len(), |i| offset + i);
    start..end
}

/// Longest context kept, in bytes on each side of the match.
const CONTEXT_SIDE: usize = 80;

/// The line holding `offset`, trimmed to `CONTEXT_SIDE` bytes each side, with every span in
/// `redactions` that touches it replaced by its redacted form (a span running past the line
/// end is cut there, so a multi-line secret never spills into the context).
fn context_line(bytes: &[u8], offset: usize, redactions: &[(Range<usize>, &str)]) -> String {
    let Range {
        start: line_start,
        end: line_end,
    } = line_around(bytes, offset);
    let from = line_start.max(offset.saturating_sub(CONTEXT_SIDE));
    let to = line_end.min(offset + CONTEXT_SIDE * 2);
    let mut out = String::new();
    let mut at = from;
    for (span, redacted) in redactions {
        if span.end <= from || span.start >= to {
            continue;
        }
        let start = span.start.max(at);
        out.push_str(&String::from_utf8_lossy(&bytes[at..start]));
        out.push_str(redacted);
        at = span.end.min(line_end).max(start);
        if span.end > line_end {
            at = to;
        }
    }
    if at < to {
        out.push_str(&String::from_utf8_lossy(&bytes[at..to]));
    }
    out.trim().to_string()
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
    fn context_redacts_every_secret_on_the_line() {
        let text = b"a=SECRETONE b=SECRETTWO\nnext";
        let redactions = [(2..11, "SEC\u{2026}"), (14..23, "SEC\u{2026}")];
        let line = context_line(text, 2, &redactions);
        assert_eq!(line, "a=SEC\u{2026} b=SEC\u{2026}");
        assert!(!line.contains("SECRETTWO"));
    }
}
