//! Which of the common flags each command uses. They are global (`keyhound --format json rules
//! list` works as `keyhound rules list --format json`), so clap accepts every one on every
//! command; a flag a command would ignore is refused here instead, naming the flag and the
//! command. Nothing downstream re-checks.

use anyhow::{bail, Result};

use crate::cli::{BaselineTarget, Cli, ColorArg, Command, CommonArgs, ConfidenceArg};

/// A common flag: its name and whether the user set it (a value other than the default).
struct Given {
    flag: &'static str,
    set: bool,
}

/// The common flags, each with whether it was given.
fn given(c: &CommonArgs) -> [Given; 13] {
    let flag = |flag, set| Given { flag, set };
    [
        flag("--format", c.format.is_some()),
        flag("--output", c.output.is_some()),
        flag("--config", c.config.is_some()),
        flag("--baseline", c.baseline.is_some()),
        flag("--show-secrets", c.show_secrets),
        flag("--include-public", c.include_public),
        flag("--min-confidence", c.min_confidence != ConfidenceArg::Low),
        flag("--threads", c.threads.is_some()),
        flag("--max-file-size", c.max_file_size.is_some()),
        flag("--max-decode-depth", c.max_decode_depth != 2),
        flag("--color", c.color != ColorArg::Auto),
        flag("--no-progress", c.no_progress),
        flag("--exit-code", c.exit_code != 1),
    ]
}

/// The command's name as typed, and whether it has a use for common flag `flag`.
fn uses(command: &Command, flag: &str) -> (&'static str, bool) {
    match command {
        Command::InstallHook(_) => ("install-hook", false),
        // keycheck judges one key, and rules describe the pack: output and rules only.
        Command::Keycheck => (
            "keycheck",
            ["--format", "--output", "--config"].contains(&flag),
        ),
        Command::Rules(_) => (
            "rules",
            ["--format", "--output", "--config"].contains(&flag),
        ),
        // A baseline is JSON, holds no secret and is written whatever it holds.
        Command::Baseline(args) => (
            match args.target {
                BaselineTarget::Dir(_) => "baseline dir",
                BaselineTarget::Stdin(_) => "baseline stdin",
                BaselineTarget::Git(_) => "baseline git",
            },
            !["--format", "--show-secrets", "--color", "--exit-code"].contains(&flag),
        ),
        // A merge reads reports: nothing is scanned, so no scanning flag has a use.
        Command::Merge(_) => (
            "merge",
            ![
                "--include-public",
                "--threads",
                "--max-file-size",
                "--max-decode-depth",
                "--no-progress",
            ]
            .contains(&flag),
        ),
        Command::Dir(_)
        | Command::Stdin(_)
        | Command::Git(_)
        | Command::Staged(_)
        | Command::PrePush(_)
        | Command::Ci(_) => ("", true),
    }
}

/// Refuses a common flag that `cli`'s command would ignore.
pub fn refuse_unused(cli: &Cli) -> Result<()> {
    for g in given(&cli.common).into_iter().filter(|g| g.set) {
        if let (name, false) = uses(&cli.command, g.flag) {
            bail!(
                "{}: `keyhound {name}` does not use it, so it is refused rather than ignored",
                g.flag
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn refused(args: &[&str]) -> Option<String> {
        let cli = Cli::try_parse_from(std::iter::once("keyhound").chain(args.iter().copied()))
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
