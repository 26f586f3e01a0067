//! Git history: every distinct blob reachable from the chosen commits, read exactly once.
//!
//! The walk visits commits oldest first (topological order) and each commit's tree, skipping
//! trees already seen, so its cost is linear in distinct trees (a "git bomb" of duplicated
//! trees stays linear) and every new blob is recorded with the first commit and path that
//! introduced it. Path allowlists apply per location, through a path predicate the caller
//! passes (the walker knows nothing of rules): a blob is recorded at its first path they do not
//! cover, one seen at covered paths only is not read, and a tree holding such blobs is walked
//! again where it reappears under another path, within a fixed budget. Only small indices into
//! an interned commit and path table are stored per blob, so memory grows with distinct blobs,
//! not with commits. Reading the blobs, the expensive part, runs in parallel with one
//! repository handle per worker thread, because a libgit2 repository is not `Sync`.

use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::ffi::OsStr;
use std::hash::{BuildHasherDefault, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use git2::{
    BranchType, ErrorCode, FileMode, ObjectType, Odb, Oid, ReferenceType, Repository, Sort, Tree,
    TreeEntry,
};
use thiserror::Error;

use super::{ChunkSink, SkipReason};
use crate::git_date;

/// Why a history could not be walked at all.
#[derive(Debug, Error)]
pub enum GitError {
    #[error("{path} is not in a git repository: {message}")]
    NotARepository { path: PathBuf, message: String },
    #[error("{0}")]
    MissingRevision(String),
    #[error("`{0}` does not name a commit")]
    NotACommit(String),
    #[error("no local or remote-tracking branch named `{0}`")]
    UnknownBranch(String),
    #[error("invalid range `{0}`: expected A..B, two revisions separated by `..`")]
    BadRange(String),
    #[error("cannot read the index {path}: {message}")]
    Index { path: PathBuf, message: String },
    #[error("{file} at commit {commit} is larger than {limit} bytes: too large to be a config or ignore file")]
    FileTooLarge {
        file: String,
        commit: String,
        limit: u64,
    },
    /// libgit2's message alone: it already says what failed, and an error chain that also
    /// listed the libgit2 error as its source would print it twice.
    #[error("git: {}", .0.message())]
    Git(git2::Error),
}

impl From<git2::Error> for GitError {
    fn from(e: git2::Error) -> GitError {
        GitError::Git(e)
    }
}

/// Which commits to scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// HEAD and every ref (branches, tags, remote-tracking branches, notes, stash) but review
    /// refs: GitHub's `refs/pull/*` and GitLab's `refs/merge-requests/*`, which `All` adds.
    Default,
    /// Every ref, review refs included; and HEAD.
    All,
    /// These branches (local first, then remote-tracking).
    Branches(Vec<String>),
    /// These revisions.
    Refs(Vec<String>),
    /// Commits reachable from `to` but not from `from`.
    Range { from: String, to: String },
    /// Commits reachable from any of `heads` but from none of `hide` (a new branch: what no
    /// other branch has; a push: what the remote does not have); with nothing to hide, the
    /// whole history of `heads`.
    Hiding {
        heads: Vec<String>,
        hide: Vec<String>,
    },
    /// The commits of `within` whose committer date falls in the window (`--since`,
    /// `--until`), as `git log` picks them; blobs their parents outside it have are not new.
    Dated {
        within: Box<Selection>,
        /// Seconds since the Unix epoch, inclusive.
        since: Option<i64>,
        until: Option<i64>,
    },
}

impl Selection {
    /// What the selection scans, in words, for the report's summary.
    pub fn describe(&self) -> String {
        let list = |items: &[String]| items.join(", ");
        match self {
            Selection::Default => "every ref but refs/pull/* and refs/merge-requests/*".into(),
            Selection::All => "every ref".into(),
            Selection::Branches(names) => format!("branches {}", list(names)),
            Selection::Refs(revs) => list(revs),
            Selection::Range { from, to } => format!("{from}..{to}"),
            Selection::Hiding { heads, hide } if hide.is_empty() => list(heads),
            Selection::Hiding { heads, .. } => format!("{} not on other branches", list(heads)),
            Selection::Dated {
                within,
                since,
                until,
            } => {
                let date = |t: i64| git_date::rfc3339(t, 0);
                let mut text = within.describe();
                if let Some(since) = since {
                    text.push_str(&format!(", committed since {}", date(*since)));
                }
                if let Some(until) = until {
                    text.push_str(&format!(", committed until {}", date(*until)));
                }
                text
            }
        }
    }

    /// Parses `A..B`; an empty side means HEAD, as in git.
    pub fn range(text: &str) -> Result<Selection, GitError> {
        let bad = || GitError::BadRange(text.to_string());
        if text.contains("...") {
            return Err(bad());
        }
        let (from, to) = text.split_once("..").ok_or_else(bad)?;
        if from.is_empty() && to.is_empty() {
            return Err(bad());
        }
        let side = |s: &str| if s.is_empty() { "HEAD" } else { s }.to_string();
        Ok(Selection::Range {
            from: side(from),
            to: side(to),
        })
    }
}

