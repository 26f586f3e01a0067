//! Clone URLs become bare clones in a clone directory, made and refreshed with the `git`
//! program: git's own credential helpers, `GIT_ASKPASS`, SSH configuration and proxies apply
//! as they do for every other git command on the machine (keyhound's libgit2 is built without
//! network transports, which keeps the binary free of OpenSSL and libssh2). A clone kept from
//! an earlier run (`--keep-clones`) is fetched again rather than cloned anew; otherwise each is
//! deleted once scanned, so the disk holds one or two repositories at a time, not the
//! organisation.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use sha2::{Digest, Sha256};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum CloneError {
    #[error("cannot create the clone directory {path}: {source}")]
    Dir { path: PathBuf, source: io::Error },
    #[error("cannot run git to clone it (is git installed and on PATH?): {0}")]
    Spawn(io::Error),
    #[error("git could not {action} it: {message}")]
    Git {
        action: &'static str,
        message: String,
    },
}

/// Where clones go and which refs they fetch.
#[derive(Debug, Clone)]
pub struct Cloner {
    /// The clone directory (`--clone-dir`).
    pub dir: PathBuf,
    /// Keep clones after the scan (`--keep-clones`), to fetch only what is new next time.
    pub keep: bool,
    /// Fetch every ref, review refs (`refs/pull/*`, `refs/merge-requests/*`) included
    /// (`--all`); else branches and tags.
    pub every_ref: bool,
}

impl Cloner {
    /// The clone of `url` in the clone directory: a readable, unique name per URL.
    pub fn path_for(&self, url: &str) -> PathBuf {
        // Credentials in a URL (`https://user:token@host/…`) never reach a file name.
        let without_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
        let without_user = without_scheme
            .split_once('@')
            .filter(|(user, _)| !user.contains('/'))
            .map_or(without_scheme, |(_, rest)| rest);
        let readable: String = without_user
            .trim_end_matches(".git")
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                    c
                } else {
                    '_'
                }
            })
            .take(80)
            .collect();
        let digest = Sha256::digest(url.as_bytes());
        let hash: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
        self.dir.join(format!("{readable}-{hash}.git"))
    }

    /// A bare clone of `url`, fresh or fetched again; its path. A clone that is not kept gets
    /// a name of this process's own, so processes sharing a clone directory (shards of one
    /// repository on one machine) never clone into each other's.
    pub fn fetch(&self, url: &str) -> Result<PathBuf, CloneError> {
        let mut target = self.path_for(url);
        if !self.keep {
            target.set_extension(format!("{}.git", std::process::id()));
        }
        if target.join("HEAD").is_file() {
            let mut args = vec!["fetch", "--prune", "--quiet", "--force", "--", url];
            if self.every_ref {
                args.push("+refs/*:refs/*");
            } else {
                args.extend(["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"]);
            }
            git(Some(&target), &args, "fetch")?;
            return Ok(target);
        }
        fs::create_dir_all(&self.dir).map_err(|source| CloneError::Dir {
            path: self.dir.clone(),
            source,
        })?;
        if target.exists() {
            // What an interrupted clone left: git refuses to clone into it.
            let _ = fs::remove_dir_all(&target);
        }
        let mode = if self.every_ref { "--mirror" } else { "--bare" };
        let target_text = target.to_string_lossy();
        git(
            None,
            &["clone", mode, "--quiet", "--", url, &target_text],
            "clone",
        )?;
        Ok(target)
    }

    /// Deletes a scanned clone unless clones are kept.
    pub fn release(&self, clone: &Path) {
        if !self.keep {
            if let Err(e) = fs::remove_dir_all(clone) {
                crate::diag::say(format_args!(
                    "cannot delete the clone {}: {e}",
                    clone.display()
                ));
            }
        }
    }
}

/// Runs git with `args` (in `dir` when given); its last line on stderr as the error.
fn git(dir: Option<&Path>, args: &[&str], action: &'static str) -> Result<(), CloneError> {
    let mut command = Command::new("git");
    if let Some(dir) = dir {
        command.arg("-C").arg(dir);
    }
    command
        .args(args)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // A run over hundreds of repositories must not stop at a password prompt: credentials
    // come from helpers or GIT_ASKPASS, unless the user asked for prompts.
    if std::env::var_os("GIT_TERMINAL_PROMPT").is_none() {
        command.env("GIT_TERMINAL_PROMPT", "0");
    }
    let out = command.output().map_err(CloneError::Spawn)?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let message = stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no message")
        .trim();
    Err(CloneError::Git {
        action,
        message: crate::escape::text(message).into_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clone_names_are_readable_unique_and_hold_no_credentials() {
        let cloner = Cloner {
            dir: PathBuf::from("/c"),
            keep: false,
            every_ref: false,
        };
        let a = cloner.path_for("https://user:t0ken@github.com/org/repo.git");
        let name = a.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with("github.com_org_repo-"), "{name}");
        assert!(!name.contains("t0ken"), "{name}");
        assert_ne!(a, cloner.path_for("https://github.com/org/repo.git"));
        let scp = cloner.path_for("git@github.com:org/repo.git");
        assert!(scp.to_string_lossy().contains("github.com_org_repo-"));
    }
}
