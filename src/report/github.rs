//! GitHub Actions output: workflow-command annotations (`--format github`), and the Markdown
//! job summary appended to `$GITHUB_STEP_SUMMARY` whatever the format.
//!
//! Both are shown to everyone who can read the workflow run, so neither ever carries the secret,
//! not even with `--show-secrets`: only its redacted prefix and fingerprint. Names and rule text
//! are escaped for each (`escape::workflow_*`, `escape::markdown`): a file name cannot start a
//! workflow command, and a custom rule cannot put a link or a tag in the summary.

use std::fmt::Write as _;
use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::Path;

use super::{distinct_secrets, human, rule_links, short_fingerprint, ScanReport};
use crate::escape::{self, markdown_code as md_code, Links};
use crate::finding::Finding;
use crate::rules::Severity;
use crate::validate::Status;

/// Size the job summary is kept under. GitHub refuses a step summary over 1 MiB; staying well
/// below leaves room for other steps' summaries and for this one's closing note.
pub const SUMMARY_BUDGET: usize = 256 * 1024;

/// One `::error`/`::warning`/`::notice` command per finding.
pub fn write_annotations(report: &ScanReport, out: &mut dyn Write) -> io::Result<()> {
    for f in report.findings {
        writeln!(out, "{}", annotation(f))?;
    }
    Ok(())
}

/// The workflow command for one finding. Columns are sent only for a one-line span: GitHub
/// annotates columns within a single line. `endColumn` is the last character (inclusive).
pub fn annotation(f: &Finding) -> String {
    let loc = &f.location;
    let command = match f.severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "notice",
    };
    let mut props = vec![
        // The file's own name where it is text, so the annotation lands on it.
        ("file", escape::name_original(&loc.path).into_owned()),
        ("line", loc.line.to_string()),
        ("endLine", loc.end_line.max(loc.line).to_string()),
    ];
    if loc.end_line <= loc.line {
        props.push(("col", loc.column.to_string()));
        let last = loc.end_column.saturating_sub(1).max(loc.column);
        props.push(("endColumn", last.to_string()));
    }
    let mut notes = vec![f.severity.to_string(), f.rule.clone()];
    notes.extend(super::human::context_note(f));
    if let Some(v) = &f.validation {
        // The identity is the provider's text: escaped as any other, and bounded.
        notes.push(escape::text(&v.summary()).into_owned());
    }
    props.push(("title", format!("{} ({})", f.rule_name, notes.join(", "))));
    let props: Vec<String> = props
        .iter()
        .map(|(key, value)| format!("{key}={}", escape::workflow_property(value)))
        .collect();
    let mut message = format!(
        "{} {} (sha256 {}…)",
        f.rule_name,
        f.secret.redacted,
        short_fingerprint(&f.secret.sha256)
    );
    if let Some(c) = &f.commit {
        let _ = write!(
            message,
            ", introduced in {} by {} on {}",
            short_commit(&c.id),
            c.author,
            c.date
        );
    }
    let _ = write!(message, ".\n{}", f.remediation.text());
    format!(
        "::{command} {}::{}",
        props.join(","),
        escape::workflow_data(message.trim_end())
    )
}

fn short_commit(id: &str) -> &str {
    &id[..id.len().min(12)]
}

/// Appends the job summary for `report` to the file GitHub named in `GITHUB_STEP_SUMMARY`.
pub fn append_step_summary(path: &Path, report: &ScanReport) -> io::Result<()> {
    let mut file = OpenOptions::new().create(true).append(true).open(path)?;
    file.write_all(step_summary(report, SUMMARY_BUDGET).as_bytes())
}