/// The commit-level facts provenance needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitInfo {
    pub id: String,
    pub author: String,
    pub email: String,
    /// Author time, RFC 3339 with the author's UTC offset: when the secret was written.
    pub date: String,
    /// Commit time, RFC 3339 with the committer's UTC offset: when it entered this history
    /// (later than `date` after a rebase or cherry-pick).
    pub committer_date: String,
    pub summary: String,
}

/// An open repository.
pub struct GitRepo {
    repo: Repository,
}

impl GitRepo {
    /// Opens the repository at or above `path`: a working tree, a linked worktree, a bare
    /// repository, or any directory inside one.
    pub fn open(path: &Path) -> Result<GitRepo, GitError> {
        // The walk reads each commit and each distinct tree once, so libgit2's object cache
        // would only hold every commit of the history in memory until the end.
        git2::opts::enable_caching(false);
        // libgit2 re-hashes every object it reads (with collision-detecting SHA-1, a third of
        // a history scan's time). A scanner reads content, it does not vouch for it: an object
        // whose bytes do not match its id is scanned as it is.
        git2::opts::strict_hash_verification(false);
        let flags = git2::RepositoryOpenFlags::empty();
        let repo =
            Repository::open_ext(path, flags, std::iter::empty::<&OsStr>()).map_err(|e| {
                GitError::NotARepository {
                    path: path.to_path_buf(),
                    message: e.message().to_string(),
                }
            })?;
        Ok(GitRepo { repo })
    }

    /// The working tree, if the repository has one.
    pub fn workdir(&self) -> Option<&Path> {
        self.repo.workdir()
    }

    /// The git directory (`.git`, or the bare repository itself).
    pub fn git_dir(&self) -> &Path {
        self.repo.path()
    }

    /// Whether this is a shallow clone, whose history is cut.
    pub fn is_shallow(&self) -> bool {
        self.repo.is_shallow()
    }

    /// Whether `rev` names a commit that is in the repository.
    pub fn has_commit(&self, rev: &str) -> bool {
        self.commit(rev).is_ok()
    }

    /// Full names of the remote-tracking branches (`refs/remotes/origin/main`), without
    /// symbolic ones such as `refs/remotes/origin/HEAD`.
    pub fn remote_branches(&self) -> Result<Vec<String>, GitError> {
        let mut names = Vec::new();
        for reference in self.repo.references_glob("refs/remotes/*")? {
            let reference = reference?;
            if reference.kind() == Some(ReferenceType::Direct) {
                names.push(String::from_utf8_lossy(reference.name_bytes()).into_owned());
            }
        }
        Ok(names)
    }

    /// Resolves a revision to a commit, with advice to fetch more history when it is missing.
    fn commit(&self, rev: &str) -> Result<Oid, GitError> {
        let object = self.repo.revparse_single(rev).map_err(|e| match e.code() {
            ErrorCode::NotFound | ErrorCode::Ambiguous | ErrorCode::InvalidSpec => {
                GitError::MissingRevision(self.missing_message(rev))
            }
            _ => GitError::Git(e),
        })?;
        object
            .peel_to_commit()
            .map(|c| c.id())
            .map_err(|_| GitError::NotACommit(rev.to_string()))
    }

    fn missing_message(&self, rev: &str) -> String {
        if self.is_shallow() {
            format!(
                "commit `{rev}` is not in this repository: it is a shallow clone and its history \
                 is cut; fetch more history (`git fetch --unshallow`, or `fetch-depth: 0` in \
                 actions/checkout) and scan again"
            )
        } else {
            format!(
                "unknown revision `{rev}`: no such commit or ref in this repository; fetch it \
                 first (in CI, check out with `fetch-depth: 0` in actions/checkout)"
            )
        }
    }

    /// The commits to start walking from, deduplicated; notes refs that name no commit.
    fn tips(&self, selection: &Selection, notes: &mut Vec<String>) -> Result<Vec<Oid>, GitError> {
        let mut tips = Vec::new();
        match selection {
            Selection::Default | Selection::All => {
                if let Ok(head) = self.repo.head() {
                    if let Ok(commit) = head.peel_to_commit() {
                        tips.push(commit.id());
                    }
                }
                for reference in self.repo.references()? {
                    let reference = reference?;
                    let name = reference.name_bytes();
                    let review = [&b"refs/pull/"[..], b"refs/merge-requests/"]
                        .iter()
                        .any(|prefix| name.starts_with(prefix));
                    let wanted = *selection == Selection::All || !review;
                    if !wanted {
                        continue;
                    }
                    let name = String::from_utf8_lossy(reference.name_bytes()).into_owned();
                    match reference.peel(ObjectType::Commit) {
                        Ok(object) => tips.push(object.id()),
                        Err(_) => {
                            notes.push(format!("{name} does not point to a commit: not scanned"))
                        }
                    }
                }
            }
            Selection::Branches(names) => {
                for name in names {
                    let branch = self
                        .repo
                        .find_branch(name, BranchType::Local)
                        .or_else(|_| self.repo.find_branch(name, BranchType::Remote))
                        .map_err(|_| GitError::UnknownBranch(name.clone()))?;
                    tips.push(branch.get().peel_to_commit()?.id());
                }
            }
            Selection::Refs(revs) | Selection::Hiding { heads: revs, .. } => {
                for rev in revs {
                    tips.push(self.commit(rev)?);
                }
            }
            Selection::Range { to, .. } => tips.push(self.commit(to)?),
            Selection::Dated { within, .. } => return self.tips(within, notes),
        }
        tips.sort_unstable();
        tips.dedup();
        Ok(tips)
    }

