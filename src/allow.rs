//! Allowlists: what not to report. Files never scanned (lock files and vendored code by
//! default, plus the config's path globs); exemptions that drop a match by its path, secret,
//! regex match, line or commit, for every rule or for some, when any (or all) of their criteria
//! hold; and inline `keyhound:allow` comments that silence one line (optionally for one rule:
//! `keyhound:allow:RULE-ID`).

use globset::{Glob, GlobSet, GlobSetBuilder};
use std::ops::Range;

use regex::bytes::{Regex, RegexBuilder};

use crate::rules::REGEX_SIZE_LIMIT;
use serde::Deserialize;

/// Paths skipped unless `[allowlist] use_default_paths = false`: lock files, whose integrity
/// hashes look random. Minified bundles and source maps are deliberately absent: build steps
/// inline secrets into them (see docs/configuration.md).
pub const DEFAULT_PATHS: &[&str] = &[
    "**/package-lock.json",
    "**/npm-shrinkwrap.json",
    "**/yarn.lock",
    "**/pnpm-lock.yaml",
    "**/bun.lock",
    "**/Cargo.lock",
    "**/go.sum",
    "**/go.work.sum",
    "**/poetry.lock",
    "**/Pipfile.lock",
    "**/uv.lock",
    "**/composer.lock",
    "**/Gemfile.lock",
    "**/Podfile.lock",
    "**/pubspec.lock",
    "**/mix.lock",
    "**/packages.lock.json",
    "**/gradle.lockfile",
    "**/flake.lock",
    "**/Package.resolved",
];

/// Third-party code directories, unless `use_default_paths = false`: other people's code and
/// their test values, searched for private keys only in directory and staged scans (a key file
/// is a key wherever it sits); history walks skip them whole.
pub const VENDORED_PATHS: &[&str] = &["**/vendor/**", "**/node_modules/**"];

/// The inline marker; `gitleaks:allow` is honoured too, for teams switching over.
const INLINE_MARKERS: &[&[u8]] = &[b"keyhound:allow", b"gitleaks:allow"];

/// What an allowlist's `regexes` are matched against.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    /// The secret alone.
    #[default]
    Secret,
    /// The rule's whole regex match (the secret and what the rule matched around it).
    Match,
    /// The line holding the secret.
    Line,
}

/// How an allowlist's criteria combine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Condition {
    /// Any one criterion allows a match.
    #[default]
    Or,
    /// Every criterion given must hold.
    And,
}

/// An `[allowlist]` or `[[rule_allowlist]]` table as written.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAllowlist {
    /// Rule ids the table applies to (`[[rule_allowlist]]` only, and required there).
    #[serde(default)]
    pub rules: Vec<String>,
    /// Why the table exists, for the reader of the config.
    pub description: Option<String>,
    #[serde(default)]
    pub condition: Condition,
    /// Globs over paths relative to the scanned root (`tests/**`, `**/*.lock`).
    #[serde(default)]
    pub paths: Vec<String>,
    /// Regexes over paths relative to the scanned root (what gitleaks' `paths` are).
    #[serde(default)]
    pub path_regexes: Vec<String>,
    /// Regexes; a secret matching one is not reported.
    #[serde(default)]
    pub secrets: Vec<String>,
    /// Regexes matched against `target`.
    #[serde(default)]
    pub regexes: Vec<String>,
    #[serde(default)]
    pub target: Target,
    /// Words; a secret containing one (case-insensitively) is not reported.
    #[serde(default)]
    pub stopwords: Vec<String>,
    /// Commit ids, full or abbreviated (history scans): secrets a listed commit introduced.
    #[serde(default)]
    pub commits: Vec<String>,
    /// `[allowlist]` only: whether to skip `DEFAULT_PATHS` (default true).
    pub use_default_paths: Option<bool>,
}

impl RawAllowlist {
    /// Whether the table gives anything to match (one with only `use_default_paths` does not).
    pub fn has_criteria(&self) -> bool {
        [
            &self.paths,
            &self.path_regexes,
            &self.secrets,
            &self.regexes,
            &self.stopwords,
            &self.commits,
        ]
        .iter()
        .any(|list| !list.is_empty())
    }
}

/// A match as the allowlists see it.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    pub rule: &'a str,
    /// Relative, `/`-separated.
    pub path: &'a str,
    pub secret: &'a [u8],
    /// The rule's whole regex match.
    pub matched: &'a [u8],
    /// The line holding the secret, without its newline.
    pub line: &'a [u8],
}

