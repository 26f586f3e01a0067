//! Drives sources into the engine: each file is scanned window by window, its matches filtered
//! (allowlists, inline allows, public keys, confidence) and turned into findings; counts are
//! kept for the summary. Safe to call from many threads.
//!
//! A file lists at most `LISTED_PER_RULE` findings of each rule, the first ones; the rest are
//! counted (`Summary::unlisted`) and named in a note, never built: memory follows what is
//! reported, not what a file of a million generated tokens holds.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::allow::{line_bounds, Allowlist, Candidate, LineMarkers, PathScope};
use crate::context::{plain_line, Redactor, Secret};
use crate::engine::{benign, random_part, Engine, RawMatch};
use crate::finding::{redact, Finding, Location, RawSecret, SecretInfo};
use crate::path_context::PathContext;
use crate::policy_paths::PolicyPaths;
use crate::remediate::{playbook, Exposure};
use crate::rules::{Confidence, RuleKind, Severity};
use crate::source::window::{self, code_points, Position, Window};
use crate::source::{ChunkSink, SkipReason};

/// What to report and how.
#[derive(Debug, Clone)]
pub struct ReportPolicy {
    pub show_secrets: bool,
    pub include_public: bool,
    pub min_confidence: Confidence,
    /// Lowest severity reported, after the adjustment for where a finding lives.
    pub min_severity: Severity,
    /// Places whose findings are left out (`--exclude-context`).
    pub exclude_contexts: Vec<PathContext>,
    pub exposure: Exposure,
    /// Keep each raw secret in memory (never in output) for `--validate`.
    pub keep_raw: bool,
}

/// Findings of one rule listed per file. A file with more than a hundred distinct secrets of one
/// kind is a dump or generated data: the first hundred show where it is and what to rotate,
/// more would only cost memory (each carries its context and playbook) and bury the report.
pub const LISTED_PER_RULE: usize = 100;

/// Totals for the closing summary.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Summary {
    /// Files (or blobs) read and scanned.
    pub files: u64,
    pub bytes: u64,
    /// Files not scanned because they are larger than the `--max-file-size` given.
    pub skipped: u64,
    /// Files not scanned because a path allowlist covers them (the default lock-file and
    /// vendored-code paths, or the config's `paths`).
    pub excluded: u64,
    /// Untracked paths git's ignore rules kept out of a `dir` scan (a directory counts once).
    pub ignored: u64,
    pub findings: u64,
    /// Findings past `LISTED_PER_RULE` in a file: counted, not listed.
    pub unlisted: u64,
    pub errors: u64,
    /// Blobs not read because `--cache` held their findings from an earlier scan with the
    /// same rules (history scans with a cache only).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cached: u64,
    /// Repositories scanned (`keyhound git` only).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub repositories: u64,
}

impl Summary {
    /// Adds another scan's totals to these.
    pub fn add(&mut self, other: &Summary) {
        self.files += other.files;
        self.bytes += other.bytes;
        self.skipped += other.skipped;
        self.findings += other.findings;
        self.unlisted += other.unlisted;
        self.errors += other.errors;
        self.cached += other.cached;
        self.repositories += other.repositories;
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Which findings a caller wants, by their first and last line.
pub type Lines<'f> = &'f dyn Fn(usize, usize) -> bool;

/// A match's start and end as (line, column) pairs.
type Span = ((usize, usize), (usize, usize));

/// How many findings of each rule one file has listed, and how many it has not.
#[derive(Default)]
struct FileTally {
    listed: HashMap<usize, usize>,
    unlisted: BTreeMap<usize, u64>,
}

impl FileTally {
    /// Whether the next finding of `rule` is listed; counts it either way.
    fn admit(&mut self, rule: usize) -> bool {
        let listed = self.listed.entry(rule).or_default();
        if *listed < LISTED_PER_RULE {
            *listed += 1;
            true
        } else {
            *self.unlisted.entry(rule).or_default() += 1;
            false
        }
    }
}

/// A scan in progress: the sink every source writes to.
pub struct Scanner<'a> {
    engine: &'a Engine,
    allowlist: &'a Allowlist,
    /// How the config sees the paths reported (see `with_policy_paths`).
    policy_paths: PolicyPaths,
    policy: ReportPolicy,
    findings: Mutex<Vec<Finding>>,
    problems: Mutex<Vec<String>>,
    files: AtomicU64,
    bytes: AtomicU64,
    skipped: AtomicU64,
    excluded: AtomicU64,
    ignored: AtomicU64,
    unlisted: AtomicU64,
    errors: AtomicU64,
}

impl<'a> Scanner<'a> {
    /// Judges path allowlists on the paths `policy_paths` maps reported paths to: for
    /// `keyhound dir /repo/src`, whose config (and its globs) sit at `/repo`, `src/…`.
    pub fn with_policy_paths(mut self, policy_paths: PolicyPaths) -> Self {
        self.policy_paths = policy_paths;
        self
    }

