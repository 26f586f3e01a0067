//! Which of the common flags each command uses. They are global (`keyhound --format json rules
//! list` works as `keyhound rules list --format json`), so clap accepts every one on every
//! command; a flag a command would ignore is refused here instead, naming the flag and the
//! command. Nothing downstream re-checks.

use std::ffi::OsString;

use anyhow::{bail, Result};
use clap::{CommandFactory, FromArgMatches};

use crate::cli::{BaselineTarget, Cli, ColorArg, Command, CommonArgs, ConfidenceArg};

/// The common flags, in the order of `set_flags`.
const COMMON: [&str; 21] = [
    "--format",
    "--output",
    "--config",
    "--baseline",
    "--show-secrets",
    "--include-public",
    "--include-weak",
    "--min-confidence",
    "--min-severity",
    "--exclude-context",
    "--threads",
    "--max-file-size",
    "--max-decode-depth",
    "--color",
    "--no-progress",
    "--exit-code",
    "--validate",
    "--only-live",
    "--validation-filter",
    "--validation-cache",
    "--validation-ttl",
];

/// Whether each of `COMMON` was given (a value other than the default).
fn set_flags(c: &CommonArgs) -> [bool; 21] {
    [
        c.format.is_some(),
        c.output.is_some(),
        c.config.is_some(),
        c.baseline.is_some(),
        c.show_secrets,
        c.include_public,
        c.include_weak,
        c.min_confidence != ConfidenceArg::Low,
        c.min_severity.is_some(),
        !c.exclude_context.is_empty(),
        c.threads.is_some(),
        c.max_file_size.is_some(),
        c.max_decode_depth != 2,
        c.color != ColorArg::Auto,
        c.no_progress,
        c.exit_code != 1,
        c.validate,
        c.only_live,
        !c.validation_filter.is_empty(),
        c.validation_cache.is_some(),
        c.validation_ttl.is_some(),
    ]
}

/// The commands that use only some of the common flags, by name as typed.
const PARTIAL_USERS: [&str; 8] = [
    "pre-push",
    "install-hook",
    "keycheck",
    "rules",
    "baseline dir",
    "baseline stdin",
    "baseline git",
    "merge",
];

/// Whether the command named `name` (as typed) has a use for common flag `flag`.
fn uses(name: &str, flag: &str) -> bool {
    // Validation asks providers about the secrets a report shows: a baseline records them
    // without a report, a pre-push hook stays offline, the others have no secrets.
    let validation = [
        "--validate",
        "--only-live",
        "--validation-filter",
        "--validation-cache",
        "--validation-ttl",
    ];
    if validation.contains(&flag) {
        return ["dir", "stdin", "git", "staged", "ci", "merge"].contains(&name);
    }
    match name {
        "install-hook" => false,
        // keycheck judges one key, and rules describe the pack: output and rules only.
        "keycheck" | "rules" => ["--format", "--output", "--config"].contains(&flag),
        // A baseline is JSON, holds no secret and is written whatever it holds.
        "baseline dir" | "baseline stdin" | "baseline git" => {
            !["--format", "--show-secrets", "--color", "--exit-code"].contains(&flag)
        }
        // A merge reads reports: nothing is scanned, so no scanning flag has a use.
        "merge" => ![
            "--include-public",
            "--include-weak",
            "--exclude-context",
            "--threads",
            "--max-file-size",
            "--max-decode-depth",
            "--no-progress",
        ]
        .contains(&flag),
        _ => true,
    }
}

/// The command's name as typed.
fn name(command: &Command) -> &'static str {
    match command {
        Command::InstallHook(_) => "install-hook",
        Command::Keycheck => "keycheck",
        Command::Rules(_) => "rules",
        Command::Baseline(args) => match args.target {
            BaselineTarget::Dir(_) => "baseline dir",
            BaselineTarget::Stdin(_) => "baseline stdin",
            BaselineTarget::Git(_) => "baseline git",
        },
        Command::Dir(_) => "dir",
        Command::Stdin(_) => "stdin",
        Command::Git(_) => "git",
        Command::Staged(_) => "staged",
        Command::PrePush(_) => "pre-push",
        Command::Ci(_) => "ci",
        Command::Merge(_) => "merge",
    }
}