/// Globs and regexes over paths.
#[derive(Debug, Default)]
struct PathMatcher {
    globs: Option<GlobSet>,
    regexes: Vec<regex::Regex>,
}

impl PathMatcher {
    fn is_empty(&self) -> bool {
        self.globs.is_none() && self.regexes.is_empty()
    }

    fn is_match(&self, path: &str) -> bool {
        self.globs.as_ref().is_some_and(|set| set.is_match(path))
            || self.regexes.iter().any(|r| r.is_match(path))
    }
}

/// Builds a glob set; `None` when there are no globs. Errors name the offending glob.
fn glob_set<S: AsRef<str>>(globs: &[S]) -> Result<Option<GlobSet>, String> {
    if globs.is_empty() {
        return Ok(None);
    }
    let mut builder = GlobSetBuilder::new();
    for glob in globs {
        let glob = glob.as_ref();
        builder.add(Glob::new(glob).map_err(|e| format!("`{glob}`: {e}"))?);
    }
    builder.build().map(Some).map_err(|e| e.to_string())
}

/// One compiled allowlist table: the rules it covers (all when empty) and its criteria.
#[derive(Debug)]
pub struct Exemption {
    rules: Vec<String>,
    condition: Condition,
    paths: PathMatcher,
    secrets: Vec<Regex>,
    regexes: Vec<Regex>,
    target: Target,
    stopwords: Vec<String>,
    commits: Vec<String>,
}

impl Exemption {
    /// Validates and compiles `raw`. `field` names a sub-field as the user wrote the config
    /// (`rule_allowlist[2].regexes`, or gitleaks' names), so errors point at it. The
    /// table's `rules` are taken as given: the caller checks them against its rule pack.
    pub fn compile(
        raw: &RawAllowlist,
        field: &dyn Fn(&str) -> String,
    ) -> Result<Exemption, String> {
        let at = |name: &str, message: String| {
            format!("field `{}`: {message}", field(name).trim_end_matches('.'))
        };
        let regexes = |name: &str, list: &[String]| -> Result<Vec<Regex>, String> {
            list.iter()
                .map(|r| bounded_regex(r).map_err(|e| at(name, format!("`{r}`: {e}"))))
                .collect()
        };
        if !raw.has_criteria() {
            return Err(at(
                "",
                "has nothing to match: give paths, secrets, regexes, stopwords or commits".into(),
            ));
        }
        let path_regexes = raw
            .path_regexes
            .iter()
            .map(|r| regex::Regex::new(r).map_err(|e| at("path_regexes", format!("`{r}`: {e}"))))
            .collect::<Result<_, _>>()?;
        let exemption = Exemption {
            rules: raw.rules.clone(),
            condition: raw.condition,
            paths: PathMatcher {
                globs: glob_set(&raw.paths).map_err(|m| at("paths", m))?,
                regexes: path_regexes,
            },
            secrets: regexes("secrets", &raw.secrets)?,
            regexes: regexes("regexes", &raw.regexes)?,
            target: raw.target,
            stopwords: raw.stopwords.iter().map(|w| w.to_lowercase()).collect(),
            commits: raw
                .commits
                .iter()
                .map(|c| c.trim().to_ascii_lowercase())
                .collect(),
        };
        if let Some(bad) = exemption
            .commits
            .iter()
            .find(|c| c.len() < 7 || !c.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            return Err(at(
                "commits",
                format!("`{bad}` is not a commit id (7 to 64 hex digits)"),
            ));
        }
        if exemption.condition == Condition::And && !exemption.commits.is_empty() {
            // A history scan reads each blob once and learns its commits afterwards, so an
            // AND of a commit with what is known at match time cannot be decided.
            return Err(at(
                "commits",
                "cannot be combined with condition = \"and\"; use a separate allowlist".into(),
            ));
        }
        Ok(exemption)
    }

    fn covers(&self, rule: &str) -> bool {
        self.rules.is_empty() || self.rules.iter().any(|r| r == rule)
    }

    /// Whether every match in `path` is allowed whatever it is.
    fn covers_whole_file(&self, path: &str) -> bool {
        self.rules.is_empty() && self.condition == Condition::Or && self.paths.is_match(path)
    }

