//! gitleaks compatibility: reads a gitleaks config (`.gitleaks.toml`) into keyhound's rules and
//! allowlists, and `.gitleaksignore` into location-based ignores, so that a team's existing
//! setup carries over. The mapping and what is not supported are in docs/gitleaks.md.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

use serde::Deserialize;

use crate::allow::{Allowlist, Condition, Exemption, RawAllowlist, RuleScope, Target};
use crate::config::{ConfigError, Policy};
use crate::finding::Finding;
use crate::policy_file::{self, Origin, PolicyText};
use crate::rules::{Confidence, Rule, RuleError, RuleKind, RulePack, SecretGroup, Severity};

/// The config file gitleaks looks for at the scanned root.
pub const CONFIG_NAME: &str = ".gitleaks.toml";
/// gitleaks' ignore file at the scanned root.
pub const IGNORE_NAME: &str = ".gitleaksignore";

/// gitleaks follows `extend.path` at most this many times.
const MAX_EXTEND_DEPTH: usize = 2;

/// Keys keyhound reads, lower-cased (gitleaks reads keys case-insensitively). Anything else
/// is reported once as ignored. `title`, `description` and `minVersion` change nothing in
/// gitleaks either, so they are read and dropped silently.
const TOP_KEYS: &[&str] = &[
    "title",
    "description",
    "minversion",
    "extend",
    "rules",
    "allowlist",
    "allowlists",
];
const EXTEND_KEYS: &[&str] = &["usedefault", "path", "disabledrules"];
const RULE_KEYS: &[&str] = &[
    "id",
    "description",
    "regex",
    "secretgroup",
    "entropy",
    "keywords",
    "path",
    "allowlist",
    "allowlists",
    "skipreport",
];
const ALLOWLIST_KEYS: &[&str] = &[
    "description",
    "condition",
    "commits",
    "paths",
    "regextarget",
    "regexes",
    "stopwords",
    "targetrules",
];

#[derive(Debug, Default, Deserialize)]
struct GlConfig {
    #[serde(default)]
    extend: GlExtend,
    #[serde(default)]
    rules: Vec<GlRule>,
    allowlist: Option<GlAllowlist>,
    #[serde(default)]
    allowlists: Vec<GlAllowlist>,
}

