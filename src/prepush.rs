//! `keyhound pre-push`: the pre-push check. Scans the commits a push is about to send — every
//! blob they introduce, so a secret added in one commit and deleted in the next is still
//! caught — with the advice for commits that have not left the machine yet.
//!
//! What is pushed comes from the pre-commit framework's `PRE_COMMIT_FROM_REF` /
//! `PRE_COMMIT_TO_REF`, or from git's pre-push protocol on standard input (one
//! `<local ref> <local id> <remote ref> <remote id>` line per ref): the pushed commits that
//! neither the remote's ids nor its remote-tracking branches reach. Run by hand, it scans what
//! no remote-tracking branch has yet.

use std::io::{self, BufRead, IsTerminal};
use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::app;
use crate::cli::{CommonArgs, PrePushArgs};
use crate::history;
use crate::remediate::Exposure;
use crate::source::git::{GitRepo, Selection};

/// Runs `keyhound pre-push`.
pub fn run(common: &CommonArgs, args: &PrePushArgs) -> Result<ExitCode> {
    let repo = GitRepo::open(&args.repo)?;
    // One scan for every ref pushed (`git push --tags` may push hundreds).
    let Some(selection) = pushed(&repo, args)? else {
        return Ok(ExitCode::SUCCESS); // only deletions: nothing is sent
    };
    let scan = history::scan(common, &repo, &selection, Exposure::Unpushed, |_| {})?;
    let target = match &selection {
        Selection::Range { from, to } => format!("commits to push: {from}..{to}"),
        _ => "commits to push (those on no remote-tracking branch)".to_string(),
    };
    let report = scan.report(&target);
    app::emit(common, &report)?;
    let fail_on = Some(crate::rules::Severity::Low);
    Ok(app::check_exit_code(
        common,
        &report,
        fail_on,
        args.allow_skipped,
    ))
}

/// The commits the push sends; `None` when it sends none.
fn pushed(repo: &GitRepo, args: &PrePushArgs) -> Result<Option<Selection>> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    if let (Some(from), Some(to)) = (env("PRE_COMMIT_FROM_REF"), env("PRE_COMMIT_TO_REF")) {
        return Ok(Some(Selection::Range { from, to }));
    }
    let remote = args
        .remote
        .clone()
        .or_else(|| env("PRE_COMMIT_REMOTE_NAME"));
    let mut heads = Vec::new();
    // What the remote already has: its remote-tracking branches, and the ids it reports.
    let mut hide = remote_branches(repo, remote.as_deref())?;
    if let Some(branch) = env("PRE_COMMIT_LOCAL_BRANCH") {
        // The framework found no commit the remote has (a first push of a new history).
        heads.push(branch);
    } else if io::stdin().is_terminal() {
        heads.push("HEAD".to_string());
    } else {
        for line in io::stdin().lock().lines() {
            let line = line.context("cannot read the refs to push from standard input")?;
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [_, local, _, remote_id] = fields[..] else {
                continue;
            };
            if is_null(local) {
                continue; // deleting a remote branch sends nothing
            }
            heads.push(local.to_string());
            // A force-push over commits this clone never fetched leaves only the
            // remote-tracking branches to go by.
            if !is_null(remote_id) && repo.has_commit(remote_id) {
                hide.push(remote_id.to_string());
            }
        }
    }
    Ok((!heads.is_empty()).then_some(Selection::Hiding { heads, hide }))
}

/// The remote-tracking branches of `remote` (of every remote when unknown).
fn remote_branches(repo: &GitRepo, remote: Option<&str>) -> Result<Vec<String>> {
    let all = repo.remote_branches()?;
    Ok(match remote {
        Some(name) => {
            let prefix = format!("refs/remotes/{name}/");
            all.into_iter().filter(|r| r.starts_with(&prefix)).collect()
        }
        None => all,
    })
}

/// Git's all-zero object id, sent for a ref that does not exist on one side.
fn is_null(id: &str) -> bool {
    !id.is_empty() && id.bytes().all(|b| b == b'0')
}