    /// Walks the selected commits oldest first and records every blob they introduce.
    /// `allowlisted` says which paths are not to be reported (a path predicate, nothing of
    /// rules): a blob is recorded at its first location outside them, and one that only ever
    /// appears at allowlisted paths is not scanned. `on_commit` is called after each commit
    /// with the number walked so far.
    pub fn walk(
        &self,
        selection: &Selection,
        allowlisted: &dyn Fn(&str) -> bool,
        on_commit: &mut dyn FnMut(usize),
    ) -> Result<History, GitError> {
        let mut notes = Vec::new();
        let mut revwalk = self.repo.revwalk()?;
        revwalk.set_sorting(Sort::TOPOLOGICAL | Sort::REVERSE)?;
        for tip in self.tips(selection, &mut notes)? {
            revwalk.push(tip)?;
        }
        let (within, dates) = match selection {
            Selection::Dated {
                within,
                since,
                until,
            } => (&**within, Some((*since, *until))),
            other => (other, None),
        };
        let hidden = match within {
            Selection::Range { from, .. } => vec![self.commit(from)?],
            Selection::Hiding { hide, .. } => hide
                .iter()
                .map(|rev| self.commit(rev))
                .collect::<Result<_, _>>()?,
            _ => Vec::new(),
        };
        for &commit in &hidden {
            revwalk.hide(commit)?;
        }
        let mut commits: Vec<Oid> = revwalk.collect::<Result<_, _>>()?;
        if let Some((since, until)) = dates {
            let in_window = |time: i64| {
                since.map_or(true, |since| time >= since)
                    && until.map_or(true, |until| time <= until)
            };
            commits.retain(|&id| {
                self.repo
                    .find_commit(id)
                    .is_ok_and(|c| in_window(c.committer().when().seconds()))
            });
        }

        let mut walker = TreeWalker::new(&self.repo, allowlisted);
        if !hidden.is_empty() || dates.is_some() {
            // Blobs that the hidden commits already have, or that a commit in the range
            // inherits from a parent outside it, were not introduced by the range.
            let in_range: HashSet<Oid> = commits.iter().copied().collect();
            let mut bases = hidden;
            for &id in &commits {
                let commit = self.repo.find_commit(id)?;
                bases.extend(commit.parent_ids().filter(|p| !in_range.contains(p)));
            }
            bases.sort_unstable();
            bases.dedup();
            for base in bases {
                let tree = self.repo.find_commit(base)?.tree_id();
                walker.visit(tree, None);
            }
        }
        for (done, &id) in commits.iter().enumerate() {
            match self.repo.find_commit(id) {
                Ok(commit) => walker.visit(commit.tree_id(), Some(id)),
                Err(e) => walker
                    .problems
                    .push(format!("commit {id}: cannot read: {}", e.message())),
            }
            on_commit(done + 1);
        }
        for path in &walker.gitlinks {
            notes.push(format!(
                "{path} is a submodule: not scanned (scan its repository separately)"
            ));
        }
        if walker.waived {
            notes.push(
                "path allowlists were not applied to this history: its trees are copied under \
                 too many paths to check every location, so blobs at allowlisted paths were \
                 scanned too"
                    .to_string(),
            );
        }
        Ok(walker.finish(self.git_dir().to_path_buf(), commits.len(), notes))
    }

