//! The serde shape of a rule file, exactly as written in TOML; `RulePack` validates it.

use std::collections::BTreeMap;

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
    /// How to ask the provider whether a found secret still works (`--validate` only).
    pub validate: Option<RawValidator>,
}

/// `[rule.validate]`: one read-only request to the provider's fixed HTTPS host, and how to
/// read its answer; or the name of a validator written in code (a signed request). Checked by
/// `validate::spec`; documented in rules/README.md and docs/validation.md.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawValidator {
    /// The provider's API documentation the request was written from.
    pub docs: String,
    /// A validator written in code (`aws-sts`, `google-service-account`) instead of a request.
    pub code: Option<String>,
    /// `GET` (the default), `POST` or `HEAD`.
    pub method: Option<String>,
    /// The `https://` URL, on a fixed literal host; `{secret}`/`{companion}` only in its path
    /// or query, percent-encoded.
    pub url: Option<String>,
    /// Header name → value; values may hold `{secret}`/`{companion}`.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// `[user, password]` for HTTP Basic authentication, placeholders allowed.
    #[serde(default)]
    pub basic_auth: Vec<String>,
    /// The request body; placeholders are escaped for its Content-Type (JSON, form or raw).
    pub body: Option<String>,
    /// Status codes meaning the secret works (default 200).
    #[serde(default)]
    pub live: Vec<u16>,
    /// Status codes meaning the provider refused it (default 401).
    #[serde(default)]
    pub invalid: Vec<u16>,
    /// A JSON pointer that must be `true` in a live-status answer for it to mean live.
    pub ok: Option<String>,
    /// A JSON pointer to the provider's error code when `ok` is false.
    pub error: Option<String>,
    /// Error codes (at `error`) meaning the secret is revoked or never valid.
    #[serde(default)]
    pub invalid_errors: Vec<String>,
    /// Label → JSON pointer (`/login`) or `header:Name` for the identity shown when live.
    #[serde(default)]
    pub identity: BTreeMap<String, String>,
    /// The rule whose finding in the same file supplies `{companion}` (the other half of a
    /// pair: an account SID beside its token).
    pub companion: Option<String>,
}
