//! Rules: the schema of `rules/*.toml`, the embedded pack, and validation of user rule files.
//!
//! The pack is parsed from TOML at build time (`build.rs`) and a rule's regex is compiled lazily
//! by the engine (on its first keyword hit), so loading the pack only checks fields; every
//! embedded regex is compiled by the tests. User-supplied rules are compiled once at load time
//! so that a broken pattern is refused up front with its file and rule named.

pub mod check;
mod schema;
pub mod templates;

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

use regex::bytes::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::validate::spec::Validator;

pub use schema::{RawRule, RawRuleFile, RawValidator};

include!(concat!(env!("OUT_DIR"), "/embedded_rules.rs"));

/// A rule of the embedded pack, parsed from its TOML file by `build.rs`: the fields of
/// `RawRule`, as static data.
pub struct EmbeddedRule {
    id: &'static str,
    name: &'static str,
    provider: &'static str,
    description: &'static str,
    keywords: &'static [&'static str],
    regex: &'static str,
    severity: &'static str,
    confidence: &'static str,
    revoke_url: &'static str,
    rotation: &'static [&'static str],
    examples: &'static [&'static str],
    negative_examples: &'static [&'static str],
    min_entropy_bits: Option<f64>,
    min_shannon: Option<f64>,
    checksum: Option<&'static str>,
    public: bool,
    multiline: bool,
    kind: Option<&'static str>,
    validate: Option<EmbeddedValidator>,
}

/// A `[rule.validate]` table as build.rs embeds it.
#[derive(Debug)]
pub struct EmbeddedValidator {
    docs: &'static str,
    code: Option<&'static str>,
    method: Option<&'static str>,
    url: Option<&'static str>,
    headers: &'static [(&'static str, &'static str)],
    basic_auth: &'static [&'static str],
    body: Option<&'static str>,
    live: &'static [u16],
    invalid: &'static [u16],
    ok: Option<&'static str>,
    error: Option<&'static str>,
    invalid_errors: &'static [&'static str],
    identity: &'static [(&'static str, &'static str)],
    companion: Option<&'static str>,
}

impl EmbeddedValidator {
    fn to_raw(&self) -> RawValidator {
        let strings = |list: &[&str]| list.iter().map(|s| s.to_string()).collect();
        let owned = |v: Option<&str>| v.map(str::to_string);
        let map = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        RawValidator {
            docs: self.docs.into(),
            code: owned(self.code),
            method: owned(self.method),
            url: owned(self.url),
            headers: map(self.headers),
            basic_auth: strings(self.basic_auth),
            body: owned(self.body),
            live: self.live.to_vec(),
            invalid: self.invalid.to_vec(),
            ok: owned(self.ok),
            error: owned(self.error),
            invalid_errors: strings(self.invalid_errors),
            identity: map(self.identity),
            companion: owned(self.companion),
        }
    }
}

impl EmbeddedRule {
    fn to_raw(&self) -> RawRule {
        let strings = |list: &[&str]| list.iter().map(|s| s.to_string()).collect();
        RawRule {
            id: self.id.into(),
            name: self.name.into(),
            provider: self.provider.into(),
            description: self.description.into(),
            keywords: strings(self.keywords),
            regex: self.regex.into(),
            severity: self.severity.into(),
            confidence: self.confidence.into(),
            revoke_url: self.revoke_url.into(),
            rotation: strings(self.rotation),
            examples: strings(self.examples),
            negative_examples: strings(self.negative_examples),
            min_entropy_bits: self.min_entropy_bits,
            min_shannon: self.min_shannon,
            checksum: self.checksum.map(Into::into),
            public: self.public,
            multiline: self.multiline,
            kind: self.kind.map(Into::into),
            validate: self.validate.as_ref().map(EmbeddedValidator::to_raw),
        }
    }
}

/// Upper bound on a compiled rule regex, so a pathological user pattern is refused, not run.
pub const REGEX_SIZE_LIMIT: usize = 4 * 1024 * 1024;

/// An invalid rule file or rule, naming where the problem is.
#[derive(Debug, Error)]
pub enum RuleError {
    #[error("{file}: {message}")]
    Parse { file: String, message: String },
    #[error("{file}: rule `{rule}`: field `{field}`: {message}")]
    Field {
        file: String,
        rule: String,
        field: &'static str,
        message: String,
    },
}