    /// Which of `blobs` HEAD's tree holds, and which branches and tags (local and
    /// remote-tracking) still hold each: for "still in HEAD" and "still in feature" in reports.
    /// Each distinct tree is read once, whatever the number of refs sharing it.
    pub fn holders(&self, blobs: &[Oid]) -> Result<Holders, GitError> {
        let index: HashMap<Oid, usize> = blobs.iter().enumerate().map(|(i, &b)| (b, i)).collect();
        let mut contains = TreeContents::new(&self.repo, &index);
        let mut holders = Holders::default();
        match self.repo.head().and_then(|h| h.peel_to_tree()) {
            Ok(tree) => {
                let mask = contains.of(tree.id())?;
                holders.at_head = blobs
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| bit(&mask, *i))
                    .map(|(_, &b)| b)
                    .collect();
            }
            Err(e) if matches!(e.code(), ErrorCode::UnbornBranch | ErrorCode::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
        for reference in self.repo.references()? {
            let reference = reference?;
            if !(reference.is_branch() || reference.is_remote() || reference.is_tag()) {
                continue;
            }
            let Ok(tree) = reference.peel_to_tree() else {
                continue;
            };
            let mask = contains.of(tree.id())?;
            let name = String::from_utf8_lossy(reference.shorthand_bytes()).into_owned();
            for (i, &blob) in blobs.iter().enumerate() {
                if bit(&mask, i) {
                    holders.refs.entry(blob).or_default().push(name.clone());
                }
            }
        }
        for names in holders.refs.values_mut() {
            names.sort_unstable();
            names.dedup();
        }
        Ok(holders)
    }

    /// The commit `rev` names, as a full id; `None` when it names none here (a ref this clone
    /// lacks, an unborn HEAD).
    pub fn resolve_commit(&self, rev: &str) -> Option<String> {
        self.commit(rev).ok().map(|id| id.to_string())
    }

    /// The entry at path `name` (from the top) of the tree of commit `rev`, read as a config or ignore
    /// file is: only a regular file's content (at most `limit` bytes), never what a symlink
    /// points to.
    pub fn tree_file(&self, rev: &str, name: &str, limit: u64) -> Result<RootFile, GitError> {
        let commit = self.commit(rev)?;
        let tree = self.repo.find_commit(commit)?.tree()?;
        // A path below the top is looked up tree by tree: a symlinked directory on the way is
        // a blob, so the lookup fails rather than following it.
        let Ok(entry) = tree.get_path(Path::new(name)) else {
            return Ok(RootFile::Absent);
        };
        let mode = entry.filemode();
        if mode == i32::from(FileMode::Link) {
            return Ok(RootFile::NotRegular("a symbolic link"));
        }
        if mode != i32::from(FileMode::Blob) && mode != i32::from(FileMode::BlobExecutable) {
            return Ok(RootFile::NotRegular(match entry.kind() {
                Some(ObjectType::Commit) => "a submodule",
                Some(ObjectType::Tree) => "a directory",
                _ => "not a regular file",
            }));
        }
        let odb = self.repo.odb()?;
        let (size, _) = odb.read_header(entry.id())?;
        if size as u64 > limit {
            return Err(GitError::FileTooLarge {
                file: name.to_string(),
                commit: commit.to_string(),
                limit,
            });
        }
        let content = odb.read(entry.id())?.data().to_vec();
        Ok(RootFile::Regular(content))
    }

    /// Author, date and summary of a commit.
    pub fn commit_info(&self, id: Oid) -> Result<CommitInfo, GitError> {
        let commit = self.repo.find_commit(id)?;
        let author = commit.author();
        let written = author.when();
        let committed = commit.time();
        Ok(CommitInfo {
            id: id.to_string(),
            author: String::from_utf8_lossy(author.name_bytes()).into_owned(),
            email: String::from_utf8_lossy(author.email_bytes()).into_owned(),
            date: git_date::rfc3339(written.seconds(), written.offset_minutes()),
            committer_date: git_date::rfc3339(committed.seconds(), committed.offset_minutes()),
            summary: commit
                .summary_bytes()
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .unwrap_or_default(),
        })
    }
}

/// An entry of a commit's tree, as `GitRepo::tree_file` reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootFile {
    Absent,
    /// A regular file's content.
    Regular(Vec<u8>),
    /// Something else by that name, never followed: what it is.
    NotRegular(&'static str),
}

/// Where a blob first appeared.
#[derive(Debug, Clone, Copy)]
struct BlobRecord {
    id: Oid,
    /// Index into `History::commits`.
    commit: u32,
    /// Index into `History::paths`.
    path: u32,
}

/// A blob's identity and first appearance, as provenance needs it.
#[derive(Debug, Clone, Copy)]
pub struct BlobOrigin<'a> {
    pub blob: Oid,
    pub commit: Oid,
    /// Position of `commit` in topological order: lower is earlier.
    pub order: u32,
    pub path: &'a str,
}

/// The distinct blobs of a walked history, in the order they are best read.
#[derive(Debug)]
pub struct History {
    git_dir: PathBuf,
    /// Commits that introduced at least one blob, oldest first.
    commits: Vec<Oid>,
    paths: Vec<Box<str>>,
    blobs: Vec<BlobRecord>,
    /// Commits walked, including those that introduced nothing.
    pub commits_walked: usize,
    /// Whether blobs at allowlisted paths are in `blobs` too (see `REWALK_BUDGET`), so the
    /// scan must not drop them by path.
    pub path_allowlists_waived: bool,
    /// Things the user should know (submodules, refs that name no commit).
    pub notes: Vec<String>,
    /// Objects that could not be read during the walk.
    pub problems: Vec<String>,
}

/// Blobs handed to one worker at a time: large enough that consecutive versions of a file,
/// which share delta chains, stay on one thread.
const READ_BATCH: usize = 64;

impl History {
    /// Number of distinct blobs to scan.
    pub fn len(&self) -> usize {
        self.blobs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.blobs.is_empty()
    }

    /// Keeps the blobs `keep` accepts (a shard's share, those a cache does not hold), in
    /// order; commits and paths stay, so the origin of every blob kept is unchanged.
    pub fn retain(&mut self, mut keep: impl FnMut(BlobOrigin<'_>) -> bool) {
        let (commits, paths) = (&self.commits, &self.paths);
        self.blobs.retain(|r| {
            keep(BlobOrigin {
                blob: r.id,
                commit: commits[r.commit as usize],
                order: r.commit,
                path: &paths[r.path as usize],
            })
        });
    }

    /// Where blob `index` first appeared.
    pub fn origin(&self, index: usize) -> BlobOrigin<'_> {
        let record = self.blobs[index];
        BlobOrigin {
            blob: record.id,
            commit: self.commits[record.commit as usize],
            order: record.commit,
            path: &self.paths[record.path as usize],
        }
    }

