//! The serde shape of a rule file, exactly as written in TOML; `RulePack` validates it.

use serde::Deserialize;

/// One rule file: a list of `[[rule]]` tables.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRuleFile {
    #[serde(default)]
    pub rule: Vec<RawRule>,
}

/// A rule as written; every field is checked by `Rule::from_raw`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    pub id: String,
    pub name: String,
    pub provider: String,
    pub description: String,
    pub keywords: Vec<String>,
    pub regex: String,
    pub severity: String,
    pub confidence: String,
    /// Where to revoke the secret; omitted when there is no one place (then `rotation` says).
    #[serde(default)]
    pub revoke_url: String,
    #[serde(default)]
    pub rotation: Vec<String>,
    #[serde(default)]
    pub examples: Vec<String>,
    #[serde(default)]
    pub negative_examples: Vec<String>,
    pub min_entropy_bits: Option<f64>,
    pub min_shannon: Option<f64>,
    pub checksum: Option<String>,
    #[serde(default)]
    pub public: bool,
    #[serde(default)]
    pub multiline: bool,
    pub kind: Option<String>,
}
