//! Opt-in live validation (`--validate`): ask each found secret's provider, with one
//! read-only "who am I" request to the provider's own fixed HTTPS host, whether the secret
//! still works. Off unless the command line (`--validate`) or the environment of whoever runs
//! keyhound (`KEYHOUND_VALIDATE=1`) asks: no config file can turn it on, and only a config
//! named on the command line may declare validators. Findings of the generic detector are
//! never sent (their provider is unknown). Each distinct secret is asked once per run.
//!
//! `spec` checks declarations, `place` puts the secret in a request, `http` sends it,
//! `answer` reads the answer, `runner` dedupes and bounds the work, `cache` keeps verdicts,
//! `code` holds the validators that must sign their request. See docs/validation.md.

pub mod answer;
pub mod aws;
pub mod cache;
pub mod code;
pub mod google;
pub mod http;
#[cfg(test)]
mod mock;
pub mod place;
pub mod request;
pub mod runner;
pub mod spec;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

use crate::cli::{CommonArgs, ValidationFilterArg};
use crate::finding::{fingerprint, Finding};
use crate::remediate::Exposure;
use crate::rules::{Rule, RuleKind};
use request::Verdict;
use runner::{Job, Limits};

/// The environment variable that turns validation on, as `--validate` does.
pub const ENV: &str = "KEYHOUND_VALIDATE";

/// Per-request timeout.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Requests in flight at once.
pub const CONCURRENCY: usize = 8;

/// What the provider said about a finding's secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Live,
    Invalid,
    Unknown,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Status::Live => "live",
            Status::Invalid => "invalid",
            Status::Unknown => "unknown",
        })
    }
}

/// A finding's validation result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validation {
    pub status: Status,
    /// Whose the live secret is, as the provider said (untrusted text: escape it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    /// Why the status is unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Validation {
    fn unknown(reason: impl Into<String>) -> Validation {
        Validation {
            status: Status::Unknown,
            identity: None,
            reason: Some(reason.into()),
        }
    }

    fn of(verdict: Verdict) -> Validation {
        match verdict {
            Verdict::Live { identity } => Validation {
                status: Status::Live,
                identity,
                reason: None,
            },
            Verdict::Invalid => Validation {
                status: Status::Invalid,
                identity: None,
                reason: None,
            },
            Verdict::Unknown { reason } => Validation::unknown(reason),
        }
    }

    /// `live (login octocat)`, `invalid`, `unknown: timed out`: for one-line output; the
    /// caller escapes it.
    pub fn summary(&self) -> String {
        match (self.status, &self.identity, &self.reason) {
            (Status::Live, Some(identity), _) => format!("live ({identity})"),
            (Status::Unknown, _, Some(reason)) => format!("unknown: {reason}"),
            (status, _, _) => status.to_string(),
        }
    }
}

/// How this run validates, from the flags.
#[derive(Debug, Clone)]
pub struct Options {
    /// The statuses reported (`--only-live`, `--validation-filter`); `None` keeps all.
    pub filter: Option<Vec<Status>>,
    pub cache: Option<PathBuf>,
    pub ttl: Duration,
    pub timeout: Duration,
    pub limits: Limits,
}

/// Whether the command line or the environment asks for validation.
pub fn wanted(common: &CommonArgs) -> bool {
    common.validate || std::env::var(ENV).is_ok_and(|v| ["1", "true", "yes"].contains(&v.trim()))
}

impl Options {
    /// The run's options, or `None` without `--validate`; the filter and cache flags without
    /// it are refused.
    pub fn from_common(common: &CommonArgs) -> Result<Option<Options>> {
        if !wanted(common) {
            for (given, flag) in [
                (common.only_live, "--only-live"),
                (!common.validation_filter.is_empty(), "--validation-filter"),
                (common.validation_cache.is_some(), "--validation-cache"),
                (common.validation_ttl.is_some(), "--validation-ttl"),
            ] {
                if given {
                    bail!(
                        "{flag} needs --validate (or {ENV}=1): without it no secret is validated"
                    );
                }
            }
            return Ok(None);
        }
        if common.validation_ttl.is_some() && common.validation_cache.is_none() {
            bail!("--validation-ttl needs --validation-cache DIR");
        }
        let mut filter: Vec<Status> = common
            .validation_filter
            .iter()
            .map(|f| match f {
                ValidationFilterArg::Live => Status::Live,
                ValidationFilterArg::Invalid => Status::Invalid,
                ValidationFilterArg::Unknown => Status::Unknown,
            })
            .collect();
        if common.only_live {
            if !filter.is_empty() && filter != [Status::Live] {
                bail!("--only-live is --validation-filter live: give one of them");
            }
            filter = vec![Status::Live];
        }
        let ttl = match &common.validation_ttl {
            Some(text) => cache::parse_ttl(text).map_err(anyhow::Error::msg)?,
            None => Duration::from_secs(24 * 3600),
        };
        Ok(Some(Options {
            filter: (!filter.is_empty()).then_some(filter),
            cache: common.validation_cache.clone(),
            ttl,
            timeout: TIMEOUT,
            limits: Limits {
                concurrency: CONCURRENCY,
                backoff: Duration::from_secs(1),
            },
        }))
    }
}

