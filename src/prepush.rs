//! `keyhound pre-push`: the pre-push check. Scans the commits a push is about to send — every
//! blob they introduce, so a secret added in one commit and deleted in the next is still
//! caught — with the advice for commits that have not left the machine yet.
//!
//! What is pushed comes from the pre-commit framework's `PRE_COMMIT_FROM_REF` /
//! `PRE_COMMIT_TO_REF`, or from git's pre-push protocol on standard input (one
//! `<local ref> <local id> <remote ref> <remote id>` line per ref): the pushed commits that
//! neither the remote's ids nor its remote-tracking branches reach. Run by hand, it scans what
//! no remote-tracking branch has yet.
//!
//! The pushed commits are judged by the config and ignore files of what the remote already
//! has (see `trusted_policy`): the remote's old tip of the first ref pushed over, else its
//! default branch; only a first push, with neither, reads the work tree.

use std::io::{self, BufRead, IsTerminal};
use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::app;
use crate::cli::{CommonArgs, PrePushArgs};
use crate::history;
use crate::remediate::Exposure;
use crate::source::git::{GitRepo, Selection};
use crate::trusted_policy::{self, PolicySource};

/// Runs `keyhound pre-push`.
pub fn run(common: &CommonArgs, args: &PrePushArgs) -> Result<ExitCode> {
    let repo = GitRepo::open(&args.repo)?;
    // One scan for every ref pushed (`git push --tags` may push hundreds).
    let Some(push) = pushed(&repo, args)? else {
        return Ok(ExitCode::SUCCESS); // only deletions: nothing is sent
    };
    let trusted = push
        .remote_tip
        .or_else(|| repo.resolve_commit(&format!("refs/remotes/{}/HEAD", push.remote)))
        .map_or(PolicySource::WorkTree, PolicySource::Commit);
    let selection = push.selection;
    let scan = history::scan(
        common,
        &repo,
        &selection,
        Exposure::Unpushed,
        &trusted,
        |_| {},
    )?;
    if let Some(change) = trusted_policy::change(common, &repo, &trusted, &push.head)? {
        if common.notes_wanted() {
            let notice = change.notice("this push", &scan.findings);
            crate::diag::say(format_args!("notice: {notice}"));
        }
    }
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

/// What a push sends, and what the remote has.
struct Push {
    selection: Selection,
    /// The first pushed commit, whose config and ignore files are compared with the trusted
    /// ones.
    head: String,
    /// The remote's tip of the first ref pushed over, if the clone has it.
    remote_tip: Option<String>,
    /// The remote's name (`origin` when not told).
    remote: String,
}

/// The commits the push sends; `None` when it sends none.
fn pushed(repo: &GitRepo, args: &PrePushArgs) -> Result<Option<Push>> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let remote = args
        .remote
        .clone()
        .or_else(|| env("PRE_COMMIT_REMOTE_NAME"));
    let remote_name = remote.clone().unwrap_or_else(|| "origin".to_string());
    if let (Some(from), Some(to)) = (env("PRE_COMMIT_FROM_REF"), env("PRE_COMMIT_TO_REF")) {
        return Ok(Some(Push {
            head: to.clone(),
            remote_tip: repo.resolve_commit(&from),
            remote: remote_name,
            selection: Selection::Range { from, to },
        }));
    }
    let mut heads = Vec::new();
    let mut remote_tip = None;
    // What the remote already has: its remote-tracking branches, and the ids it reports.
    let mut hide = remote_branches(repo, remote.as_deref())?;
    if let Some(branch) = env("PRE_COMMIT_LOCAL_BRANCH") {
        // The framework found no commit the remote has (a first push of a new history).
        heads.push(branch);
    } else if io::stdin().is_terminal() {
        heads.push("HEAD".to_string());
    } else {
        let mut lines = 0;
        for line in io::stdin().lock().lines() {
            let line = line.context("cannot read the refs to push from standard input")?;
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [_, local, _, remote_id] = fields[..] else {
                continue;
            };
            lines += 1;
            if is_null(local) {
                continue; // deleting a remote branch sends nothing
            }
            heads.push(local.to_string());
            // A force-push over commits this clone never fetched leaves only the
            // remote-tracking branches to go by.
            if !is_null(remote_id) && repo.has_commit(remote_id) {
                hide.push(remote_id.to_string());
                remote_tip.get_or_insert_with(|| remote_id.to_string());
            }
        }
        if lines == 0 {
            // git always names at least one ref: this is a script, a CI job or a GUI with
            // nothing on standard input, which gets what a person at a terminal gets.
            crate::diag::note(format_args!(
                "no refs to push on standard input (git's pre-push hook passes them): scanning \
                 the commits of HEAD that no remote-tracking branch{} has",
                remote
                    .as_deref()
                    .map_or(String::new(), |r| format!(" of {r}"))
            ));
            heads.push("HEAD".to_string());
        }
    }
    let Some(head) = heads.first().cloned() else {
        return Ok(None);
    };
    Ok(Some(Push {
        selection: Selection::Hiding { heads, hide },
        head,
        remote_tip,
        remote: remote_name,
    }))
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
