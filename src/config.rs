//! `keyhound.toml`: which rules to use (the embedded pack, extended, trimmed or replaced), how
//! severe each one is, and what to allow. Read once, validated, and compiled into a `Policy`;
//! nothing downstream reads the file again. A gitleaks config is read too (see `gitleaks`),
//! into the same `Policy`. The format is documented in docs/configuration.md.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use thiserror::Error;

use crate::allow::{Allowlist, Exemption, RawAllowlist};
use crate::gitleaks;
use crate::path_context::PathContext;
use crate::policy_file::{self, Origin, PolicyFileError, PolicyText};
use crate::rules::{self, RawRule, Rule, RuleError, RulePack, Severity};

/// File names looked for at the scanned root when `--config` is not given, in this order
/// (then `.gitleaks.toml`).
pub const CONFIG_NAMES: &[&str] = &["keyhound.toml", ".keyhound.toml"];

/// Shown as the config's path when there is no config file.
const DEFAULTS: &str = "<defaults>";

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error(transparent)]
    File(#[from] PolicyFileError),
    #[error("invalid config {path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error(transparent)]
    Rule(#[from] RuleError),
}

/// The config file as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    #[serde(default)]
    pub rules: RulesSection,
    /// Custom rules in the schema of `rules/*.toml`; one with a built-in id replaces it.
    #[serde(default)]
    pub rule: Vec<RawRule>,
    /// Severity overrides: rule id → `critical`, `high`, `medium` or `low`.
    #[serde(default)]
    pub severity: BTreeMap<String, String>,
    /// The global allowlist.
    #[serde(default)]
    pub allowlist: RawAllowlist,
    /// Allowlists for some rules only.
    #[serde(default)]
    pub rule_allowlist: Vec<RawAllowlist>,
    /// A baseline whose findings are hidden, relative to this file's directory (so a hook or
    /// CI job that runs with no flags uses it too); `--baseline` takes precedence.
    pub baseline: Option<String>,
    /// Lowest severity to report (after the step down for tests, examples, docs and vendored code);
    /// `--min-severity` takes precedence.
    pub min_severity: Option<String>,
    /// Places whose findings are left out (`test`, `docs`, …); `--exclude-context` takes
    /// precedence.
    #[serde(default)]
    pub exclude_context: Vec<String>,
    /// Also report passwords too weak for the generic detector (`--include-weak`).
    #[serde(default)]
    pub include_weak: bool,
}

/// `[rules]`: start from the embedded pack or not, and which rule ids to drop.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesSection {
    #[serde(default = "yes")]
    pub use_default: bool,
    #[serde(default)]
    pub disable: Vec<String>,
}

impl Default for RulesSection {
    fn default() -> Self {
        RulesSection {
            use_default: true,
            disable: Vec::new(),
        }
    }
}

fn yes() -> bool {
    true
}

/// The validated configuration: the rules to run and what to allow.
#[derive(Debug)]
pub struct Policy {
    pub pack: RulePack,
    pub allowlist: Allowlist,
    /// The file it came from, if any.
    pub source: Option<PathBuf>,
    /// The config's `baseline`: a relative path inside the config's directory.
    pub baseline: Option<PathBuf>,
    /// The config's `min_severity`.
    pub min_severity: Option<Severity>,
    /// The config's `exclude_context`.
    pub exclude_contexts: Vec<PathContext>,
    /// The config's `include_weak`.
    pub include_weak: bool,
    /// What the config asked for that keyhound does not do (unsupported gitleaks fields),
    /// to say once on stderr.
    pub notes: Vec<String>,
}

