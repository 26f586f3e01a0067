//! `keyhound rules`: list the rule pack, show one rule, or check a rule file's examples. `list`
//! and `show` print a table for people or JSON / JSONL for tools (`--format`); every action
//! honours `--output`.

use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Result};
use serde::Serialize;

use crate::app::{self, write_output};
use crate::cli::{CommonArgs, FormatArg, RulesAction};
use crate::config;
use crate::diag;
use crate::escape::text as esc;
use crate::gitleaks;
use crate::policy_file::{self, Origin};
use crate::rules::{self, check::check_examples, Rule};

/// What `rules list` and `rules show` print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Listing {
    Table,
    Json,
    Jsonl,
}

/// Runs `keyhound rules ACTION` (default `list`).
pub fn run(common: &CommonArgs, action: Option<&RulesAction>) -> Result<ExitCode> {
    let root = std::env::current_dir()?;
    match action.unwrap_or(&RulesAction::List) {
        RulesAction::List => {
            let listing = listing(common, "list")?;
            let policy = app::load_policy(common, &root)?;
            write_output(common, |out| list(policy.pack.rules(), listing, out))?;
            Ok(ExitCode::SUCCESS)
        }
        RulesAction::Show { id } => {
            let listing = listing(common, "show")?;
            let policy = app::load_policy(common, &root)?;
            let Some(rule) = policy.pack.get(id) else {
                bail!("no rule has the id `{id}` (see `keyhound rules list`)");
            };
            write_output(common, |out| show(rule, listing, out))?;
            Ok(ExitCode::SUCCESS)
        }
        RulesAction::Check { file } => {
            if common.format.is_some() {
                bail!("--format: `rules check` prints its problems as text");
            }
            check(common, file)
        }
    }
}

/// The `--format` of `rules list|show`: the table, JSON or JSONL; report formats are refused.
fn listing(common: &CommonArgs, action: &str) -> Result<Listing> {
    Ok(match common.format {
        None | Some(FormatArg::Human) => Listing::Table,
        Some(FormatArg::Json) => Listing::Json,
        Some(FormatArg::Jsonl) => Listing::Jsonl,
        Some(FormatArg::Sarif | FormatArg::Github | FormatArg::Gitlab) => {
            bail!("--format: `rules {action}` prints human, json or jsonl")
        }
    })
}

/// One rule as `rules list --format json` describes it.
#[derive(Debug, Serialize)]
struct RuleSummary<'a> {
    id: &'a str,
    name: &'a str,
    provider: &'a str,
    severity: String,
    confidence: String,
    public: bool,
    keywords: &'a [String],
    #[serde(skip_serializing_if = "str::is_empty")]
    revoke_url: &'a str,
    examples: usize,
}

impl<'a> RuleSummary<'a> {
    fn of(rule: &'a Rule) -> RuleSummary<'a> {
        RuleSummary {
            id: &rule.id,
            name: &rule.name,
            provider: &rule.provider,
            severity: rule.severity.to_string(),
            confidence: rule.confidence.to_string(),
            public: rule.public,
            keywords: &rule.keywords,
            revoke_url: &rule.revoke_url,
            examples: rule.examples.len(),
        }
    }
}

/// `rules list --format json`: the pack, with its totals.
#[derive(Debug, Serialize)]
struct RuleCatalogue<'a> {
    rules: Vec<RuleSummary<'a>>,
    providers: usize,
}

fn list(rules: &[Rule], listing: Listing, out: &mut dyn Write) -> io::Result<()> {
    let mut providers: Vec<&str> = rules.iter().map(|r| r.provider.as_str()).collect();
    providers.sort_unstable();
    providers.dedup();
    match listing {
        Listing::Table => {
            for rule in rules {
                writeln!(
                    out,
                    "{:<44} {:<22} {:<8} {:<6}{}",
                    esc(&rule.id),
                    esc(&rule.provider),
                    rule.severity.to_string(),
                    rule.confidence.to_string(),
                    if rule.public { " public" } else { "" }
                )?;
            }
            writeln!(out, "{} rules, {} providers", rules.len(), providers.len())
        }
        Listing::Json => {
            let catalogue = RuleCatalogue {
                rules: rules.iter().map(RuleSummary::of).collect(),
                providers: providers.len(),
            };
            serde_json::to_writer_pretty(&mut *out, &catalogue)?;
            writeln!(out)
        }
        Listing::Jsonl => {
            for rule in rules {
                serde_json::to_writer(&mut *out, &RuleSummary::of(rule))?;
                writeln!(out)?;
            }
            Ok(())
        }
    }
}

