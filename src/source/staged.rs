//! What `git commit` would record: each file whose staged (index) version differs from HEAD,
//! read from the index (never the working tree), with the lines the commit adds, numbered as in
//! the staged file. Before the first commit, everything staged is added.

use std::collections::HashMap;
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};

use git2::{
    Delta, DiffFindOptions, DiffOptions, ErrorCode, FileMode, Oid, Patch, Repository, Tree,
};

use super::git::GitError;
use super::git_index::{self, GitIndex, IndexEntry};
use super::window::Kind;
use super::SkipReason;

/// One staged file to scan.
pub struct StagedFile {
    /// Repository-relative, `/`-separated.
    pub path: String,
    /// The staged content, as git stores it (the scan turns it into text).
    pub bytes: Vec<u8>,
    /// 1-based, end-exclusive ranges of the lines this commit adds or changes.
    pub added: Vec<Range<usize>>,
}

impl StagedFile {
    /// Whether any line in `first..=last` is added by the commit.
    pub fn touches(&self, first: usize, last: usize) -> bool {
        self.added
            .iter()
            .any(|lines| lines.start <= last && first < lines.end)
    }
}

/// A file the next commit adds or changes.
pub struct Change {
    path: String,
    /// The blob at HEAD (zero when the file is new).
    old: Oid,
    /// The staged blob.
    new: Oid,
    /// For a file moved here (`git mv`, or a rename git detects): the paths it left.
    moved_from: Vec<String>,
}

impl Change {
    /// Applies path allowlists to a move, `reported(path)` saying whether findings at `path`
    /// are reported: a file moved from such a path adds only the lines it changes (none,
    /// moved as it was), but one moved out of allowlisted paths only is judged whole, as new:
    /// its lines were never reported where they were. Whether the change is left to scan.
    pub fn judge_move(&mut self, reported: &dyn Fn(&str) -> bool) -> bool {
        if self.moved_from.is_empty() {
            return true;
        }
        if self.moved_from.iter().any(|from| reported(from)) {
            return !self.old.is_zero();
        }
        self.old = Oid::zero();
        true
    }
}

/// What a staged file becomes: content to scan, a deliberate skip, or an error.
pub enum Staged {
    File(StagedFile),
    Skipped { path: String, reason: SkipReason },
    Error { path: String, message: String },
}

/// The staged changes of a repository.
pub struct StagedChanges {
    repo: Repository,
}

impl StagedChanges {
    /// Opens the repository at or above `path`. A bare repository has no index to commit from.
    pub fn open(path: &Path) -> Result<StagedChanges, GitError> {
        let repo = Repository::discover(path).map_err(|e| GitError::NotARepository {
            path: path.to_path_buf(),
            message: e.message().to_string(),
        })?;
        if repo.is_bare() {
            return Err(GitError::NotARepository {
                path: path.to_path_buf(),
                message: "a bare repository has no staged changes".into(),
            });
        }
        Ok(StagedChanges { repo })
    }

    /// The working tree's root, where the config is looked for.
    pub fn workdir(&self) -> &Path {
        self.repo.workdir().unwrap_or_else(|| self.repo.path())
    }

    /// The files the next commit adds or changes, and notes worth telling the user (e.g.
    /// submodules not scanned). Deleted files add nothing and are passed over; a rename
    /// without edits adds no lines.
    pub fn changes(&self) -> Result<(Vec<Change>, Vec<String>), GitError> {
        let head = match self.repo.head() {
            Ok(head) => Some(head.peel_to_tree()?),
            // Before the first commit: compare against the empty tree.
            Err(e) if matches!(e.code(), ErrorCode::UnbornBranch | ErrorCode::NotFound) => None,
            Err(e) => return Err(e.into()),
        };
        // `git commit -a` and `git commit PATH…` run the hook on a temporary index, named by
        // GIT_INDEX_FILE.
        let index_file = std::env::var_os("GIT_INDEX_FILE")
            .filter(|f| !f.is_empty())
            .map_or_else(|| self.repo.path().join("index"), PathBuf::from);
        let data = match std::fs::read(&index_file) {
            Ok(data) => data,
            // No index yet: nothing is staged.
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((Vec::new(), Vec::new())),
            Err(e) => {
                return Err(GitError::Index {
                    path: index_file,
                    message: e.to_string(),
                })
            }
        };
        let mut diff = TreeIndexDiff::default();
        if let Some(index) = git_index::parse(&data) {
            let head_id = head.as_ref().map(Tree::id);
            diff.dir(&self.repo, head_id, b"", &index.entries, &index)?;
            // A file added with the content of one deleted (`git mv`) is a move (see
            // `Change::judge_move`).
            for change in &mut diff.changes {
                if change.old.is_zero() {
                    if let Some(from) = diff.removed.get(&change.new) {
                        change.moved_from.clone_from(from);
                    }
                }
            }
            // An edited rename needs content similarity: leave commits that still delete and
            // add to libgit2.
            let deletes = diff.retyped || !diff.removed.is_empty();
            let added = |c: &Change| c.old.is_zero() && c.moved_from.is_empty();
            if !(deletes && diff.changes.iter().any(added)) {
                return Ok((diff.changes, diff.notes));
            }
        }
        self.changes_by_libgit2(head.as_ref(), &index_file)
    }

