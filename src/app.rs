//! Turns the parsed command line into a validated run: load the config and rules, build the
//! engine and the report format once, run the command, and decide the exit code. Nothing
//! downstream reads flags.

use std::fs;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Result};

use crate::allow::Allowlist;
use crate::baseline::{self, Suppressions};
use crate::cli::{
    BaselineTarget, Cli, ColorArg, Command, CommonArgs, ConfidenceArg, DirArgs, FormatArg,
    StdinArgs,
};
use crate::config::{self, Policy};
use crate::engine::Engine;
use crate::finding::Finding;
use crate::keycheck;
use crate::output_file;
use crate::policy_file::{self, Origin, PolicyText};
use crate::policy_paths::PolicyPaths;
use crate::remediate::Exposure;
use crate::report::{self, human, Format, ScanReport};
use crate::rules::{Confidence, RuleKind, RulePack, Severity};
use crate::scan::{ReportPolicy, Scanner};
use crate::source::{dir::DirSource, stdin};

/// Runs one command and returns the process exit code.
pub fn run(cli: Cli) -> Result<ExitCode> {
    crate::cmd::flags::refuse_unused(&cli)?;
    let common = &cli.common;
    match &cli.command {
        Command::Dir(args) => scan_dir(common, args, Delivery::Report),
        Command::Stdin(args) => scan_stdin(common, args, Delivery::Report),
        Command::Baseline(args) => match &args.target {
            BaselineTarget::Dir(args) => scan_dir(common, args, Delivery::Baseline),
            BaselineTarget::Stdin(args) => scan_stdin(common, args, Delivery::Baseline),
            BaselineTarget::Git(args) => crate::cmd::git::record_baseline(common, args),
        },
        Command::Git(args) => crate::cmd::git::run(common, args),
        Command::Merge(args) => crate::cmd::merge::run(common, args),
        Command::Staged(args) => crate::staged::run(common, args),
        Command::PrePush(args) => crate::prepush::run(common, args),
        Command::InstallHook(args) => crate::hook::install(args),
        Command::Ci(args) => crate::ci::run(common, args),
        Command::Rules(args) => crate::cmd::rules::run(common, args.action.as_ref()),
        Command::Keycheck => keycheck::run(common),
    }
}

/// What a scan's findings become.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// A report in the chosen format; the exit code says whether there were findings.
    Report,
    /// A report, for a check that a file skipped for size also fails (unless allowed).
    Check { allow_skipped: bool },
    /// A baseline file (`keyhound baseline …`).
    Baseline,
}