/// Finds the config: `explicit` (named on the command line), else a known file name in `root`
/// (a regular file only: see `policy_file`), else the defaults.
pub fn discover(explicit: Option<&Path>, root: &Path) -> Result<Policy, ConfigError> {
    if let Some(path) = explicit {
        return load(path);
    }
    let mut notes = Vec::new();
    for name in CONFIG_NAMES.iter().chain([gitleaks::CONFIG_NAME].iter()) {
        let path = root.join(name);
        match policy_file::read(&path, Origin::Tree)? {
            PolicyText::Text(text) => {
                let mut policy = from_text(&text, &path, Origin::Tree)?;
                notes.append(&mut policy.notes);
                policy.notes = notes;
                return Ok(policy);
            }
            PolicyText::Absent => {}
            PolicyText::Refused(note) => notes.push(note),
        }
    }
    let mut policy = compile("", Path::new(DEFAULTS))?;
    policy.notes = notes;
    Ok(policy)
}

/// Reads and compiles the config the user named at `path`: keyhound's format, or gitleaks'
/// when the file is one (by name or content).
pub fn load(path: &Path) -> Result<Policy, ConfigError> {
    from_text(&policy_file::read_named(path)?, path, Origin::CommandLine)
}

/// Compiles config `text` read from `path`, in whichever format it is. `origin` decides where
/// a gitleaks `[extend] path` may lead.
pub fn from_text(text: &str, path: &Path, origin: Origin) -> Result<Policy, ConfigError> {
    if gitleaks::is_gitleaks_config(path, text) {
        gitleaks::compile(text, path, origin)
    } else {
        compile_as(text, path, origin)
    }
}

/// Parses and validates keyhound config `text` read from `path`, a file the user named.
pub fn compile(text: &str, path: &Path) -> Result<Policy, ConfigError> {
    compile_as(text, path, Origin::CommandLine)
}

/// `compile` for a config from `origin`: one found in the scanned tree (or a commit's) may
/// not declare validators, since a repository must never choose where its secrets are sent.
pub fn compile_as(text: &str, path: &Path, origin: Origin) -> Result<Policy, ConfigError> {
    let invalid = |message: String| ConfigError::Invalid {
        path: path.to_path_buf(),
        message,
    };
    let raw: RawConfig =
        toml::from_str(text).map_err(|e| invalid(policy_file::toml_error(text, &e)))?;
    if let Some(rule) = raw.rule.iter().find(|r| r.validate.is_some()) {
        if origin == Origin::Tree {
            return Err(invalid(format!(
                "rule `{}` declares [rule.validate], refused: a config found in the scanned \
                 repository cannot declare validators (it must not choose where secrets are \
                 sent); declare them in a config named with --config",
                rule.id
            )));
        }
    }
    let file = path.display().to_string();
    let mut pack = if raw.rules.use_default {
        RulePack::embedded()?
    } else {
        RulePack::default()
    };
    let custom: Vec<Rule> = raw
        .rule
        .into_iter()
        .map(|r| Rule::from_raw(r, &file))
        .collect::<Result<_, _>>()?;
    rules::compile_all(&custom)?;
    for rule in custom {
        pack.upsert(rule);
    }

    // Rule ids are checked against the pack before `disable` applies, so disabling a rule
    // does not turn its allowlists or severity override into errors.
    let unknown = |field: String, id: &str| {
        invalid(format!(
            "field `{field}`: no rule has the id `{id}` (see `keyhound rules list`)"
        ))
    };
    if let Some(id) = raw.rules.disable.iter().find(|id| pack.get(id).is_none()) {
        return Err(unknown("rules.disable".into(), id));
    }
    for (id, level) in &raw.severity {
        let field = format!("severity.{id}");
        let severity: Severity = level
            .parse()
            .map_err(|m| invalid(format!("field `{field}`: {m}")))?;
        match pack.rules_mut().iter_mut().find(|r| r.id == *id) {
            Some(rule) => rule.severity = severity,
            None => return Err(unknown(field, id)),
        }
    }

    let mut exemptions = Vec::new();
    if !raw.allowlist.rules.is_empty() {
        return Err(invalid(
            "field `allowlist.rules`: the global allowlist covers every rule; \
             use a [[rule_allowlist]] table to allow for some rules only"
                .into(),
        ));
    }
    if raw.allowlist.has_criteria() {
        exemptions.push(
            Exemption::compile(&raw.allowlist, &|f| format!("allowlist.{f}")).map_err(invalid)?,
        );
    }
    for (i, list) in raw.rule_allowlist.iter().enumerate() {
        let field = |f: &str| format!("rule_allowlist[{i}].{f}");
        if list.rules.is_empty() {
            return Err(invalid(format!(
                "field `{}`: name the rule ids this allowlist is for",
                field("rules")
            )));
        }
        if let Some(id) = list.rules.iter().find(|id| pack.get(id).is_none()) {
            return Err(unknown(field("rules"), id));
        }
        if list.use_default_paths.is_some() {
            return Err(invalid(format!(
                "field `{}`: belongs in the global [allowlist]",
                field("use_default_paths")
            )));
        }
        exemptions.push(Exemption::compile(list, &field).map_err(invalid)?);
    }
    pack.retain(|r| !raw.rules.disable.contains(&r.id));

    Ok(Policy {
        pack,
        allowlist: Allowlist::new(
            raw.allowlist.use_default_paths.unwrap_or(true),
            exemptions,
            Vec::new(),
        ),
        source: (file != DEFAULTS).then(|| path.to_path_buf()),
        baseline: raw
            .baseline
            .map(|b| inside_path(&b).map_err(|m| invalid(format!("field `baseline`: {m}"))))
            .transpose()?,
        min_severity: raw
            .min_severity
            .map(|s| {
                s.parse()
                    .map_err(|m| invalid(format!("field `min_severity`: {m}")))
            })
            .transpose()?,
        exclude_contexts: raw
            .exclude_context
            .iter()
            .map(|c| {
                c.parse()
                    .map_err(|m| invalid(format!("field `exclude_context`: {m}")))
            })
            .collect::<Result<_, _>>()?,
        include_weak: raw.include_weak,
        notes: Vec::new(),
    })
}

