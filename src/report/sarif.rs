//! SARIF 2.1.0, shaped for GitHub code scanning (built with `serde-sarif`).
//!
//! `tool.driver.rules` lists the rules that produced a result, in rule-pack order: GitHub needs
//! every rule a result references and nothing more, and listing the whole pack (hundreds of
//! rules, each with a playbook of a few KiB) would make every log over a megabyte, multiplied
//! across the thousands of per-repository logs an organisation-wide scan merges. Each rule
//! carries its rotation playbook as `help`, its revoke URL as `helpUri`, and a
//! `security-severity` GitHub uses to rank alerts.
//!
//! Each finding is one result of `kind: "fail"`, located by a repo-relative URI under
//! `%SRCROOT%` and a 1-based region in Unicode code points, with `partialFingerprints` keyed on
//! the secret's SHA-256 alone, so an alert survives unrelated edits that move its line. No
//! snippet is ever written, and the secret itself never is, even with `--show-secrets`:
//! SARIF files are uploaded and shared.
//!
//! Names and rule text come from the scanned repository: a URI is percent-encoded segment by
//! segment (a file named `..\..\x.env` stays one segment, `..%5C..%5Cx.env`), plain text gets
//! SARIF's bracket escapes, and `help.markdown` is inert Markdown whose links, for a custom
//! rule, may point only at the rule's own revoke host.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{self, Write};

use serde_json::{json, Value};
use serde_sarif::sarif::{
    ArtifactLocation, Invocation, Location, Message, MultiformatMessageString, PhysicalLocation,
    PropertyBag, Region, ReportingConfiguration, ReportingDescriptor, Result as SarifResult,
    ResultKind, ResultLevel, Run, Sarif, Tool, ToolComponent,
};

use super::{links_of, remediation_markdown, short_fingerprint, ScanReport};
use crate::escape::{self, Links};
use crate::finding::Finding;
use crate::remediate::{playbook, Remediation};
use crate::rules::{Confidence, Rule, Severity};

/// Where the SARIF 2.1.0 schema is published.
pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// The `partialFingerprints` key; bump the version if the fingerprint's meaning changes.
pub const FINGERPRINT_KEY: &str = "keyhound/v1";

/// The `uriBaseId` that result URIs are relative to: the root of the scanned tree.
pub const SRCROOT: &str = "%SRCROOT%";

/// GitHub truncates `fullDescription` beyond this many characters.
const MAX_DESCRIPTION: usize = 1000;

pub fn write(report: &ScanReport, out: &mut dyn Write) -> io::Result<()> {
    let text = serde_json::to_string_pretty(&build(report))?;
    writeln!(out, "{}", escape::json(&text))
}

/// The SARIF log for `report`.
pub fn build(report: &ScanReport) -> Sarif {
    let fired: HashSet<&str> = report.findings.iter().map(|f| f.rule.as_str()).collect();
    let mut descriptors: Vec<ReportingDescriptor> = Vec::with_capacity(fired.len());
    let mut index: HashMap<&str, usize> = HashMap::new();
    for rule in report.rules {
        if fired.contains(rule.id.as_str()) && !index.contains_key(rule.id.as_str()) {
            index.insert(&rule.id, descriptors.len());
            descriptors.push(rule_descriptor(rule, &playbook(rule, report.exposure)));
        }
    }
    let mut results = Vec::with_capacity(report.findings.len());
    for finding in report.findings {
        // A finding from a rule outside `report.rules` (a merged report, say) still gets a
        // descriptor, built from what the finding knows, so ruleIndex always resolves.
        let at = *index.entry(&finding.rule).or_insert_with(|| {
            descriptors.push(finding_descriptor(finding));
            descriptors.len() - 1
        });
        results.push(result(finding, at));
    }
    let version = env!("CARGO_PKG_VERSION");
    let driver = ToolComponent::builder()
        .name("keyhound")
        .semantic_version(version)
        .version(version)
        .rules(descriptors)
        .build();
    let s = &report.summary;
    let run = Run::builder()
        .tool(Tool::builder().driver(driver).build())
        .results(results)
        .column_kind(json!("unicodeCodePoints"))
        .invocations(vec![Invocation::builder()
            .execution_successful(s.errors == 0)
            .build()])
        .properties(
            PropertyBag::builder()
                .additional_properties(BTreeMap::from([(
                    "summary".to_string(),
                    json!({
                        "files": s.files,
                        "bytes": s.bytes,
                        "skipped": s.skipped,
                        "excluded": s.excluded,
                        "ignored": s.ignored,
                        "findings": s.findings,
                        "unlisted": s.unlisted,
                        "errors": s.errors,
                    }),
                )]))
                .build(),
        )
        .build();
    Sarif::builder()
        .schema(SCHEMA_URI)
        .version(json!("2.1.0"))
        .runs(vec![run])
        .build()
}