#[derive(Debug, Default, Deserialize)]
struct GlExtend {
    #[serde(default, rename = "useDefault", alias = "usedefault")]
    use_default: bool,
    path: Option<String>,
    #[serde(default, rename = "disabledRules", alias = "disabledrules")]
    disabled_rules: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct GlRule {
    #[serde(default)]
    id: String,
    description: Option<String>,
    regex: Option<String>,
    #[serde(default, rename = "secretGroup", alias = "secretgroup")]
    secret_group: usize,
    entropy: Option<f64>,
    #[serde(default)]
    keywords: Vec<String>,
    path: Option<String>,
    /// The older, single-table form (`[rules.allowlist]`).
    allowlist: Option<GlAllowlist>,
    #[serde(default)]
    allowlists: Vec<GlAllowlist>,
    #[serde(default, rename = "skipReport", alias = "skipreport")]
    skip_report: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct GlAllowlist {
    description: Option<String>,
    condition: Option<String>,
    #[serde(default)]
    commits: Vec<String>,
    #[serde(default)]
    paths: Vec<String>,
    #[serde(rename = "regexTarget", alias = "regextarget")]
    regex_target: Option<String>,
    #[serde(default)]
    regexes: Vec<String>,
    #[serde(default, alias = "stopWords")]
    stopwords: Vec<String>,
    #[serde(default, rename = "targetRules", alias = "targetrules")]
    target_rules: Vec<String>,
}

/// Whether the config at `path` is a gitleaks one: by its name, or by keys only gitleaks has
/// (`[[rules]]`, `[extend]`, `[[allowlists]]`, `title`, `regexTarget`, …).
pub fn is_gitleaks_config(path: &Path, text: &str) -> bool {
    let named = path.file_name().is_some_and(|n| {
        n.to_string_lossy()
            .to_ascii_lowercase()
            .contains("gitleaks")
    });
    named
        || toml::from_str::<toml::Table>(text).is_ok_and(|t| {
            ["title", "extend", "allowlists", "minVersion"]
                .iter()
                .any(|k| t.contains_key(*k))
                || t.get("rules").is_some_and(toml::Value::is_array)
                || t.get("allowlist")
                    .and_then(toml::Value::as_table)
                    .is_some_and(|a| a.contains_key("regexTarget") || a.contains_key("targetRules"))
        })
}

/// What a config asked for that keyhound does not do, said once on stderr.
#[derive(Debug, Default)]
struct Notes {
    /// Ignored field → the rules (if any) that set it.
    ignored: BTreeMap<String, BTreeSet<String>>,
    other: Vec<String>,
}

impl Notes {
    fn finish(self, file: &str) -> Vec<String> {
        let mut notes = Vec::new();
        if !self.ignored.is_empty() {
            let fields: Vec<String> = self
                .ignored
                .into_iter()
                .map(|(field, rules)| {
                    if rules.is_empty() {
                        field
                    } else {
                        let rules: Vec<String> = rules.into_iter().collect();
                        format!("{field} (rule {})", rules.join(", "))
                    }
                })
                .collect();
            notes.push(format!(
                "{file}: gitleaks fields keyhound does not support were ignored: {}",
                fields.join("; ")
            ));
        }
        notes.extend(self.other.into_iter().map(|n| format!("{file}: {n}")));
        notes
    }
}

/// Records keys of `table` that keyhound does not read as `{prefix}{key}`.
fn note_unread(
    table: &toml::Table,
    known: &[&str],
    prefix: &str,
    rule: Option<&str>,
    notes: &mut Notes,
) {
    for key in table.keys() {
        if !known.contains(&key.to_ascii_lowercase().as_str()) {
            let rules = notes.ignored.entry(format!("{prefix}{key}")).or_default();
            rules.extend(rule.map(str::to_string));
        }
    }
}

fn note_unread_keys(table: &toml::Table, notes: &mut Notes) {
    note_unread(table, TOP_KEYS, "", None, notes);
    let get = |key: &str| {
        table
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    };
    if let Some(extend) = get("extend").and_then(toml::Value::as_table) {
        note_unread(extend, EXTEND_KEYS, "extend.", None, notes);
    }
    let tables = |value: Option<&toml::Value>| -> Vec<toml::Table> {
        match value {
            Some(toml::Value::Table(t)) => vec![t.clone()],
            Some(toml::Value::Array(items)) => {
                items.iter().filter_map(|v| v.as_table().cloned()).collect()
            }
            _ => Vec::new(),
        }
    };
    for list in tables(get("allowlist"))
        .iter()
        .chain(&tables(get("allowlists")))
    {
        note_unread(list, ALLOWLIST_KEYS, "allowlists.", None, notes);
    }
    for rule in tables(get("rules")) {
        let id = rule.get("id").and_then(toml::Value::as_str);
        note_unread(&rule, RULE_KEYS, "rules.", id, notes);
        let rule_lists = ["allowlist", "allowlists"]
            .iter()
            .flat_map(|k| tables(rule.get(*k)))
            .collect::<Vec<_>>();
        for list in &rule_lists {
            note_unread(list, ALLOWLIST_KEYS, "rules.allowlists.", id, notes);
        }
    }
}

/// A gitleaks config with its `extend.path` chain merged in, gitleaks' way.
#[derive(Debug)]
struct Merged {
    rules: Vec<GlRule>,
    allowlists: Vec<GlAllowlist>,
    /// Whether a config in the chain extends the default rules (keyhound's pack, here), and
    /// which of those it disables.
    use_default: bool,
    disabled_default: Vec<String>,
}

fn load_chain(
    text: &str,
    path: &Path,
    origin: Origin,
    depth: usize,
    notes: &mut Notes,
) -> Result<Merged, ConfigError> {
    let invalid = |message: String| ConfigError::Invalid {
        path: path.to_path_buf(),
        message,
    };
    let config: GlConfig =
        toml::from_str(text).map_err(|e| invalid(policy_file::toml_error(text, &e)))?;
    if let Ok(table) = toml::from_str::<toml::Table>(text) {
        note_unread_keys(&table, notes);
    }
    let mut rules = config.rules;
    for rule in &mut rules {
        if let Some(single) = rule.allowlist.take() {
            if !rule.allowlists.is_empty() {
                return Err(invalid(format!(
                    "rule `{}`: [rules.allowlist] cannot be used alongside [[rules.allowlists]]",
                    rule.id
                )));
            }
            rule.allowlists.push(single);
        }
    }
    let mut allowlists = config.allowlists;
    if let Some(single) = config.allowlist {
        if !allowlists.is_empty() {
            return Err(invalid(
                "[allowlist] cannot be used alongside [[allowlists]]".into(),
            ));
        }
        allowlists.push(single);
    }
    let extend = config.extend;
    let mut merged = Merged {
        rules,
        allowlists,
        use_default: false,
        disabled_default: Vec::new(),
    };
    if extend.path.is_some() && extend.use_default {
        return Err(invalid(
            "field `extend`: useDefault and path cannot both be set".into(),
        ));
    }
    if depth >= MAX_EXTEND_DEPTH {
        if extend.use_default || extend.path.is_some() {
            notes.other.push(format!(
                "extend is ignored past a chain of {MAX_EXTEND_DEPTH} configs, as gitleaks does"
            ));
        }
        return Ok(merged);
    }
    if extend.use_default {
        merged.use_default = true;
        merged.disabled_default = extend.disabled_rules;
    } else if let Some(base_path) = &extend.path {
        // Relative to the config that names it (gitleaks: to the working directory, which
        // is the same when gitleaks runs from the repository root).
        let base_path = extend_path(path, base_path, origin).map_err(invalid)?;
        let base_text = match origin {
            Origin::CommandLine => policy_file::read_named(&base_path)?,
            Origin::Tree => match policy_file::read(&base_path, Origin::Tree)? {
                PolicyText::Text(text) => text,
                PolicyText::Absent => {
                    return Err(invalid(format!(
                        "field `extend.path`: {} does not exist",
                        base_path.display()
                    )))
                }
                PolicyText::Refused(note) => {
                    return Err(invalid(format!("field `extend.path`: {note}")))
                }
            },
        };
        let base = load_chain(&base_text, &base_path, origin, depth + 1, notes)?;
        merged = extend_with(merged, base, &extend.disabled_rules, notes);
    }
    Ok(merged)
}

/// Where `[extend] path` leads from the config at `config`. A config found in the scanned tree
/// may extend only files in its own directory or below (a relative path without `..`), so it
/// cannot make keyhound read `/dev/zero` or a credentials file elsewhere on the machine; one the
/// user named may extend any file.
fn extend_path(config: &Path, extend: &str, origin: Origin) -> Result<PathBuf, String> {
    let relative = Path::new(extend);
    let inside = relative
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if origin == Origin::Tree && !inside {
        return Err(format!(
            "field `extend.path`: a config in the scanned tree may extend only files in its own \
             directory or below, not `{}`",
            policy_file::excerpt(extend)
        ));
    }
    Ok(config.parent().unwrap_or(Path::new(".")).join(relative))
}

/// gitleaks' extension: the base's rules join ours unless disabled; a rule in both keeps
/// the base's fields unless ours sets them, and the keyword and allowlist lists are joined.
/// Global allowlists are concatenated.
fn extend_with(mut ours: Merged, base: Merged, disabled: &[String], notes: &mut Notes) -> Merged {
    for id in disabled {
        if !base.rules.iter().any(|r| r.id == *id) {
            notes.other.push(format!(
                "extend.disabledRules: the extended config has no rule `{id}`"
            ));
        }
    }
    for mut base_rule in base.rules {
        if disabled.contains(&base_rule.id) {
            continue;
        }
        match ours.rules.iter_mut().find(|r| r.id == base_rule.id) {
            None => ours.rules.push(base_rule),
            Some(mine) => {
                base_rule.description = mine.description.take().or(base_rule.description);
                base_rule.entropy = mine.entropy.filter(|e| *e != 0.0).or(base_rule.entropy);
                if mine.secret_group != 0 {
                    base_rule.secret_group = mine.secret_group;
                }
                base_rule.regex = mine.regex.take().or(base_rule.regex);
                base_rule.path = mine.path.take().or(base_rule.path);
                base_rule.keywords.append(&mut mine.keywords);
                base_rule.allowlists.append(&mut mine.allowlists);
                *mine = base_rule;
            }
        }
    }
    ours.allowlists.extend(base.allowlists);
    ours.use_default = base.use_default;
    ours.disabled_default = base.disabled_default;
    ours
}

/// Parses and translates gitleaks config `text` read from `path`.
pub fn compile(text: &str, path: &Path, origin: Origin) -> Result<Policy, ConfigError> {
    let invalid = |message: String| ConfigError::Invalid {
        path: path.to_path_buf(),
        message,
    };
    let file = path.display().to_string();
    let mut notes = Notes::default();
    let merged = load_chain(text, path, origin, 0, &mut notes)?;
    let mut pack = if merged.use_default {
        RulePack::embedded()?
    } else {
        RulePack::default()
    };
    for id in &merged.disabled_default {
        if pack.get(id).is_none() {
            notes.other.push(format!(
                "extend.disabledRules: `{id}` is not a keyhound rule (see `keyhound rules list`)"
            ));
        }
    }
    pack.retain(|r| !merged.disabled_default.contains(&r.id));

    let mut exemptions = Vec::new();
    let mut scopes = Vec::new();
    for gl in &merged.rules {
        if gl.id.trim().is_empty() {
            return Err(invalid(format!(
                "a rule has no `id` (regex: {:?})",
                gl.regex.as_deref().unwrap_or("")
            )));
        }
        let rule_error = |field: &'static str, message: String| RuleError::Field {
            file: file.clone(),
            rule: gl.id.clone(),
            field,
            message,
        };
        if !gl
            .id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        {
            return Err(
                rule_error("id", "use letters, digits, '.', '_' and '-' only".into()).into(),
            );
        }
        if gl.skip_report {
            notes.other.push(format!(
                "rule `{}`: skipReport rules serve [[rules.required]], which keyhound does not support; skipped",
                gl.id
            ));
            continue;
        }
        match (&gl.regex, &gl.path) {
            (Some(regex), _) => pack.upsert(translate(gl, regex, &file)?),
            (None, Some(_)) => {
                notes.other.push(format!(
                    "rule `{}`: path-only rules (report a file by its name) are not supported; skipped",
                    gl.id
                ));
                continue;
            }
            (None, None) if pack.get(&gl.id).is_some() => {
                // Adjusts one of keyhound's rules: its allowlists apply, other fields do not.
                if gl.description.is_some()
                    || gl.entropy.is_some()
                    || !gl.keywords.is_empty()
                    || gl.secret_group != 0
                {
                    notes
                        .ignored
                        .entry(
                            "rules.description/entropy/keywords/secretGroup on a keyhound rule"
                                .into(),
                        )
                        .or_default()
                        .insert(gl.id.clone());
                }
            }
            (None, None) if merged.use_default => {
                notes.other.push(format!(
                    "rule `{}` adjusts a gitleaks default rule that keyhound does not have; ignored",
                    gl.id
                ));
                continue;
            }
            (None, None) => {
                return Err(rule_error(
                    "regex",
                    "both regex and path are empty: this rule would match nothing".into(),
                )
                .into())
            }
        }
        if let Some(path_regex) = &gl.path {
            scopes.push(
                RuleScope::new(&gl.id, path_regex)
                    .map_err(|e| rule_error("path", e.to_string()))?,
            );
        }
        for (j, list) in gl.allowlists.iter().enumerate() {
            let prefix = format!("rule `{}`: ", gl.id);
            let field = format!("rules.allowlists[{j}]");
            if let Some(exemption) = exemption(list, vec![gl.id.clone()], &field, &mut notes)
                .map_err(|m| invalid(format!("{prefix}{m}")))?
            {
                exemptions.push(exemption);
            }
        }
    }
    for (j, list) in merged.allowlists.iter().enumerate() {
        let field = format!("allowlists[{j}]");
        if let Some(id) = list.target_rules.iter().find(|id| pack.get(id).is_none()) {
            return Err(invalid(format!(
                "field `{field}.targetRules`: no rule has the id `{id}`"
            )));
        }
        if let Some(exemption) =
            exemption(list, list.target_rules.clone(), &field, &mut notes).map_err(invalid)?
        {
            exemptions.push(exemption);
        }
    }
    Ok(Policy {
        baseline: None,
        min_severity: None,
        exclude_contexts: Vec::new(),
        include_weak: false,
        pack,
        // keyhound's default path allowlist is part of its defaults, as gitleaks' own is
        // part of its default config: it applies when the config extends the defaults.
        allowlist: Allowlist::new(merged.use_default, exemptions, scopes),
        source: Some(path.to_path_buf()),
        notes: notes.finish(&file),
    })
}

/// A gitleaks rule as a keyhound rule: run over whole inputs like gitleaks (see
/// `Rule::whole_input`), secret taken from `secretGroup` or gitleaks' default group.
fn translate(gl: &GlRule, regex: &str, file: &str) -> Result<Rule, RuleError> {
    let error = |field: &'static str, message: String| RuleError::Field {
        file: file.to_string(),
        rule: gl.id.clone(),
        field,
        message,
    };
    let description = gl
        .description
        .clone()
        .unwrap_or_else(|| format!("Custom rule `{}` from gitleaks config {file}", gl.id));
    let mut rule = Rule {
        id: gl.id.clone(),
        name: gl.description.clone().unwrap_or_else(|| gl.id.clone()),
        provider: "Custom".into(),
        description,
        keywords: gl.keywords.iter().map(|k| k.to_lowercase()).collect(),
        regex: regex.to_string(),
        secret_group: None,
        severity: Severity::High,
        confidence: Confidence::Medium,
        // A gitleaks rule names no provider, so no place to revoke: the step says how to find it.
        revoke_url: String::new(),
        rotation: vec![format!(
            "Find the service this credential belongs to (the gitleaks rule `{}` was written for it) and revoke it in that service's settings.",
            gl.id
        )],
        examples: Vec::new(),
        negative_examples: Vec::new(),
        min_entropy_bits: None,
        min_shannon: gl.entropy.filter(|e| *e > 0.0),
        checksum: None,
        public: false,
        multiline: false,
        whole_input: true,
        kind: RuleKind::Token,
        source: file.to_string(),
        validate: None,
    };
    let compiled = rule.compile().map_err(|e| {
        error(
            "regex",
            format!("does not compile as a Rust regex (see docs/gitleaks.md): {e}"),
        )
    })?;
    let groups = compiled.captures_len() - 1;
    rule.secret_group = match gl.secret_group {
        0 if groups == 0 => None,
        0 => Some(SecretGroup::FirstMatched),
        n if n <= groups => Some(SecretGroup::Index(n)),
        n => {
            return Err(error(
                "secretGroup",
                format!("is {n}, but the regex has {groups} capture group(s)"),
            ))
        }
    };
    Ok(rule)
}