    /// Reads every blob on `threads` workers and hands it to `on_blob(index, path, bytes)`;
    /// blobs over `max_size` (when given) and unreadable ones go to `sink`. `on_progress`
    /// receives the number of blobs just finished.
    pub fn scan(
        &self,
        threads: usize,
        max_size: Option<u64>,
        on_blob: &(dyn Fn(usize, &str, &[u8]) + Sync),
        on_progress: &(dyn Fn(u64) + Sync),
        sink: &dyn ChunkSink,
    ) {
        let next = AtomicUsize::new(0);
        let work = || {
            let repo = match Repository::open(&self.git_dir) {
                Ok(repo) => repo,
                Err(e) => return sink.error(&self.git_dir.display().to_string(), e.message()),
            };
            let odb = match repo.odb() {
                Ok(odb) => odb,
                Err(e) => return sink.error(&self.git_dir.display().to_string(), e.message()),
            };
            loop {
                let start = next.fetch_add(READ_BATCH, Ordering::Relaxed);
                if start >= self.blobs.len() {
                    break;
                }
                let end = (start + READ_BATCH).min(self.blobs.len());
                for index in start..end {
                    self.read(&odb, index, max_size, on_blob, sink);
                }
                on_progress((end - start) as u64);
            }
        };
        // No more workers than batches: a small repository (one of many in an audit) is read
        // on this thread, without starting a pool.
        let threads = threads.min(self.blobs.len().div_ceil(READ_BATCH));
        if threads <= 1 {
            return work();
        }
        match rayon::ThreadPoolBuilder::new().num_threads(threads).build() {
            Ok(pool) => {
                pool.broadcast(|_| work());
            }
            Err(e) => sink.error("<threads>", &e.to_string()),
        }
    }

    fn read(
        &self,
        odb: &Odb,
        index: usize,
        max_size: Option<u64>,
        on_blob: &(dyn Fn(usize, &str, &[u8]) + Sync),
        sink: &dyn ChunkSink,
    ) {
        let record = self.blobs[index];
        let path = &*self.paths[record.path as usize];
        let unreadable = |e: git2::Error| {
            sink.error(path, &format!("blob {}: {}", record.id, e.message()));
        };
        if let Some(limit) = max_size {
            match odb.read_header(record.id) {
                Ok((size, _)) if size as u64 > limit => {
                    return sink.skipped(path, SkipReason::TooLarge)
                }
                Ok(_) => {}
                Err(e) => return unreadable(e),
            }
        }
        // libgit2 inflates a packed blob whole (it cannot stream one); the scan then reads it
        // in windows, so the findings' memory stays bounded.
        match odb.read(record.id) {
            Ok(object) => on_blob(index, path, object.data()),
            Err(e) => unreadable(e),
        }
    }
}

/// Object ids are already uniformly distributed: hash them by their first eight bytes rather
/// than running SipHash over all twenty, since the walk looks up every entry of every new tree.
#[derive(Default)]
struct OidHasher(u64);

impl Hasher for OidHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        match bytes.get(..8) {
            Some(head) => self.0 ^= u64::from_ne_bytes(head.try_into().unwrap_or_default()),
            None => {
                for &b in bytes {
                    self.0 = self.0.rotate_left(8) ^ u64::from(b);
                }
            }
        }
    }
}

/// Where the blobs that produced findings still are (see `GitRepo::holders`).
#[derive(Debug, Default)]
pub struct Holders {
    /// The blobs HEAD's tree holds.
    pub at_head: HashSet<Oid>,
    /// For each blob, the short names of the branches and tags whose tip trees hold it.
    pub refs: HashMap<Oid, Vec<String>>,
}

/// Which of a few target blobs each tree holds, as a bit set, remembered per tree so a tree
/// shared by many refs (or many times within one) is read once.
struct TreeContents<'r> {
    repo: &'r Repository,
    targets: &'r HashMap<Oid, usize>,
    memo: HashMap<Oid, Vec<u64>>,
}

impl<'r> TreeContents<'r> {
    fn new(repo: &'r Repository, targets: &'r HashMap<Oid, usize>) -> Self {
        TreeContents {
            repo,
            targets,
            memo: HashMap::new(),
        }
    }