fn rule_descriptor(rule: &Rule, remediation: &Remediation) -> ReportingDescriptor {
    let links = links_of(rule);
    let markdown = format!(
        "{}\n\n{}",
        escape::markdown(rule.description.trim(), links),
        remediation_markdown(remediation, links)
    );
    // The pack's own text is shown as written; a custom rule's cannot read as a link either.
    let plain = |text: &str| match links {
        Links::Any => text.to_string(),
        Links::OnlyTo(_) => escape::sarif_text(text),
    };
    let text = format!("{}\n\n{}", rule.description.trim(), remediation.text());
    let builder = ReportingDescriptor::builder()
        .id(&rule.id)
        .name(pascal_case(&rule.id))
        .short_description(
            MultiformatMessageString::builder()
                .text(plain(&rule.name))
                .build(),
        )
        .full_description(
            MultiformatMessageString::builder()
                .text(plain(&truncate(rule.description.trim(), MAX_DESCRIPTION)))
                .build(),
        )
        .help(
            MultiformatMessageString::builder()
                .text(plain(&text))
                .markdown(markdown)
                .build(),
        )
        .default_configuration(
            ReportingConfiguration::builder()
                .level(json!(level_name(rule.severity)))
                .build(),
        )
        .properties(rule_properties(
            &rule.provider,
            rule.severity,
            Some(rule.confidence),
        ));
    match help_uri(&rule.revoke_url) {
        Some(uri) => builder.help_uri(uri).build(),
        None => builder.build(),
    }
}

/// A descriptor for a rule known only through one of its findings.
fn finding_descriptor(f: &Finding) -> ReportingDescriptor {
    let builder = ReportingDescriptor::builder()
        .id(&f.rule)
        .name(pascal_case(&f.rule))
        .short_description(
            MultiformatMessageString::builder()
                .text(escape::sarif_text(&f.rule_name))
                .build(),
        )
        .full_description(
            MultiformatMessageString::builder()
                .text(escape::sarif_text(&f.rule_name))
                .build(),
        )
        .help(
            MultiformatMessageString::builder()
                .text(escape::sarif_text(&f.remediation.text()))
                .markdown(remediation_markdown(&f.remediation, Links::OnlyTo(None)))
                .build(),
        )
        .default_configuration(
            ReportingConfiguration::builder()
                .level(json!(level_name(f.severity)))
                .build(),
        )
        .properties(rule_properties(&f.provider, f.severity, Some(f.confidence)));
    match help_uri(&f.remediation.revoke_url) {
        Some(uri) => builder.help_uri(uri).build(),
        None => builder.build(),
    }
}

fn rule_properties(
    provider: &str,
    severity: Severity,
    confidence: Option<Confidence>,
) -> PropertyBag {
    let mut tags = vec![
        "security".to_string(),
        "secret".to_string(),
        "external/cwe/cwe-798".to_string(),
    ];
    let provider_tag = provider
        .trim()
        .to_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join("-");
    if !provider_tag.is_empty() && !tags.contains(&provider_tag) {
        tags.push(provider_tag);
    }
    let mut extra = BTreeMap::from([(
        "security-severity".to_string(),
        json!(security_severity(severity)),
    )]);
    if let Some(confidence) = confidence {
        extra.insert("precision".to_string(), json!(confidence.to_string()));
    }
    PropertyBag::builder()
        .tags(tags)
        .additional_properties(extra)
        .build()
}

fn result(f: &Finding, rule_index: usize) -> SarifResult {
    let loc = &f.location;
    let (uri, relative) = artifact_uri(&loc.path);
    let artifact = if relative {
        ArtifactLocation::builder()
            .uri(uri)
            .uri_base_id(SRCROOT)
            .build()
    } else {
        ArtifactLocation::builder().uri(uri).build()
    };
    let region = Region::builder()
        .start_line(loc.line.max(1) as i64)
        .start_column(loc.column.max(1) as i64)
        .end_line(loc.end_line.max(loc.line).max(1) as i64)
        .end_column(loc.end_column.max(1) as i64)
        .build();
    let location = Location::builder()
        .physical_location(
            PhysicalLocation::builder()
                .artifact_location(artifact)
                .region(region)
                .build(),
        )
        .build();
    SarifResult::builder()
        .rule_id(&f.rule)
        .rule_index(rule_index as i64)
        .level(result_level(f.severity))
        .kind(ResultKind::Fail)
        .message(Message::builder().text(message(f)).build())
        .locations(vec![location])
        .partial_fingerprints(BTreeMap::from([(
            FINGERPRINT_KEY.to_string(),
            f.secret.sha256.clone(),
        )]))
        .properties(result_properties(f))
        .build()
}