    /// The same through libgit2's diff, with rename detection.
    fn changes_by_libgit2(
        &self,
        head: Option<&Tree>,
        index_file: &Path,
    ) -> Result<(Vec<Change>, Vec<String>), GitError> {
        let index = git2::Index::open(index_file).map_err(|e| GitError::Index {
            path: index_file.to_path_buf(),
            message: format!(
                "damaged, or a format keyhound does not know ({})",
                e.message()
            ),
        })?;
        let mut options = DiffOptions::new();
        options.include_typechange(true);
        let mut diff = self
            .repo
            .diff_tree_to_index(head, Some(&index), Some(&mut options))?;
        diff.find_similar(Some(DiffFindOptions::new().renames(true)))?;

        let mut changes = Vec::new();
        let mut notes = Vec::new();
        for delta in diff.deltas() {
            let new = delta.new_file();
            let path = crate::escape::name_from_bytes(new.path_bytes().unwrap_or_default());
            match delta.status() {
                Delta::Added
                | Delta::Modified
                | Delta::Renamed
                | Delta::Copied
                | Delta::Typechange => {}
                _ => continue,
            }
            if new.mode() == FileMode::Commit {
                notes.push(submodule_note(&path));
                continue;
            }
            let moved = matches!(delta.status(), Delta::Renamed | Delta::Copied);
            let moved_from = moved
                .then(|| delta.old_file().path_bytes())
                .flatten()
                .map(|from| vec![String::from_utf8_lossy(from).into_owned()])
                .unwrap_or_default();
            changes.push(Change {
                path,
                old: delta.old_file().id(),
                new: new.id(),
                moved_from,
            });
        }
        Ok((changes, notes))
    }

    /// Reads a changed file's staged content and works out which of its lines are new.
    pub fn read(&self, change: &Change, max_file_size: Option<u64>) -> Staged {
        let (path, old_id, new_id) = (&change.path, change.old, change.new);
        let error = |e: git2::Error| Staged::Error {
            path: path.to_string(),
            message: format!("cannot read the staged file: {}", e.message()),
        };
        if let Some(limit) = max_file_size {
            // The header gives the size without inflating a file the user chose to skip.
            match self.repo.odb().and_then(|odb| odb.read_header(new_id)) {
                Ok((size, _)) if size as u64 > limit => {
                    return Staged::Skipped {
                        path: path.to_string(),
                        reason: SkipReason::TooLarge,
                    }
                }
                Ok(_) => {}
                Err(e) => return error(e),
            }
        }
        let new = match self.repo.find_blob(new_id) {
            Ok(blob) => blob,
            Err(e) => return error(e),
        };
        let raw = new.content();
        let old = if old_id.is_zero() {
            None
        } else {
            self.repo.find_blob(old_id).ok()
        };
        // Git diffs neither UTF-16 nor binary content line by line: judge all of such a file,
        // rather than risk missing an added line.
        let added = match old {
            Some(old) if Kind::sniff(raw) == Kind::Text => match added_lines(&old, &new, path) {
                Ok(added) => added,
                Err(e) => return error(e),
            },
            _ => std::iter::once(1..usize::MAX).collect(),
        };
        Staged::File(StagedFile {
            path: path.to_string(),
            bytes: raw.to_vec(),
            added,
        })
    }
}

/// The index mode of a submodule entry (a commit of another repository).
const GITLINK_MODE: u32 = 0o160000;

fn submodule_note(path: &str) -> String {
    format!("{path}: submodule not scanned (run keyhound in the submodule itself)")
}