    /// Whether `c` is allowed. Commits are unknown while matching (see `allows_commit`): a
    /// commit criterion never holds here.
    fn allows(&self, c: &Candidate) -> bool {
        if !self.covers(c.rule) {
            return false;
        }
        let regex_target = match self.target {
            Target::Secret => c.secret,
            Target::Match => c.matched,
            Target::Line => c.line,
        };
        let checks = [
            (!self.paths.is_empty()).then(|| self.paths.is_match(c.path)),
            (!self.secrets.is_empty()).then(|| self.secrets.iter().any(|r| r.is_match(c.secret))),
            (!self.regexes.is_empty())
                .then(|| self.regexes.iter().any(|r| r.is_match(regex_target))),
            (!self.stopwords.is_empty()).then(|| contains_stopword(c.secret, &self.stopwords)),
            (!self.commits.is_empty()).then_some(false),
        ];
        let mut given = checks.into_iter().flatten();
        match self.condition {
            Condition::Or => given.any(|held| held),
            Condition::And => given.all(|held| held),
        }
    }
}

fn contains_stopword(secret: &[u8], stopwords: &[String]) -> bool {
    let lower = secret.to_ascii_lowercase();
    stopwords
        .iter()
        .any(|w| memchr::memmem::find(&lower, w.as_bytes()).is_some())
}

/// A gitleaks rule's `path`: the rule reports only in files whose path matches.
#[derive(Debug)]
pub struct RuleScope {
    rule: String,
    path: regex::Regex,
}

impl RuleScope {
    pub fn new(rule: &str, path: &str) -> Result<RuleScope, regex::Error> {
        Ok(RuleScope {
            rule: rule.to_string(),
            path: regex::Regex::new(path)?,
        })
    }
}

/// Which rules a path is scanned with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathScope {
    Everything,
    /// Private-key rules only (vendored code: `VENDORED_PATHS`).
    KeyMaterial,
    /// None: the file is not scanned.
    Nothing,
}

/// Everything a config allows, compiled.
#[derive(Debug, Default)]
pub struct Allowlist {
    default_paths: Option<GlobSet>,
    vendored_paths: Option<GlobSet>,
    exemptions: Vec<Exemption>,
    scopes: Vec<RuleScope>,
}

impl Allowlist {
    pub fn new(
        use_default_paths: bool,
        exemptions: Vec<Exemption>,
        scopes: Vec<RuleScope>,
    ) -> Self {
        Allowlist {
            default_paths: use_default_paths
                .then(|| glob_set(DEFAULT_PATHS).expect("default path globs are valid"))
                .flatten(),
            vendored_paths: use_default_paths
                .then(|| glob_set(VENDORED_PATHS).expect("vendored path globs are valid"))
                .flatten(),
            exemptions,
            scopes,
        }
    }

    /// Whether `path` (relative, `/`-separated) is left out of a scan for every rule (history
    /// walks leave it out altogether; see `path_scope` for which rules the others apply).
    pub fn allows_path(&self, path: &str) -> bool {
        self.path_scope(path) != PathScope::Everything
    }

    /// Which rules apply at `path` (relative, `/`-separated).
    pub fn path_scope(&self, path: &str) -> PathScope {
        let matches = |set: &Option<GlobSet>| set.as_ref().is_some_and(|set| set.is_match(path));
        if matches(&self.default_paths) || self.exemptions.iter().any(|e| e.covers_whole_file(path))
        {
            PathScope::Nothing
        } else if matches(&self.vendored_paths) {
            PathScope::KeyMaterial
        } else {
            PathScope::Everything
        }
    }

    /// Whether a match is allowed by an exemption, or falls outside its rule's scope.
    pub fn allows(&self, c: &Candidate) -> bool {
        self.exemptions.iter().any(|e| e.allows(c))
            || self
                .scopes
                .iter()
                .any(|s| s.rule == c.rule && !s.path.is_match(c.path))
    }

    /// Whether a finding of `rule` introduced by `commit` is allowed (history scans, after
    /// the commit is known). Only `condition = "or"` tables list commits.
    pub fn allows_commit(&self, rule: &str, commit: &str) -> bool {
        let commit = commit.to_ascii_lowercase();
        self.exemptions
            .iter()
            .any(|e| e.covers(rule) && e.commits.iter().any(|c| commit.starts_with(c.as_str())))
    }
}

/// Compiles a user's allowlist regex with the bound rule patterns have: small and linear.
fn bounded_regex(pattern: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .build()
}

/// Comment leaders: a line starting with one of these (after indentation) is a comment line.
const COMMENT_LEADERS: &[&[u8]] = &[b"#", b"//", b"/*", b"*", b"--", b";", b"<!--", b"%", b"'"];