    /// The targets under tree `root`. Iterative (a crafted history can nest trees deeper than
    /// a thread's stack): a tree is summed once all its subtrees have been.
    fn of(&mut self, root: Oid) -> Result<Vec<u64>, GitError> {
        let words = self.targets.len().div_ceil(64);
        let mut stack = vec![(root, false)];
        while let Some((id, children_done)) = stack.pop() {
            if self.memo.contains_key(&id) {
                continue;
            }
            let tree = self.repo.find_tree(id)?;
            if !children_done {
                stack.push((id, true));
                for entry in tree.iter() {
                    if entry.kind() == Some(ObjectType::Tree)
                        && !self.memo.contains_key(&entry.id())
                    {
                        stack.push((entry.id(), false));
                    }
                }
                continue;
            }
            let mut mask = vec![0u64; words];
            for entry in tree.iter() {
                match entry.kind() {
                    Some(ObjectType::Blob) => {
                        if let Some(&i) = self.targets.get(&entry.id()) {
                            mask[i / 64] |= 1 << (i % 64);
                        }
                    }
                    Some(ObjectType::Tree) => {
                        if let Some(sub) = self.memo.get(&entry.id()) {
                            mask.iter_mut().zip(sub).for_each(|(m, s)| *m |= s);
                        }
                    }
                    _ => {}
                }
            }
            self.memo.insert(id, mask);
        }
        Ok(self.memo.get(&root).cloned().unwrap_or_default())
    }
}

/// Whether bit `i` of `mask` is set.
fn bit(mask: &[u64], i: usize) -> bool {
    mask.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
}

type OidSet = HashSet<Oid, BuildHasherDefault<OidHasher>>;
type OidMap<V> = HashMap<Oid, V, BuildHasherDefault<OidHasher>>;

/// Commit index of blobs that were present before a range and are not to be scanned.
const BEFORE_RANGE: u32 = u32::MAX;

/// Work allowed for walking trees again because they reappear under a new path (entries plus
/// prefix bytes): past this, path allowlists are waived rather than letting a crafted history
/// (a "git bomb" under an allowlisted directory) make the walk exponential.
const REWALK_BUDGET: usize = 1 << 22;

/// Where a blob is recorded: its first location outside the allowlisted paths, or, while it
/// has been seen at allowlisted paths only, the first of those.
#[derive(Debug, Clone, Copy)]
struct BlobSlot {
    commit: u32,
    path: u32,
    allowlisted_only: bool,
}

/// A tree being walked: where it sits, how far its entries are done, and whether a blob under
/// it has been seen at allowlisted paths only (then a copy of the tree at another path must
/// be walked again: there, the blob may not be allowlisted).
struct Frame<'r> {
    tree: Tree<'r>,
    prefix: String,
    next: usize,
    again: bool,
    tainted: bool,
}

/// The prefixes a tree holding blobs seen at allowlisted paths only was walked at: almost
/// always one.
enum WalkedAt {
    One(Box<str>),
    Many(HashSet<Box<str>>),
}

impl WalkedAt {
    fn contains(&self, prefix: &str) -> bool {
        match self {
            WalkedAt::One(walked) => **walked == *prefix,
            WalkedAt::Many(walked) => walked.contains(prefix),
        }
    }

    fn insert(&mut self, prefix: Box<str>) {
        match self {
            WalkedAt::One(walked) if *walked != prefix => {
                let first = std::mem::take(walked);
                *self = WalkedAt::Many(HashSet::from([first, prefix]));
            }
            WalkedAt::One(_) => {}
            WalkedAt::Many(walked) => {
                walked.insert(prefix);
            }
        }
    }
}

/// What one tree entry asks of the walk.
enum Step {
    Skip,
    /// A subtree to walk (`again`: already walked at another prefix).
    Enter {
        id: Oid,
        prefix: String,
        again: bool,
    },
    /// A subtree not walked again that holds blobs seen at allowlisted paths only.
    Taint,
    Blob {
        id: Oid,
        path: String,
    },
    Gitlink(String),
}

/// State of one history walk.
struct TreeWalker<'r> {
    repo: &'r Repository,
    allowlisted: &'r dyn Fn(&str) -> bool,
    seen_trees: OidSet,
    /// Trees holding a blob seen at allowlisted paths only → the prefixes they were walked at.
    tainted_trees: OidMap<WalkedAt>,
    rewalk_budget: usize,
    /// Set once the budget is spent: every path counts as not allowlisted from then on.
    waived: bool,
    blobs: OidMap<BlobSlot>,
    commits: Vec<Oid>,
    paths: Vec<Box<str>>,
    path_ids: HashMap<Box<str>, u32>,
    gitlinks: BTreeSet<String>,
    problems: Vec<String>,
}

impl<'r> TreeWalker<'r> {
    fn new(repo: &'r Repository, allowlisted: &'r dyn Fn(&str) -> bool) -> Self {
        TreeWalker {
            repo,
            allowlisted,
            seen_trees: OidSet::default(),
            tainted_trees: OidMap::default(),
            rewalk_budget: REWALK_BUDGET,
            waived: false,
            blobs: OidMap::default(),
            commits: Vec::new(),
            paths: Vec::new(),
            path_ids: HashMap::new(),
            gitlinks: BTreeSet::new(),
            problems: Vec::new(),
        }
    }

