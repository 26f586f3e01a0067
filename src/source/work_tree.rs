//! A `keyhound dir` operand inside a git work tree. There git's ignore rules decide what is
//! walked, as in git itself they apply only to untracked files: a tracked `key.pem` that a
//! `.gitignore` pattern matches is in every clone, so it is scanned. The walk applies the rules
//! (cheaply, skipping whole ignored directories); this module lists the tracked files under
//! the operand, so that the walk's caller scans any it skipped, and counts the untracked paths
//! the rules excluded, so that the summary can say so.

use std::path::{Path, PathBuf};

use git2::{Repository, StatusOptions};

/// The work tree an operand directory is in, and where the operand sits in it.
pub struct WorkTree {
    repo: Repository,
    /// The operand relative to the work tree's top, `/`-separated, "" for the top itself.
    below: String,
}

impl WorkTree {
    /// The work tree that directory `operand` is in, if any.
    pub fn of(operand: &Path) -> Option<WorkTree> {
        let repo = Repository::discover(operand).ok()?;
        let top = repo.workdir()?.canonicalize().ok()?;
        let rest = operand.canonicalize().ok()?;
        let rest = rest.strip_prefix(&top).ok()?;
        let parts: Vec<String> = rest
            .components()
            .map(|c| c.as_os_str().to_str().map(str::to_string))
            .collect::<Option<_>>()?;
        Some(WorkTree {
            repo,
            below: parts.join("/"),
        })
    }

    /// The regular files the index tracks under the operand, each as `operand` joined with its
    /// path below it (the path the walk would have given it). Symlinks and submodules are left
    /// out: neither is file content of this tree.
    pub fn tracked_files(&self, operand: &Path) -> Vec<PathBuf> {
        let Ok(index) = self.repo.index() else {
            return Vec::new();
        };
        let prefix = match self.below.as_str() {
            "" => Vec::new(),
            below => format!("{below}/").into_bytes(),
        };
        index
            .iter()
            .filter(|entry| matches!(entry.mode, 0o100644 | 0o100755))
            .filter_map(|entry| {
                let rest = entry.path.strip_prefix(prefix.as_slice())?;
                Some(operand.join(path_from_bytes(rest)?))
            })
            .collect()
    }

    /// How many untracked paths under the operand git's ignore rules exclude; an ignored
    /// directory counts once, as `git status --ignored` lists it.
    pub fn ignored_paths(&self) -> u64 {
        let mut options = StatusOptions::new();
        options
            .include_untracked(true)
            .include_ignored(true)
            .recurse_ignored_dirs(false)
            .exclude_submodules(true)
            .update_index(false);
        if !self.below.is_empty() {
            options.pathspec(&self.below).disable_pathspec_match(true);
        }
        self.repo
            .statuses(Some(&mut options))
            .map_or(0, |statuses| {
                statuses.iter().filter(|s| s.status().is_ignored()).count() as u64
            })
    }
}

/// A path from the index's bytes (not UTF-8 on Unix is kept as is; elsewhere it must be).
fn path_from_bytes(bytes: &[u8]) -> Option<PathBuf> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        Some(PathBuf::from(std::ffi::OsStr::from_bytes(bytes)))
    }
    #[cfg(not(unix))]
    {
        std::str::from_utf8(bytes).ok().map(PathBuf::from)
    }
}