/// HEAD's tree against the index, directory by directory, skipping every directory whose
/// cached tree in the index is HEAD's: what git does for `git diff --cached`.
#[derive(Default)]
struct TreeIndexDiff {
    changes: Vec<Change>,
    notes: Vec<String>,
    /// The blobs of HEAD's paths that the index no longer has, and those paths.
    removed: HashMap<Oid, Vec<String>>,
    /// Whether a path changed between file and directory.
    retyped: bool,
}

impl TreeIndexDiff {
    /// Compares `tree` (the id of HEAD's directory `dir`, or none) with `entries`, the index
    /// entries under `dir`. A directory the index's cache-tree says is unchanged is not read.
    fn dir(
        &mut self,
        repo: &Repository,
        tree: Option<Oid>,
        dir: &[u8],
        entries: &[IndexEntry],
        index: &GitIndex,
    ) -> Result<(), git2::Error> {
        if tree.is_some() && index.cached_trees.get(dir) == tree.as_ref() {
            return Ok(());
        }
        let tree = tree.map(|id| repo.find_tree(id)).transpose()?;
        let prefix = if dir.is_empty() { 0 } else { dir.len() + 1 };
        let mut in_head: HashMap<Vec<u8>, (Oid, i32)> = tree
            .map(|t| {
                t.iter()
                    .map(|e| (e.name_bytes().to_vec(), (e.id(), e.filemode())))
                    .collect()
            })
            .unwrap_or_default();
        let mut i = 0;
        while i < entries.len() {
            let rest = &entries[i].path[prefix..];
            if let Some(slash) = memchr::memchr(b'/', rest) {
                // A subdirectory: its entries are contiguous, the index being sorted by path.
                let name = &rest[..slash];
                let end = i + entries[i..]
                    .iter()
                    .position(|e| !e.path[prefix..].starts_with(&rest[..=slash]))
                    .unwrap_or(entries.len() - i);
                let sub = match in_head.remove(name) {
                    Some((id, mode)) if mode == i32::from(FileMode::Tree) => Some(id),
                    Some(_) => {
                        self.retyped = true; // a file became a directory
                        None
                    }
                    None => None,
                };
                let sub_dir = &entries[i].path[..prefix + slash];
                self.dir(repo, sub, sub_dir, &entries[i..end], index)?;
                i = end;
                continue;
            }
            let entry = &entries[i];
            i += 1;
            let old = match in_head.remove(rest) {
                Some((id, mode)) if id == entry.oid && mode as u32 == entry.mode => continue,
                Some((id, mode)) if mode != i32::from(FileMode::Tree) => id,
                Some(_) => {
                    self.retyped = true; // a directory became a file
                    Oid::zero()
                }
                None => Oid::zero(),
            };
            let path = crate::escape::name_from_bytes(&entry.path);
            if entry.mode == GITLINK_MODE {
                self.notes.push(submodule_note(&path));
                continue;
            }
            self.changes.push(Change {
                path,
                old,
                new: entry.oid,
                moved_from: Vec::new(),
            });
        }
        for (name, (id, mode)) in in_head {
            let mut path = dir.to_vec();
            if !path.is_empty() {
                path.push(b'/');
            }
            path.extend_from_slice(&name);
            let path = String::from_utf8_lossy(&path).into_owned();
            if mode == i32::from(FileMode::Tree) {
                // A deleted or moved directory: its blobs, to pair with added files.
                repo.find_tree(id)?
                    .walk(git2::TreeWalkMode::PreOrder, |root, entry| {
                        if entry.kind() == Some(git2::ObjectType::Blob) {
                            let name = String::from_utf8_lossy(entry.name_bytes());
                            let from = format!("{path}/{root}{name}");
                            self.removed.entry(entry.id()).or_default().push(from);
                        }
                        git2::TreeWalkResult::Ok
                    })?;
            } else {
                self.removed.entry(id).or_default().push(path);
            }
        }
        Ok(())
    }
}

/// The new-side line ranges of a diff without context: exactly the added and changed lines.
fn added_lines(
    old: &git2::Blob,
    new: &git2::Blob,
    path: &str,
) -> Result<Vec<Range<usize>>, git2::Error> {
    let mut options = DiffOptions::new();
    options.context_lines(0).force_text(true);
    let patch = Patch::from_blobs(old, Some(Path::new(path)), new, None, Some(&mut options))?;
    let mut added = Vec::with_capacity(patch.num_hunks());
    for i in 0..patch.num_hunks() {
        let (hunk, _) = patch.hunk(i)?;
        let start = hunk.new_start() as usize;
        let lines = hunk.new_lines() as usize;
        if lines > 0 {
            added.push(start..start + lines);
        }
    }
    Ok(added)
}
