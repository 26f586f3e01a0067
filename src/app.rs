//! Turns the parsed command line into a validated run: load the config and rules, build the
//! engine and the report format once, run the command, and decide the exit code. Nothing
//! downstream reads flags.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::cli::{Cli, ColorArg, Command, CommonArgs, ConfidenceArg, FormatArg, RulesAction};
use crate::config::{self, Policy};
use crate::engine::Engine;
use crate::keycheck;
use crate::remediate::Exposure;
use crate::report::{self, human, Format, ScanReport};
use crate::rules::{self, check::check_examples, Confidence};
use crate::scan::{ReportPolicy, Scanner};
use crate::source::{dir::DirSource, stdin, ChunkSink};

/// Runs one command and returns the process exit code.
pub fn run(cli: Cli) -> Result<ExitCode> {
    let common = &cli.common;
    match &cli.command {
        Command::Dir(args) => {
            let root = config_root(&args.paths[0]);
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
            scan_and_report(common, &root, &target, Exposure::Unknown, |sink| {
                source.run(sink)
            })
        }
        Command::Stdin(args) => {
            let root = std::env::current_dir()?;
            scan_and_report(common, &root, "standard input", Exposure::Unknown, |sink| {
                stdin::run(&args.name, sink)
            })
        }
        Command::Rules(args) => rules_command(common, args.action.as_ref()),
        Command::Keycheck => keycheck::run(common),
    }
}

/// Where to look for `keyhound.toml`: the scanned directory, or a scanned file's directory.
fn config_root(path: &Path) -> PathBuf {
    if path.is_dir() {
        path.to_path_buf()
    } else {
        path.parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
    }
}

pub fn threads(common: &CommonArgs) -> usize {
    common
        .threads
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Loads config and rules for a scan rooted at `root`.
pub fn load_policy(common: &CommonArgs, root: &Path) -> Result<Policy> {
    Ok(config::discover(common.config.as_deref(), root)?)
}

/// Builds the engine and scanner, lets `produce` feed the scanner, then writes the report.
pub fn scan_and_report(
    common: &CommonArgs,
    root: &Path,
    target: &str,
    exposure: Exposure,
    produce: impl FnOnce(&dyn ChunkSink),
) -> Result<ExitCode> {
    let started = Instant::now();
    let policy = load_policy(common, root)?;
    let engine = Engine::new(policy.pack, common.max_decode_depth);
    let scanner = Scanner::new(&engine, &policy.allowlist, report_policy(common, exposure));
    produce(&scanner);
    let (findings, problems, summary) = scanner.finish();
    for problem in &problems {
        eprintln!("keyhound: {problem}");
    }
    let report = ScanReport {
        findings: &findings,
        summary,
        elapsed: started.elapsed(),
        target,
        rules: engine.pack().rules(),
        exposure,
    };
    emit(common, &report)?;
    Ok(exit_code(common, &report))
}

/// Maps flags to what the scanner reports.
pub fn report_policy(common: &CommonArgs, exposure: Exposure) -> ReportPolicy {
    ReportPolicy {
        show_secrets: common.show_secrets,
        include_public: common.include_public,
        min_confidence: match common.min_confidence {
            ConfidenceArg::Low => Confidence::Low,
            ConfidenceArg::Medium => Confidence::Medium,
            ConfidenceArg::High => Confidence::High,
        },
        exposure,
    }
}

/// Writes the report where and how the flags say, and the summary line on stderr.
pub fn emit(common: &CommonArgs, report: &ScanReport) -> Result<()> {
    let to_terminal = common.output.is_none() && io::stdout().is_terminal();
    let color = match common.color {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => to_terminal && color_allowed_by_env(),
    };
    let format = match common.format.unwrap_or(FormatArg::Human) {
        FormatArg::Human => Format::Human { color },
        FormatArg::Json => Format::Json,
        FormatArg::Jsonl => Format::Jsonl,
        FormatArg::Sarif => Format::Sarif,
        FormatArg::Github => Format::Github,
    };
    match &common.output {
        Some(path) => {
            let mut out = BufWriter::new(create_private(path)?);
            report::write(format, report, &mut out)?;
            out.flush()?;
        }
        None => {
            let stdout = io::stdout();
            let mut out = BufWriter::new(stdout.lock());
            report::write(format, report, &mut out)?;
            out.flush()?;
        }
    }
    // In GitHub Actions, whatever the format, the job summary gets the findings and playbooks.
    if let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) {
        if let Err(e) = report::github::append_step_summary(Path::new(&path), report) {
            eprintln!(
                "keyhound: cannot append the job summary to {}: {e}",
                Path::new(&path).display()
            );
        }
    }
    if !common.quiet {
        eprintln!("{}", human::summary_line(report));
    }
    Ok(())
}

