//! The terminal report: findings grouped by file, each with its redacted line, rule, severity
//! and entropy, then what to do, once per distinct secret, and a closing summary.

use std::collections::BTreeMap;
use std::io::{self, Write};

use super::ScanReport;
use crate::finding::Finding;
use crate::rules::Severity;

struct Paint {
    on: bool,
}

impl Paint {
    fn wrap(&self, code: &str, text: &str) -> String {
        if self.on {
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
    fn severity(&self, s: Severity) -> String {
        let code = match s {
            Severity::Critical => "1;31",
            Severity::High => "31",
            Severity::Medium => "33",
            Severity::Low => "36",
        };
        self.wrap(code, &format!("{s:<8}"))
    }
}

pub fn write(report: &ScanReport, color: bool, out: &mut dyn Write) -> io::Result<()> {
    let paint = Paint { on: color };
    let mut by_path: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for f in report.findings {
        by_path.entry(&f.location.path).or_default().push(f);
    }
    for (path, findings) in &by_path {
        writeln!(out, "{}", paint.bold(path))?;
        for f in findings {
            write_finding(f, &paint, out)?;
        }
        writeln!(out)?;
    }
    write_remediation(report.findings, &paint, out)
}

fn write_finding(f: &Finding, paint: &Paint, out: &mut dyn Write) -> io::Result<()> {
    let loc = &f.location;
    writeln!(
        out,
        "  {:>5}:{:<4} {} {} {}",
        loc.line,
        loc.column,
        paint.severity(f.severity),
        f.rule_name,
        paint.dim(&format!("[{}]", f.rule))
    )?;
    writeln!(out, "             {}", f.context)?;
    let mut detail = format!(
        "secret {}  sha256 {}…  {:.0} bits",
        f.secret.redacted,
        &f.secret.sha256[..12],
        f.secret.entropy_bits
    );
    if let Some(value) = &f.secret.value {
        detail.push_str(&format!("  value {value}"));
    }
    if let Some(enc) = f.decoded {
        detail.push_str(&format!("  (decoded from {enc:?})").to_lowercase());
    }
    writeln!(out, "             {}", paint.dim(&detail))?;
    if let Some(c) = &f.commit {
        writeln!(
            out,
            "             {}",
            paint.dim(&format!(
                "introduced in {} by {} <{}> on {}: {}{}",
                &c.id[..c.id.len().min(12)],
                c.author,
                c.email,
                c.date,
                c.summary,
                if c.present_at_head {
                    " (still in HEAD)"
                } else {
                    " (removed before HEAD)"
                }
            ))
        )?;
    }
    Ok(())
}

/// Steps once per distinct secret, most severe first.
fn write_remediation(findings: &[Finding], paint: &Paint, out: &mut dyn Write) -> io::Result<()> {
    let mut seen = std::collections::HashSet::new();
    let mut unique: Vec<&Finding> = findings
        .iter()
        .filter(|f| seen.insert(&f.secret.sha256))
        .collect();
    unique.sort_by_key(|f| std::cmp::Reverse(f.severity));
    for f in unique {
        writeln!(
            out,
            "{} {} ({}, {})",
            paint.bold("What to do:"),
            f.remediation.summary,
            f.secret.redacted,
            f.location.path
        )?;
        for (i, step) in f.remediation.steps.iter().enumerate() {
            writeln!(out, "  {}. {step}", i + 1)?;
        }
        writeln!(out)?;
    }
    Ok(())
}

/// One-paragraph summary for stderr.
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
        format!("{} finding(s): {}", s.findings, counts.join(", "))
    };
    let mut line = format!(
        "keyhound: {found}; scanned {} file(s), {} in {:.2}s ({})",
        s.files,
        human_bytes(s.bytes),
        report.elapsed.as_secs_f64(),
        report.target
    );
    if s.skipped > 0 {
        line.push_str(&format!(
            "; skipped {} binary or oversized file(s)",
            s.skipped
        ));
    }
    if s.errors > 0 {
        line.push_str(&format!("; {} error(s)", s.errors));
    }
    line
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
