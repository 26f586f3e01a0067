//! Command-line definitions (clap) and nothing else: `app` turns them into a validated run.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::audit::shard::Shard;
use crate::path_context::PathContext;
use crate::rules::Severity;

/// Finds leaked API keys and other secrets in files, git history and staged changes, and says
/// how to rotate them. Never prints a raw secret unless asked, never touches the network
/// unless --validate asks.
#[derive(Debug, Parser)]
#[command(name = "keyhound", version, about, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan files on disk (default: the current directory), honouring .gitignore.
    Dir(DirArgs),
    /// Scan git history: every distinct blob reachable from the chosen refs, once, with the
    /// commit that introduced each secret; of one repository or of many (an audit).
    Git(GitArgs),
    /// Merge keyhound JSON or JSON Lines reports (the shards of an audit) into one report:
    /// each secret once, with every place it was seen and its earliest commit.
    Merge(MergeArgs),
    /// Scan what the next commit would record (the index against HEAD), reporting secrets on
    /// added lines only: the pre-commit check.
    Staged(StagedArgs),
    /// Write a git hook that runs keyhound (pre-commit by default), for repositories that do
    /// not use the pre-commit framework.
    InstallHook(InstallHookArgs),
    /// Scan the commits a push is about to send (git's pre-push hook protocol, or the
    /// pre-commit framework's PRE_COMMIT_FROM_REF/TO_REF); by hand, what no remote has yet.
    PrePush(PrePushArgs),
    /// Scan what a CI run brings (a push's, pull request's or merge request's commits, the
    /// whole history on a schedule) in GitHub Actions, GitLab CI, Azure Pipelines or Bitbucket
    /// Pipelines; report as that system shows findings, and fail on severity.
    Ci(CiArgs),
    /// Scan standard input.
    Stdin(StdinArgs),
    /// Work with the rule pack: list, show one rule, or check a rule file's examples.
    Rules(RulesArgs),
    /// Scan as `dir` or `stdin` would, and write today's findings as a baseline (rule id and
    /// fingerprint of each secret) instead of a report; `--baseline FILE` hides them later.
    Baseline(BaselineArgs),
    /// Check one key read from standard input (never from the command line, where it would
    /// land in shell history): which rules match it, its entropy, and whether it clears the
    /// 128-bit floor. Exit 0 if it does, 1 if not.
    Keycheck,
}

#[derive(Debug, Args)]
pub struct BaselineArgs {
    #[command(subcommand)]
    pub target: BaselineTarget,
}

/// What `keyhound baseline` scans: the same targets, with the same arguments, as the scan
/// commands.
#[derive(Debug, Subcommand)]
pub enum BaselineTarget {
    /// Files on disk, as `keyhound dir` scans them.
    Dir(DirArgs),
    /// Standard input, as `keyhound stdin` reads it.
    Stdin(StdinArgs),
    /// Git history, as `keyhound git` scans it.
    Git(GitArgs),
}

#[derive(Debug, Args)]
pub struct DirArgs {
    /// Files or directories to scan; `-` alone reads standard input, as `keyhound stdin`.
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// Also scan the untracked files git ignores (.gitignore, .git/info/exclude,
    /// core.excludesFile). Without it they are left out, and counted; tracked files are always
    /// scanned, and outside a git work tree nothing is ignored.
    #[arg(long)]
    pub no_ignore: bool,
}