/// The job summary in Markdown: a table of findings, then the steps once per distinct secret,
/// cut short (with a note of how much was left out) before it reaches `budget` bytes.
pub fn step_summary(report: &ScanReport, budget: usize) -> String {
    let mut out = String::new();
    let n = report.findings.len();
    let secrets = distinct_secrets(report.findings);
    if n == 0 {
        out.push_str("## keyhound: no secrets found\n\n");
    } else {
        let _ = writeln!(
            out,
            "## keyhound: {n} finding{} ({} distinct secret{})\n",
            plural(n),
            secrets.len(),
            plural(secrets.len())
        );
    }
    let _ = writeln!(
        out,
        "{}\n",
        escape::markdown(&human::scan_totals(report), Links::OnlyTo(None))
    );
    if n == 0 {
        return out;
    }
    // Reserve room for the closing notes so they always fit.
    let budget = budget.saturating_sub(512);

    // With `--validate`, what each provider said, in a column of its own.
    let validated = report.findings.iter().any(|f| f.validation.is_some());
    out.push_str(if validated {
        "| Severity | Rule | Location | Secret | SHA-256 | Validation |\n|---|---|---|---|---|---|\n"
    } else {
        "| Severity | Rule | Location | Secret | SHA-256 |\n|---|---|---|---|---|\n"
    });
    // Most severe first; the sort is stable, so equal severities keep the report's order.
    let mut rows: Vec<&Finding> = report.findings.iter().collect();
    rows.sort_by_key(|f| std::cmp::Reverse(f.severity));
    for (shown, f) in rows.into_iter().enumerate() {
        let row = table_row(f, rule_links(report.rules, &f.rule), validated);
        if out.len() + row.len() > budget {
            let _ = writeln!(
                out,
                "\n… and {} more finding(s) not shown here; see the full report.",
                n - shown
            );
            return out;
        }
        out.push_str(&row);
    }

    out.push_str("\n### What to do\n\n");
    for (shown, group) in secrets.iter().enumerate() {
        let section = playbook_section(group, rule_links(report.rules, &group[0].rule));
        if out.len() + section.len() > budget {
            let _ = writeln!(
                out,
                "… and steps for {} more secret(s) not shown here; see the full report.",
                secrets.len() - shown
            );
            return out;
        }
        out.push_str(&section);
    }
    out
}

/// One finding's row; with `validated`, its validation status last (a live key in bold).
fn table_row(f: &Finding, links: Links, validated: bool) -> String {
    let loc = &f.location;
    let mut place = format!("{}:{}", loc.path, loc.line);
    if let Some(c) = &f.commit {
        let _ = write!(place, " @ {}", short_commit(&c.id));
    }
    let mut row = format!(
        "| {} | {} ({}) | {} | {} | {} |",
        f.severity,
        escape::markdown(&f.rule_name, links),
        md_code(&f.rule),
        md_code(&place),
        md_code(&f.secret.redacted),
        md_code(short_fingerprint(&f.secret.sha256)),
    );
    if validated {
        let status = match f.validation.as_ref().map(|v| v.status) {
            Some(Status::Live) => "**live**".to_string(),
            Some(status) => status.to_string(),
            None => "—".to_string(),
        };
        let _ = write!(row, " {status} |");
    }
    row.push('\n');
    row
}

