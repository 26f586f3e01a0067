//! Reports turn findings into text for people or machines. A report never recomputes anything:
//! it formats what the scan produced (findings, totals, and the rules that ran).

pub mod github;
pub mod gitlab;
pub mod human;
pub mod json;
pub mod sarif;

use std::io::{self, Write};
use std::time::Duration;

use crate::escape::{self, Links};
use crate::finding::Finding;
use crate::remediate::{Exposure, Remediation};
use crate::rules::Rule;
use crate::scan::Summary;

/// Everything a report needs.
pub struct ScanReport<'a> {
    pub findings: &'a [Finding],
    pub summary: Summary,
    pub elapsed: Duration,
    /// What was scanned, in words (`directory corpus`, `standard input`).
    pub target: &'a str,
    /// The rules the scan ran (SARIF describes those that produced results).
    pub rules: &'a [Rule],
    /// How far the scanned secrets may have travelled (the playbooks depend on it).
    pub exposure: Exposure,
}

/// Machine and human formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Human { color: bool },
    Json,
    Jsonl,
    Sarif,
    Github,
    Gitlab,
}

/// Writes `report` in `format` to `out`.
pub fn write(format: Format, report: &ScanReport, out: &mut dyn Write) -> io::Result<()> {
    match format {
        Format::Human { color } => human::write(report, color, out),
        Format::Json => json::write(report, out),
        Format::Jsonl => json::write_lines(report, out),
        Format::Sarif => sarif::write(report, out),
        Format::Github => github::write_annotations(report, out),
        Format::Gitlab => gitlab::write(report, out),
    }
}

/// Which links Markdown made from rule `id`'s text may keep: any in the embedded pack's own
/// prose; in a custom rule's (or one the report does not know), only `https://` links to the
/// rule's own revoke host, since a repository's config can set any text.
pub(crate) fn rule_links<'a>(rules: &'a [Rule], id: &str) -> Links<'a> {
    rules
        .iter()
        .find(|r| r.id == id)
        .map_or(Links::OnlyTo(None), links_of)
}

/// Which links Markdown made from `rule`'s text may keep (see [`rule_links`]).
pub(crate) fn links_of(rule: &Rule) -> Links<'_> {
    if rule.text_is_from_pack() {
        Links::Any
    } else {
        Links::OnlyTo(escape::https_host(&rule.revoke_url))
    }
}

/// A playbook in Markdown: the summary in bold, then the numbered steps, each escaped as
/// `links` says.
pub(crate) fn remediation_markdown(remediation: &Remediation, links: Links) -> String {
    let mut out = format!("**{}**\n\n", escape::markdown(&remediation.summary, links));
    for (i, step) in remediation.steps.iter().enumerate() {
        out.push_str(&format!("{}. {}\n", i + 1, escape::markdown(step, links)));
    }
    out
}

/// The first `n` hex digits of a fingerprint: enough to tell secrets apart in a report.
pub(crate) fn short_fingerprint(sha256: &str) -> &str {
    &sha256[..sha256.len().min(12)]
}

/// Findings grouped by secret (fingerprint), most severe first, then in report order: the
/// unit a playbook is written for.
pub(crate) fn distinct_secrets(findings: &[Finding]) -> Vec<Vec<&Finding>> {
    let mut groups: Vec<Vec<&Finding>> = Vec::new();
    let mut index = std::collections::HashMap::new();
    for f in findings {
        let at = *index.entry(f.secret.sha256.as_str()).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[at].push(f);
    }
    // Stable sort: equal severities keep the order of first appearance.
    groups.sort_by_key(|g| std::cmp::Reverse(g.iter().map(|f| f.severity).max()));
    groups
}

/// Findings and rules for the report modules' unit tests.
#[cfg(test)]
pub(crate) mod testing {
    use crate::finding::{Finding, Location, SecretInfo};
    use crate::remediate::{playbook, Exposure};
    use crate::rules::{parse_rule_file, Rule};

    /// A rule per severity: `demo-critical`, `demo-high`, `demo-medium`, `demo-low`.
    pub fn rules() -> Vec<Rule> {
        let toml: String = ["critical", "high", "medium", "low"]
            .iter()
            .map(|sev| {
                format!(
                    "[[rule]]\nid = \"demo-{sev}\"\nname = \"Demo {sev} key\"\nprovider = \"Demo Cloud\"\ndescription = \"A demo key.\"\nkeywords = [\"demo_\"]\nregex = 'demo_[a-z]+'\nseverity = \"{sev}\"\nconfidence = \"high\"\nrevoke_url = \"https://example.invalid/keys\"\n\n"
                )
            })
            .collect();
        parse_rule_file(&toml, "t.toml").unwrap()
    }

    /// A finding of `rule` for `secret` at `path:line`, columns 7 to 28.
    pub fn finding(rule: &Rule, secret: &[u8], path: &str, line: usize) -> Finding {
        Finding {
            rule: rule.id.clone(),
            rule_name: rule.name.clone(),
            provider: rule.provider.clone(),
            severity: rule.severity,
            confidence: rule.confidence,
            path_context: crate::path_context::PathContext::Source,
            rule_severity: None,
            public: false,
            secret: SecretInfo::new(secret, 5, false),
            location: Location {
                repo: None,
                path: path.into(),
                line,
                column: 7,
                end_line: line,
                end_column: 28,
            },
            commit: None,
            context: "KEY = demo_qwer…".into(),
            decoded: None,
            remediation: playbook(rule, Exposure::Committed),
            validation: None,
        }
    }
}