/// A gitleaks allowlist as an exemption for `rules` (all when empty); `None` when keyhound
/// cannot honour it (noted), which reports more rather than less.
fn exemption(
    list: &GlAllowlist,
    rules: Vec<String>,
    field: &str,
    notes: &mut Notes,
) -> Result<Option<Exemption>, String> {
    let condition = match list
        .condition
        .as_deref()
        .map(str::to_ascii_uppercase)
        .as_deref()
    {
        None | Some("" | "OR" | "||") => Condition::Or,
        Some("AND" | "&&") => Condition::And,
        Some(_) => {
            return Err(format!(
                "field `{field}.condition`: `{}` is not one of: AND, OR",
                list.condition.as_deref().unwrap_or_default()
            ))
        }
    };
    let target = match list.regex_target.as_deref() {
        None | Some("" | "secret") => Target::Secret,
        Some("match") => Target::Match,
        Some("line") => Target::Line,
        Some(other) => {
            return Err(format!(
                "field `{field}.regexTarget`: `{other}` is not one of: secret, match, line"
            ))
        }
    };
    if condition == Condition::And && !list.commits.is_empty() {
        notes.other.push(format!(
            "{field}: condition = AND with commits is not supported (a commit is known only after the scan); this allowlist is ignored"
        ));
        return Ok(None);
    }
    let raw = RawAllowlist {
        rules,
        description: list.description.clone(),
        condition,
        path_regexes: list.paths.clone(),
        regexes: list.regexes.clone(),
        target,
        stopwords: list.stopwords.clone(),
        commits: list.commits.clone(),
        ..RawAllowlist::default()
    };
    let name = |f: &str| {
        let gitleaks_name = match f {
            "path_regexes" => "paths",
            other => other,
        };
        format!("{field}.{gitleaks_name}")
    };
    Exemption::compile(&raw, &name).map(Some)
}