/// Whether the line holding `offset` carries an inline allow marker covering `rule_id`, or the
/// line before it is a comment line carrying one (a trailing marker on a code line covers only
/// its own line).
pub fn inline_allowed(hay: &[u8], offset: usize, rule_id: &str) -> bool {
    LineMarkers::of_line(hay, line_bounds(hay, offset)).covers(rule_id)
}

/// The start and end (exclusive, before the `\n`) of the line holding `offset`.
pub fn line_bounds(hay: &[u8], offset: usize) -> Range<usize> {
    let start = memchr::memrchr(b'\n', &hay[..offset]).map_or(0, |i| i + 1);
    let end = memchr::memchr(b'\n', &hay[offset..]).map_or(hay.len(), |i| offset + i);
    start..end
}

/// The inline allow markers that cover one line. Found once per line and then asked per
/// match: a minified file's single line can hold thousands of matches, and searching the whole
/// line for each of them would be quadratic.
#[derive(Debug, Default)]
pub struct LineMarkers {
    /// An unscoped marker: every rule is allowed.
    all: bool,
    /// Rule ids named by scoped markers (`keyhound:allow:RULE-ID`).
    rules: Vec<Vec<u8>>,
}

impl LineMarkers {
    /// Markers on `line` (a range of `hay` as given by `line_bounds`) and on the comment line
    /// just before it.
    pub fn of_line(hay: &[u8], line: Range<usize>) -> LineMarkers {
        let mut markers = LineMarkers::default();
        markers.add(&hay[line.clone()]);
        if line.start > 0 {
            let prev_start = memchr::memrchr(b'\n', &hay[..line.start - 1]).map_or(0, |i| i + 1);
            let prev = hay[prev_start..line.start - 1].trim_ascii_start();
            if COMMENT_LEADERS.iter().any(|c| prev.starts_with(c)) {
                markers.add(prev);
            }
        }
        markers
    }

    fn add(&mut self, text: &[u8]) {
        for marker in INLINE_MARKERS {
            for at in memchr::memmem::find_iter(text, marker) {
                let rest = &text[at + marker.len()..];
                match rest.strip_prefix(b":") {
                    Some(scope) => {
                        let end = scope
                            .iter()
                            .position(|b| !(b.is_ascii_alphanumeric() || *b == b'-'))
                            .unwrap_or(scope.len());
                        self.rules.push(scope[..end].to_vec());
                    }
                    None => self.all = true,
                }
            }
        }
    }

    /// Whether these markers allow a match of `rule_id`.
    pub fn covers(&self, rule_id: &str) -> bool {
        self.all || self.rules.iter().any(|r| r == rule_id.as_bytes())
    }