/// How bad a leak of this kind of secret is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    /// One step lower (`Low` stays `Low`).
    pub fn lower(self) -> Severity {
        match self {
            Severity::Critical => Severity::High,
            Severity::High => Severity::Medium,
            Severity::Medium | Severity::Low => Severity::Low,
        }
    }
}

/// How sure a match of this rule is to be a real secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    Low,
    Medium,
    High,
}

/// Offline checksum a token format carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checksum {
    /// GitHub's `prefix_` + 30 base62 + CRC32 of those in 6 base62 digits.
    GithubCrc32,
    /// npm's access tokens, which use GitHub's scheme with the `npm_` prefix.
    NpmCrc32,
    /// HTTP Basic credentials: base64 of `user:password` (RFC 7617) that names a secret.
    BasicCredentials,
}

/// Whether a rule targets a known token format or is the keyword-and-entropy generic detector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleKind {
    Token,
    Generic,
    /// A password a person chose, however weak: reported only on request (`--include-weak`),
    /// judged as a literal (placeholders, references, code and benign shapes rejected), not
    /// by its entropy.
    Weak,
}

macro_rules! parse_enum {
    ($ty:ty, $($text:literal => $val:expr),+ $(,)?) => {
        impl FromStr for $ty {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($text => Ok($val),)+
                    _ => Err(format!("`{}` is not one of: {}", crate::policy_file::excerpt(s), [$($text),+].join(", "))),
                }
            }
        }
    };
}
parse_enum!(Severity, "critical" => Severity::Critical, "high" => Severity::High, "medium" => Severity::Medium, "low" => Severity::Low);
parse_enum!(Confidence, "high" => Confidence::High, "medium" => Confidence::Medium, "low" => Confidence::Low);
parse_enum!(
    Checksum,
    "github-crc32" => Checksum::GithubCrc32,
    "npm-crc32" => Checksum::NpmCrc32,
    "basic-credentials" => Checksum::BasicCredentials,
);
parse_enum!(RuleKind, "token" => RuleKind::Token, "generic" => RuleKind::Generic, "weak" => RuleKind::Weak);

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
        })
    }
}

impl fmt::Display for Confidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Confidence::High => "high",
            Confidence::Medium => "medium",
            Confidence::Low => "low",
        })
    }
}

/// Which capture group holds the secret when a rule's regex has no group named `secret`
/// (rules translated from gitleaks, whose `secretGroup` is a number).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretGroup {
    /// Group N (gitleaks' `secretGroup = N`).
    Index(usize),
    /// The first group that matched something (gitleaks' choice when `secretGroup` is unset).
    FirstMatched,
}

/// A validated rule. Its regex source is kept; the engine compiles it on demand.
#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub name: String,
    pub provider: String,
    pub description: String,
    /// Literals that wake the rule (the prefilter). Empty only for rules translated from a
    /// gitleaks config without keywords: those run over every input, as gitleaks runs them.
    pub keywords: Vec<String>,
    pub regex: String,
    /// The secret's capture group when the regex has no group named `secret`; `None` means
    /// the whole match.
    pub secret_group: Option<SecretGroup>,
    pub severity: Severity,
    pub confidence: Confidence,
    pub revoke_url: String,
    pub rotation: Vec<String>,
    pub examples: Vec<String>,
    pub negative_examples: Vec<String>,
    pub min_entropy_bits: Option<f64>,
    pub min_shannon: Option<f64>,
    pub checksum: Option<Checksum>,
    pub public: bool,
    pub multiline: bool,
    /// Run the regex over the whole input once any keyword occurs anywhere in it (always,
    /// without keywords), as gitleaks runs its rules; only rules from gitleaks configs.
    pub whole_input: bool,
    pub kind: RuleKind,
    /// File the rule came from (`stripe.toml`, or a user's config path).
    pub source: String,
    /// How `--validate` asks the provider about a found secret.
    pub validate: Option<Validator>,
}