/// A `.gitleaksignore` entry: gitleaks' fingerprint of a finding by location,
/// `[commit:]path:rule-id:line`. Unlike keyhound's fingerprints it says nothing of the
/// secret: a new secret on an ignored line is ignored too, and moving code un-ignores it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LocationFingerprint {
    pub commit: Option<String>,
    pub path: String,
    pub rule: String,
    pub line: usize,
}

impl LocationFingerprint {
    pub fn parse(entry: &str) -> Option<LocationFingerprint> {
        let mut parts = entry.rsplitn(3, ':');
        let line = parts.next()?.parse().ok()?;
        let rule = parts.next()?;
        let rest = parts.next()?;
        let (commit, path) = match rest.split_once(':') {
            Some((commit, path)) if is_commit_id(commit) => {
                (Some(commit.to_ascii_lowercase()), path)
            }
            _ => (None, rest),
        };
        (!path.is_empty() && !rule.is_empty()).then(|| LocationFingerprint {
            commit,
            path: path.to_string(),
            rule: rule.to_string(),
            line,
        })
    }

    /// gitleaks' matching, on the finding's path as the ignore file names it (`path`): an entry
    /// without a commit matches the location in any commit.
    pub fn matches(&self, finding: &Finding, path: &str) -> bool {
        self.line == finding.location.line
            && self.rule == finding.rule
            && self.path == path
            && self.commit.as_ref().map_or(true, |c| {
                finding
                    .commit
                    .as_ref()
                    .is_some_and(|p| p.id.eq_ignore_ascii_case(c))
            })
    }
}