/// What GitHub shows for the alert: rule, redacted secret, fingerprint prefix, what to do.
fn message(f: &Finding) -> String {
    let mut text = format!(
        "{} {} (sha256 {}…)",
        f.rule_name,
        f.secret.redacted,
        short_fingerprint(&f.secret.sha256)
    );
    if let Some(encoding) = f.decoded {
        text.push_str(&format!(", decoded from {encoding:?}").to_lowercase());
    }
    text.push_str(&format!(". {}.", f.remediation.summary));
    escape::sarif_text(&text)
}

fn result_properties(f: &Finding) -> PropertyBag {
    let mut extra: BTreeMap<String, Value> = BTreeMap::from([
        ("severity".to_string(), json!(f.severity.to_string())),
        ("confidence".to_string(), json!(f.confidence.to_string())),
        ("pathContext".to_string(), json!(f.path_context.to_string())),
        ("provider".to_string(), json!(f.provider)),
        ("redacted".to_string(), json!(f.secret.redacted)),
        ("entropyBits".to_string(), json!(f.secret.entropy_bits)),
    ]);
    if let Some(rule) = f.rule_severity {
        extra.insert("ruleSeverity".to_string(), json!(rule.to_string()));
    }
    if let Some(repo) = &f.location.repo {
        extra.insert("repository".to_string(), json!(escape::sarif_text(repo)));
    }
    if let Some(c) = &f.commit {
        extra.insert("commit".to_string(), json!(c.id));
        extra.insert("author".to_string(), json!(c.author));
        extra.insert("date".to_string(), json!(c.date));
        extra.insert("committerDate".to_string(), json!(c.committer_date));
        extra.insert("presentAtHead".to_string(), json!(c.present_at_head));
        extra.insert("stillIn".to_string(), json!(c.still_in));
    }
    if let Some(v) = &f.validation {
        extra.insert("validation".to_string(), json!(v.status.to_string()));
        if let Some(identity) = &v.identity {
            let identity = escape::sarif_text(identity);
            extra.insert("validationIdentity".to_string(), json!(identity));
        }
        if let Some(reason) = &v.reason {
            extra.insert(
                "validationReason".to_string(),
                json!(escape::sarif_text(reason)),
            );
        }
    }
    PropertyBag::builder().additional_properties(extra).build()
}

/// SARIF level for a severity: what GitHub shows as error, warning or note.
pub fn level_name(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "note",
    }
}

fn result_level(severity: Severity) -> ResultLevel {
    match severity {
        Severity::Critical | Severity::High => ResultLevel::Error,
        Severity::Medium => ResultLevel::Warning,
        Severity::Low => ResultLevel::Note,
    }
}

/// GitHub's `security-severity` score (0.0–10.0, as a string): critical live payment and cloud
/// keys rank with critical CVEs, test keys at the bottom.
pub fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.0",
        Severity::Low => "2.0",
    }
}

/// `stripe-live-secret-key` → `StripeLiveSecretKey`: a rule name without spaces.
fn pascal_case(id: &str) -> String {
    id.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            let first = chars.next().map(|c| c.to_ascii_uppercase());
            first.into_iter().chain(chars).collect::<String>()
        })
        .collect()
}

/// The revoke URL when it is an absolute http(s) URL, as `helpUri` requires.
fn help_uri(url: &str) -> Option<&str> {
    let url = url.trim();
    ((url.starts_with("https://") || url.starts_with("http://"))
        && !url.contains(|c: char| c.is_whitespace() || c.is_control()))
    .then_some(url)
}

fn truncate(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars.saturating_sub(1)) {
        Some((at, _)) if text[at..].chars().count() > 1 => format!("{}…", &text[..at]),
        _ => text.to_string(),
    }
}