/// `rules show --format json`: everything a rule holds but its examples.
#[derive(Debug, Serialize)]
struct RuleDetail<'a> {
    #[serde(flatten)]
    summary: RuleSummary<'a>,
    description: &'a str,
    rotation: &'a [String],
    regex: &'a str,
    source: &'a str,
    /// What `--validate` asks, and the API documentation it follows.
    #[serde(skip_serializing_if = "Option::is_none")]
    validate: Option<ValidateDetail>,
}

/// A rule's validator, in `rules show --format json`.
#[derive(Debug, Serialize)]
struct ValidateDetail {
    request: String,
    docs: String,
}

fn show(rule: &Rule, listing: Listing, out: &mut dyn Write) -> io::Result<()> {
    if listing != Listing::Table {
        let detail = RuleDetail {
            summary: RuleSummary::of(rule),
            description: &rule.description,
            rotation: &rule.rotation,
            regex: &rule.regex,
            source: &rule.source,
            validate: rule.validate.as_ref().map(|v| ValidateDetail {
                request: v.describe(),
                docs: v.docs.clone(),
            }),
        };
        if listing == Listing::Json {
            serde_json::to_writer_pretty(&mut *out, &detail)?;
        } else {
            serde_json::to_writer(&mut *out, &detail)?;
        }
        return writeln!(out);
    }
    // A rule from a repository's config is untrusted text, like a file name.
    writeln!(out, "id:          {}", esc(&rule.id))?;
    writeln!(out, "name:        {}", esc(&rule.name))?;
    writeln!(out, "provider:    {}", esc(&rule.provider))?;
    writeln!(out, "severity:    {}", rule.severity)?;
    writeln!(out, "confidence:  {}", rule.confidence)?;
    writeln!(out, "keywords:    {}", esc(&rule.keywords.join(", ")))?;
    if rule.revoke_url.is_empty() {
        writeln!(out, "revoke:      no one place: see rotation")?;
    } else {
        writeln!(out, "revoke:      {}", esc(&rule.revoke_url))?;
    }
    for step in &rule.rotation {
        writeln!(out, "rotation:    {}", esc(step))?;
    }
    writeln!(out, "source:      {}", esc(&rule.source))?;
    match &rule.validate {
        Some(v) => {
            writeln!(out, "validate:    {}", esc(&v.describe()))?;
            writeln!(out, "api docs:    {}", esc(&v.docs))?;
        }
        None => writeln!(
            out,
            "validate:    none (--validate reports its findings unknown)"
        )?,
    }
    writeln!(out, "description: {}", escape_lines(&rule.description))?;
    writeln!(out, "regex:\n{}", escape_lines(rule.regex.trim_end()))
}

/// Multi-line text escaped line by line (a regex, a description), keeping its line breaks.
fn escape_lines(text: &str) -> String {
    text.lines().map(esc).collect::<Vec<_>>().join("\n")
}

/// `rules check FILE`: a rule file, or a config (keyhound's or gitleaks') whose own rules are
/// checked; exit 1 when an example fails.
fn check(common: &CommonArgs, file: &Path) -> Result<ExitCode> {
    let text = policy_file::read_named(file)?;
    let name = file.display().to_string();
    let from_gitleaks = gitleaks::is_gitleaks_config(file, &text);
    let checked = match rules::parse_rule_file(&text, &name) {
        Ok(rules) => rules,
        Err(_) => {
            let policy = config::from_text(&text, file, Origin::CommandLine)?;
            if common.notes_wanted() {
                for note in &policy.notes {
                    diag::note(note);
                }
            }
            let mut pack = policy.pack;
            pack.retain(|r| r.source == name);
            pack.rules().to_vec()
        }
    };
    rules::compile_all(&checked)?;
    // gitleaks rules carry no examples: compiling them is all there is to check.
    let with_examples: Vec<_> = checked
        .iter()
        .filter(|r| !(from_gitleaks && r.examples.is_empty()))
        .cloned()
        .collect();
    let failures = check_examples(&with_examples);
    write_output(common, |out| {
        for failure in &failures {
            writeln!(out, "{}", esc(failure))?;
        }
        writeln!(
            out,
            "{}: {} rule(s), {} problem(s)",
            esc(&name),
            checked.len(),
            failures.len()
        )
    })?;
    Ok(if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
