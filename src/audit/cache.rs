//! `--cache DIR`: which blobs were scanned before, and what they held, so that a re-audit of
//! an unchanged organisation reads only new blobs. A blob's id is the hash of its content, so
//! with the same rules and the same path its findings cannot change; they are kept with it and
//! put back into the report, which stays complete.
//!
//! Each repository has one file, named by a hash of its name as given (memory follows the
//! largest repository, not the organisation): a header naming the detection key, then one JSON
//! line per blob. The detection key is a SHA-256 of everything that decides what a blob yields:
//! keyhound's version, every rule as compiled, the config's text, and the flags that change
//! findings; a file written under another key is ignored and replaced, so a changed rule pack
//! invalidates the cache by itself. Baselines, ignore files and commit allowlists are applied
//! after the cache, and so may change freely.

use std::collections::HashMap;
use std::fs::{self, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use git2::Oid;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::finding::Finding;

/// Version of the cache file format.
const FORMAT: u32 = 1;

#[derive(Debug, Error)]
pub enum CacheError {
    #[error("cannot create the cache directory {path}: {source}")]
    Dir { path: PathBuf, source: io::Error },
    #[error("cannot write the cache file {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
}

/// The cache directory and the key of this run's detection settings.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
    key: String,
}

/// The first line of a cache file.
#[derive(Serialize, Deserialize)]
struct Header {
    keyhound_cache: u32,
    key: String,
    /// The last scan's result, and the refs it was taken from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    outcome: Option<Outcome>,
}

/// A whole repository's result: while its refs have not moved, a re-audit does not even walk
/// its history.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Outcome {
    /// `refs_stamp` of the repository with the selection's description.
    pub refs: String,
    /// Blobs behind the findings: read or cached, all of them judged.
    pub blobs: u64,
    pub commits: usize,
    pub findings: Vec<Finding>,
}

/// One scanned blob: its id, the path it was scanned at, and its findings.
#[derive(Serialize, Deserialize)]
struct Entry {
    blob: String,
    path: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    findings: Vec<Finding>,
}

impl Cache {
    /// The cache in `dir` for scans whose detection settings hash to `key`.
    pub fn open(dir: &Path, key: String) -> Result<Cache, CacheError> {
        fs::create_dir_all(dir).map_err(|source| CacheError::Dir {
            path: dir.to_path_buf(),
            source,
        })?;
        Ok(Cache {
            dir: dir.to_path_buf(),
            key,
        })
    }

    /// The cached blobs of repository `name` (as given); none when its file is missing,
    /// unreadable or written under another key.
    pub fn repo(&self, name: &str) -> RepoCache {
        let digest = Sha256::digest(name.as_bytes());
        let file: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        let path = self.dir.join(format!("{file}.jsonl"));
        let (outcome, pending) = read(&path, &self.key).unwrap_or_default();
        RepoCache {
            path,
            key: self.key.clone(),
            blobs: HashMap::new(),
            pending,
            outcome,
            changed: false,
        }
    }
}

/// A cache file's last outcome, and its blob lines, parsed only when needed (a repository whose
/// refs have not moved needs the outcome alone).
type Contents = (Option<Outcome>, Vec<String>);

/// Reads a cache file if it was written under `key`.
fn read(path: &Path, key: &str) -> Option<Contents> {
    let file = fs::File::open(path).ok()?;
    let mut lines = BufReader::new(file).lines();
    let header: Header = serde_json::from_str(&lines.next()?.ok()?).ok()?;
    if header.keyhound_cache != FORMAT || header.key != key {
        return None;
    }
    let pending = lines.collect::<Result<Vec<String>, _>>().ok()?;
    Some((header.outcome, pending))
}

/// One repository's cached blobs, and those recorded during this scan.
#[derive(Debug)]
pub struct RepoCache {
    path: PathBuf,
    key: String,
    blobs: HashMap<Oid, (String, Vec<Finding>)>,
    /// Blob lines not parsed yet (see `load_blobs`).
    pending: Vec<String>,
    outcome: Option<Outcome>,
    changed: bool,
}

