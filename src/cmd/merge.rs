//! `keyhound merge`: folds keyhound JSON or JSON Lines reports (the shards of an audit, one per
//! machine) into one report in any format. Each secret is one finding with every place it was
//! seen and its earliest commit (see `audit::fold`): merging is order-independent, and merging
//! a merged report changes nothing. Baselines, `--min-severity` and `--min-confidence` apply
//! here as in a scan; totals are the sum of the reports' (JSON documents carry them, JSON Lines
//! do not), so a shard that met errors makes the merge exit with 2 too.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use crate::app;
use crate::audit::fold;
use crate::cli::{CommonArgs, ConfidenceArg, MergeArgs};
use crate::finding::Finding;
use crate::policy_file;
use crate::remediate::Exposure;
use crate::report::json::JSON_VERSION;
use crate::report::ScanReport;
use crate::rules::{Confidence, Severity};
use crate::scan::Summary;
use crate::trusted_policy::{self, ScanPolicy};

/// A JSON report, as `report::json` writes it.
#[derive(Deserialize)]
struct Document {
    version: u32,
    findings: Vec<Finding>,
    summary: Option<Summary>,
}

/// Runs `keyhound merge`.
pub fn run(common: &CommonArgs, args: &MergeArgs) -> Result<ExitCode> {
    let started = Instant::now();
    let ScanPolicy { policy, known } = trusted_policy::load_common(common)?;
    let mut findings = Vec::new();
    let mut summary = Summary::default();
    for path in &args.reports {
        let (found, totals) = read_report(path)?;
        findings.extend(found);
        if let Some(totals) = totals {
            summary.add(&totals);
        }
    }
    let mut findings = fold::fold(findings);
    let min_severity = common
        .min_severity
        .map(Severity::from)
        .or(policy.min_severity)
        .unwrap_or(Severity::Low);
    let min_confidence = match common.min_confidence {
        ConfidenceArg::Low => Confidence::Low,
        ConfidenceArg::Medium => Confidence::Medium,
        ConfidenceArg::High => Confidence::High,
    };
    findings.retain(|f| f.severity >= min_severity && f.confidence >= min_confidence);
    app::hide_known(common, &mut findings, &known, &policy.allowlist);
    // Shards hold a secret only when written with --show-secrets; validation needs it.
    crate::validate::apply(
        common,
        policy.pack.rules(),
        &mut findings,
        Exposure::Committed,
    )?;
    if !common.show_secrets {
        // A shard run with --show-secrets wrote them; the merge shows them only if asked too.
        // Its context lines are in the clear as well, with every secret on them (the ones its
        // filters dropped too, which the merge cannot know): they give way to the redacted form.
        for f in &mut findings {
            if f.secret.value.take().is_some() {
                f.context = f.secret.redacted.clone();
            }
        }
    }
    summary.findings = findings.len() as u64;
    let target = format!("{} merged report(s)", args.reports.len());
    let report = ScanReport {
        findings: &findings,
        summary,
        elapsed: started.elapsed(),
        target: &target,
        rules: policy.pack.rules(),
        exposure: Exposure::Committed,
    };
    app::emit(common, &report)?;
    Ok(app::exit_code(common, &report))
}

/// The findings of one report, and its totals if it is a JSON document.
fn read_report(path: &Path) -> Result<(Vec<Finding>, Option<Summary>)> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the report {}", path.display()))?;
    if text.trim().is_empty() {
        return Ok((Vec::new(), None)); // a shard that found nothing, as JSON Lines
    }
    if let Ok(doc) = serde_json::from_str::<Document>(&text) {
        if doc.version != JSON_VERSION {
            bail!(
                "{}: report version {} is not supported (this keyhound reads version {JSON_VERSION})",
                path.display(),
                doc.version
            );
        }
        return Ok((doc.findings, doc.summary));
    }
    let mut findings = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let finding: Finding = serde_json::from_str(line).map_err(|e| {
            anyhow::anyhow!(
                "{}: line {}: not a keyhound finding ({}); merge reads the JSON and JSON Lines \
                 reports of `keyhound git --format json|jsonl`",
                path.display(),
                n + 1,
                policy_file::redact_quotes(&e.to_string())
            )
        })?;
        findings.push(finding);
    }
    Ok((findings, None))
}
