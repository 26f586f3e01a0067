//! `keyhound pre-push`: the pre-push check. Scans the commits a push is about to send — every
//! blob they introduce, so a secret added in one commit and deleted in the next is still
//! caught — with the advice for commits that have not left the machine yet.
//!
//! What is pushed comes from the pre-commit framework's `PRE_COMMIT_FROM_REF` /
//! `PRE_COMMIT_TO_REF`, or from git's pre-push protocol on standard input (one
//! `<local ref> <local id> <remote ref> <remote id>` line per ref). Run by hand, it scans what
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
    let mut code = ExitCode::SUCCESS;
    for selection in pushed(&repo, args)? {
        let scan = history::scan(common, &repo, &selection, Exposure::Unpushed, |_| {})?;
        let target = match &selection {
            Selection::Range { from, to } => format!("commits to push: {from}..{to}"),
            Selection::Hiding { head, .. } => {
                format!("commits to push: {head} (those on no remote-tracking branch)")
            }
            _ => "commits to push".to_string(),
        };
        let report = scan.report(&target);
        app::emit(common, &report)?;
        let this = app::exit_code(common, &report);
        if this != ExitCode::SUCCESS {
            code = this;
        }
    }
    Ok(code)
}

/// The commits to scan, one selection per pushed ref.
fn pushed(repo: &GitRepo, args: &PrePushArgs) -> Result<Vec<Selection>> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    if let (Some(from), Some(to)) = (env("PRE_COMMIT_FROM_REF"), env("PRE_COMMIT_TO_REF")) {
        return Ok(vec![Selection::Range { from, to }]);
    }
    let remote = args
        .remote
        .clone()
        .or_else(|| env("PRE_COMMIT_REMOTE_NAME"));
    let unpushed = |head: String| -> Result<Selection> {
        Ok(Selection::Hiding {
            head,
            hide: remote_branches(repo, remote.as_deref())?,
        })
    };
    // The framework found no commit the remote has (a first push of a new history).
    if let Some(branch) = env("PRE_COMMIT_LOCAL_BRANCH") {
        return Ok(vec![unpushed(branch)?]);
    }
    let stdin = io::stdin();
    if stdin.is_terminal() {
        return Ok(vec![unpushed("HEAD".into())?]);
    }
    let mut selections = Vec::new();
    for line in stdin.lock().lines() {
        let line = line.context("cannot read the refs to push from standard input")?;
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [_, local, _, remote_id] = fields[..] else {
            continue;
        };
        if is_null(local) {
            continue; // deleting a remote branch sends nothing
        }
        // A new branch, or a force-push over commits this clone never fetched: scan what no
        // remote-tracking branch already has.
        if is_null(remote_id) || !repo.has_commit(remote_id) {
            selections.push(unpushed(local.to_string())?);
        } else {
            selections.push(Selection::Range {
                from: remote_id.to_string(),
                to: local.to_string(),
            });
        }
    }
    Ok(selections)
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
