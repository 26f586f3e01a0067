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
    /// `GitRepo::refs_fingerprint` with the selection's description.
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
        let (blobs, outcome) = read(&path, &self.key).unwrap_or_default();
        RepoCache {
            path,
            key: self.key.clone(),
            blobs,
            outcome,
            changed: false,
        }
    }
}

/// A cache file's blobs and last outcome.
type Contents = (HashMap<Oid, (String, Vec<Finding>)>, Option<Outcome>);

/// Reads a cache file's entries if it was written under `key`.
fn read(path: &Path, key: &str) -> Option<Contents> {
    let file = fs::File::open(path).ok()?;
    let mut lines = BufReader::new(file).lines();
    let header: Header = serde_json::from_str(&lines.next()?.ok()?).ok()?;
    if header.keyhound_cache != FORMAT || header.key != key {
        return None;
    }
    let mut blobs = HashMap::new();
    for line in lines {
        let entry: Entry = serde_json::from_str(&line.ok()?).ok()?;
        let id = Oid::from_str(&entry.blob).ok()?;
        blobs.insert(id, (entry.path, entry.findings));
    }
    Some((blobs, header.outcome))
}

/// One repository's cached blobs, and those recorded during this scan.
#[derive(Debug)]
pub struct RepoCache {
    path: PathBuf,
    key: String,
    blobs: HashMap<Oid, (String, Vec<Finding>)>,
    outcome: Option<Outcome>,
    changed: bool,
}

impl RepoCache {
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
    pub fn save(self) -> Result<(), CacheError> {
        if !self.changed {
            return Ok(());
        }
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