/// `cli` with each common flag hidden from the `--help` of the commands that do not use it.
/// The flag stays accepted there (a hidden copy of the global one), so that `refuse_unused`
/// can name it rather than clap call it unknown.
pub fn hide_unused(cli: clap::Command) -> clap::Command {
    let mut cli = cli;
    for command in PARTIAL_USERS {
        for arg in common_args(&cli) {
            let flag = format!("--{}", arg.get_long().unwrap_or_default());
            if !uses(command, &flag) {
                cli = add_hidden(cli, command, arg.hide(true));
            }
        }
    }
    cli
}

/// The common flags' definitions, as the top-level command holds them.
fn common_args(cli: &clap::Command) -> Vec<clap::Arg> {
    cli.get_arguments()
        .filter(|a| {
            a.get_long()
                .is_some_and(|long| COMMON.iter().any(|f| f[2..] == *long))
        })
        .cloned()
        .collect()
}

/// Adds `arg` to the subcommand at `path` (`baseline dir`). clap copies a global flag into a
/// subcommand only where it has no argument of that id, so this copy is the one it keeps.
fn add_hidden(cli: clap::Command, path: &str, arg: clap::Arg) -> clap::Command {
    match path.split_once(' ') {
        Some((first, rest)) => {
            let rest = rest.to_string();
            cli.mut_subcommand(first, move |sub| add_hidden(sub, &rest, arg))
        }
        None => cli.mut_subcommand(path, |sub| sub.arg(arg)),
    }
}

/// Parses a command line as `keyhound` does: clap's parser, with each command's `--help`
/// listing only the common flags it uses (see `hide_unused`).
pub fn try_parse_from<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let matches = hide_unused(Cli::command()).try_get_matches_from(args)?;
    Cli::from_arg_matches(&matches)
}

/// Refuses a common flag that `cli`'s command would ignore.
pub fn refuse_unused(cli: &Cli) -> Result<()> {
    let name = name(&cli.command);
    for (flag, set) in COMMON.iter().zip(set_flags(&cli.common)) {
        if set && !uses(name, flag) {
            bail!(
                "{flag}: `keyhound {name}` does not use it, so it is refused rather than ignored"
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(args: &[&str]) -> Option<String> {
        let cli = try_parse_from(std::iter::once("keyhound").chain(args.iter().copied()))
            .expect("parses");
        refuse_unused(&cli).err().map(|e| e.to_string())
    }

    #[test]
    fn flags_a_command_ignores_are_refused_by_name() {
        let err = refused(&["install-hook", "--baseline", "b.json"]).unwrap();
        assert!(
            err.starts_with("--baseline: `keyhound install-hook`"),
            "{err}"
        );
        assert!(refused(&["--format", "json", "install-hook"]).is_some());
        assert!(refused(&["keycheck", "--show-secrets"]).is_some());
        assert!(refused(&["rules", "list", "--min-confidence", "high"]).is_some());
        assert!(refused(&["baseline", "dir", ".", "--format", "sarif"]).is_some());
        assert!(refused(&["baseline", "git", ".", "--exit-code", "3"]).is_some());
        assert!(refused(&["merge", "a.json", "--threads", "2"]).is_some());
        assert!(refused(&["pre-push", "--validate"]).is_some());
        assert!(refused(&["baseline", "dir", ".", "--only-live"]).is_some());
        assert!(refused(&["dir", ".", "--validate", "--only-live"]).is_none());
    }

    #[test]
    fn flags_a_command_uses_pass() {
        assert!(refused(&["install-hook", "-q"]).is_none());
        assert!(refused(&["keycheck", "--format", "json", "-o", "k.json"]).is_none());
        assert!(refused(&["--format", "json", "rules", "list"]).is_none());
        assert!(refused(&["baseline", "dir", ".", "-o", "b.json", "--threads", "2"]).is_none());
        assert!(refused(&["dir", ".", "--show-secrets", "--exit-code", "3"]).is_none());
        assert!(refused(&["ci", "--max-file-size", "10M", "--allow-skipped"]).is_none());
        assert!(refused(&["merge", "a.json", "--baseline", "b.json", "-f", "sarif"]).is_none());
    }
}