/// A report path as a URI: relative paths stay relative (to `%SRCROOT%`), absolute paths
/// become `file://` URIs; every `/`-separated segment is percent-encoded on its own. Paths are
/// `/`-separated already (the sources make them so), so a backslash is part of a name, not a
/// separator, and `.`/`..` segments are encoded so that no URI climbs out of the source root.
/// Only on Windows does a drive path (`C:/…`, `C:\…`) read as absolute. Returns (uri,
/// is_relative).
pub fn artifact_uri(path: &str) -> (String, bool) {
    // The name's own bytes: a name that is not UTF-8 is encoded as it is on disk.
    let name = escape::name_bytes(path);
    let mut trimmed: &[u8] = &name;
    while let Some(rest) = trimmed.strip_prefix(b"./") {
        trimmed = rest;
    }
    let drive = cfg!(windows)
        && trimmed.len() >= 3
        && trimmed[0].is_ascii_alphabetic()
        && trimmed[1] == b':'
        && matches!(trimmed[2], b'/' | b'\\');
    if drive {
        let slashed: Vec<u8> = trimmed
            .iter()
            .map(|&b| if b == b'\\' { b'/' } else { b })
            .collect();
        (
            format!("file:///{}", encode_segments(&slashed, true)),
            false,
        )
    } else if trimmed.starts_with(b"/") {
        (format!("file://{}", encode_segments(trimmed, true)), false)
    } else {
        (encode_segments(trimmed, false), true)
    }
}