    /// Records the blobs under `tree` that no earlier tree had, as introduced by `commit`
    /// (`None`: known before the range, never scanned), and the blobs seen so far at
    /// allowlisted paths only that appear here at a path that is not. Depth first and
    /// post-order, so a tree met again is either finished, with its taint known, or skipped.
    fn visit(&mut self, tree: Oid, commit: Option<Oid>) {
        // The commit gets an index only once it introduces a blob, so the commit table holds
        // introducing commits only.
        let mut commit_index = None;
        let mut stack: Vec<Frame<'r>> = Vec::new();
        match self.wants(tree, "") {
            Some(again) => self.enter(&mut stack, tree, String::new(), again),
            None => return,
        }
        while let Some(frame) = stack.last_mut() {
            let step = match frame.tree.get(frame.next) {
                Some(entry) => Some(self.step(&entry, &frame.prefix, commit.is_some())),
                None => None,
            };
            frame.next += 1;
            let Some(step) = step else {
                if let Some(done) = stack.pop() {
                    self.leave(done, stack.last_mut());
                }
                continue;
            };
            match step {
                Step::Skip => {}
                Step::Enter { id, prefix, again } => self.enter(&mut stack, id, prefix, again),
                Step::Taint => taint(&mut stack),
                Step::Blob { id, path } => {
                    let allowlisted = self.is_allowlisted(&path);
                    if allowlisted {
                        taint(&mut stack);
                    }
                    let known = self.blobs.contains_key(&id);
                    if allowlisted && known {
                        continue;
                    }
                    let commit = match commit {
                        None => BEFORE_RANGE,
                        Some(commit) => *commit_index.get_or_insert_with(|| {
                            self.commits.push(commit);
                            (self.commits.len() - 1) as u32
                        }),
                    };
                    let path = self.intern(&path);
                    self.blobs.insert(
                        id,
                        BlobSlot {
                            commit,
                            path,
                            allowlisted_only: allowlisted,
                        },
                    );
                }
                Step::Gitlink(path) => {
                    self.gitlinks.insert(path);
                }
            }
        }
    }

    /// What to do with one entry of the tree at `prefix`. A blob is only looked at further
    /// when it is new, or seen so far at allowlisted paths only (and not at this one).
    fn step(&mut self, entry: &TreeEntry<'_>, prefix: &str, in_range: bool) -> Step {
        let id = entry.id();
        match entry.kind() {
            Some(ObjectType::Tree) => {
                if self.seen_trees.insert(id) {
                    let prefix = join(prefix, entry.name_bytes(), "/");
                    return Step::Enter {
                        id,
                        prefix,
                        again: false,
                    };
                }
                if !self.tainted_trees.contains_key(&id) {
                    return Step::Skip;
                }
                let prefix = join(prefix, entry.name_bytes(), "/");
                if self.walks_again(id, &prefix) {
                    Step::Enter {
                        id,
                        prefix,
                        again: true,
                    }
                } else {
                    Step::Taint
                }
            }
            // A symlink's blob is its target path, not content; `dir` skips symlinks too.
            Some(ObjectType::Blob) if entry.filemode() != i32::from(FileMode::Link) => {
                let Some(slot) = self.blobs.get(&id).copied() else {
                    let path = join(prefix, entry.name_bytes(), "");
                    return Step::Blob { id, path };
                };
                if !slot.allowlisted_only {
                    return Step::Skip;
                }
                // Seen again where it was recorded (an allowlisted directory that changed
                // elsewhere): no need to build the path and ask again.
                if is_at(&self.paths[slot.path as usize], prefix, entry.name_bytes()) {
                    return Step::Taint;
                }
                let path = join(prefix, entry.name_bytes(), "");
                Step::Blob { id, path }
            }
            Some(ObjectType::Commit) if in_range => {
                Step::Gitlink(join(prefix, entry.name_bytes(), ""))
            }
            _ => Step::Skip,
        }
    }

    /// Whether the tree `id` at `prefix` is to be walked: `Some(false)` the first time it is
    /// seen, `Some(true)` again (see `walks_again`), `None` otherwise.
    fn wants(&mut self, id: Oid, prefix: &str) -> Option<bool> {
        if self.seen_trees.insert(id) {
            return Some(false);
        }
        self.walks_again(id, prefix).then_some(true)
    }

    /// Whether the tree `id`, already walked, is walked again at `prefix`: when it holds blobs
    /// seen at allowlisted paths only and was never walked at this prefix.
    fn walks_again(&self, id: Oid, prefix: &str) -> bool {
        !self.waived
            && self
                .tainted_trees
                .get(&id)
                .is_some_and(|walked| !walked.contains(prefix))
    }

    /// Reads the tree `id` and puts it on the stack to walk.
    fn enter(&mut self, stack: &mut Vec<Frame<'r>>, id: Oid, prefix: String, again: bool) {
        match self.repo.find_tree(id) {
            Ok(tree) => {
                if again {
                    self.charge(1 + tree.len() + prefix.len());
                }
                stack.push(Frame {
                    tree,
                    prefix,
                    next: 0,
                    again,
                    tainted: false,
                });
            }
            Err(e) => {
                let at = if prefix.is_empty() { "/" } else { &prefix };
                self.problems
                    .push(format!("{at}: cannot read tree {id}: {}", e.message()));
            }
        }
    }