fn scan_dir(common: &CommonArgs, args: &DirArgs, delivery: Delivery) -> Result<ExitCode> {
    if args.paths.iter().any(|p| p.as_os_str() == "-") {
        if args.paths.len() > 1 || args.no_ignore {
            bail!("`-` (standard input) is scanned on its own: give no other path, and no --no-ignore");
        }
        let stdin = StdinArgs {
            dash: None,
            name: "<stdin>".into(),
        };
        return scan_stdin(common, &stdin, delivery);
    }
    // When no path given is there, nothing can be scanned: an error, not an empty report. With
    // some there, the others are errors of the scan, as in ripgrep.
    let missing: Vec<_> = args
        .paths
        .iter()
        .filter_map(|p| fs::symlink_metadata(p).err().map(|e| (p, e)))
        .collect();
    if missing.len() == args.paths.len() {
        if let Some((path, e)) = missing.first() {
            bail!("{}: {e}", path.display());
        }
    }
    let root = config_root(&args.paths[0]);
    let policy_paths = policy_paths(&args.paths, &root);
    let source = DirSource {
        roots: args.paths.clone(),
        respect_ignore: !args.no_ignore,
        max_file_size: common.max_file_size,
        threads: threads(common),
    };
    let target = format!(
        "{} {}",
        if args.paths.len() == 1 {
            "path"
        } else {
            "paths"
        },
        args.paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    scan_and_deliver(
        common,
        &root,
        &target,
        Exposure::Unknown,
        delivery,
        policy_paths,
        |scanner| source.run(scanner),
    )
}

fn scan_stdin(common: &CommonArgs, args: &StdinArgs, delivery: Delivery) -> Result<ExitCode> {
    let root = std::env::current_dir()?;
    scan_and_deliver(
        common,
        &root,
        "standard input",
        Exposure::Unknown,
        delivery,
        PolicyPaths::default(),
        |scanner| stdin::run(&args.name, common.max_file_size, scanner),
    )
}

/// Where to look for `keyhound.toml`: inside a git work tree, its root (so `keyhound dir src`
/// uses the repository's config, as `git` and `staged` do); elsewhere the scanned directory (or
/// a scanned file's directory) itself.
fn config_root(path: &Path) -> PathBuf {
    let dir = if path.is_dir() {
        path.to_path_buf()
    } else {
        path.parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
    };
    let work_tree = git2::Repository::discover(&dir)
        .ok()
        .and_then(|repo| repo.workdir().map(Path::to_path_buf))
        .filter(|top| below(top, &dir).is_some());
    work_tree.unwrap_or(dir)
}

/// `path` relative to `top`, `/`-separated ("" for `top` itself), if it is inside it.
fn below(top: &Path, path: &Path) -> Option<String> {
    let (top, path) = (top.canonicalize().ok()?, path.canonicalize().ok()?);
    let rest = path.strip_prefix(&top).ok()?;
    let parts: Vec<String> = rest
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    Some(parts.join("/"))
}

/// How the config at `root` sees the paths reported under each operand: where the operand is
/// below `root`. An operand outside `root` is judged by its paths as reported.
fn policy_paths(operands: &[PathBuf], root: &Path) -> PolicyPaths {
    let mut paths = PolicyPaths::default();
    for operand in operands {
        let shown = crate::source::dir::shown_path(operand);
        let place = below(root, operand);
        if let Some(place) = place {
            paths.add(&shown, &place);
        }
    }
    paths
}

pub fn threads(common: &CommonArgs) -> usize {
    common
        .threads
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Loads config and rules for a scan rooted at `root`, and says once what the config asked
/// for that keyhound ignores.
pub fn load_policy(common: &CommonArgs, root: &Path) -> Result<Policy> {
    // Every command that reports loads a policy first: a report path that will be refused is
    // refused here, before the scan's work rather than after it.
    if let Some(output) = &common.output {
        output_file::check_target(output)?;
    }
    let policy = config::discover(common.config.as_deref(), root)?;
    if common.notes_wanted() {
        for note in &policy.notes {
            crate::diag::note(note);
        }
    }
    Ok(policy)
}

/// Loads the baseline named by `--baseline` (else, unless `recording` a new baseline, the one
/// `policy`'s config names) and the ignore files at `root`, and says once which files were
/// refused.
pub fn load_known(
    common: &CommonArgs,
    root: &Path,
    policy: &Policy,
    recording: bool,
) -> Result<Suppressions> {
    let mut known = Suppressions::load(common.baseline.as_deref(), root)?;
    let config_baseline = policy.baseline.as_ref().filter(|_| !recording);
    if let (None, Some(relative)) = (&common.baseline, config_baseline) {
        // Beside a config the user named, trusted as that config is; beside one found in the
        // scanned tree, a regular file in it.
        let (path, origin) = match &common.config {
            Some(config) => (
                config.parent().unwrap_or(Path::new(".")).join(relative),
                Origin::CommandLine,
            ),
            None => (root.join(relative), Origin::Tree),
        };
        match policy_file::read(&path, origin)? {
            PolicyText::Text(text) => known.add_baseline(&text, &path)?,
            PolicyText::Absent => bail!(
                "the config's baseline {} does not exist (write it with `keyhound baseline`)",
                path.display()
            ),
            PolicyText::Refused(note) => known.notes.push(note),
        }
    }
    if common.notes_wanted() {
        for note in &known.notes {
            crate::diag::note(note);
        }
    }
    Ok(known)
}

/// Builds the engine and scanner, lets `produce` feed the scanner, then writes the report of
/// a check (see `check_exit_code`).
pub fn scan_and_check(
    common: &CommonArgs,
    root: &Path,
    target: &str,
    exposure: Exposure,
    allow_skipped: bool,
    produce: impl FnOnce(&Scanner),
) -> Result<ExitCode> {
    let delivery = Delivery::Check { allow_skipped };
    let paths = PolicyPaths::default();
    scan_and_deliver(common, root, target, exposure, delivery, paths, produce)
}

/// Builds the engine and scanner, lets `produce` feed the scanner, hides known findings
/// (baseline, ignore files, commit allowlists), then writes a report or a baseline.
pub fn scan_and_deliver(
    common: &CommonArgs,
    root: &Path,
    target: &str,
    exposure: Exposure,
    delivery: Delivery,
    policy_paths: PolicyPaths,
    produce: impl FnOnce(&Scanner),
) -> Result<ExitCode> {
    let started = Instant::now();
    if delivery == Delivery::Baseline {
        refuse_baseline_flag(common)?;
    }
    // Validation flags that cannot work are refused before the scan, not after it.
    crate::validate::Options::from_common(common)?;
    let policy = load_policy(common, root)?;
    let known = load_known(common, root, &policy, delivery == Delivery::Baseline)?;
    let reporting = report_policy(common, &policy, exposure);
    let engine = engine(common, policy.pack, policy.include_weak);
    let scanner =
        Scanner::new(&engine, &policy.allowlist, reporting).with_policy_paths(policy_paths.clone());
    produce(&scanner);
    let (mut findings, problems, mut summary) = scanner.finish();
    for problem in &problems {
        crate::diag::say(problem);
    }
    hide_known_at(
        common,
        &mut findings,
        &known,
        &policy.allowlist,
        &policy_paths,
    );
    if delivery != Delivery::Baseline {
        crate::validate::apply(common, engine.pack().rules(), &mut findings, exposure)?;
    }
    summary.findings = findings.len() as u64;
    let report = ScanReport {
        findings: &findings,
        summary,
        elapsed: started.elapsed(),
        target,
        rules: engine.pack().rules(),
        exposure,
    };
    match delivery {
        Delivery::Report => {
            emit(common, &report)?;
            Ok(exit_code(common, &report))
        }
        Delivery::Check { allow_skipped } => {
            emit(common, &report)?;
            Ok(check_exit_code(
                common,
                &report,
                Some(Severity::Low),
                allow_skipped,
            ))
        }
        Delivery::Baseline => {
            write_baseline(common, &findings)?;
            Ok(if summary.errors > 0 {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            })
        }
    }
}

/// Drops the findings a baseline, an ignore file or a commit allowlist marks as known, and
/// says how many on stderr.
pub fn hide_known(
    common: &CommonArgs,
    findings: &mut Vec<Finding>,
    known: &Suppressions,
    allowlist: &Allowlist,
) {
    hide_known_at(common, findings, known, allowlist, &PolicyPaths::default());
}

/// `hide_known` for findings whose paths the ignore files name as `policy_paths` maps them
/// (`keyhound dir`, whose paths read from where the user stands).
fn hide_known_at(
    common: &CommonArgs,
    findings: &mut Vec<Finding>,
    known: &Suppressions,
    allowlist: &Allowlist,
    policy_paths: &PolicyPaths,
) {
    let found = findings.len();
    findings.retain(|f| {
        !known.hides(f, &policy_paths.policy_path(&f.location.path))
            && !f
                .commit
                .as_ref()
                .is_some_and(|c| allowlist.allows_commit(&f.rule, &c.id))
    });
    if found > findings.len() && common.notes_wanted() {
        crate::diag::say(format_args!(
            "{} known finding(s) hidden (baseline, ignore files, allowed commits)",
            found - findings.len()
        ));
    }
}

/// `keyhound baseline …` with `--baseline`: refused, since a new baseline records every finding.
pub fn refuse_baseline_flag(common: &CommonArgs) -> Result<()> {
    if common.baseline.is_some() {
        bail!("--baseline hides findings from a report; a new baseline records every finding, so drop the flag");
    }
    Ok(())
}

/// Writes a baseline to `--output` (or standard output) and says what it holds on stderr.
pub fn write_baseline(common: &CommonArgs, findings: &[Finding]) -> Result<()> {
    write_output(common, |out| baseline::write(findings, out))?;
    if common.notes_wanted() {
        let written = common.output.as_ref().map_or_else(
            || "standard output".to_string(),
            |p| p.display().to_string(),
        );
        crate::diag::say(format_args!(
            "baseline of {} finding(s) written to {written}",
            findings.len()
        ));
    }
    Ok(())
}

/// Maps flags to what the scanner reports.
/// The engine for a scan: `pack`'s rules, without the weak-password rules unless asked for
/// (`--include-weak`, or `include_weak` in the config).
pub fn engine(common: &CommonArgs, mut pack: RulePack, config_weak: bool) -> Engine {
    if !(common.include_weak || config_weak) {
        pack.retain(|rule| rule.kind != RuleKind::Weak);
    }
    Engine::new(pack, common.max_decode_depth)
}

/// What to report, from the flags and, where a flag is not given, the config.
pub fn report_policy(common: &CommonArgs, policy: &Policy, exposure: Exposure) -> ReportPolicy {
    ReportPolicy {
        show_secrets: common.show_secrets,
        include_public: common.include_public,
        min_confidence: match common.min_confidence {
            ConfidenceArg::Low => Confidence::Low,
            ConfidenceArg::Medium => Confidence::Medium,
            ConfidenceArg::High => Confidence::High,
        },
        min_severity: common
            .min_severity
            .map(Severity::from)
            .or(policy.min_severity)
            .unwrap_or(Severity::Low),
        exclude_contexts: if common.exclude_context.is_empty() {
            policy.exclude_contexts.clone()
        } else {
            common.exclude_context.clone()
        },
        exposure,
        keep_raw: crate::validate::wanted(common),
    }
}

/// Writes the report where and how the flags say, and the summary line on stderr.
pub fn emit(common: &CommonArgs, report: &ScanReport) -> Result<()> {
    emit_as(common, FormatArg::Human, report)
}

/// Like `emit`, in `default` format when no `--format` was given.
pub fn emit_as(common: &CommonArgs, default: FormatArg, report: &ScanReport) -> Result<()> {
    let to_terminal = common.output.is_none() && io::stdout().is_terminal();
    let color = match common.color {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => to_terminal && color_allowed_by_env(),
    };
    let format = match common.format.unwrap_or(default) {
        FormatArg::Human => Format::Human { color },
        FormatArg::Json => Format::Json,
        FormatArg::Jsonl => Format::Jsonl,
        FormatArg::Sarif => Format::Sarif,
        FormatArg::Github => Format::Github,
        FormatArg::Gitlab => Format::Gitlab,
    };
    write_output(common, |out| report::write(format, report, out))?;
    // In GitHub Actions, whatever the format, the job summary gets the findings and playbooks.
    if let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) {
        if let Err(e) = report::github::append_step_summary(Path::new(&path), report) {
            crate::diag::say(format_args!(
                "cannot append the job summary to {}: {e}",
                Path::new(&path).display()
            ));
        }
    }
    if common.notes_wanted() {
        crate::diag::line(human::summary_line(report));
    }
    Ok(())
}

/// Runs `write` on `--output` (see `output_file`: private, never through a symlink) or on
/// standard output.
pub fn write_output(
    common: &CommonArgs,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<()> {
    if let Some(path) = &common.output {
        return Ok(output_file::write_report(path, write)?);
    }
    if common.quiet {
        return Ok(()); // `-q`: the exit code is the answer
    }
    let mut out = BufWriter::new(io::stdout().lock());
    match write(&mut out).and_then(|()| out.flush()) {
        // A reader that stopped early (`| head`) is no error, and must not decide the exit
        // code: the findings still fail a hook or a CI job.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        result => Ok(result?),
    }
}

/// `--color auto` colours a terminal unless NO_COLOR is set to something (https://no-color.org)
/// or the terminal is dumb.
fn color_allowed_by_env() -> bool {
    std::env::var_os("NO_COLOR").map_or(true, |v| v.is_empty())
        && std::env::var_os("TERM").map_or(true, |t| t != "dumb")
}

/// 2 when something could not be read, else the findings code when there are findings, else 0.
pub fn exit_code(common: &CommonArgs, report: &ScanReport) -> ExitCode {
    exit_code_failing_on(common, report, Some(Severity::Low))
}

/// The exit code of a check (`ci`, `staged`, `pre-push`): as `exit_code_failing_on`, except
/// that a file skipped for size fails it with 2, like one that could not be read, unless
/// `allow_skipped`: a check that passes must have seen everything it judges.
pub fn check_exit_code(
    common: &CommonArgs,
    report: &ScanReport,
    fail_on: Option<Severity>,
    allow_skipped: bool,
) -> ExitCode {
    let failing = |f: &Finding| fail_on.is_some_and(|floor| f.severity >= floor);
    check_exit_code_by(common, report, &failing, allow_skipped)
}

/// `check_exit_code` where `failing` says which findings fail the check.
pub fn check_exit_code_by(
    common: &CommonArgs,
    report: &ScanReport,
    failing: &dyn Fn(&Finding) -> bool,
    allow_skipped: bool,
) -> ExitCode {
    let skipped = report.summary.skipped;
    if skipped > 0 && !allow_skipped {
        crate::diag::error(format_args!(
            "{skipped} file(s) not scanned (larger than --max-file-size): the check fails; \
             raise the limit, or pass --allow-skipped to accept the gap"
        ));
        return ExitCode::from(2);
    }
    exit_code_failing(common, report, failing)
}

/// 2 when something could not be read, else the findings code when some finding is at least
/// as severe as `fail_on` (`None`: findings never fail), else 0.
pub fn exit_code_failing_on(
    common: &CommonArgs,
    report: &ScanReport,
    fail_on: Option<Severity>,
) -> ExitCode {
    let failing = |f: &Finding| fail_on.is_some_and(|floor| f.severity >= floor);
    exit_code_failing(common, report, &failing)
}

/// 2 when something could not be read, else the findings code when `failing` holds for some
/// finding, else 0.
pub fn exit_code_failing(
    common: &CommonArgs,
    report: &ScanReport,
    failing: &dyn Fn(&Finding) -> bool,
) -> ExitCode {
    if report.summary.errors > 0 {
        ExitCode::from(2)
    } else if report.findings.iter().any(failing) {
        ExitCode::from(common.exit_code)
    } else {
        ExitCode::SUCCESS
    }
}