/// `--color auto` colours a terminal unless NO_COLOR is set to something (https://no-color.org)
/// or the terminal is dumb.
fn color_allowed_by_env() -> bool {
    std::env::var_os("NO_COLOR").map_or(true, |v| v.is_empty())
        && std::env::var_os("TERM").map_or(true, |t| t != "dumb")
}

/// Creates (or truncates) a report file readable only by its owner: reports name secrets.
pub fn create_private(path: &Path) -> Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(0o600))?;
    }
    Ok(file)
}

/// 2 when something could not be read, else the findings code when there are findings, else 0.
pub fn exit_code(common: &CommonArgs, report: &ScanReport) -> ExitCode {
    if report.summary.errors > 0 {
        ExitCode::from(2)
    } else if !report.findings.is_empty() {
        ExitCode::from(common.exit_code)
    } else {
        ExitCode::SUCCESS
    }
}

fn rules_command(common: &CommonArgs, action: Option<&RulesAction>) -> Result<ExitCode> {
    let root = std::env::current_dir()?;
    let mut out = io::stdout().lock();
    match action.unwrap_or(&RulesAction::List) {
        RulesAction::List => {
            let policy = load_policy(common, &root)?;
            let rules = policy.pack.rules();
            for rule in rules {
                writeln!(
                    out,
                    "{:<44} {:<22} {:<8} {:<6}{}",
                    rule.id,
                    rule.provider,
                    rule.severity.to_string(),
                    rule.confidence.to_string(),
                    if rule.public { " public" } else { "" }
                )?;
            }
            let mut providers: Vec<&str> = rules.iter().map(|r| r.provider.as_str()).collect();
            providers.sort_unstable();
            providers.dedup();
            writeln!(out, "{} rules, {} providers", rules.len(), providers.len())?;
            Ok(ExitCode::SUCCESS)
        }
        RulesAction::Show { id } => {
            let policy = load_policy(common, &root)?;
            let Some(rule) = policy.pack.get(id) else {
                bail!("no rule has the id `{id}` (see `keyhound rules list`)");
            };
            writeln!(out, "id:          {}", rule.id)?;
            writeln!(out, "name:        {}", rule.name)?;
            writeln!(out, "provider:    {}", rule.provider)?;
            writeln!(out, "severity:    {}", rule.severity)?;
            writeln!(out, "confidence:  {}", rule.confidence)?;
            writeln!(out, "keywords:    {}", rule.keywords.join(", "))?;
            writeln!(out, "revoke:      {}", rule.revoke_url)?;
            writeln!(out, "source:      {}", rule.source)?;
            writeln!(out, "description: {}", rule.description)?;
            writeln!(out, "regex:\n{}", rule.regex.trim_end())?;
            Ok(ExitCode::SUCCESS)
        }
        RulesAction::Check { file } => {
            let text = fs::read_to_string(file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let name = file.display().to_string();
            let checked = match rules::parse_rule_file(&text, &name) {
                Ok(rules) => rules,
                Err(_) => {
                    let policy = config::compile(&text, file)?;
                    let custom: Vec<_> = policy
                        .pack
                        .rules()
                        .iter()
                        .filter(|r| r.source == name)
                        .cloned()
                        .collect();
                    custom
                }
            };
            rules::compile_all(&checked)?;
            let failures = check_examples(&checked);
            for failure in &failures {
                writeln!(out, "{failure}")?;
            }
            writeln!(
                out,
                "{}: {} rule(s), {} problem(s)",
                name,
                checked.len(),
                failures.len()
            )?;
            Ok(if failures.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}