    /// `path` as path allowlists see it (see `with_policy_paths`).
    fn policy_path<'p>(&self, path: &'p str) -> Cow<'p, str> {
        self.policy_paths.policy_path(path)
    }

    pub fn new(engine: &'a Engine, allowlist: &'a Allowlist, policy: ReportPolicy) -> Self {
        Scanner {
            engine,
            allowlist,
            policy_paths: PolicyPaths::default(),
            policy,
            findings: Mutex::new(Vec::new()),
            problems: Mutex::new(Vec::new()),
            files: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
            excluded: AtomicU64::new(0),
            ignored: AtomicU64::new(0),
            unlisted: AtomicU64::new(0),
            errors: AtomicU64::new(0),
        }
    }

    /// Findings of one window of `path` that the window owns, on lines `wanted(first, last)`
    /// accepts, within the file's listing cap (which counts only those).
    fn findings_in(
        &self,
        path: &str,
        window: &Window,
        tally: &mut FileTally,
        wanted: Lines,
        scope: PathScope,
    ) -> Vec<Finding> {
        let bytes = window.text;
        let key_material_only = scope == PathScope::KeyMaterial;
        let key_material = self.engine.key_material();
        if key_material_only && !key_material.may_be_in(bytes) {
            return Vec::new();
        }
        let mut matches = self.engine.scan(bytes);
        if key_material_only {
            matches.retain(|m| key_material.is_key_rule(m.rule));
        }
        if matches.is_empty() {
            return Vec::new();
        }
        let mut lines = LineIndex::starting_at(bytes, window.origin);
        let Judged { kept, not_secrets } = self.keep_all(path, &matches, window);
        let kept: Vec<(usize, Span)> = kept
            .into_iter()
            .map(|i| {
                let start = lines.position(matches[i].span.start);
                (i, (start, lines.position(matches[i].span.end)))
            })
            .filter(|&(i, (start, end))| wanted(start.0, end.0) && tally.admit(matches[i].rule))
            .collect();
        if kept.is_empty() {
            return Vec::new();
        }
        let prefixes: Vec<usize> = matches
            .iter()
            .map(|m| m.secret.len() - random_part(self.engine.rule(m.rule), &m.secret).len())
            .collect();
        // Every match is hidden in context lines, the ones the filters dropped included: a
        // finding's line may hold a second secret that `--min-confidence` or an allowlist
        // kept out of the report, and it must not show there in the clear. A match judged no
        // secret at all (a name: `apiKey = STRIPE_SECRET_KEY` in code) is not hidden, nor are
        // its copies: they are the names on the finding's own line.
        let redactor = (!self.policy.show_secrets).then(|| {
            Redactor::new(
                bytes,
                matches
                    .iter()
                    .zip(&prefixes)
                    .enumerate()
                    .filter(|(i, _)| not_secrets.binary_search(i).is_err())
                    .map(|(_, (m, &prefix))| Secret {
                        span: m.span.clone(),
                        raw: &m.secret,
                        redacted: redact(&m.secret, prefix),
                    })
                    .collect(),
            )
        });
        kept.into_iter()
            .map(|(i, span)| {
                let m = &matches[i];
                let mut info = SecretInfo::new(&m.secret, prefixes[i], self.policy.show_secrets);
                if self.policy.keep_raw {
                    info.raw = Some(RawSecret(String::from_utf8_lossy(&m.secret).into_owned()));
                }
                let context = match &redactor {
                    Some(redactor) => redactor.line(m.span.start),
                    None => plain_line(bytes, m.span.start),
                };
                self.finding(path, m, info, context, span)
            })
            .collect()
    }

    /// Indexes of the matches to report. Inline allow markers are looked up once per line
    /// (matches come sorted by position), so a long line with many matches stays linear.
    fn keep_all(&self, path: &str, matches: &[RawMatch], window: &Window) -> Judged {
        let (bytes, owned) = (window.text, &window.owned);
        let policy_path = self.policy_path(path);
        let path_context = PathContext::of(&policy_path);
        if self.policy.exclude_contexts.contains(&path_context) {
            return Judged::default();
        }
        let mut line: Option<(Range<usize>, LineMarkers)> = None;
        let mut kept = Vec::new();
        let mut not_secrets = Vec::new();
        for (i, m) in matches.iter().enumerate() {
            if !owned.contains(&m.span.start) {
                continue; // the neighbouring window reports it
            }
            let rule = self.engine.rule(m.rule);
            if (rule.public && !self.policy.include_public)
                || rule.confidence < self.policy.min_confidence
                || path_context.adjust(rule.severity) < self.policy.min_severity
            {
                continue;
            }
            // A weak password is a person's choice in their own config: the ones in tests,
            // docs, samples and third-party code are fixtures and defaults, and text in a
            // binary (translations, compiled strings) is prose. A key in any of them is still
            // a key, so only this kind is judged by place.
            if rule.kind == RuleKind::Weak && (window.binary || path_context != PathContext::Source)
            {
                not_secrets.push(i);
                continue;
            }
            if matches!(rule.kind, RuleKind::Generic | RuleKind::Weak)
                && m.encoding.is_none()
                && benign::unquoted_in_source_code(path, bytes, m.span.start)
            {
                not_secrets.push(i);
                continue;
            }
            let on_line = line
                .as_ref()
                .is_some_and(|(range, _)| range.start <= m.span.start && m.span.start <= range.end);
            if !on_line {
                let range = line_bounds(bytes, m.span.start);
                let markers = LineMarkers::of_line(bytes, range.clone());
                self.note_unknown_markers(path, window, &range, &markers);
                line = Some((range, markers));
            }
            let Some((range, markers)) = line.as_ref() else {
                continue;
            };
            let candidate = Candidate {
                rule: &rule.id,
                path: &policy_path,
                secret: &m.secret,
                matched: &bytes[m.matched.clone()],
                line: &bytes[range.clone()],
            };
            if markers.covers(&rule.id) || self.allowlist.allows(&candidate) {
                continue;
            }
            kept.push(i);
        }
        Judged { kept, not_secrets }
    }

    fn finding(
        &self,
        path: &str,
        m: &RawMatch,
        secret: SecretInfo,
        context: String,
        ((line, column), (end_line, end_column)): Span,
    ) -> Finding {
        let rule = self.engine.rule(m.rule);
        let path_context = PathContext::of(&self.policy_path(path));
        let severity = path_context.adjust(rule.severity);
        Finding {
            rule: rule.id.clone(),
            rule_name: rule.name.clone(),
            provider: rule.provider.clone(),
            severity,
            confidence: rule.confidence,
            path_context,
            rule_severity: (severity != rule.severity).then_some(rule.severity),
            public: rule.public,
            context,
            secret,
            location: Location {
                repo: None,
                path: path.to_string(),
                line,
                column,
                end_line,
                end_column,
            },
            commit: None,
            decoded: m.encoding,
            remediation: playbook(rule, self.policy.exposure),
            validation: None,
        }
    }

    /// Whether the path allowlists leave `path` out of the scan for some rules or all.
    pub fn allows_path(&self, path: &str) -> bool {
        self.scope(path) != PathScope::Everything
    }

    /// Which rules the path allowlists leave to apply at `path`.
    fn scope(&self, path: &str) -> PathScope {
        self.allowlist.path_scope(&self.policy_path(path))
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
        self.scan_chunk_lines(path, bytes, &|_, _| true)
    }

    /// `scan_chunk` for findings on the lines `wanted(first, last)` accepts (the lines a commit
    /// adds): the listing cap counts only those, so secrets on other lines cannot crowd out a
    /// new one.
    pub fn scan_chunk_lines(&self, path: &str, bytes: &[u8], wanted: Lines) -> Vec<Finding> {
        match self.scope(path) {
            PathScope::Nothing => Vec::new(),
            scope => self.scan_lines(path, bytes, wanted, scope),
        }
    }

    /// Like `scan_chunk`, whatever the path allowlists say of `path`: for a history whose
    /// walker could not apply them location by location and waived them (over-reporting
    /// rather than hiding a copy at a path they do not cover).
    pub fn scan_chunk_at_any_path(&self, path: &str, bytes: &[u8]) -> Vec<Finding> {
        self.scan_lines(path, bytes, &|_, _| true, PathScope::Everything)
    }

    fn scan_lines(
        &self,
        path: &str,
        bytes: &[u8],
        wanted: Lines,
        scope: PathScope,
    ) -> Vec<Finding> {
        self.files.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        let mut tally = FileTally::default();
        let mut findings = Vec::new();
        window::for_each_window_of(bytes, &mut |w| {
            findings.extend(self.findings_in(path, &w, &mut tally, wanted, scope));
        });
        self.note_unlisted(path, tally);
        findings
    }

    /// Scans a file read from `content` in windows, and records its findings; nothing when the
    /// allowlist excludes `path`. A read error keeps what was found before it.
    fn scan_stream(&self, path: &str, content: &mut dyn Read) {
        let scope = self.scope(path);
        if scope == PathScope::Nothing {
            self.excluded.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.files.fetch_add(1, Ordering::Relaxed);
        let mut tally = FileTally::default();
        let mut findings = Vec::new();
        let read = window::for_each_window(content, &mut |w| {
            findings.extend(self.findings_in(path, &w, &mut tally, &|_, _| true, scope));
        });
        match read {
            Ok(bytes) => self.bytes.fetch_add(bytes, Ordering::Relaxed),
            Err(e) => {
                self.error(path, &e.to_string());
                0
            }
        };
        self.note_unlisted(path, tally);
        self.record(findings);
    }

    /// Names a scoped inline marker on a finding's line whose rule id no rule has: the finding
    /// is reported, and the user should learn why the marker did not silence it.
    fn note_unknown_markers(
        &self,
        path: &str,
        window: &Window,
        line: &Range<usize>,
        markers: &LineMarkers,
    ) {
        let is_rule = |id: &str| self.engine.pack().get(id).is_some();
        let unknown: Vec<String> = markers.unknown_rules(is_rule).collect();
        if unknown.is_empty() {
            return;
        }
        let number = LineIndex::starting_at(window.text, window.origin)
            .position(line.start)
            .0;
        let mut problems = self.problems.lock().unwrap();
        for id in unknown {
            problems.push(format!(
                "{}:{number}: keyhound:allow:{} names no rule (see `keyhound rules list`), so it \
                 silences nothing",
                crate::escape::text(path),
                crate::escape::text(&id)
            ));
        }
    }

    /// Counts the findings a file did not list, and names them once per rule.
    fn note_unlisted(&self, path: &str, tally: FileTally) {
        if tally.unlisted.is_empty() {
            return;
        }
        let mut problems = self.problems.lock().unwrap();
        for (rule, count) in tally.unlisted {
            self.unlisted.fetch_add(count, Ordering::Relaxed);
            problems.push(format!(
                "{}: {count} more finding(s) of {} not listed (the first {LISTED_PER_RULE} per rule per file are)",
                crate::escape::text(path),
                crate::escape::text(&self.engine.rule(rule).id)
            ));
        }
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
            skipped: self.skipped.into_inner(),
            excluded: self.excluded.into_inner(),
            ignored: self.ignored.into_inner(),
            findings: findings.len() as u64,
            unlisted: self.unlisted.into_inner(),
            errors: self.errors.into_inner(),
            cached: 0,
            repositories: 0,
        };
        (findings, self.problems.into_inner().unwrap(), summary)
    }
}