/// Validates `findings` with the real network (see `http`) when `--validate` asks, adapts
/// their remediation, and applies the filter. Without it, does nothing at all.
pub fn apply(
    common: &CommonArgs,
    rules: &[Rule],
    findings: &mut Vec<Finding>,
    exposure: Exposure,
) -> Result<()> {
    let Some(options) = Options::from_common(common)? else {
        return Ok(());
    };
    let transport = http::Http::new(options.timeout, http::ProxyEnv::from_env());
    let cache = match &options.cache {
        Some(dir) => Some(cache::Cache::open(dir, options.ttl).map_err(anyhow::Error::msg)?),
        None => None,
    };
    match &transport {
        Ok(transport) => validate(rules, findings, transport, cache.as_ref(), &options.limits),
        Err(reason) => {
            for f in findings.iter_mut() {
                f.validation = Some(Validation::unknown(reason.clone()));
            }
        }
    }
    finish(findings, exposure, options.filter.as_deref());
    Ok(())
}

/// Why a finding is not sent, or the job that validates it.
fn plan<'a>(
    f: &Finding,
    rules: &HashMap<&str, &'a Rule>,
    findings: &[Finding],
) -> Result<Job<'a>, Validation> {
    let rule = rules
        .get(f.rule.as_str())
        .ok_or_else(|| Validation::unknown("its rule is not in this run's rules"))?;
    if matches!(rule.kind, RuleKind::Generic | RuleKind::Weak) || rule.id.starts_with("generic-") {
        return Err(Validation::unknown(
            "found by the generic detector, whose provider is unknown: never sent",
        ));
    }
    let validator = rule
        .validate
        .as_ref()
        .ok_or_else(|| Validation::unknown("no validator for this rule"))?;
    let secret = raw_secret(f).ok_or_else(|| {
        Validation::unknown(
            "the secret itself is not at hand (a report merged without --show-secrets, or a blob \
             answered from the history --cache): nothing to send",
        )
    })?;
    let companion = match &validator.companion {
        Some(id) => Some(companion(f, id, findings).ok_or_else(|| {
            Validation::unknown(format!("no {id} found beside it (the pair is needed)"))
        })?),
        None => None,
    };
    let key = match &companion {
        Some(c) => {
            fingerprint(format!("{}\n{}", f.secret.sha256, fingerprint(c.as_bytes())).as_bytes())
        }
        None => f.secret.sha256.clone(),
    };
    Ok(Job {
        key,
        validator,
        secret: secret.to_string(),
        companion,
    })
}

fn raw_secret(f: &Finding) -> Option<&str> {
    f.secret
        .raw
        .as_ref()
        .map(|r| r.as_str())
        .or(f.secret.value.as_deref())
}

/// The secret of the nearest finding of rule `id` in the same file (and commit).
fn companion(f: &Finding, id: &str, findings: &[Finding]) -> Option<String> {
    findings
        .iter()
        .filter(|o| {
            o.rule == id
                && o.location.repo == f.location.repo
                && o.location.path == f.location.path
                && o.commit.as_ref().map(|c| &c.id) == f.commit.as_ref().map(|c| &c.id)
        })
        .filter_map(|o| Some((o.location.line.abs_diff(f.location.line), raw_secret(o)?)))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, secret)| secret.to_string())
}

/// Validates every finding through `transport`.
pub fn validate(
    rules: &[Rule],
    findings: &mut [Finding],
    transport: &dyn http::Transport,
    cache: Option<&cache::Cache>,
    limits: &Limits,
) {
    let by_id: HashMap<&str, &Rule> = rules.iter().map(|r| (r.id.as_str(), r)).collect();
    let mut jobs = Vec::new();
    let mut keys = Vec::with_capacity(findings.len());
    for f in findings.iter() {
        match plan(f, &by_id, findings) {
            Ok(job) => {
                keys.push(Ok(job.key.clone()));
                jobs.push(job);
            }
            Err(validation) => keys.push(Err(validation)),
        }
    }
    let verdicts = runner::run(jobs, transport, cache, limits);
    for (f, key) in findings.iter_mut().zip(keys) {
        f.validation = Some(match key {
            Ok(key) => verdicts
                .get(&key)
                .cloned()
                .map_or_else(|| Validation::unknown("not validated"), Validation::of),
            Err(validation) => validation,
        });
    }
}

/// Adapts each remediation to its verdict, forgets the raw secrets, and keeps the statuses
/// `filter` names.
pub fn finish(findings: &mut Vec<Finding>, exposure: Exposure, filter: Option<&[Status]>) {
    for f in findings.iter_mut() {
        f.secret.raw = None;
        if let Some(v) = &f.validation {
            crate::remediate::after_validation(&mut f.remediation, v, &f.provider, exposure);
        }
    }
    if let Some(keep) = filter {
        findings.retain(|f| {
            f.validation
                .as_ref()
                .is_some_and(|v| keep.contains(&v.status))
        });
    }
}