fn is_commit_id(s: &str) -> bool {
    matches!(s.len(), 40 | 64) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Parses `.gitleaksignore` text; blank lines and `#` comments are skipped.
pub fn parse_ignore(text: &str, file: &str) -> Result<Vec<LocationFingerprint>, String> {
    text.lines()
        .enumerate()
        .map(|(i, line)| (i + 1, line.trim()))
        .filter(|(_, line)| !line.is_empty() && !line.starts_with('#'))
        .map(|(n, line)| {
            LocationFingerprint::parse(line).ok_or_else(|| {
                format!(
                    "{file}:{n}: `{}` is not a gitleaks fingerprint ([commit:]path:rule-id:line)",
                    policy_file::excerpt(line)
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile_str(text: &str) -> Result<Policy, ConfigError> {
        compile(text, Path::new("test.gitleaks.toml"), Origin::CommandLine)
    }

    #[test]
    fn detects_gitleaks_configs_by_name_and_content() {
        assert!(is_gitleaks_config(Path::new(".gitleaks.toml"), ""));
        assert!(is_gitleaks_config(
            Path::new("x.toml"),
            "[[rules]]\nid = \"a\"\n"
        ));
        assert!(is_gitleaks_config(
            Path::new("x.toml"),
            "[extend]\nuseDefault = true\n"
        ));
        assert!(!is_gitleaks_config(
            Path::new("keyhound.toml"),
            "[rules]\nuse_default = true\n"
        ));
        assert!(!is_gitleaks_config(
            Path::new("keyhound.toml"),
            "[[rule]]\nid = \"a\"\n"
        ));
    }

    #[test]
    fn secret_group_defaults_to_the_first_group_that_matched() {
        let policy = compile_str(
            "[[rules]]\nid = \"a\"\nregex = '''(x)|(y)'''\n\n[[rules]]\nid = \"b\"\nregex = '''(x)(y)'''\nsecretGroup = 2\n\n[[rules]]\nid = \"c\"\nregex = 'xyz'\n",
        )
        .unwrap();
        let group = |id: &str| policy.pack.get(id).unwrap().secret_group;
        assert_eq!(group("a"), Some(SecretGroup::FirstMatched));
        assert_eq!(group("b"), Some(SecretGroup::Index(2)));
        assert_eq!(group("c"), None);
    }

    #[test]
    fn errors_name_the_rule_and_field() {
        let err = compile_str("[[rules]]\nid = \"a\"\nregex = '(x)'\nsecretGroup = 3\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("rule `a`") && err.contains("secretGroup"),
            "{err}"
        );
        let err = compile_str("[[rules]]\nid = \"b\"\nregex = '(?<=x)y'\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("rule `b`") && err.contains("regex"), "{err}");
        let err = compile_str(
            "[[rules]]\nid = \"c\"\nregex = 'x'\n[[rules.allowlists]]\nregexTarget = \"file\"\nregexes = ['a']\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("rule `c`") && err.contains("regexTarget"),
            "{err}"
        );
    }

    #[test]
    fn unsupported_fields_are_noted_once() {
        let policy = compile_str(
            "[[rules]]\nid = \"a\"\nregex = 'x'\ntags = [\"t\"]\n\n[[rules]]\nid = \"b\"\nregex = 'y'\ntags = [\"t\"]\n",
        )
        .unwrap();
        assert_eq!(policy.notes.len(), 1, "{:?}", policy.notes);
        assert!(
            policy.notes[0].contains("rules.tags (rule a, b)"),
            "{:?}",
            policy.notes
        );
    }

    #[test]
    fn gitleaksignore_entries_parse_from_the_right() {
        let commit = "0123456789abcdef0123456789abcdef01234567";
        let with_commit =
            LocationFingerprint::parse(&format!("{commit}:src/a:b.rs:demo-rule:12")).unwrap();
        assert_eq!(with_commit.commit.as_deref(), Some(commit));
        assert_eq!(with_commit.path, "src/a:b.rs");
        assert_eq!(
            (with_commit.rule.as_str(), with_commit.line),
            ("demo-rule", 12)
        );
        let bare = LocationFingerprint::parse("config/.env:demo-rule:3").unwrap();
        assert_eq!((bare.commit, bare.path.as_str()), (None, "config/.env"));
        assert!(parse_ignore("# c\n\nnot-a-fingerprint\n", "f")
            .unwrap_err()
            .contains("f:3"));
    }
}