impl Rule {
    /// Checks every field of a raw rule; `file` names the source in errors.
    pub fn from_raw(raw: RawRule, file: &str) -> Result<Rule, RuleError> {
        let err = |field: &'static str, message: String| RuleError::Field {
            file: file.to_string(),
            rule: raw.id.clone(),
            field,
            message,
        };
        if raw.id.is_empty()
            || !raw
                .id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(err("id", "must be kebab-case: a-z, 0-9 and '-'".into()));
        }
        for (field, value) in [
            ("name", &raw.name),
            ("provider", &raw.provider),
            ("description", &raw.description),
        ] {
            if value.trim().is_empty() {
                return Err(err(field, "must not be empty".into()));
            }
        }
        if raw.keywords.is_empty() || raw.keywords.iter().any(|k| k.trim().is_empty()) {
            return Err(err(
                "keywords",
                "needs at least one non-empty keyword (the prefilter)".into(),
            ));
        }
        // A revoke URL is a place to revoke the secret, never a page about it; a secret with
        // no such place (a private key, a JWT) says in `rotation` what to replace and where.
        if raw.revoke_url.trim().is_empty() {
            if raw.rotation.iter().all(|step| step.trim().is_empty()) {
                return Err(err(
                    "rotation",
                    "a rule with no revoke_url must say in `rotation` what to replace and where it is trusted".into(),
                ));
            }
        } else if !raw.revoke_url.starts_with("https://") {
            return Err(err("revoke_url", "must be an https:// URL".into()));
        }
        let severity = raw.severity.parse().map_err(|m| err("severity", m))?;
        let confidence = raw.confidence.parse().map_err(|m| err("confidence", m))?;
        let checksum = raw
            .checksum
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(|m| err("checksum", m))?;
        let kind = raw
            .kind
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(|m| err("kind", m))?
            .unwrap_or(RuleKind::Token);
        if raw.validate.is_some() && kind != RuleKind::Token {
            return Err(err(
                "validate",
                "a generic or weak rule cannot have a validator: its provider is unknown".into(),
            ));
        }
        let validate = raw
            .validate
            .map(Validator::from_raw)
            .transpose()
            .map_err(|m| err("validate", m))?;
        Ok(Rule {
            id: raw.id,
            name: raw.name,
            provider: raw.provider,
            description: raw.description,
            keywords: raw.keywords,
            regex: raw.regex,
            secret_group: None,
            severity,
            confidence,
            revoke_url: raw.revoke_url,
            rotation: raw.rotation,
            examples: raw.examples,
            negative_examples: raw.negative_examples,
            min_entropy_bits: raw.min_entropy_bits,
            min_shannon: raw.min_shannon,
            checksum,
            public: raw.public,
            multiline: raw.multiline,
            whole_input: false,
            kind,
            source: file.to_string(),
            validate,
        })
    }

    /// Whether the rule's prose (name, provider, description, revoke URL, rotation steps) is
    /// the embedded pack's own, word for word. Anything else came from a user's or a
    /// repository's config, whatever file it names as its source, and reports render it as
    /// untrusted text (no links, no HTML).
    pub fn text_is_from_pack(&self) -> bool {
        EMBEDDED_RULES
            .iter()
            .filter(|(file, _)| *file == self.source)
            .flat_map(|(_, rules)| rules.iter())
            .any(|e| {
                e.id == self.id
                    && e.name == self.name
                    && e.provider == self.provider
                    && e.description == self.description
                    && e.revoke_url == self.revoke_url
                    && e.rotation
                        .iter()
                        .copied()
                        .eq(self.rotation.iter().map(String::as_str))
            })
    }

    /// Compiles the rule's regex, with the size limit that keeps every search linear and
    /// bounded. Classes are ASCII (`\w`, `\s`, `\d`, case folding): secrets are ASCII, and
    /// Unicode classes make the automata many times larger and slower to build. A regex that
    /// cannot be ASCII-only (a non-ASCII character in a class, `\p{L}`, as gitleaks configs
    /// may hold) is compiled with Unicode on.
    pub fn compile(&self) -> Result<Regex, regex::Error> {
        let build = |unicode| {
            RegexBuilder::new(&self.regex)
                .unicode(unicode)
                .size_limit(REGEX_SIZE_LIMIT)
                .dfa_size_limit(REGEX_SIZE_LIMIT)
                .build()
        };
        build(false).or_else(|_| build(true))
    }
}

/// An ordered, id-unique set of rules.
#[derive(Debug, Clone, Default)]
pub struct RulePack {
    rules: Vec<Rule>,
}

impl RulePack {
    /// The pack embedded in the binary at build time.
    pub fn embedded() -> Result<RulePack, RuleError> {
        let mut pack = RulePack::default();
        let mut ids = HashSet::new();
        for (file, rules) in EMBEDDED_RULES {
            for rule in rules.iter() {
                pack.push_unique(Rule::from_raw(rule.to_raw(), file)?, file, &mut ids)?;
            }
        }
        Ok(pack)
    }