impl RepoCache {
    /// Parses the blob lines read from the file; `findings` sees only loaded blobs. A line that
    /// does not parse is dropped (its blob is read again).
    pub fn load_blobs(&mut self) {
        for line in std::mem::take(&mut self.pending) {
            let Ok(entry) = serde_json::from_str::<Entry>(&line) else {
                continue;
            };
            if let Ok(id) = Oid::from_str(&entry.blob) {
                self.blobs.insert(id, (entry.path, entry.findings));
            }
        }
    }

    /// The last scan's outcome, if it was taken from the same refs (`refs`).
    pub fn unchanged(&self, refs: &str) -> Option<&Outcome> {
        self.outcome.as_ref().filter(|o| o.refs == refs)
    }

    /// Records this scan's outcome.
    pub fn remember(&mut self, outcome: Outcome) {
        self.outcome = Some(outcome);
        self.changed = true;
    }

    /// The findings of `blob` scanned at `path` before, if it was.
    pub fn findings(&self, blob: Oid, path: &str) -> Option<Vec<Finding>> {
        self.blobs
            .get(&blob)
            .filter(|(at, _)| at == path)
            .map(|(_, findings)| findings.clone())
    }

    /// Records that `blob`, scanned at `path`, yielded `findings`.
    pub fn record(&mut self, blob: Oid, path: &str, findings: &[Finding]) {
        self.blobs
            .insert(blob, (path.to_string(), findings.to_vec()));
        self.changed = true;
    }

    /// Writes the file back if anything was recorded: privately (findings name secrets), and
    /// whole or not at all (a new file renamed over the old). Not synced to disk: a file lost
    /// in a crash costs a rescan, and a thousand repositories should not cost a thousand
    /// flushes.
    pub fn save(mut self) -> Result<(), CacheError> {
        if !self.changed {
            return Ok(());
        }
        self.load_blobs();
        let mut entries: Vec<(&Oid, &(String, Vec<Finding>))> = self.blobs.iter().collect();
        entries.sort_by_key(|(id, _)| **id);
        let mut text = Vec::new();
        let header = Header {
            keyhound_cache: FORMAT,
            key: self.key.clone(),
            outcome: self.outcome.clone(),
        };
        let write = || -> io::Result<()> {
            writeln!(text, "{}", serde_json::to_string(&header)?)?;
            for (id, (path, findings)) in entries {
                let entry = Entry {
                    blob: id.to_string(),
                    path: path.clone(),
                    findings: findings.clone(),
                };
                writeln!(text, "{}", serde_json::to_string(&entry)?)?;
            }
            Ok(())
        };
        write()
            .and_then(|()| replace_private(&self.path, &text))
            .map_err(|source| CacheError::Write {
                path: self.path.clone(),
                source,
            })
    }
}

/// Writes `bytes` to a new file beside `path`, readable by its owner only, and renames it over
/// `path` (a link there is replaced, never followed).
fn replace_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let temp = path.with_extension(format!("{}.tmp", std::process::id()));
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let written = options
        .open(&temp)
        .and_then(|mut file| file.write_all(bytes))
        .and_then(|()| fs::rename(&temp, path));
    if written.is_err() {
        let _ = fs::remove_file(&temp);
    }
    written
}

/// A stamp of a repository's refs read straight from its git directory, without opening it:
/// HEAD, `packed-refs`, every file under `refs/` (name and content) and a shallow clone's cut.
/// While it is unchanged, so is every history a selection of refs can walk, and a re-audit
/// need not even open the repository (which costs some forty file-system lookups in libgit2).
/// `None` where refs live elsewhere (a linked worktree's common directory, reftable).
pub fn refs_stamp(git_dir: &Path) -> Option<String> {
    if git_dir.join("commondir").exists() || git_dir.join("reftable").exists() {
        return None;
    }
    let mut refs = Vec::new();
    collect_refs(&git_dir.join("refs"), "refs", &mut refs).ok()?;
    refs.sort();
    let mut text = Vec::new();
    for name in ["HEAD", "packed-refs", "shallow"] {
        text.extend_from_slice(name.as_bytes());
        text.push(0);
        match read_regular(&git_dir.join(name)) {
            Ok(bytes) => text.extend_from_slice(&bytes),
            Err(e) if e.kind() == io::ErrorKind::NotFound && name != "HEAD" => {}
            Err(_) => return None,
        }
        text.push(0);
    }
    for (name, content) in refs {
        text.extend_from_slice(name.as_bytes());
        text.push(0);
        text.extend_from_slice(&content);
        text.push(0);
    }
    Some(crate::finding::fingerprint(&text))
}