    /// Notes whether a finished tree holds blobs seen at allowlisted paths only, and at which
    /// prefix, and passes that on to its parent; a tree walked again that no longer holds
    /// any is forgotten.
    fn leave(&mut self, done: Frame<'r>, parent: Option<&mut Frame<'r>>) {
        if done.tainted {
            let prefix = done.prefix.into_boxed_str();
            match self.tainted_trees.entry(done.tree.id()) {
                Entry::Occupied(mut walked) => walked.get_mut().insert(prefix),
                Entry::Vacant(slot) => {
                    slot.insert(WalkedAt::One(prefix));
                }
            }
            if let Some(parent) = parent {
                parent.tainted = true;
            }
        } else if done.again {
            self.tainted_trees.remove(&done.tree.id());
        }
    }

    /// Whether `path` is allowlisted, unless allowlists were waived.
    fn is_allowlisted(&self, path: &str) -> bool {
        !self.waived && (self.allowlisted)(path)
    }

    /// Spends `work` of the budget for walking trees again; waives path allowlists once it is
    /// spent.
    fn charge(&mut self, work: usize) {
        match self.rewalk_budget.checked_sub(work) {
            Some(left) => self.rewalk_budget = left,
            None => self.waived = true,
        }
    }

    fn intern(&mut self, path: &str) -> u32 {
        if let Some(&id) = self.path_ids.get(path) {
            return id;
        }
        let id = self.paths.len() as u32;
        self.paths.push(path.into());
        self.path_ids.insert(path.into(), id);
        id
    }

    /// The blobs to scan, sorted by path and then newest first: consecutive versions of a
    /// file share delta chains, so reading them together keeps libgit2's delta-base cache warm.
    fn finish(mut self, git_dir: PathBuf, commits_walked: usize, notes: Vec<String>) -> History {
        let waived = self.waived;
        if waived && self.blobs.values().any(|slot| slot.commit == BEFORE_RANGE) {
            // Waived, the walk may have skipped a copy the range makes, at a path no allowlist
            // covers, of a blob its base holds at allowlisted paths only: fail the check
            // rather than pass it.
            self.problems.push(
                "path allowlists were waived in a range scan, so copies of blobs its base holds \
                 at allowlisted paths only could not be followed (trees copied under too many \
                 paths)"
                    .to_string(),
            );
        }
        let mut blobs: Vec<BlobRecord> = self
            .blobs
            .into_iter()
            .filter(|(_, slot)| slot.commit != BEFORE_RANGE && (waived || !slot.allowlisted_only))
            .map(|(id, slot)| BlobRecord {
                id,
                commit: slot.commit,
                path: slot.path,
            })
            .collect();
        blobs.sort_unstable_by(|a, b| {
            (&self.paths[a.path as usize], b.commit).cmp(&(&self.paths[b.path as usize], a.commit))
        });
        History {
            git_dir,
            commits: self.commits,
            paths: self.paths,
            blobs,
            commits_walked,
            path_allowlists_waived: waived,
            notes,
            problems: self.problems,
        }
    }
}

/// Whether `path` is `prefix` followed by `name` (a name that is not UTF-8 never is: paths
/// hold it with replacement characters).
fn is_at(path: &str, prefix: &str, name: &[u8]) -> bool {
    path.len() == prefix.len() + name.len()
        && path.starts_with(prefix)
        && path.as_bytes()[prefix.len()..] == *name
}

/// Marks the tree being walked as holding a blob seen at allowlisted paths only.
fn taint(stack: &mut [Frame<'_>]) {
    if let Some(frame) = stack.last_mut() {
        frame.tainted = true;
    }
}

fn join(prefix: &str, name: &[u8], suffix: &str) -> String {
    let mut path = String::with_capacity(prefix.len() + name.len() + suffix.len());
    path.push_str(prefix);
    crate::escape::push_name(&mut path, name);
    path.push_str(suffix);
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recorded_path_is_recognised_from_its_prefix_and_name() {
        assert!(is_at("vendor/x.env", "vendor/", b"x.env"));
        assert!(is_at("x.env", "", b"x.env"));
        assert!(!is_at("vendor/x.env", "vendor/", b"y.env"));
        assert!(!is_at("vendor/x.env", "vend/", b"orx.env"));
        assert!(!is_at("vendor/x.envy", "vendor/", b"x.env"));
        // A name that is not UTF-8 is held with a replacement character: never equal.
        assert!(!is_at("vendor/\u{fffd}", "vendor/", b"\xff"));
    }

    #[test]
    fn walked_prefixes_grow_from_one_to_a_set() {
        let mut walked = WalkedAt::One("vendor/a/".into());
        walked.insert("vendor/a/".into());
        assert!(matches!(walked, WalkedAt::One(_)));
        walked.insert("src/a/".into());
        assert!(walked.contains("vendor/a/") && walked.contains("src/a/"));
        assert!(!walked.contains("lib/a/"));
    }

    #[test]
    fn range_sides_default_to_head() {
        let range = |from: &str, to: &str| Selection::Range {
            from: from.into(),
            to: to.into(),
        };
        assert_eq!(Selection::range("a..b").unwrap(), range("a", "b"));
        assert_eq!(Selection::range("v1..").unwrap(), range("v1", "HEAD"));
        assert_eq!(Selection::range("..b").unwrap(), range("HEAD", "b"));
        assert!(Selection::range("a...b").is_err());
        assert!(Selection::range("..").is_err());
        assert!(Selection::range("main").is_err());
    }
}