/// What `keep_all` made of a window's matches, by index.
#[derive(Default)]
struct Judged {
    /// The matches to report.
    kept: Vec<usize>,
    /// The matches that are no secret at all (as opposed to secrets a filter keeps out of the
    /// report, which context lines must still hide); ascending, for binary search.
    not_secrets: Vec<usize>,
}

impl ChunkSink for Scanner<'_> {
    fn file(&self, path: &str, content: &mut dyn Read) {
        self.scan_stream(path, content);
    }

    fn skipped(&self, path: &str, reason: SkipReason) {
        match reason {
            SkipReason::TooLarge => {
                // Named, not only counted: a secret in a skipped file goes unreported, and the
                // user should know which file to look at or which limit to raise.
                self.problems.lock().unwrap().push(format!(
                    "{}: not scanned: larger than --max-file-size",
                    crate::escape::text(path)
                ));
            }
        }
        self.skipped.fetch_add(1, Ordering::Relaxed);
    }

    fn ignored(&self, paths: u64) {
        self.ignored.fetch_add(paths, Ordering::Relaxed);
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
    /// Where `bytes` starts in its file (a window may start anywhere).
    origin: Position,
    offset: usize,
    line: usize,
    column: usize,
}

impl<'a> LineIndex<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Self::starting_at(bytes, Position::START)
    }

    pub fn starting_at(bytes: &'a [u8], origin: Position) -> Self {
        LineIndex {
            bytes,
            origin,
            offset: 0,
            line: origin.line,
            column: origin.column,
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
                self.column = match memchr::memrchr(b'\n', &self.bytes[..offset]) {
                    Some(i) => 1 + code_points(&self.bytes[i + 1..offset]),
                    None => self.origin.column + code_points(&self.bytes[..offset]),
                };
            }
        }
        self.offset = offset;
        (self.line, self.column)
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
}
