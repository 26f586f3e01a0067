//! The terminal report: findings grouped by file, each with its redacted line (the secret's span
//! highlighted), rule, severity and entropy; then what to do, once per distinct secret; and a
//! closing summary line for stderr. Laid out for an 80-column terminal.
//!
//! Everything shown comes from scanned files, git metadata or rule files, so it is escaped
//! before printing (`escape::text` for names, `escape::content` for context lines): a file must
//! not be able to drive the terminal or start a GitHub workflow command.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::ops::Range;

use super::{distinct_secrets, short_fingerprint, ScanReport};
use crate::escape;
use crate::finding::{Finding, Provenance};
use crate::path_context::PathContext;
use crate::remediate::Exposure;
use crate::rules::Severity;

/// Width the report is laid out for.
const WIDTH: usize = 80;
/// Indent of a finding's detail lines, under its rule name.
const INDENT: usize = 9;

struct Paint {
    on: bool,
}

impl Paint {
    fn wrap(&self, code: &str, text: &str) -> String {
        if self.on && !text.is_empty() {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
    fn bold(&self, t: &str) -> String {
        self.wrap("1", t)
    }
    fn dim(&self, t: &str) -> String {
        self.wrap("2", t)
    }
    fn severity_code(s: Severity) -> &'static str {
        match s {
            Severity::Critical => "1;31",
            Severity::High => "31",
            Severity::Medium => "33",
            Severity::Low => "36",
        }
    }
    fn severity(&self, s: Severity) -> String {
        // Padded before colouring, so the escape codes do not count towards the width.
        self.wrap(Self::severity_code(s), &format!("{:<8}", s.to_string()))
    }
    /// The secret's span in a context line: bold, underlined, in its severity's colour.
    fn secret(&self, s: Severity, text: &str) -> String {
        self.wrap(&format!("{};4", Self::severity_code(s)), text)
    }
}

pub fn write(report: &ScanReport, color: bool, out: &mut dyn Write) -> io::Result<()> {
    let paint = Paint { on: color };
    let several = several_repositories(report.findings);
    let mut by_path: BTreeMap<(Option<&str>, &str), Vec<&Finding>> = BTreeMap::new();
    for f in report.findings {
        let repo = f.location.repo.as_deref().filter(|_| several);
        by_path.entry((repo, &f.location.path)).or_default().push(f);
    }
    for ((repo, path), findings) in &by_path {
        let name = match repo {
            Some(repo) => format!("{repo}: {path}"),
            None => path.to_string(),
        };
        writeln!(out, "{}", paint.bold(&escape::text(&name)))?;
        for f in findings {
            write_finding(f, &paint, out)?;
        }
        writeln!(out)?;
    }
    write_remediation(report.findings, &paint, out)
}

/// Where a finding lives, when that is not product source, and what it did to the severity:
/// `in test code (rule: critical)`.
pub fn context_note(f: &Finding) -> Option<String> {
    let place = match f.path_context {
        PathContext::Source => return None,
        PathContext::Test => "in test code",
        PathContext::Docs => "in docs",
        PathContext::Example => "in an example",
        PathContext::Vendored => "in vendored code",
        PathContext::Generated => "in generated code",
    };
    Some(match f.rule_severity {
        Some(rule) => format!("{place} (rule: {rule})"),
        None => place.to_string(),
    })
}

fn write_finding(f: &Finding, paint: &Paint, out: &mut dyn Write) -> io::Result<()> {
    let loc = &f.location;
    let position = format!("{}:{}", loc.line, loc.column);
    writeln!(
        out,
        "{:>7}  {} {}",
        position,
        paint.severity(f.severity),
        escape::text(&f.rule_name)
    )?;
    let pad = " ".repeat(INDENT);
    let (line, span) = fit_context(&f.context, shown_secret(f), WIDTH - INDENT);
    let line = match span {
        Some(span) => format!(
            "{}{}{}",
            &line[..span.start],
            paint.secret(f.severity, &line[span.clone()]),
            &line[span.end..]
        ),
        None => line,
    };
    writeln!(out, "{pad}{line}")?;
    let mut detail = vec![
        escape::text(&f.rule).into_owned(),
        format!("sha256 {}…", short_fingerprint(&f.secret.sha256)),
        format!("{:.1} bits", f.secret.entropy_bits),
        format!("{} chars", f.secret.length),
    ];
    if let Some(enc) = f.decoded {
        detail.push(format!("decoded from {enc:?}").to_lowercase());
    }
    if let Some(note) = context_note(f) {
        detail.push(note);
    }
    for line in wrap_parts(&detail, WIDTH - INDENT) {
        writeln!(out, "{pad}{}", paint.dim(&line))?;
    }
    if let Some(v) = &f.validation {
        let line = format!("validation: {}", escape::text(&v.summary()));
        for line in wrap(&line, WIDTH - INDENT) {
            writeln!(out, "{pad}{}", paint.bold(&line))?;
        }
    }
    if let Some(value) = &f.secret.value {
        writeln!(out, "{pad}value {}", escape::text(value))?;
    }
    if let Some(c) = &f.commit {
        let mut text = format!(
            "introduced in {} by {} <{}> on {}: {} ({})",
            &c.id[..c.id.len().min(12)],
            c.author,
            c.email,
            c.date,
            c.summary,
            where_it_is(c)
        );
        if !c.other_locations.is_empty() {
            text.push_str(&format!(
                "; also at {} other place(s) in history",
                c.other_locations.len()
            ));
        }
        let repositories = crate::audit::fold::repositories(f);
        if repositories > 1 {
            text.push_str(&format!("; in {repositories} repositories"));
        }
        for line in wrap(&escape::text(&text), WIDTH - INDENT) {
            writeln!(out, "{pad}{}", paint.dim(&line))?;
        }
    }
    Ok(())
}

/// Whether a secret from history is still checked out anywhere: HEAD, or which branches and
/// tags (a secret gone from HEAD may still sit at the tip of another branch).
fn where_it_is(c: &Provenance) -> String {
    const NAMED: usize = 5;
    if c.present_at_head {
        return "still in HEAD".into();
    }
    if c.still_in.is_empty() {
        return "removed from every branch and tag".into();
    }
    let mut names = c.still_in[..c.still_in.len().min(NAMED)].join(", ");
    if c.still_in.len() > NAMED {
        names.push_str(&format!(" and {} more", c.still_in.len() - NAMED));
    }
    format!("not in HEAD; still in {names}")
}

/// The text of the secret as it appears in the context line.
fn shown_secret(f: &Finding) -> &str {
    f.secret.value.as_deref().unwrap_or(&f.secret.redacted)
}

/// Whether the findings come from several repositories (an audit), so that each file is named
/// with its repository: they name several, or one secret was folded from several.
fn several_repositories(findings: &[Finding]) -> bool {
    let repos: std::collections::BTreeSet<_> = findings.iter().map(|f| &f.location.repo).collect();
    repos.len() > 1
        || findings
            .iter()
            .any(|f| crate::audit::fold::repositories(f) > 1)
}

/// Steps once per distinct secret, most severe first.
fn write_remediation(findings: &[Finding], paint: &Paint, out: &mut dyn Write) -> io::Result<()> {
    let several = several_repositories(findings);
    for group in distinct_secrets(findings) {
        let f = group[0];
        let heading = format!(
            "What to do about {} ({})",
            escape::text(&f.secret.redacted),
            escape::text(&f.rule_name),
        );
        for line in wrap(&heading, WIDTH) {
            writeln!(out, "{}", paint.bold(&line))?;
        }
        let mut places: Vec<String> = group
            .iter()
            .map(|f| {
                let place = format!("{}:{}", f.location.path, f.location.line);
                match f.location.repo.as_deref().filter(|_| several) {
                    Some(repo) => escape::text(&format!("{repo}: {place}")).into_owned(),
                    None => escape::text(&place).into_owned(),
                }
            })
            .collect();
        places.dedup();
        writeln!(
            out,
            "  {}",
            // In full, to paste into .keyhoundignore or a baseline.
            paint.dim(&format!("sha256 {}", f.secret.sha256))
        )?;
        let found = format!("found at {}", places.join(", "));
        for line in wrap(&found, WIDTH - 2) {
            writeln!(out, "  {}", paint.dim(&line))?;
        }
        writeln!(out, "  {}:", escape::text(&f.remediation.summary))?;
        for (i, step) in f.remediation.steps.iter().enumerate() {
            let number = format!("{:>2}. ", i + 1);
            for (j, line) in wrap(&escape::text(step), WIDTH - 6).iter().enumerate() {
                let lead = if j == 0 { number.as_str() } else { "    " };
                writeln!(out, "  {lead}{line}")?;
            }
        }
        writeln!(out)?;
    }
    Ok(())
}

/// The closing line for stderr: findings by severity, then what was scanned.
pub fn summary_line(report: &ScanReport) -> String {
    let s = &report.summary;
    let mut by_severity: BTreeMap<std::cmp::Reverse<Severity>, usize> = BTreeMap::new();
    for f in report.findings {
        *by_severity
            .entry(std::cmp::Reverse(f.severity))
            .or_default() += 1;
    }
    let counts: Vec<String> = by_severity
        .iter()
        .map(|(sev, n)| format!("{n} {}", sev.0))
        .collect();
    let found = if counts.is_empty() {
        "no secrets found".to_string()
    } else {
        let secrets = distinct_secrets(report.findings).len();
        format!(
            "{} finding(s) ({}) of {secrets} distinct secret(s){}",
            s.findings,
            counts.join(", "),
            validation_counts(report.findings)
        )
    };
    let mut line = format!("keyhound: {found}; {}", scan_totals(report));
    if s.errors > 0 {
        line.push_str(&format!("; {} error(s)", s.errors));
    }
    line
}

/// `, validated: 1 live, 2 invalid, 3 unknown` when `--validate` ran, else nothing.
fn validation_counts(findings: &[Finding]) -> String {
    use crate::validate::Status;
    let mut counts = [0usize; 3];
    for f in findings {
        if let Some(v) = &f.validation {
            counts[v.status as usize] += 1;
        }
    }
    if counts.iter().all(|&n| n == 0) {
        return String::new();
    }
    let named: Vec<String> = [Status::Live, Status::Invalid, Status::Unknown]
        .iter()
        .zip(counts)
        .filter(|(_, n)| *n > 0)
        .map(|(status, n)| format!("{n} {status}"))
        .collect();
    format!(", validated: {}", named.join(", "))
}

/// What was scanned, how much and how fast: `scanned 6 files, 1.2 KiB in 0.01s (path x)`.
pub fn scan_totals(report: &ScanReport) -> String {
    let s = &report.summary;
    let unit = if matches!(
        report.exposure,
        Exposure::Committed | Exposure::Pushed | Exposure::Unpushed
    ) {
        "blob"
    } else {
        "file"
    };
    let mut text = format!(
        "scanned {} {unit}{}, {} in {:.2}s ({})",
        s.files,
        if s.files == 1 { "" } else { "s" },
        human_bytes(s.bytes),
        report.elapsed.as_secs_f64(),
        escape::text(report.target)
    );
    // What the scan left out or did not list, each said only when it happened.
    let clauses = [
        (s.skipped, "skipped ", " file(s) over --max-file-size"),
        (
            s.excluded,
            "",
            " file(s) left out by path allowlists (lock files, vendored code, config)",
        ),
        (
            s.ignored,
            "",
            " untracked path(s) ignored by git (--no-ignore scans them)",
        ),
        (s.unlisted, "", " more finding(s) not listed (per-file cap)"),
    ];
    for (count, before, after) in clauses.into_iter().filter(|(count, ..)| *count > 0) {
        text.push_str(&format!("; {before}{count}{after}"));
    }
    text
}

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// Cuts a context line to `width` characters around the secret, marking cuts with `…`, and
/// returns the byte range of the secret in the result (if it is there).
fn fit_context(context: &str, secret: &str, width: usize) -> (String, Option<Range<usize>>) {
    let chars: Vec<char> = escape::content(context).chars().collect();
    let secret: Vec<char> = escape::content(secret).chars().collect();
    let found = (!secret.is_empty() && secret.len() <= chars.len())
        .then(|| {
            chars
                .windows(secret.len())
                .position(|w| w == secret.as_slice())
        })
        .flatten();
    let (from, to) = if chars.len() <= width {
        (0, chars.len())
    } else {
        let (s, e) = found.map_or((0, 0), |at| (at, at + secret.len()));
        // Centre the secret in the room left, keeping one column for each `…`.
        let room = width.saturating_sub(2);
        let before = room.saturating_sub(e - s) / 2;
        let from = s.saturating_sub(before);
        let to = (from + room).min(chars.len());
        let from = to.saturating_sub(room);
        (from, to)
    };
    let mut out = String::new();
    if from > 0 {
        out.push('…');
    }
    let mut span = None;
    for (i, c) in chars.iter().enumerate().take(to).skip(from) {
        if Some(i) == found {
            span = Some(out.len()..out.len());
        }
        out.push(*c);
        if let Some(range) = span.as_mut() {
            if found.is_some_and(|at| i < at + secret.len()) {
                range.end = out.len();
            }
        }
    }
    if to < chars.len() {
        out.push('…');
    }
    (out, span.filter(|r| !r.is_empty()))
}

/// Joins `parts` with two spaces, breaking lines between parts only.
fn wrap_parts(parts: &[String], width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for part in parts {
        match lines.last_mut() {
            Some(line) if line.chars().count() + 2 + part.chars().count() <= width => {
                line.push_str("  ");
                line.push_str(part);
            }
            _ => lines.push(part.clone()),
        }
    }
    lines
}

/// Greedy word wrap to `width` characters; a word longer than the width (a URL) gets its own
/// line rather than being split.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut len = 0;
    for word in text.split_whitespace() {
        let n = word.chars().count();
        if len > 0 && len + 1 + n > width {
            lines.push(std::mem::take(&mut line));
            len = 0;
        }
        if len > 0 {
            line.push(' ');
            len += 1;
        }
        line.push_str(word);
        len += n;
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_at_word_boundaries_and_keeps_long_words_whole() {
        assert_eq!(wrap("aa bb cc", 5), ["aa bb", "cc"]);
        assert_eq!(
            wrap("x https://very.long/url y", 6),
            ["x", "https://very.long/url", "y"]
        );
        assert_eq!(wrap("", 5), [""]);
        let parts = ["aaa".to_string(), "b b".to_string(), "cc".to_string()];
        assert_eq!(wrap_parts(&parts, 8), ["aaa  b b", "cc"]);
    }

    #[test]
    fn long_context_is_cut_around_the_secret() {
        let context = format!("{}KEY=sk_live_ab…{}", "a".repeat(100), "b".repeat(100));
        let (line, span) = fit_context(&context, "sk_live_ab…", 40);
        assert_eq!(line.chars().count(), 40);
        assert!(line.starts_with('…') && line.ends_with('…'));
        assert_eq!(&line[span.unwrap()], "sk_live_ab…");
    }

    #[test]
    fn short_context_is_kept_and_controls_are_replaced() {
        let (line, span) = fit_context("K=\x1b[2Jsk_…", "sk_…", 70);
        assert_eq!(line, "K=\u{FFFD}[2Jsk_…");
        assert_eq!(&line[span.unwrap()], "sk_…");
        assert_eq!(fit_context("nothing", "zz", 70).1, None);
    }
}
