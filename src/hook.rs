//! `keyhound install-hook`: writes a plain git hook that runs keyhound, for repositories that
//! do not use the pre-commit framework. The hook lives where git looks for hooks
//! (`core.hooksPath`, or the hooks directory shared by all worktrees), and another tool's hook
//! is never replaced without `--force`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use git2::Repository;

use crate::cli::{HookKind, InstallHookArgs};

/// Marks hooks keyhound wrote, which it may replace without `--force`.
const MARKER: &str = "written by `keyhound install-hook`";

/// Runs `keyhound install-hook`.
pub fn install(args: &InstallHookArgs) -> Result<ExitCode> {
    // libgit2's message alone: its class and code mean nothing to the user.
    let repo = Repository::discover(&args.repo).map_err(|e| {
        anyhow::anyhow!(
            "{} is not in a git repository ({})",
            args.repo.display(),
            e.message()
        )
    })?;
    let dir = hooks_dir(&repo)?;
    let (name, command) = match args.hook {
        HookKind::PreCommit => ("pre-commit", "staged"),
        HookKind::PrePush => ("pre-push", "pre-push \"$@\""),
    };
    let path = dir.join(name);
    let mut backup = None;
    // Anything already there (a binary hook, an unreadable file, a dangling symlink) is
    // someone else's unless it carries keyhound's marker.
    if fs::symlink_metadata(&path).is_ok() {
        let ours = fs::read(&path)
            .is_ok_and(|bytes| memchr::memmem::find(&bytes, MARKER.as_bytes()).is_some());
        if !ours {
            if !args.force {
                bail!(
                    "{} already exists and was not written by keyhound; add a line running \
                     `keyhound {}` to it yourself, or pass --force to replace it (the old \
                     hook is kept beside it)",
                    path.display(),
                    command.split(' ').next().unwrap_or(command)
                );
            }
            let saved = path.with_extension("keyhound-backup");
            fs::rename(&path, &saved)
                .with_context(|| format!("cannot move {} aside", path.display()))?;
            backup = Some(saved);
        }
    }
    fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let exe = std::env::current_exe().context("cannot tell where the keyhound binary is")?;
    fs::write(&path, script(&exe, command))
        .with_context(|| format!("cannot write {}", path.display()))?;
    make_executable(&path)?;
    crate::diag::say(format_args!(
        "installed the {name} hook at {}",
        path.display()
    ));
    if let Some(saved) = backup {
        crate::diag::say(format_args!(
            "the previous hook was moved to {}",
            saved.display()
        ));
    }
    Ok(ExitCode::SUCCESS)
}

/// Where git runs hooks from: `core.hooksPath` (relative to the working tree root), else the
/// `hooks` directory of the repository shared by all its worktrees.
fn hooks_dir(repo: &Repository) -> Result<PathBuf> {
    let configured = repo
        .config()
        .and_then(|mut c| c.snapshot())
        .ok()
        .and_then(|c| c.get_path("core.hooksPath").ok());
    Ok(match configured {
        Some(dir) if dir.is_absolute() => dir,
        Some(dir) => repo.workdir().unwrap_or_else(|| repo.path()).join(dir),
        None => repo.commondir().join("hooks"),
    })
}

/// The hook: the binary that installed it, or `keyhound` from PATH if that one has moved.
fn script(exe: &Path, command: &str) -> String {
    // Git runs hooks with a POSIX shell on every platform, Git for Windows included, and that
    // shell reads `/` in Windows paths.
    let exe = exe.display().to_string().replace('\\', "/");
    let quoted = format!("'{}'", exe.replace('\'', r"'\''"));
    format!(
        "#!/bin/sh\n\
         # Secret scan, {MARKER}. Delete this file to uninstall.\n\
         keyhound={quoted}\n\
         [ -x \"$keyhound\" ] || keyhound=keyhound\n\
         exec \"$keyhound\" {command}\n"
    )
}

#[cfg(unix)]
fn make_executable(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755))
        .with_context(|| format!("cannot make {} executable", path.display()))
}

#[cfg(not(unix))]
fn make_executable(_: &Path) -> Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_quotes_the_binary_path_for_sh() {
        let s = script(Path::new("/opt/it's here/keyhound"), "staged");
        assert!(s.starts_with("#!/bin/sh\n"));
        assert!(s.contains(r"keyhound='/opt/it'\''s here/keyhound'"), "{s}");
        assert!(s.contains(MARKER));
        assert!(s.ends_with("exec \"$keyhound\" staged\n"));
    }
}
