//! GitLab's secret-detection report (`gl-secret-detection-report.json`), schema version 15:
//! the artifact a job names under `artifacts: reports: secret_detection:` so that findings
//! show in the merge request widget, the pipeline's Security tab and the vulnerability report.
//!
//! Each finding is one vulnerability. Its `id` is UUID-shaped and derived from the secret's
//! fingerprint, rule and place (path, line, commit), so the same finding gets the same id in
//! every run; the primary identifier is the rule (`keyhound_rule_id`), then CWE-798. The
//! secret itself is never written, even with `--show-secrets` (the report is uploaded and
//! shown to everyone who can see the pipeline): `raw_source_code_extract` is left out, and the
//! description names the secret by its redacted prefix and fingerprint, as every report does.
//! Description and solution are rendered by GitLab as Markdown, so rule text goes through
//! `escape::markdown` with the same link policy as SARIF's help.

use std::io::{self, Write};
use std::time::SystemTime;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::{remediation_markdown, rule_links, short_fingerprint, ScanReport};
use crate::escape;
use crate::finding::Finding;
use crate::git_date::rfc3339;
use crate::rules::Severity;

/// The report schema version declared (GitLab validates the report against it).
pub const SCHEMA_VERSION: &str = "15.2.1";

/// The primary identifier's type: one per rule.
pub const RULE_IDENTIFIER: &str = "keyhound_rule_id";

/// GitLab's limits on a vulnerability's name and solution (characters).
const MAX_NAME: usize = 255;
const MAX_SOLUTION: usize = 7000;
/// The schema's limit on a description (characters).
const MAX_DESCRIPTION: usize = 1_048_576;

/// Writes the report for `report`, timed as ending now.
pub fn write(report: &ScanReport, out: &mut dyn Write) -> io::Result<()> {
    let end = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let text = serde_json::to_string_pretty(&build(report, end))?;
    writeln!(out, "{}", escape::json(&text))
}

/// The report document for `report`, whose scan ended at `end` (seconds since the epoch).
pub fn build(report: &ScanReport, end: i64) -> Value {
    let start = end.saturating_sub(report.elapsed.as_secs() as i64);
    let tool = json!({
        "id": "keyhound",
        "name": "keyhound",
        "version": env!("CARGO_PKG_VERSION"),
        "vendor": {"name": "keyhound"},
    });
    let status = if report.summary.errors == 0 {
        "success"
    } else {
        "failure"
    };
    json!({
        "version": SCHEMA_VERSION,
        "scan": {
            "analyzer": tool,
            "scanner": tool,
            "type": "secret_detection",
            "start_time": gitlab_time(start),
            "end_time": gitlab_time(end),
            "status": status,
        },
        "vulnerabilities": report
            .findings
            .iter()
            .map(|f| vulnerability(report, f))
            .collect::<Vec<_>>(),
    })
}

fn vulnerability(report: &ScanReport, f: &Finding) -> Value {
    let links = rule_links(report.rules, &f.rule);
    let rule_text = report
        .rules
        .iter()
        .find(|r| r.id == f.rule)
        .map_or(f.rule_name.as_str(), |r| r.description.trim());
    let mut description = format!(
        "{}\n\nThe secret: {} (sha256 {}…, {} characters, {:.1} bits of entropy)",
        escape::markdown(rule_text, links),
        escape::markdown_code(&f.secret.redacted),
        short_fingerprint(&f.secret.sha256),
        f.secret.length,
        f.secret.entropy_bits,
    );
    if let Some(encoding) = f.decoded {
        description.push_str(&format!(", decoded from {encoding:?}").to_lowercase());
    }
    description.push_str(&format!(
        ". Its fingerprint, for `.keyhoundignore`: `{}`.",
        f.secret.sha256
    ));
    if let Some(v) = &f.validation {
        // The identity is the provider's text: shown as code, never as Markdown.
        description.push_str(&format!(
            "\n\nValidation (`--validate`): {}.",
            escape::markdown_code(&v.summary())
        ));
    }
    let mut location = json!({
        "file": f.location.path,
        "start_line": f.location.line.max(1),
        "end_line": f.location.end_line.max(f.location.line).max(1),
        // Not from a commit (a scan of files): the placeholder GitLab's own analyzer writes.
        "commit": {"sha": "0000000"},
    });
    if let Some(c) = &f.commit {
        location["commit"] = json!({
            "sha": c.id,
            "author": c.author,
            "date": c.date,
            "message": c.summary,
        });
    }
    let mut vulnerability = json!({
        "id": vulnerability_id(f),
        "name": truncate(&f.rule_name, MAX_NAME),
        "description": truncate(&description, MAX_DESCRIPTION),
        "severity": severity(f.severity),
        "solution": truncate(&remediation_markdown(&f.remediation, links), MAX_SOLUTION),
        "identifiers": [
            {
                "type": RULE_IDENTIFIER,
                "name": format!("keyhound rule {}", f.rule),
                "value": f.rule,
            },
            {
                "type": "cwe",
                "name": "CWE-798",
                "value": "798",
                "url": "https://cwe.mitre.org/data/definitions/798.html",
            },
        ],
        "location": location,
    });
    let revoke = f.remediation.revoke_url.trim();
    if revoke.starts_with("https://") && !revoke.contains(|c: char| c.is_whitespace()) {
        vulnerability["links"] = json!([{"name": "Revoke or rotate", "url": revoke}]);
    }
    vulnerability
}