    /// Adds rules, refusing a duplicate id.
    pub fn extend(&mut self, rules: Vec<Rule>, file: &str) -> Result<(), RuleError> {
        let mut ids = self.rules.iter().map(|r| r.id.clone()).collect();
        for rule in rules {
            self.push_unique(rule, file, &mut ids)?;
        }
        Ok(())
    }

    /// Adds one rule whose id is not in `ids` (the ids already in the pack), and records it.
    fn push_unique(
        &mut self,
        rule: Rule,
        file: &str,
        ids: &mut HashSet<String>,
    ) -> Result<(), RuleError> {
        if !ids.insert(rule.id.clone()) {
            return Err(RuleError::Field {
                file: file.to_string(),
                rule: rule.id,
                field: "id",
                message: "another rule already has this id".into(),
            });
        }
        self.rules.push(rule);
        Ok(())
    }

    /// Replaces a rule of the same id, or adds it.
    pub fn upsert(&mut self, rule: Rule) {
        match self.rules.iter_mut().find(|r| r.id == rule.id) {
            Some(slot) => *slot = rule,
            None => self.rules.push(rule),
        }
    }

    /// Keeps only the rules for which `keep` is true.
    pub fn retain(&mut self, keep: impl FnMut(&Rule) -> bool) {
        self.rules.retain(keep);
    }

    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    pub fn rules_mut(&mut self) -> &mut [Rule] {
        &mut self.rules
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

/// Parses and validates one rule file's text.
pub fn parse_rule_file(text: &str, file: &str) -> Result<Vec<Rule>, RuleError> {
    let raw: RawRuleFile = toml::from_str(text).map_err(|e| RuleError::Parse {
        file: file.to_string(),
        message: e.to_string(),
    })?;
    raw.rule
        .into_iter()
        .map(|r| Rule::from_raw(r, file))
        .collect()
}

/// Compiles every rule now: for user-supplied rules, so a bad or oversized pattern is refused
/// at load time with its file and rule named.
pub fn compile_all(rules: &[Rule]) -> Result<(), RuleError> {
    for rule in rules {
        rule.compile().map_err(|e| RuleError::Field {
            file: rule.source.clone(),
            rule: rule.id.clone(),
            field: "regex",
            message: e.to_string(),
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule_file(regex: &str) -> String {
        format!(
            "[[rule]]\nid = \"user-rule\"\nname = \"n\"\nprovider = \"p\"\ndescription = \"d\"\n\
             keywords = [\"k\"]\nregex = '''{regex}'''\nseverity = \"low\"\nconfidence = \"low\"\n\
             revoke_url = \"https://example.invalid\"\n"
        )
    }

    #[test]
    fn huge_counted_repetition_is_refused_by_the_size_limit() {
        let rules = parse_rule_file(&rule_file(r"\w{1000}{1000}"), "user.toml").unwrap();
        let err = compile_all(&rules).unwrap_err().to_string();
        assert!(
            err.starts_with("user.toml: rule `user-rule`: field `regex`:")
                && err.contains("size limit"),
            "{err}"
        );
    }

    /// ASCII classes by default, but a regex that needs Unicode (as gitleaks configs may) still
    /// compiles, and matches what it says.
    #[test]
    fn regexes_that_need_unicode_compile() {
        for (regex, text) in [
            ("key=[^\"'\u{2019}]{4}", "key=abc\u{e9}"),
            (r"\p{L}{3}", "\u{e9}t\u{e9}"),
        ] {
            let rules = parse_rule_file(&rule_file(regex), "user.toml").unwrap();
            compile_all(&rules).unwrap();
            let regex = rules[0].compile().unwrap();
            assert!(regex.is_match(text.as_bytes()), "{text}");
        }
        let ascii = parse_rule_file(&rule_file(r"^\w$"), "user.toml").unwrap();
        assert!(!ascii[0].compile().unwrap().is_match("\u{e9}".as_bytes()));
    }

    #[test]
    fn nested_quantifiers_compile_and_search_in_linear_time() {
        let rules = parse_rule_file(&rule_file(r"(a*)*b"), "user.toml").unwrap();
        compile_all(&rules).unwrap();
        let regex = rules[0].compile().unwrap();
        let started = std::time::Instant::now();
        assert!(!regex.is_match(&vec![b'a'; 1 << 20]));
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }
}
