//! Git history: every distinct blob reachable from the chosen commits, read exactly once.
//!
//! The walk visits commits oldest first (topological order) and each commit's tree, skipping
//! trees already seen, so its cost is linear in distinct trees (a "git bomb" of duplicated
//! trees stays linear) and every new blob is recorded with the first commit and path that
//! introduced it. Only small indices into an interned commit and path table are stored per
//! blob, so memory grows with distinct blobs, not with commits. Reading the blobs, the
//! expensive part, runs in parallel with one repository handle per worker thread, because a
//! libgit2 repository is not `Sync`.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::ffi::OsStr;
use std::hash::{BuildHasherDefault, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use git2::{
    BranchType, ErrorCode, FileMode, ObjectType, Odb, Oid, ReferenceType, Repository, Sort,
};
use thiserror::Error;

use super::{ChunkSink, SkipReason};

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
    /// HEAD, every local branch and every tag.
    Default,
    /// Every ref: branches, tags, remote-tracking branches, notes, stash; and HEAD.
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
}

impl Selection {
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
    /// Commit time, RFC 3339 with the committer's UTC offset.
    pub date: String,
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
                    let wanted =
                        *selection == Selection::All || reference.is_branch() || reference.is_tag();
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
        }
        tips.sort_unstable();
        tips.dedup();
        Ok(tips)
    }

    /// Walks the selected commits oldest first and records every blob they introduce.
    /// `on_commit` is called after each commit with the number walked so far.
    pub fn walk(
        &self,
        selection: &Selection,
        on_commit: &mut dyn FnMut(usize),
    ) -> Result<History, GitError> {
        let mut notes = Vec::new();
        let mut revwalk = self.repo.revwalk()?;
        revwalk.set_sorting(Sort::TOPOLOGICAL | Sort::REVERSE)?;
        for tip in self.tips(selection, &mut notes)? {
            revwalk.push(tip)?;
        }
        let hidden = match selection {
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
        let commits: Vec<Oid> = revwalk.collect::<Result<_, _>>()?;

        let mut walker = TreeWalker::new(&self.repo);
        if !hidden.is_empty() {
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
        Ok(walker.finish(self.git_dir().to_path_buf(), commits.len(), notes))
    }

    /// Every blob in HEAD's tree; empty when HEAD is unborn.
    pub fn blobs_at_head(&self) -> Result<HashSet<Oid>, GitError> {
        let tree = match self.repo.head().and_then(|h| h.peel_to_tree()) {
            Ok(tree) => tree.id(),
            Err(e) if matches!(e.code(), ErrorCode::UnbornBranch | ErrorCode::NotFound) => {
                return Ok(HashSet::new())
            }
            Err(e) => return Err(e.into()),
        };
        let mut seen_trees = OidSet::default();
        let mut blobs = HashSet::new();
        let mut stack = vec![tree];
        while let Some(id) = stack.pop() {
            for entry in self.repo.find_tree(id)?.iter() {
                match entry.kind() {
                    Some(ObjectType::Tree) if seen_trees.insert(entry.id()) => {
                        stack.push(entry.id())
                    }
                    Some(ObjectType::Blob) => {
                        blobs.insert(entry.id());
                    }
                    _ => {}
                }
            }
        }
        Ok(blobs)
    }

    /// Author, date and summary of a commit.
    pub fn commit_info(&self, id: Oid) -> Result<CommitInfo, GitError> {
        let commit = self.repo.find_commit(id)?;
        let author = commit.author();
        let time = commit.time();
        Ok(CommitInfo {
            id: id.to_string(),
            author: String::from_utf8_lossy(author.name_bytes()).into_owned(),
            email: String::from_utf8_lossy(author.email_bytes()).into_owned(),
            date: rfc3339(time.seconds(), time.offset_minutes()),
            summary: commit
                .summary_bytes()
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .unwrap_or_default(),
        })
    }
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
        let pool = match rayon::ThreadPoolBuilder::new().num_threads(threads).build() {
            Ok(pool) => pool,
            Err(e) => return sink.error("<threads>", &e.to_string()),
        };
        let next = AtomicUsize::new(0);
        pool.broadcast(|_| {
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
        });
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

type OidSet = HashSet<Oid, BuildHasherDefault<OidHasher>>;
type OidMap<V> = HashMap<Oid, V, BuildHasherDefault<OidHasher>>;

/// Commit index of blobs that were present before a range and are not to be scanned.
const BEFORE_RANGE: u32 = u32::MAX;

/// State of one history walk.
struct TreeWalker<'r> {
    repo: &'r Repository,
    seen_trees: OidSet,
    /// Blob id → (commit index, path index).
    blobs: OidMap<(u32, u32)>,
    commits: Vec<Oid>,
    paths: Vec<Box<str>>,
    path_ids: HashMap<Box<str>, u32>,
    gitlinks: BTreeSet<String>,
    problems: Vec<String>,
}

impl<'r> TreeWalker<'r> {
    fn new(repo: &'r Repository) -> Self {
        TreeWalker {
            repo,
            seen_trees: OidSet::default(),
            blobs: OidMap::default(),
            commits: Vec::new(),
            paths: Vec::new(),
            path_ids: HashMap::new(),
            gitlinks: BTreeSet::new(),
            problems: Vec::new(),
        }
    }

    /// Records the blobs under `tree` that no earlier tree had, as introduced by `commit`
    /// (`None`: known before the range, never scanned).
    fn visit(&mut self, tree: Oid, commit: Option<Oid>) {
        if !self.seen_trees.insert(tree) {
            return;
        }
        // The commit gets an index only once it introduces a blob, so the commit table holds
        // introducing commits only.
        let mut commit_index = None;
        let mut stack = vec![(tree, String::new())];
        while let Some((id, prefix)) = stack.pop() {
            let tree = match self.repo.find_tree(id) {
                Ok(tree) => tree,
                Err(e) => {
                    let at = if prefix.is_empty() { "/" } else { &prefix };
                    self.problems
                        .push(format!("{at}: cannot read tree {id}: {}", e.message()));
                    continue;
                }
            };
            for entry in tree.iter() {
                let id = entry.id();
                match entry.kind() {
                    Some(ObjectType::Tree) if self.seen_trees.insert(id) => {
                        stack.push((id, join(&prefix, entry.name_bytes(), "/")));
                    }
                    Some(ObjectType::Blob) => {
                        // A symlink's blob is its target path, not content; `dir` skips
                        // symlinks too.
                        if entry.filemode() == i32::from(FileMode::Link)
                            || self.blobs.contains_key(&id)
                        {
                            continue;
                        }
                        let commit = match commit {
                            None => BEFORE_RANGE,
                            Some(commit) => *commit_index.get_or_insert_with(|| {
                                self.commits.push(commit);
                                (self.commits.len() - 1) as u32
                            }),
                        };
                        let path = self.intern(&join(&prefix, entry.name_bytes(), ""));
                        self.blobs.insert(id, (commit, path));
                    }
                    Some(ObjectType::Commit) if commit.is_some() => {
                        self.gitlinks.insert(join(&prefix, entry.name_bytes(), ""));
                    }
                    _ => {}
                }
            }
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
    fn finish(self, git_dir: PathBuf, commits_walked: usize, notes: Vec<String>) -> History {
        let mut blobs: Vec<BlobRecord> = self
            .blobs
            .into_iter()
            .filter(|&(_, (commit, _))| commit != BEFORE_RANGE)
            .map(|(id, (commit, path))| BlobRecord { id, commit, path })
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
            notes,
            problems: self.problems,
        }
    }
}

fn join(prefix: &str, name: &[u8], suffix: &str) -> String {
    let name = String::from_utf8_lossy(name);
    let mut path = String::with_capacity(prefix.len() + name.len() + suffix.len());
    path.push_str(prefix);
    path.push_str(&name);
    path.push_str(suffix);
    path
}

/// `2024-05-01T12:34:56+02:00` from seconds since the epoch and a UTC offset in minutes.
pub fn rfc3339(seconds: i64, offset_minutes: i32) -> String {
    // A crafted commit can carry any 64-bit time: keep to years 1 through 9999.
    let local = seconds
        .saturating_add(i64::from(offset_minutes) * 60)
        .clamp(-62_135_596_800, 253_402_300_799);
    let days = local.div_euclid(86_400);
    let secs = local.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let sign = if offset_minutes < 0 { '-' } else { '+' };
    let offset = offset_minutes.unsigned_abs();
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}{sign}{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        offset / 60,
        offset % 60
    )
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_handles_offsets_and_dates_before_the_epoch() {
        assert_eq!(rfc3339(0, 0), "1970-01-01T00:00:00+00:00");
        assert_eq!(rfc3339(1_714_566_896, 120), "2024-05-01T14:34:56+02:00");
        assert_eq!(rfc3339(951_782_400, -330), "2000-02-28T18:30:00-05:30");
        assert_eq!(rfc3339(-86_400, 0), "1969-12-31T00:00:00+00:00");
        assert_eq!(rfc3339(i64::MAX, 60), "9999-12-31T23:59:59+01:00");
        assert_eq!(rfc3339(i64::MIN, -60), "0001-01-01T00:00:00-01:00");
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