#[derive(Debug, Args)]
pub struct GitArgs {
    /// Repositories to scan (default: the current one): working trees, bare repositories, or
    /// directories inside one; or clone URLs, cloned first. One local repository is judged by
    /// its own config and ignore files; several, a --repos-from list or a URL, by --config
    /// (else the embedded rules) and --baseline only.
    #[arg(value_name = "REPO")]
    pub repos: Vec<PathBuf>,
    /// Also scan the repositories listed in FILE, one path or clone URL a line (`#` comments);
    /// `-` reads the list from standard input.
    #[arg(long, value_name = "FILE")]
    pub repos_from: Option<PathBuf>,
    /// Where clone URLs are cloned (bare); a clone kept there by an earlier run is fetched
    /// again instead. Default: keyhound-clones in the temporary directory.
    #[arg(long, value_name = "DIR")]
    pub clone_dir: Option<PathBuf>,
    /// Keep clones after the scan (by default each is deleted once scanned).
    #[arg(long)]
    pub keep_clones: bool,
    /// Scan only shard K of N: of several repositories, those whose name hashes to K; of one
    /// repository, the blobs whose id does. N processes given 1/N … N/N cover everything once;
    /// `keyhound merge` folds their reports into one.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<Shard>,
    /// Remember in DIR which blobs were scanned with these rules, and what they held: the next
    /// run reads only new blobs (changed rules or detection flags start afresh).
    #[arg(long, value_name = "DIR")]
    pub cache: Option<PathBuf>,
    /// Scan only these local (or remote-tracking) branches and their history.
    #[arg(long, value_name = "NAME", num_args = 1.., conflicts_with_all = ["all", "refs"])]
    pub branch: Vec<String>,
    /// Scan every ref, review refs too: GitHub's refs/pull/* and GitLab's
    /// refs/merge-requests/* (fetched too for clone URLs). By default every other ref is
    /// scanned: branches, tags, remote-tracking branches, notes, stash.
    #[arg(long, conflicts_with = "refs")]
    pub all: bool,
    /// Scan the history of these refs or revisions (`origin/main`, `v1.2`, a commit id).
    #[arg(long = "ref", id = "refs", value_name = "REF", num_args = 1..)]
    pub refs: Vec<String>,
    /// Scan only blobs introduced by commits in A..B (reachable from B, not from A); for CI and
    /// pre-push. Blobs already in A's tree are not reported again.
    #[arg(long, value_name = "A..B", conflicts_with_all = ["branch", "all", "refs"])]
    pub range: Option<String>,
    /// Only commits made on or after DATE, as `git log --since` (2024-01-31,
    /// 2024-01-31T12:00:00Z, `2 weeks ago`; UTC unless the date has an offset). For the commits
    /// after a revision, use `--range REV..HEAD`.
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// Only commits made on or before DATE (same forms as --since).
    #[arg(long, value_name = "DATE")]
    pub until: Option<String>,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Reports to merge, as `keyhound git --format json` or `--format jsonl` writes them.
    #[arg(value_name = "REPORT", required = true)]
    pub reports: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct StagedArgs {
    /// Repository whose index to scan (or any directory inside its working tree).
    #[arg(default_value = ".")]
    pub repo: PathBuf,
    /// Pass the check even if files were skipped for being larger than --max-file-size (by
    /// default a skipped file fails it with exit code 2: a secret in it would go unseen).
    #[arg(long)]
    pub allow_skipped: bool,
}

#[derive(Debug, Args)]
pub struct InstallHookArgs {
    /// Repository to install the hook in (or any directory inside it).
    #[arg(default_value = ".")]
    pub repo: PathBuf,
    /// Which hook to write.
    #[arg(long, value_enum, default_value = "pre-commit")]
    pub hook: HookKind,
    /// Replace an existing hook that keyhound did not write.
    #[arg(long)]
    pub force: bool,
}

/// The git hooks keyhound can install.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HookKind {
    /// Scan the staged changes before each commit.
    PreCommit,
    /// Scan the commits about to be pushed.
    PrePush,
}

#[derive(Debug, Args)]
pub struct PrePushArgs {
    /// The remote pushed to, as git passes it to the hook: only its remote-tracking branches
    /// count as already pushed.
    pub remote: Option<String>,
    /// The remote's URL, as git passes it to the hook (unused).
    pub url: Option<String>,
    /// Repository to scan (or any directory inside it).
    #[arg(long, default_value = ".")]
    pub repo: PathBuf,
    /// Pass the check even if files were skipped for being larger than --max-file-size (by
    /// default a skipped file fails it with exit code 2: a secret in it would go unseen).
    #[arg(long)]
    pub allow_skipped: bool,
}

#[derive(Debug, Args)]
pub struct CiArgs {
    /// Repository to scan (default: the CI system's checkout, such as $GITHUB_WORKSPACE or
    /// $CI_PROJECT_DIR, else the current directory).
    pub repo: Option<PathBuf>,
    /// The CI system to read the run from (default: detected from its variables, such as
    /// GITHUB_ACTIONS or GITLAB_CI).
    #[arg(long, value_enum, value_name = "SYSTEM")]
    pub ci_system: Option<CiSystemArg>,
    /// GitHub Actions: the event that started the workflow (default: $GITHUB_EVENT_NAME).
    #[arg(long, env = "GITHUB_EVENT_NAME", value_name = "NAME")]
    pub event_name: Option<String>,
    /// GitHub Actions: the event's JSON payload (default: $GITHUB_EVENT_PATH).
    #[arg(long, env = "GITHUB_EVENT_PATH", value_name = "FILE")]
    pub event_path: Option<PathBuf>,
    /// Where to write the SARIF report, created with mode 0600 (default in GitHub Actions:
    /// keyhound.sarif; elsewhere none unless given).
    #[arg(long, value_name = "FILE")]
    pub sarif_file: Option<PathBuf>,
    /// Where to write GitLab's secret-detection report, created with mode 0600 (default in
    /// GitLab CI: gl-secret-detection-report.json; elsewhere none unless given).
    #[arg(long, value_name = "FILE")]
    pub gitlab_report: Option<PathBuf>,
    /// Exit with the findings code only for a finding of at least this severity, or (`live`,
    /// with --validate) only for a secret its provider confirmed live.
    #[arg(long, value_enum, value_name = "SEVERITY", default_value = "low")]
    pub fail_on: FailOnArg,
    /// Pass the check even if files were skipped for being larger than --max-file-size (by
    /// default a skipped file fails it with exit code 2: a secret in it would go unseen).
    #[arg(long)]
    pub allow_skipped: bool,
}