/// A UUID-shaped id (RFC 9562 version 8, the layout for ids of one's own making) from a
/// SHA-256 of the finding's rule, fingerprint and place: the same finding, the same id.
pub fn vulnerability_id(f: &Finding) -> String {
    let mut hash = Sha256::new();
    for part in [
        "keyhound/v1",
        &f.rule,
        &f.secret.sha256,
        &f.location.path,
        &f.location.line.to_string(),
        f.commit.as_ref().map_or("", |c| c.id.as_str()),
    ] {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    let mut bytes: [u8; 16] = hash.finalize()[..16].try_into().expect("16 bytes");
    bytes[6] = (bytes[6] & 0x0f) | 0x80;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// GitLab's severity names.
fn severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "Critical",
        Severity::High => "High",
        Severity::Medium => "Medium",
        Severity::Low => "Low",
    }
}

/// `2024-05-01T12:34:56`, UTC: the schema's time format (no zone, no fraction).
fn gitlab_time(seconds: i64) -> String {
    rfc3339(seconds, 0)[..19].to_string()
}

fn truncate(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars.saturating_sub(1)) {
        Some((at, _)) if text[at..].chars().count() > 1 => format!("{}…", &text[..at]),
        _ => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remediate::Exposure;
    use crate::report::testing::{finding, rules};

    fn report<'a>(findings: &'a [Finding], rules: &'a [crate::rules::Rule]) -> ScanReport<'a> {
        ScanReport {
            findings,
            summary: Default::default(),
            elapsed: std::time::Duration::from_secs(3),
            target: "test",
            rules,
            exposure: Exposure::Committed,
        }
    }

    #[test]
    fn ids_are_stable_uuids_that_differ_by_place() {
        let rules = rules();
        let a = finding(&rules[0], b"demo_qwertyuiop", "a.env", 1);
        let b = finding(&rules[0], b"demo_qwertyuiop", "b.env", 1);
        let id = vulnerability_id(&a);
        assert_eq!(id, vulnerability_id(&a.clone()));
        assert_ne!(id, vulnerability_id(&b));
        let parts: Vec<usize> = id.split('-').map(str::len).collect();
        assert_eq!(parts, [8, 4, 4, 4, 12], "{id}");
        assert_eq!(&id[14..15], "8", "version 8: {id}");
    }

    #[test]
    fn times_have_no_zone_and_the_secret_never_appears() {
        let rules = rules();
        let secret = b"demo_qwertyuiopasdf";
        let mut f = finding(&rules[1], secret, "x.env", 4);
        f.secret = crate::finding::SecretInfo::new(secret, 5, true);
        let findings = [f];
        let doc = build(&report(&findings, &rules), 86_400);
        assert_eq!(doc["scan"]["end_time"], "1970-01-02T00:00:00");
        assert_eq!(doc["scan"]["start_time"], "1970-01-01T23:59:57");
        let v = &doc["vulnerabilities"][0];
        assert_eq!(v["severity"], "High");
        assert_eq!(v["identifiers"][0]["value"], "demo-high");
        assert_eq!(v["location"]["commit"]["sha"], "0000000");
        assert!(v.get("raw_source_code_extract").is_none());
        assert!(!doc.to_string().contains("demo_qwertyuiopasdf"));
    }

    #[test]
    fn long_names_are_cut_to_gitlabs_limit() {
        assert_eq!(truncate("abc", 3), "abc");
        assert_eq!(truncate("abcd", 3), "ab…");
        assert_eq!(
            truncate(&"é".repeat(300), MAX_NAME).chars().count(),
            MAX_NAME
        );
    }
}