/// Percent-encodes each `/`-separated segment; `.` and `..` become `%2E` and `%2E%2E`.
fn encode_segments(path: &[u8], keep_colon: bool) -> String {
    path.split(|&b| b == b'/')
        .map(|segment| match segment {
            b"." => "%2E".to_string(),
            b".." => "%2E%2E".to_string(),
            _ => percent_encode(segment, keep_colon),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Percent-encodes a path segment: everything but unreserved characters and the sub-delimiters
/// that are safe in a path; `:` is kept only in absolute paths, so that a relative first segment such
/// as `c:x` never reads as a URI scheme.
fn percent_encode(path: &[u8], keep_colon: bool) -> String {
    let mut out = String::with_capacity(path.len());
    for &b in path {
        let keep = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'/'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b'@'
            )
            || (keep_colon && b == b':');
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Provenance;
    use crate::remediate::Exposure;
    use crate::report::testing::{self, rules};
    use crate::scan::Summary;
    use std::time::Duration;

    const SECRET: &[u8] = b"demo_qwertyuiopasdfgh";

    fn finding(rules: &[Rule], rule: usize, path: &str, line: usize) -> Finding {
        testing::finding(&rules[rule], SECRET, path, line)
    }

    fn sarif_json(rules: &[Rule], findings: &[Finding]) -> Value {
        let report = ScanReport {
            findings,
            summary: Summary::default(),
            elapsed: Duration::ZERO,
            target: "test",
            rules,
            exposure: Exposure::Committed,
        };
        serde_json::to_value(build(&report)).unwrap()
    }

    #[test]
    fn rules_and_results_carry_what_github_needs() {
        let rules = rules();
        let mut history = finding(&rules, 3, "src/my app/config.py", 3);
        history.commit = Some(Provenance {
            id: "0123456789abcdef0123456789abcdef01234567".into(),
            author: "Dev".into(),
            email: "dev@example.com".into(),
            date: "2024-05-01T10:00:00Z".into(),
            committer_date: "2024-05-02T10:00:00Z".into(),
            summary: "add config".into(),
            present_at_head: true,
            still_in: vec!["main".into()],
            other_locations: Vec::new(),
            order: 0,
        });
        let critical = finding(&rules, 0, "a.env", 1);
        let doc = sarif_json(&rules, &[critical, history]);
        let run = &doc["runs"][0];
        assert_eq!(doc["version"], "2.1.0");
        assert_eq!(run["columnKind"], "unicodeCodePoints");
        let listed = run["tool"]["driver"]["rules"].as_array().unwrap();
        assert_eq!(listed.len(), 2, "only the rules that produced results");
        let rule = &listed[1];
        assert_eq!(rule["id"], "demo-low");
        assert_eq!(rule["name"], "DemoLow");
        assert_eq!(rule["helpUri"], "https://example.invalid/keys");
        assert_eq!(rule["defaultConfiguration"]["level"], "note");
        assert_eq!(rule["properties"]["security-severity"], "2.0");
        assert_eq!(
            rule["properties"]["tags"],
            json!(["security", "secret", "external/cwe/cwe-798", "demo-cloud"])
        );
        assert!(rule["help"]["markdown"]
            .as_str()
            .unwrap()
            .contains("**Rotate this Demo Cloud secret (test or low-privilege)**"));

        let result = &run["results"][1];
        assert_eq!(result["ruleId"], "demo-low");
        assert_eq!(result["ruleIndex"], 1);
        assert_eq!(result["kind"], "fail");
        assert_eq!(result["level"], "note");
        let artifact = &result["locations"][0]["physicalLocation"]["artifactLocation"];
        assert_eq!(artifact["uri"], "src/my%20app/config.py");
        assert_eq!(artifact["uriBaseId"], "%SRCROOT%");
        let region = &result["locations"][0]["physicalLocation"]["region"];
        assert_eq!(region["startLine"], 3);
        assert_eq!(region["endColumn"], 28);
        assert!(region.get("snippet").is_none());
        let sha = crate::finding::fingerprint(SECRET);
        assert_eq!(result["partialFingerprints"]["keyhound/v1"], sha.as_str());
        assert_eq!(result["properties"]["author"], "Dev");
        assert_eq!(result["properties"]["date"], "2024-05-01T10:00:00Z");
        assert_eq!(
            result["properties"]["commit"],
            "0123456789abcdef0123456789abcdef01234567"
        );
        assert!(!doc.to_string().contains("demo_qwertyuiopasdfgh"));
    }

    #[test]
    fn severities_map_to_levels_and_security_severity() {
        let rules = rules();
        // Reported in reverse: the rules are still listed in pack order.
        let findings: Vec<Finding> = (0..4).rev().map(|i| finding(&rules, i, "a", 1)).collect();
        let doc = sarif_json(&rules, &findings);
        let described: Vec<(&str, &str)> = doc["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["defaultConfiguration"]["level"].as_str().unwrap(),
                    r["properties"]["security-severity"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            described,
            [
                ("error", "9.5"),
                ("error", "8.0"),
                ("warning", "5.0"),
                ("note", "2.0")
            ]
        );
        let indexes: Vec<&Value> = doc["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| &r["ruleIndex"])
            .collect();
        assert_eq!(indexes, [3, 2, 1, 0]);
        let clean = sarif_json(&rules, &[]);
        assert_eq!(clean["runs"][0]["results"], json!([]));
        assert_eq!(clean["runs"][0]["tool"]["driver"]["rules"], json!([]));
    }

    #[test]
    fn fingerprint_does_not_move_with_the_line() {
        let rules = rules();
        let a = sarif_json(&rules, &[finding(&rules, 0, "a.env", 3)]);
        let b = sarif_json(&rules, &[finding(&rules, 0, "a.env", 40)]);
        assert_eq!(
            a["runs"][0]["results"][0]["partialFingerprints"],
            b["runs"][0]["results"][0]["partialFingerprints"]
        );
    }

    #[test]
    fn a_finding_of_an_unlisted_rule_gets_a_descriptor() {
        let rules = rules();
        let f = finding(&rules, 0, "a.env", 1);
        let doc = sarif_json(&rules[1..], &[f]);
        let run = &doc["runs"][0];
        assert_eq!(run["results"][0]["ruleIndex"], 0);
        assert_eq!(run["tool"]["driver"]["rules"][0]["id"], "demo-critical");
        assert_eq!(run["tool"]["driver"]["rules"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn uris_are_relative_and_encoded_per_segment() {
        assert_eq!(artifact_uri("a\\b c.txt"), ("a%5Cb%20c.txt".into(), true));
        assert_eq!(
            artifact_uri("..\\..\\x.env"),
            ("..%5C..%5Cx.env".into(), true)
        );
        assert_eq!(
            artifact_uri("a/../b/./c?#%"),
            ("a/%2E%2E/b/%2E/c%3F%23%25".into(), true)
        );
        assert_eq!(artifact_uri("C:\\y"), ("C%3A%5Cy".into(), true));
        // Names are lossless text (`escape::name_from_bytes`); URIs carry the real bytes.
        assert_eq!(artifact_uri("bad\\xFF.env"), ("bad%FF.env".into(), true));
        assert_eq!(artifact_uri("a\\\\x"), ("a%5Cx".into(), true));
        assert_eq!(artifact_uri("./x/é.env"), ("x/%C3%A9.env".into(), true));
        assert_eq!(artifact_uri("<stdin>"), ("%3Cstdin%3E".into(), true));
        assert_eq!(artifact_uri("c:x"), ("c%3Ax".into(), true));
        assert_eq!(
            artifact_uri("/tmp/a b"),
            ("file:///tmp/a%20b".into(), false)
        );
    }

    #[test]
    fn names_and_truncation() {
        assert_eq!(pascal_case("stripe-live-secret-key"), "StripeLiveSecretKey");
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abcd", 4), "abcd");
        assert_eq!(help_uri("not a url"), None);
    }
}
