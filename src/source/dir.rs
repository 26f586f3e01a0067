//! Files on disk: a parallel walk (the `ignore` crate, as in ripgrep) that honours
//! `.gitignore`, skips `.git/`, never follows symlinks (so never loops), and reads each file once.

use std::fs;
use std::path::{Path, PathBuf};

use ignore::{WalkBuilder, WalkState};

use super::{text_content, ChunkSink, SkipReason};

/// A walk over one or more roots.
#[derive(Debug, Clone)]
pub struct DirSource {
    pub roots: Vec<PathBuf>,
    pub respect_ignore: bool,
    pub max_file_size: u64,
    pub threads: usize,
}

impl DirSource {
    /// Walks every root and hands each readable text file to `sink`.
    pub fn run(&self, sink: &dyn ChunkSink) {
        for root in &self.roots {
            if let Err(e) = fs::symlink_metadata(root) {
                sink.error(&root.display().to_string(), &e.to_string());
                continue;
            }
            let display_root = (self.roots.len() > 1).then_some(root.as_path());
            let mut builder = WalkBuilder::new(root);
            builder
                .hidden(false)
                .parents(self.respect_ignore)
                .ignore(self.respect_ignore)
                .git_ignore(self.respect_ignore)
                .git_global(self.respect_ignore)
                .git_exclude(self.respect_ignore)
                .require_git(false)
                .follow_links(false)
                .threads(self.threads)
                .filter_entry(|entry| entry.file_name() != ".git");
            builder.build_parallel().run(|| {
                Box::new(move |entry| {
                    match entry {
                        Ok(entry) => {
                            if entry.file_type().is_some_and(|t| t.is_file()) {
                                let path = relative_path(root, entry.path(), display_root);
                                self.read_file(entry.path(), &path, sink);
                            }
                        }
                        Err(err) => sink.error(&error_path(&err, root), &error_message(&err)),
                    }
                    WalkState::Continue
                })
            });
        }
    }

    fn read_file(&self, fs_path: &Path, path: &str, sink: &dyn ChunkSink) {
        match fs::metadata(fs_path) {
            Ok(meta) if meta.len() > self.max_file_size => {
                return sink.skipped(path, SkipReason::TooLarge)
            }
            Ok(_) => {}
            Err(e) => return sink.error(path, &e.to_string()),
        }
        match fs::read(fs_path) {
            Ok(bytes) => match text_content(bytes) {
                Some(text) => sink.chunk(path, &text),
                None => sink.skipped(path, SkipReason::Binary),
            },
            Err(e) => sink.error(path, &e.to_string()),
        }
    }
}

/// The path to report: relative to a single root (or the file name when the root is a file),
/// or kept as walked when several roots were given; always `/`-separated.
fn relative_path(root: &Path, path: &Path, display_root: Option<&Path>) -> String {
    let shown = match display_root {
        Some(_) => path,
        None if path == root => path.file_name().map(Path::new).unwrap_or(path),
        None => path.strip_prefix(root).unwrap_or(path),
    };
    let text = shown.to_string_lossy();
    let text = text.strip_prefix("./").unwrap_or(&text);
    if std::path::MAIN_SEPARATOR == '\\' {
        text.replace('\\', "/")
    } else {
        text.to_string()
    }
}

fn error_path(err: &ignore::Error, root: &Path) -> String {
    match err {
        ignore::Error::WithPath { path, .. } => relative_path(root, path, None),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            error_path(err, root)
        }
        ignore::Error::Loop { child, .. } => relative_path(root, child, None),
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