/// A severity named on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SeverityArg {
    Critical,
    High,
    Medium,
    Low,
}

impl From<SeverityArg> for Severity {
    fn from(arg: SeverityArg) -> Severity {
        match arg {
            SeverityArg::Critical => Severity::Critical,
            SeverityArg::High => Severity::High,
            SeverityArg::Medium => Severity::Medium,
            SeverityArg::Low => Severity::Low,
        }
    }
}

/// The CI systems `keyhound ci` reads a run from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CiSystemArg {
    /// GitHub Actions.
    Github,
    /// GitLab CI/CD.
    Gitlab,
    /// Azure Pipelines.
    Azure,
    /// Bitbucket Pipelines.
    Bitbucket,
}

/// Lowest severity that fails `keyhound ci`, or `never`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOnArg {
    Critical,
    High,
    Medium,
    Low,
    Never,
    /// Only secrets `--validate` found live.
    Live,
}

#[derive(Debug, Args)]
pub struct StdinArgs {
    /// `-`, for standard input, as other tools spell it (optional: the command reads nothing
    /// else).
    #[arg(value_name = "-", value_parser = clap::builder::PossibleValuesParser::new(["-"]))]
    pub dash: Option<String>,
    /// Path to report for the stream (also used by path allowlists).
    #[arg(long, default_value = "<stdin>")]
    pub name: String,
}

#[derive(Debug, Args)]
pub struct RulesArgs {
    #[command(subcommand)]
    pub action: Option<RulesAction>,
}

#[derive(Debug, Subcommand)]
pub enum RulesAction {
    /// List every rule (the default).
    List,
    /// Show one rule in full.
    Show { id: String },
    /// Validate a rule or config file and run its examples and negative examples.
    Check { file: PathBuf },
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Human,
    Json,
    Jsonl,
    /// SARIF 2.1.0, for GitHub code scanning and other SARIF viewers.
    Sarif,
    /// GitHub Actions workflow-command annotations.
    Github,
    /// GitLab's secret-detection report (schema 15), for merge requests and the security
    /// dashboard.
    Gitlab,
}

/// When to colour human output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorArg {
    Auto,
    Always,
    Never,
}

/// A size in bytes, with an optional unit: `K`, `M`, `G` (powers of 1024), written alone or
/// with `B` or `iB` (`10M`, `10MB`, `10MiB`), in either case.
fn parse_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let digits = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(digits);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a size (10M, 10MB, 1G, or bytes)"))?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        _ => {
            return Err(format!(
                "`{text}` has an unknown unit: use K, M or G (KB, MiB, …)"
            ))
        }
    };
    number
        .checked_mul(1 << shift)
        .ok_or_else(|| format!("`{text}` is too large"))
}

impl CommonArgs {
    /// Whether notes and the summary line go to stderr (not with `-q` or `--no-summary`).
    pub fn notes_wanted(&self) -> bool {
        !self.quiet && !self.no_summary
    }
}

/// Lowest confidence to report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ConfidenceArg {
    Low,
    Medium,
    High,
}