/// The steps for one secret; the rule's text keeps only the links `links` allows.
fn playbook_section(group: &[&Finding], links: Links) -> String {
    let first = group[0];
    let mut places: Vec<String> = group
        .iter()
        .map(|f| format!("{}:{}", f.location.path, f.location.line))
        .collect();
    places.dedup();
    let shown = places.len().min(5);
    let mut where_ = places[..shown]
        .iter()
        .map(|p| md_code(p))
        .collect::<Vec<_>>()
        .join(", ");
    if places.len() > shown {
        let _ = write!(where_, " and {} more", places.len() - shown);
    }
    let mut out = format!(
        "#### {} {} (SHA-256 {})\n\nFound at {where_}.\n\n{}",
        escape::markdown(&first.rule_name, links),
        md_code(&first.secret.redacted),
        md_code(short_fingerprint(&first.secret.sha256)),
        super::remediation_markdown(&first.remediation, links),
    );
    out.push('\n');
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remediate::Exposure;
    use crate::report::testing::{finding, rules};
    use crate::scan::Summary;
    use crate::validate::Validation;
    use std::time::Duration;

    fn report<'a>(findings: &'a [Finding], rules: &'a [crate::rules::Rule]) -> ScanReport<'a> {
        ScanReport {
            findings,
            summary: Summary::default(),
            elapsed: Duration::ZERO,
            target: "test",
            rules,
            exposure: Exposure::Committed,
        }
    }

    #[test]
    fn severities_map_to_annotation_levels() {
        let rules = rules();
        let levels: Vec<String> = rules
            .iter()
            .map(|r| annotation(&finding(r, b"demo_qwertyuiopasdfgh", "a.env", 2)))
            .map(|a| a[2..a.find(' ').unwrap()].to_string())
            .collect();
        assert_eq!(levels, ["error", "error", "warning", "notice"]);
    }

    #[test]
    fn columns_only_for_a_one_line_span_and_never_the_secret() {
        let rules = rules();
        let mut f = finding(&rules[0], b"demo_qwertyuiopasdfgh", "a:b.env", 2);
        let one_line = annotation(&f);
        assert!(one_line.starts_with("::error file=a%3Ab.env,line=2,endLine=2,col=7,endColumn=27,"));
        f.location.end_line = 4;
        let multi = annotation(&f);
        assert!(multi.starts_with("::error file=a%3Ab.env,line=2,endLine=4,title="));
        assert!(!multi.contains("col="));
        assert!(!one_line.contains("qwertyuiop") && !multi.contains("qwertyuiop"));
        assert_eq!(
            one_line.lines().count(),
            1,
            "newlines in the message are escaped"
        );
    }

    /// With `--validate`, the summary table gains a column: a live key in bold, a finding
    /// without a verdict as a dash; without it, no column.
    #[test]
    fn step_summary_shows_validation_only_when_there_is_some() {
        let rules = rules();
        let mut live = finding(&rules[0], b"demo_qwertyuiopasdfgh", "a.env", 2);
        let plain = finding(&rules[1], b"demo_zxcvbnmasdfghjkl", "b.env", 3);
        let without = step_summary(&report(&[live.clone(), plain.clone()], &rules), 1 << 20);
        assert!(!without.contains("Validation"), "{without}");
        live.validation = Some(Validation {
            status: Status::Live,
            identity: Some("octocat".into()),
            reason: None,
        });
        let with = step_summary(&report(&[live, plain], &rules), 1 << 20);
        assert!(with.contains("| SHA-256 | Validation |"), "{with}");
        assert!(
            with.contains(" **live** |") && with.contains(" — |"),
            "{with}"
        );
    }

    #[test]
    fn step_summary_is_cut_short_with_a_note() {
        let rules = rules();
        let findings: Vec<Finding> = (0..500)
            .map(|i| {
                let secret = format!("demo_{i:06}qwertyuiop");
                finding(
                    &rules[i % 4],
                    secret.as_bytes(),
                    &format!("src/file{i}.env"),
                    i + 1,
                )
            })
            .collect();
        let full = step_summary(&report(&findings, &rules), usize::MAX);
        assert!(full.starts_with("## keyhound: 500 findings (500 distinct secrets)"));
        assert!(!full.contains("more finding"));

        let budget = 20 * 1024;
        let cut = step_summary(&report(&findings, &rules), budget);
        assert!(cut.len() <= budget, "{} bytes", cut.len());
        let shown = cut.matches("| `src/file").count();
        assert!(shown > 10 && shown < 500);
        assert!(cut.contains(&format!("… and {} more finding(s)", 500 - shown)));
        // Most severe first: the rows that were cut are the least severe.
        assert!(cut.contains("| critical |") && !cut.contains("| low |"));

        let cut = step_summary(&report(&findings, &rules), 120 * 1024);
        assert!(cut.contains("### What to do") && cut.contains("more secret(s)"));
        assert!(cut.len() <= 120 * 1024);
    }

    #[test]
    fn a_clean_scan_has_a_short_summary() {
        let rules = rules();
        let md = step_summary(&report(&[], &rules), SUMMARY_BUDGET);
        assert!(md.starts_with("## keyhound: no secrets found\n\nscanned 0 blobs"));
        assert!(!md.contains('|'));
    }
}
