//! Files on disk: a parallel walk (the `ignore` crate, as in ripgrep) that honours git's ignore
//! rules for untracked files in a work tree, skips `.git/`, never follows symlinks (so never
//! loops), and reads each file once.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use std::collections::HashSet;
use std::sync::Mutex;

use ignore::{WalkBuilder, WalkState};

use super::work_tree::WorkTree;
use super::{ChunkSink, SkipReason};

/// A walk over one or more roots.
#[derive(Debug, Clone)]
pub struct DirSource {
    pub roots: Vec<PathBuf>,
    pub respect_ignore: bool,
    /// Files larger than this are skipped (and named); with no limit every file is scanned,
    /// a large one in windows.
    pub max_file_size: Option<u64>,
    pub threads: usize,
}

impl DirSource {
    /// Walks every root and hands each readable file to `sink`. git's ignore rules apply only
    /// inside a git work tree and only to untracked files (see `work_tree`): outside one a
    /// `.gitignore` is just a file, as in ripgrep.
    pub fn run(&self, sink: &dyn ChunkSink) {
        for root in &self.roots {
            let meta = match fs::symlink_metadata(root) {
                Ok(meta) => meta,
                Err(e) => {
                    sink.error(&root.display().to_string(), &e.to_string());
                    continue;
                }
            };
            let work_tree = (self.respect_ignore && meta.is_dir())
                .then(|| WorkTree::of(root))
                .flatten();
            let walked = Mutex::new(HashSet::new());
            let ignore_rules = work_tree.is_some();
            // git's own view of the tree (the index, and a status for the ignored count) is
            // read beside the walk rather than after it; outside a work tree, no thread at all
            // (`--threads 1` means one walker).
            let (tracked, ignored) = std::thread::scope(|scope| {
                let git = work_tree.map(|tree| {
                    scope.spawn(move || (tree.tracked_files(root), tree.ignored_paths()))
                });
                self.walk(root, ignore_rules, &walked, sink);
                git.and_then(|git| git.join().ok()).unzip()
            });
            if let (Some(tracked), Some(ignored)) = (tracked, ignored) {
                let walked = walked.into_inner().unwrap_or_default();
                for path in tracked {
                    let shown = shown_path(&path);
                    if !walked.contains(&shown)
                        && fs::symlink_metadata(&path).is_ok_and(|m| m.is_file())
                    {
                        self.read_file(&path, &shown, false, sink);
                    }
                }
                sink.ignored(ignored);
            }
        }
    }

    /// Walks `root`, with git's ignore rules if `ignore_rules`, recording each file's path as
    /// shown in `walked` when they apply (so tracked files they skipped can be told apart).
    fn walk(
        &self,
        root: &Path,
        ignore_rules: bool,
        walked: &Mutex<HashSet<String>>,
        sink: &dyn ChunkSink,
    ) {
        let mut builder = WalkBuilder::new(root);
        builder
            .standard_filters(false)
            .parents(ignore_rules)
            .git_ignore(ignore_rules)
            .git_global(ignore_rules)
            .git_exclude(ignore_rules)
            .follow_links(false)
            .threads(self.threads)
            .filter_entry(|entry| entry.file_name() != ".git");
        builder.build_parallel().run(|| {
            Box::new(move |entry| {
                match entry {
                    Ok(entry) => {
                        if entry.file_type().is_some_and(|t| t.is_file()) {
                            let path = shown_path(entry.path());
                            self.read_file(entry.path(), &path, entry.depth() == 0, sink);
                            if ignore_rules {
                                walked.lock().unwrap().insert(path);
                            }
                        }
                    }
                    Err(err) => sink.error(&error_path(&err, root), &error_message(&err)),
                }
                WalkState::Continue
            })
        });
    }

    /// Reads one walked file. `follow` is true for a root the user named (a symlink given on
    /// the command line is followed); files met by the walk are opened without following a
    /// symlink, so one swapped in after the walk looked cannot lead outside the tree.
    fn read_file(&self, fs_path: &Path, path: &str, follow: bool, sink: &dyn ChunkSink) {
        let file = match open_regular(fs_path, follow) {
            Ok(Some(file)) => file,
            // A FIFO, socket or device: reading it could block forever or never end.
            Ok(None) => return,
            Err(e) => return sink.error(path, &e.to_string()),
        };
        let size = match file.metadata() {
            Ok(meta) => meta.len(),
            Err(e) => return sink.error(path, &e.to_string()),
        };
        match self.max_file_size {
            Some(limit) if size > limit => sink.skipped(path, SkipReason::TooLarge),
            // A file that grows while it is read is scanned up to the limit the user set.
            Some(limit) => sink.file(path, &mut file.take(limit)),
            None => sink.file(path, &mut { file }),
        }
    }
}

/// Opens `path` for reading if it is a regular file (`None` otherwise). On Unix the open does not
/// block on a FIFO and, unless `follow`, refuses a symlink.
fn open_regular(path: &Path, follow: bool) -> io::Result<Option<File>> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let nofollow = if follow { 0 } else { libc::O_NOFOLLOW };
        options.custom_flags(libc::O_NONBLOCK | nofollow);
    }
    #[cfg(not(unix))]
    let _ = follow;
    let file = options.open(path)?;
    Ok(file.metadata()?.is_file().then_some(file))
}

/// The path to report: as walked, so as the user named the operand (`src/billing.py` for
/// `keyhound dir src`, as ripgrep prints it; `billing.py` for the current directory); always
/// `/`-separated, and lossless (a name that is not UTF-8 is escaped, not mangled: see
/// `escape::name_from_path`).
pub fn shown_path(path: &Path) -> String {
    let text = crate::escape::name_from_path(path);
    let mut text = text.as_str();
    while let Some(rest) = text.strip_prefix("./") {
        text = rest;
    }
    let text = if text == "." { "" } else { text };
    if std::path::MAIN_SEPARATOR == '\\' {
        text.replace('\\', "/")
    } else {
        text.to_string()
    }
}

fn error_path(err: &ignore::Error, root: &Path) -> String {
    match err {
        ignore::Error::WithPath { path, .. } => shown_path(path),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            error_path(err, root)
        }
        ignore::Error::Loop { child, .. } => shown_path(child),
        _ => root.display().to_string(),
    }
}

fn error_message(err: &ignore::Error) -> String {
    match err {
        ignore::Error::WithPath { err, .. }
        | ignore::Error::WithDepth { err, .. }
        | ignore::Error::WithLineNumber { err, .. } => error_message(err),
        other => other.to_string(),
    }
}