#[derive(Debug, Args)]
pub struct CommonArgs {
    /// Output format (default: human).
    #[arg(long, short = 'f', global = true, value_enum)]
    pub format: Option<FormatArg>,
    /// Write the report to FILE (created with mode 0600) instead of standard output.
    #[arg(long, short = 'o', global = true, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Configuration file, keyhound's or gitleaks' (default: keyhound.toml, .keyhound.toml or
    /// .gitleaks.toml at the scanned root, if present).
    #[arg(long, short = 'c', global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Hide the findings recorded in this baseline file (see `keyhound baseline`).
    #[arg(long, global = true, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Print raw secret values. Off by default: reports show a redacted prefix and a SHA-256.
    #[arg(long, global = true)]
    pub show_secrets: bool,
    /// Also report publishable keys and other public material (low severity).
    #[arg(long, global = true)]
    pub include_public: bool,
    /// Also report passwords too weak for the generic detector's entropy bar (`DB_PASSWORD=
    /// Winter2024`): leaked, and guessable too. For audits; the config key is `include_weak`.
    #[arg(long, global = true)]
    pub include_weak: bool,
    /// Lowest rule confidence to report.
    #[arg(long, global = true, value_enum, default_value = "low")]
    pub min_confidence: ConfidenceArg,
    /// Lowest severity to report, after the step down for tests, examples, docs and vendored
    /// code (default: the config's `min_severity`, else low).
    #[arg(long, global = true, value_enum, value_name = "SEVERITY")]
    pub min_severity: Option<SeverityArg>,
    /// Leave out findings in these places, judged from the path: test, docs, example,
    /// vendored, generated, source (comma-separated; default: the config's `exclude_context`,
    /// else none: every place is reported).
    #[arg(long, global = true, value_name = "CONTEXT,…", value_delimiter = ',')]
    pub exclude_context: Vec<PathContext>,
    /// Worker threads (default, or 0: the number of cores).
    #[arg(long, short = 'j', global = true, value_name = "N")]
    pub threads: Option<usize>,
    /// Skip files larger than this many bytes: each is named on stderr and counted as skipped,
    /// and fails `ci`, `staged` and `pre-push` unless --allow-skipped. Without it nothing is
    /// skipped: a large file is scanned in windows of 4 MiB, with memory bounded by the window.
    /// Sizes take a unit as `10M`, `10MB`, `10MiB`, `1G` or `512K` (powers of 1024), or bytes.
    #[arg(long, global = true, value_name = "SIZE", value_parser = parse_size)]
    pub max_file_size: Option<u64>,
    /// How many layers of encoding (base64) to look through.
    #[arg(long, global = true, value_name = "N", default_value_t = 2)]
    pub max_decode_depth: usize,
    /// Colour for human output; NO_COLOR in the environment turns `auto` off.
    #[arg(long, global = true, value_enum, default_value = "auto")]
    pub color: ColorArg,
    /// No progress display on stderr.
    #[arg(long, global = true)]
    pub no_progress: bool,
    /// No output: nothing on standard output, only errors on stderr; the exit code says
    /// whether secrets were found (as `grep -q`). A report named with --output is still written.
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,
    /// Findings only: no notes and no summary line on stderr.
    #[arg(long, global = true)]
    pub no_summary: bool,
    /// Exit code to use when secrets are found.
    #[arg(long, global = true, value_name = "N", default_value_t = 1)]
    pub exit_code: u8,
    /// Ask each found secret's provider whether it still works, with one read-only request to
    /// the provider's own HTTPS host (see docs/validation.md); generic findings are never
    /// sent. Off by default; KEYHOUND_VALIDATE=1 in the environment turns it on too.
    #[arg(long, global = true)]
    pub validate: bool,
    /// Report only the secrets the provider confirmed live (--validation-filter live): the
    /// exit code then fails only on live keys.
    #[arg(long, global = true)]
    pub only_live: bool,
    /// Report only findings whose validation is one of these (comma-separated).
    #[arg(
        long,
        global = true,
        value_enum,
        value_name = "STATUS,…",
        value_delimiter = ','
    )]
    pub validation_filter: Vec<ValidationFilterArg>,
    /// Keep validation verdicts (live, invalid; keyed by the secret's fingerprint, never the
    /// secret) in DIR, and reuse them while fresh.
    #[arg(long, global = true, value_name = "DIR")]
    pub validation_cache: Option<PathBuf>,
    /// How long a cached verdict holds: 30m, 24h, 7d or seconds (default 24h).
    #[arg(long, global = true, value_name = "DURATION")]
    pub validation_ttl: Option<String>,
}

/// A validation status named on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ValidationFilterArg {
    Live,
    Invalid,
    Unknown,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_units_as_people_write_them() {
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        for text in ["10M", "10MB", "10MiB", "10m", "10 mb"] {
            assert_eq!(parse_size(text), Ok(10 << 20), "{text}");
        }
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("512K"), Ok(512 << 10));
        for bad in ["", "M", "10X", "-1", "1.5G", "99999999999999G"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }
}