    /// The rule ids named by scoped markers that `is_rule` does not know: a typo, so the
    /// marker silences nothing.
    pub fn unknown_rules<'m>(
        &'m self,
        is_rule: impl Fn(&str) -> bool + 'm,
    ) -> impl Iterator<Item = String> + 'm {
        self.rules
            .iter()
            .map(|r| String::from_utf8_lossy(r).into_owned())
            .filter(move |r| !is_rule(r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_marker_on_line_or_comment_line_before() {
        let hay = b"a\n  # keyhound:allow\nkey=SECRET\nother=SECRET\n";
        let first = memchr::memmem::find(hay, b"SECRET").unwrap();
        let second = memchr::memmem::rfind(hay, b"SECRET").unwrap();
        assert!(inline_allowed(hay, first, "any-rule"));
        assert!(!inline_allowed(hay, second, "any-rule"));
    }

    #[test]
    fn trailing_marker_does_not_cover_the_next_line() {
        let hay = b"a = SECRET // keyhound:allow\nb = SECRET\n";
        let second = memchr::memmem::rfind(hay, b"SECRET").unwrap();
        assert!(inline_allowed(hay, 4, "any-rule"));
        assert!(!inline_allowed(hay, second, "any-rule"));
    }

    #[test]
    fn scoped_marker_covers_only_its_rule() {
        let hay = b"key=SECRET # keyhound:allow:stripe-live-secret-key\n";
        assert!(inline_allowed(hay, 4, "stripe-live-secret-key"));
        assert!(!inline_allowed(hay, 4, "generic-api-key"));
    }

    fn exemption(raw: RawAllowlist) -> Exemption {
        Exemption::compile(&raw, &|f| format!("allowlist.{f}")).unwrap()
    }

    fn candidate<'a>(
        rule: &'a str,
        path: &'a str,
        secret: &'a [u8],
        line: &'a [u8],
    ) -> Candidate<'a> {
        Candidate {
            rule,
            path,
            secret,
            matched: secret,
            line,
        }
    }

    #[test]
    fn path_globs_secrets_and_stopwords() {
        let allow = Allowlist::new(
            false,
            vec![exemption(RawAllowlist {
                paths: vec!["tests/**".into()],
                secrets: vec!["^EXAMPLE".into()],
                stopwords: vec!["fixture".into()],
                ..RawAllowlist::default()
            })],
            Vec::new(),
        );
        assert!(allow.allows_path("tests/a/b.rs"));
        assert!(!allow.allows_path("src/main.rs"));
        let at = |secret: &'static [u8]| candidate("r", "src/a", secret, b"");
        assert!(allow.allows(&at(b"EXAMPLE123")));
        assert!(allow.allows(&at(b"abcFIXTUREdef")));
        assert!(!allow.allows(&at(b"abc")));
    }

    #[test]
    fn default_paths_skip_lock_files_but_not_minified_bundles() {
        let allow = Allowlist::new(true, Vec::new(), Vec::new());
        assert!(allow.allows_path("package-lock.json"));
        assert!(allow.allows_path("services/web/go.sum"));
        assert!(allow.allows_path("a/vendor/lib/x.go"));
        assert_eq!(
            allow.path_scope("a/vendor/lib/x.go"),
            PathScope::KeyMaterial
        );
        assert_eq!(
            allow.path_scope("web/node_modules/x/k.pem"),
            PathScope::KeyMaterial
        );
        assert_eq!(allow.path_scope("vendor/go.sum"), PathScope::Nothing);
        assert_eq!(allow.path_scope("src/vendors.go"), PathScope::Everything);
        assert!(!allow.allows_path("public/app.min.js"));
        assert!(!Allowlist::new(false, Vec::new(), Vec::new()).allows_path("go.sum"));
    }

    #[test]
    fn rule_scoped_and_with_line_target() {
        let allow = Allowlist::new(
            false,
            vec![exemption(RawAllowlist {
                rules: vec!["demo".into()],
                condition: Condition::And,
                paths: vec!["docs/**".into()],
                regexes: vec!["(?i)sample".into()],
                target: Target::Line,
                ..RawAllowlist::default()
            })],
            Vec::new(),
        );
        assert!(
            !allow.allows_path("docs/a.md"),
            "a rule-scoped table never skips a file"
        );
        assert!(allow.allows(&candidate(
            "demo",
            "docs/a.md",
            b"s3cr3t",
            b"SAMPLE key: s3cr3t"
        )));
        assert!(!allow.allows(&candidate(
            "other",
            "docs/a.md",
            b"s3cr3t",
            b"SAMPLE key: s3cr3t"
        )));
        assert!(!allow.allows(&candidate(
            "demo",
            "src/a.rs",
            b"s3cr3t",
            b"SAMPLE key: s3cr3t"
        )));
        assert!(!allow.allows(&candidate("demo", "docs/a.md", b"s3cr3t", b"key: s3cr3t")));
    }

    #[test]
    fn commits_are_checked_after_the_scan_and_refused_under_and() {
        let allow = Allowlist::new(
            false,
            vec![exemption(RawAllowlist {
                commits: vec!["ABCDEF1".into()],
                ..RawAllowlist::default()
            })],
            Vec::new(),
        );
        assert!(!allow.allows(&candidate("r", "a", b"s", b"s")));
        assert!(allow.allows_commit("r", "abcdef1234567890abcdef1234567890abcdef12"));
        assert!(!allow.allows_commit("r", "1234567890abcdef1234567890abcdef12345678"));
        let err = Exemption::compile(
            &RawAllowlist {
                condition: Condition::And,
                commits: vec!["abcdef1".into()],
                paths: vec!["a".into()],
                ..RawAllowlist::default()
            },
            &|f| format!("x.{f}"),
        )
        .unwrap_err();
        assert!(err.contains("x.commits"), "{err}");
    }

    #[test]
    fn rule_scope_limits_a_rule_to_matching_paths() {
        let allow = Allowlist::new(
            false,
            Vec::new(),
            vec![RuleScope::new("tf-token", r"\.tf$").unwrap()],
        );
        assert!(!allow.allows(&candidate("tf-token", "main.tf", b"s", b"s")));
        assert!(allow.allows(&candidate("tf-token", "main.rs", b"s", b"s")));
        assert!(!allow.allows(&candidate("other", "main.rs", b"s", b"s")));
    }
}
