//! The repositories of a run: named on the command line or listed in a file (`--repos-from`,
//! `-` for standard input), one local path or clone URL per line. Each keeps its name as given:
//! that is what reports show (`location.repo`) and what shards are chosen by.

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use thiserror::Error;

#[derive(Debug, Error)]
pub enum RepoListError {
    #[error("--repos-from {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("--repos-from {path}: line {line} is not UTF-8 text")]
    NotText { path: PathBuf, line: usize },
}

/// A repository to scan, by its name as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoSpec {
    pub name: String,
    pub place: Place,
}

/// Where a repository is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// A directory on this machine: a working tree, a bare repository, or a directory in one.
    Local(PathBuf),
    /// A clone URL (`https://…`, `ssh://…`, `git@host:org/repo`, `file://…`): cloned first.
    Url(String),
}

impl RepoSpec {
    /// A repository named on the command line.
    pub fn from_arg(arg: &Path) -> RepoSpec {
        let name = arg.to_string_lossy().into_owned();
        let place = if is_url(&name) && !arg.exists() {
            Place::Url(name.clone())
        } else {
            Place::Local(arg.to_path_buf())
        };
        RepoSpec { name, place }
    }

    /// Whether the repository must be cloned.
    pub fn is_url(&self) -> bool {
        matches!(self.place, Place::Url(_))
    }
}

/// Reads a repository list: one path or URL per line; blank lines and `#` comments are
/// skipped. `-` reads standard input.
pub fn read_list(path: &Path) -> Result<Vec<RepoSpec>, RepoListError> {
    let read_error = |source| RepoListError::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut bytes = Vec::new();
    if path.as_os_str() == "-" {
        io::stdin()
            .lock()
            .read_to_end(&mut bytes)
            .map_err(read_error)?;
    } else {
        bytes = std::fs::read(path).map_err(read_error)?;
    }
    let mut specs = Vec::new();
    for (n, line) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = std::str::from_utf8(line).map_err(|_| RepoListError::NotText {
            path: path.to_path_buf(),
            line: n + 1,
        })?;
        let entry = line.trim();
        if entry.is_empty() || entry.starts_with('#') {
            continue;
        }
        specs.push(RepoSpec::from_arg(Path::new(entry)));
    }
    Ok(specs)
}

/// Whether `text` is a clone URL as git reads one: `scheme://…`, or scp-like `[user@]host:path`
/// (a colon before any slash).
fn is_url(text: &str) -> bool {
    if let Some((scheme, _)) = text.split_once("://") {
        return !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c));
    }
    match (text.find(':'), text.find('/')) {
        (Some(colon), slash) => colon > 0 && slash.map_or(true, |slash| colon < slash),
        (None, _) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_told_from_paths_as_git_tells_them() {
        for url in [
            "https://github.com/org/repo.git",
            "ssh://git@example.com/org/repo",
            "file:///srv/git/repo.git",
            "git@github.com:org/repo.git",
        ] {
            assert!(is_url(url), "{url}");
        }
        for path in [
            "repo",
            "./repo",
            "/srv/git/repo.git",
            "dir/with:colon",
            ":x",
        ] {
            assert!(!is_url(path), "{path}");
        }
    }
}