/// Every loose ref file below `dir` (named `prefix/…`) with its content.
fn collect_refs(dir: &Path, prefix: &str, out: &mut Vec<(String, Vec<u8>)>) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = format!("{prefix}/{}", entry.file_name().to_string_lossy());
        let kind = entry.file_type()?;
        if kind.is_dir() {
            collect_refs(&entry.path(), &name, out)?;
        } else {
            out.push((name, read_regular(&entry.path())?));
        }
    }
    Ok(())
}

/// A regular file's bytes, never through a symlink and never waiting on a FIFO: the repository
/// is untrusted, and anything else there makes the stamp fail (the repository is then opened
/// and walked as without a cache).
fn read_regular(path: &Path) -> io::Result<Vec<u8>> {
    let mut options = fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    let mut file = options.open(path)?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    let mut bytes = Vec::new();
    io::Read::read_to_end(&mut file, &mut bytes)?;
    Ok(bytes)
}

/// The detection key: a hash of `parts` (each what decides findings: version, rules as
/// compiled, config text, flags), in order.
pub fn detection_key(parts: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refs_stamp_moves_with_any_ref_and_gives_up_where_refs_live_elsewhere() {
        let dir = tempfile::tempdir().unwrap();
        let git = dir.path();
        fs::create_dir_all(git.join("refs/heads")).unwrap();
        fs::write(git.join("HEAD"), "ref: refs/heads/main\n").unwrap();
        fs::write(git.join("refs/heads/main"), format!("{}\n", "a".repeat(40))).unwrap();
        let first = refs_stamp(git).unwrap();
        assert_eq!(
            refs_stamp(git).unwrap(),
            first,
            "stable while nothing moves"
        );

        fs::write(git.join("refs/heads/main"), format!("{}\n", "b".repeat(40))).unwrap();
        let moved = refs_stamp(git).unwrap();
        assert_ne!(moved, first, "a branch moved");
        fs::create_dir_all(git.join("refs/tags")).unwrap();
        fs::write(git.join("refs/tags/v1"), format!("{}\n", "c".repeat(40))).unwrap();
        let tagged = refs_stamp(git).unwrap();
        assert_ne!(tagged, moved, "a new tag");
        fs::write(git.join("packed-refs"), "# pack-refs\n").unwrap();
        let packed = refs_stamp(git).unwrap();
        assert_ne!(packed, tagged, "refs were packed");
        fs::write(git.join("shallow"), format!("{}\n", "d".repeat(40))).unwrap();
        assert_ne!(refs_stamp(git).unwrap(), packed, "the history was cut");

        fs::write(git.join("commondir"), "../..\n").unwrap();
        assert_eq!(
            refs_stamp(git),
            None,
            "a linked worktree's refs are elsewhere"
        );
    }

    /// An untrusted repository's refs are read as regular files only: a symlink out of the
    /// repository is not followed, and a FIFO does not hang the audit; the stamp gives up.
    #[cfg(unix)]
    #[test]
    fn the_refs_stamp_follows_no_symlink_and_waits_on_no_fifo() {
        let dir = tempfile::tempdir().unwrap();
        let git = dir.path().join("repo.git");
        fs::create_dir_all(git.join("refs/heads")).unwrap();
        fs::write(git.join("HEAD"), "ref: refs/heads/main\n").unwrap();
        fs::write(dir.path().join("outside"), "not a ref\n").unwrap();
        std::os::unix::fs::symlink(dir.path().join("outside"), git.join("refs/heads/main"))
            .unwrap();
        assert_eq!(refs_stamp(&git), None, "a symlinked ref");
        fs::remove_file(git.join("refs/heads/main")).unwrap();
        let fifo = std::ffi::CString::new(git.join("refs/heads/main").to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        assert_eq!(refs_stamp(&git), None, "a FIFO ref");
    }
}