/// `text` as a path relative to the config's directory that stays inside it: a config from
/// the scanned tree must not point keyhound at files elsewhere on the machine.
fn inside_path(text: &str) -> Result<PathBuf, String> {
    let path = Path::new(text);
    let inside = !text.is_empty()
        && path.components().all(|c| {
            matches!(
                c,
                std::path::Component::Normal(_) | std::path::Component::CurDir
            )
        });
    if inside {
        Ok(path.to_path_buf())
    } else {
        Err(format!(
            "`{}` must be a path relative to the config's directory, inside it",
            policy_file::excerpt(text)
        ))
    }
}

/// The embedded defaults, as when no config file is found.
pub fn defaults() -> Result<Policy, ConfigError> {
    compile("", Path::new(DEFAULTS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_config_is_the_embedded_pack() {
        let policy = compile("", Path::new("k.toml")).unwrap();
        assert_eq!(policy.pack.len(), RulePack::embedded().unwrap().len());
        assert!(policy.allowlist.allows_path("web/package-lock.json"));
    }

    #[test]
    fn unknown_field_and_unknown_rule_are_named() {
        let err = compile("[rules]\nfoo = 1\n", Path::new("k.toml")).unwrap_err();
        assert!(err.to_string().contains("foo"), "{err}");
        let err = compile(
            "[rules]\ndisable = [\"no-such-rule\"]\n",
            Path::new("k.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("no-such-rule") && err.contains("rules.disable"),
            "{err}"
        );
    }

    #[test]
    fn severity_override_applies_and_bad_levels_are_named() {
        let id = &RulePack::embedded().unwrap().rules()[0].id.clone();
        let policy = compile(
            &format!("[severity]\n{id} = \"low\"\n"),
            Path::new("k.toml"),
        )
        .unwrap();
        assert_eq!(policy.pack.get(id).unwrap().severity, Severity::Low);
        let err = compile(
            &format!("[severity]\n{id} = \"dire\"\n"),
            Path::new("k.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains(&format!("severity.{id}")) && err.contains("dire"),
            "{err}"
        );
    }
}
