//! `keyhound.toml`: which rules to use (the embedded pack, extended, trimmed or replaced) and
//! what to allow. Read once, validated, and compiled into a `Policy`; nothing downstream
//! reads the file again.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use thiserror::Error;

use crate::allow::{Allowlist, RawAllowlist};
use crate::rules::{self, RawRule, Rule, RuleError, RulePack};

/// File names looked for at the scanned root when `--config` is not given.
pub const CONFIG_NAMES: &[&str] = &["keyhound.toml", ".keyhound.toml"];

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
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
    #[serde(default)]
    pub allowlist: RawAllowlist,
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
}

/// Finds the config: `explicit`, else a known file name in `root`, else the defaults.
pub fn discover(explicit: Option<&Path>, root: &Path) -> Result<Policy, ConfigError> {
    let path = match explicit {
        Some(p) => Some(p.to_path_buf()),
        None => CONFIG_NAMES
            .iter()
            .map(|name| root.join(name))
            .find(|p| p.is_file()),
    };
    match path {
        Some(path) => {
            let text = fs::read_to_string(&path).map_err(|source| ConfigError::Read {
                path: path.clone(),
                source,
            })?;
            compile(&text, &path)
        }
        None => compile("", Path::new("<defaults>")),
    }
}

/// Parses and validates config `text` read from `path`.
pub fn compile(text: &str, path: &Path) -> Result<Policy, ConfigError> {
    let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Invalid {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let file = path.display().to_string();
    let mut pack = if raw.rules.use_default {
        RulePack::embedded()?
    } else {
        RulePack::default()
    };
    for id in &raw.rules.disable {
        if pack.get(id).is_none() {
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                message: format!("field `rules.disable`: no rule has the id `{id}`"),
            });
        }
    }
    pack.retain(|r| !raw.rules.disable.contains(&r.id));
    let custom: Vec<Rule> = raw
        .rule
        .into_iter()
        .map(|r| Rule::from_raw(r, &file))
        .collect::<Result<_, _>>()?;
    rules::compile_all(&custom)?;
    for rule in custom {
        pack.upsert(rule);
    }
    let allowlist = Allowlist::compile(&raw.allowlist).map_err(|message| ConfigError::Invalid {
        path: path.to_path_buf(),
        message,
    })?;
    Ok(Policy {
        pack,
        allowlist,
        source: (file != "<defaults>").then(|| path.to_path_buf()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_config_is_the_embedded_pack() {
        let policy = compile("", Path::new("k.toml")).unwrap();
        assert_eq!(policy.pack.len(), RulePack::embedded().unwrap().len());
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
}
