//! `keyhound staged`: the pre-commit check. Scans what the next commit would record (the index
//! against HEAD) and reports only secrets on the lines it adds, with the advice for a secret
//! that has not left the machine yet.

use std::process::ExitCode;

use anyhow::Result;

use crate::app;
use crate::cli::{CommonArgs, StagedArgs};
use crate::remediate::Exposure;
use crate::source::staged::{Staged, StagedChanges};
use crate::source::ChunkSink;

/// Runs `keyhound staged`.
pub fn run(common: &CommonArgs, args: &StagedArgs) -> Result<ExitCode> {
    let staged = StagedChanges::open(&args.repo)?;
    let root = staged.workdir().to_path_buf();
    let target = format!("staged changes in {}", args.repo.display());
    // Git errors (no index, a broken HEAD) stop the run before any report is written.
    let (mut changes, notes) = staged.changes()?;
    if common.notes_wanted() {
        for note in notes {
            crate::diag::note(note);
        }
    }
    let allow_skipped = args.allow_skipped;
    app::scan_and_check(
        common,
        &root,
        &target,
        Exposure::Staged,
        allow_skipped,
        |scanner| {
            for change in &mut changes {
                if !change.judge_move(&|path| !scanner.allows_path(path)) {
                    continue;
                }
                match staged.read(change, common.max_file_size) {
                    Staged::File(file) => {
                        let added = |first, last| file.touches(first, last);
                        scanner.record(scanner.scan_chunk_lines(&file.path, &file.bytes, &added));
                    }
                    Staged::Skipped { path, reason } => scanner.skipped(&path, reason),
                    Staged::Error { path, message } => scanner.error(&path, &message),
                }
            }
        },
    )
}
