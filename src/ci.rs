//! `keyhound ci`: the scan a GitHub Actions workflow runs. It reads the event that started the
//! run (`$GITHUB_EVENT_NAME`, `$GITHUB_EVENT_PATH`), turns it into a history selection — the
//! commits a push or pull request brings, what a new branch has that no other branch has, the
//! whole history on a schedule — scans that once, and writes everything Actions wants from the
//! one scan: SARIF for code scanning, annotations on stdout (`--format` and `--output` choose
//! otherwise), the job summary (`app::emit`), and the `findings` and `sarif-file` step outputs.
//!
//! A commit the event names but the clone lacks (actions/checkout fetches one commit by
//! default) is an error, never an empty scan that passes. Config and ignore files come from
//! the event's base commit, never from the commits judged (see `trusted_policy`).

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};

use crate::app;
use crate::cli::{CiArgs, CommonArgs, FailOnArg, FormatArg};
use crate::github_event::{self, ScanPlan};
use crate::history;
use crate::output_file;
use crate::remediate::Exposure;
use crate::report::{self, Format, ScanReport};
use crate::rules::Severity;
use crate::source::git::{GitRepo, Selection};
use crate::trusted_policy::{self, PolicySource};

/// Runs `keyhound ci`.
pub fn run(common: &CommonArgs, args: &CiArgs) -> Result<ExitCode> {
    if args.sarif_file.to_string_lossy().contains(['\n', '\r']) {
        bail!("--sarif-file: a path with a line break cannot be passed on as a step output");
    }
    output_file::check_target(&args.sarif_file)?;
    let (event, plan, default_branch) = read_event(args)?;
    let workspace = std::env::var_os("GITHUB_WORKSPACE").filter(|w| !w.is_empty());
    let path = args
        .repo
        .clone()
        .or_else(|| workspace.map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("."));
    let repo = GitRepo::open(&path)?;
    let trusted = trusted_base(&repo, &plan, default_branch.as_deref());
    let Some(target) = resolve(&repo, &event, plan, !common.notes_wanted())? else {
        return deleted_ref(common, args, &event);
    };
    let scan = history::scan(
        common,
        &repo,
        &target.selection,
        Exposure::Pushed,
        &trusted,
        |commits| {
            if common.notes_wanted() {
                crate::diag::say(format_args!(
                    "{}: scanning {} ({commits} commit(s))",
                    target.label, target.scope
                ));
            }
        },
    )?;
    if let Some(head) = &target.head {
        if let Some(change) = trusted_policy::change(common, &repo, &trusted, head)? {
            let what = if event.starts_with("pull_request") {
                "this pull request"
            } else {
                "this push"
            };
            announce(common, &change.notice(what, &scan.findings));
        }
    }
    let described = format!(
        "{}: {}, {} commit(s)",
        target.label, target.scope, scan.commits_walked
    );
    deliver(common, args, &scan.report(&described))
}

/// The commit whose config and ignore files judge the event's commits (see
/// `trusted_policy`): the base of a pull request or push; for a new branch, or a force-push
/// whose replaced tip is gone, the default branch's tip when the clone has it, else nothing
/// from the repository; for a full-history scan, HEAD, the default branch itself.
fn trusted_base(repo: &GitRepo, plan: &ScanPlan, default_branch: Option<&str>) -> PolicySource {
    let commit = match plan {
        ScanPlan::Range { base, .. } => repo.resolve_commit(base),
        ScanPlan::ForcePush { base, .. } => repo
            .resolve_commit(base)
            .or_else(|| default_branch_tip(repo, default_branch)),
        ScanPlan::NewBranch { .. } => default_branch_tip(repo, default_branch),
        ScanPlan::FullHistory => repo.resolve_commit("HEAD"),
        ScanPlan::Nothing => None,
    };
    commit.map_or(PolicySource::Defaults, PolicySource::Commit)
}

/// The remote default branch's tip: `origin/HEAD`, else the branch the event's payload names
/// as the repository's default.
fn default_branch_tip(repo: &GitRepo, default_branch: Option<&str>) -> Option<String> {
    repo.resolve_commit("refs/remotes/origin/HEAD").or_else(|| {
        default_branch.and_then(|name| repo.resolve_commit(&format!("refs/remotes/origin/{name}")))
    })
}

/// Says that the head changes the policy it is judged by: on stderr, and as a workflow
/// notice when the report is annotations.
fn announce(common: &CommonArgs, notice: &str) {
    if common.notes_wanted() {
        crate::diag::say(format_args!("notice: {notice}"));
    }
    if !common.quiet
        && matches!(
            common.format.unwrap_or(FormatArg::Github),
            FormatArg::Github
        )
    {
        println!(
            "::notice title=keyhound::{}",
            crate::escape::workflow_data(notice)
        );
    }
}

/// Everything Actions wants from one report: the SARIF file, annotations (or the format asked
/// for) and the job summary, the step outputs, and the exit code `--fail-on` decides.
fn deliver(common: &CommonArgs, args: &CiArgs, report: &ScanReport) -> Result<ExitCode> {
    write_sarif(&args.sarif_file, report)?;
    app::emit_as(common, FormatArg::Github, report)?;
    write_step_outputs(report.findings.len(), &args.sarif_file)?;
    Ok(app::check_exit_code(
        common,
        report,
        severity_floor(args.fail_on),
        args.allow_skipped,
    ))
}

/// A push that deleted a ref brings no commits: an empty report, so the workflow's later
/// steps (SARIF upload) still find their files.
fn deleted_ref(common: &CommonArgs, args: &CiArgs, event: &str) -> Result<ExitCode> {
    if common.notes_wanted() {
        crate::diag::say(format_args!(
            "{event}: the push deleted a ref, so it brings no commits to scan"
        ));
    }
    let target = format!("{event}: a deleted ref, nothing to scan");
    let report = ScanReport {
        findings: &[],
        summary: Default::default(),
        elapsed: Default::default(),
        target: &target,
        rules: &[],
        exposure: Exposure::Pushed,
    };
    deliver(common, args, &report)
}

/// The event's name, what it asks to scan, and the repository's default branch if the payload
/// names it.
fn read_event(args: &CiArgs) -> Result<(String, ScanPlan, Option<String>)> {
    let outside = "keyhound ci scans what the GitHub Actions event that started the workflow \
                   brings; outside Actions pass --event-name NAME and --event-path FILE, or use \
                   `keyhound git`";
    let Some(name) = args.event_name.as_deref().filter(|n| !n.is_empty()) else {
        bail!("GITHUB_EVENT_NAME is not set: {outside}");
    };
    let Some(path) = args
        .event_path
        .as_deref()
        .filter(|p| !p.as_os_str().is_empty())
    else {
        bail!("GITHUB_EVENT_PATH is not set: {outside}");
    };
    let json = fs::read_to_string(path)
        .with_context(|| format!("cannot read the event payload {}", path.display()))?;
    let plan = github_event::plan(name, &json).with_context(|| path.display().to_string())?;
    let default_branch = serde_json::from_str::<serde_json::Value>(&json)
        .ok()
        .and_then(|payload| {
            payload["repository"]["default_branch"]
                .as_str()
                .map(str::to_owned)
        });
    Ok((name.to_string(), plan, default_branch))
}

/// The commits to scan, and how to say which.
#[derive(Debug)]
struct Target {
    selection: Selection,
    /// The newest commit judged, whose config and ignore files are compared with the base's.
    head: Option<String>,
    /// The event, in words (`push`, `force-push to feat`).
    label: String,
    /// The commits, in words (`abc1234..def5678`).
    scope: String,
}

/// Turns the event's plan into a selection in `repo`, checking first that the commits it
/// names are there; `None` when the event brings no commits.
fn resolve(repo: &GitRepo, event: &str, plan: ScanPlan, quiet: bool) -> Result<Option<Target>> {
    let target = match plan {
        ScanPlan::Range { base, head } => {
            require(repo, event, event, &[&base, &head])?;
            range(event.to_string(), base, head)
        }
        ScanPlan::ForcePush { base, head, branch } => {
            let label = match &branch {
                Some(branch) => format!("force-push to {branch}"),
                None => "force-push".to_string(),
            };
            require(repo, event, &label, &[&head])?;
            if repo.has_commit(&base) {
                return Ok(Some(range(label, base, head)));
            }
            // The replaced tip is reachable from no ref, so even a full clone lacks it; a
            // shallow one may lack much more, and is refused as usual.
            if repo.is_shallow() {
                require(repo, event, &label, &[&base])?;
            }
            if !quiet {
                crate::diag::note(format_args!(
                    "{}, the tip this force-push replaced, is not in the clone \
                     (no branch reaches it any more): scanning what no other remote branch has",
                    short(&base)
                ));
            }
            new_branch(repo, label, head, branch.as_deref())?
        }
        ScanPlan::NewBranch { head, branch } => {
            let label = match &branch {
                Some(branch) => format!("{event} creating branch {branch}"),
                None => format!("{event} creating a ref"),
            };
            require(repo, event, &label, &[&head])?;
            refuse_shallow(repo, event, &label, "what no other remote branch has")?;
            new_branch(repo, label, head, branch.as_deref())?
        }
        ScanPlan::FullHistory => {
            let scope = "the full history of every ref";
            refuse_shallow(repo, event, event, scope)?;
            Target {
                selection: Selection::All,
                head: None,
                label: event.to_string(),
                scope: scope.to_string(),
            }
        }
        ScanPlan::Nothing => return Ok(None),
    };
    Ok(Some(target))
}

fn range(label: String, base: String, head: String) -> Target {
    Target {
        scope: format!("{}..{}", short(&base), short(&head)),
        head: Some(head.clone()),
        selection: Selection::Range {
            from: base,
            to: head,
        },
        label,
    }
}

/// Commits of `head` that no remote-tracking branch other than `branch`'s own has; all of
/// `head`'s history when there is no other.
fn new_branch(repo: &GitRepo, label: String, head: String, branch: Option<&str>) -> Result<Target> {
    let hide: Vec<String> = repo
        .remote_branches()?
        .into_iter()
        .filter(|name| !branch.is_some_and(|branch| tracks(name, branch)))
        .collect();
    let scope = if hide.is_empty() {
        format!(
            "the full history of {} (no other remote branch)",
            short(&head)
        )
    } else {
        format!("the commits of {} on no other remote branch", short(&head))
    };
    Ok(Target {
        scope,
        head: Some(head.clone()),
        selection: Selection::Hiding {
            heads: vec![head],
            hide,
        },
        label,
    })
}

/// Whether the remote-tracking ref `name` (`refs/remotes/origin/feat`) is `branch` on a remote.
fn tracks(name: &str, branch: &str) -> bool {
    name.strip_prefix("refs/remotes/")
        .and_then(|rest| rest.split_once('/'))
        .is_some_and(|(_, tracked)| tracked == branch)
}

/// Fails unless every commit is in `repo`: scanning without one would scan nothing, or the
/// wrong thing, and pass.
fn require(repo: &GitRepo, event: &str, label: &str, commits: &[&str]) -> Result<()> {
    let Some(missing) = commits.iter().find(|c| !repo.has_commit(c)) else {
        return Ok(());
    };
    let why = if repo.is_shallow() {
        "it is a shallow clone, so its history is cut"
    } else {
        "it was not fetched"
    };
    let advice = fetch_advice(event);
    bail!("{label}: commit {missing} named by the event is not in the repository ({why}): {advice}")
}

/// Fails when the clone is shallow and the scan is a whole stretch of history (`scope`), which
/// the cut would silently shorten: a secret added and removed before it would pass.
fn refuse_shallow(repo: &GitRepo, event: &str, label: &str, scope: &str) -> Result<()> {
    if repo.is_shallow() {
        let advice = fetch_advice(event);
        bail!("{label}: this scans {scope}, but the repository is a shallow clone: {advice}");
    }
    Ok(())
}

/// How to get the history a scan needs.
fn fetch_advice(event: &str) -> String {
    let mut advice =
        "check out the full history with `fetch-depth: 0` on actions/checkout".to_string();
    if event == "pull_request_target" {
        // That event checks out the base branch: the pull request's commits are not fetched.
        advice.push_str(
            ", and the pull request's head with `ref: ${{ github.event.pull_request.head.sha }}`",
        );
    }
    advice
}

/// The first seven characters of a commit id, as git abbreviates it.
fn short(id: &str) -> &str {
    id.get(..7).unwrap_or(id)
}

fn severity_floor(fail_on: FailOnArg) -> Option<Severity> {
    match fail_on {
        FailOnArg::Critical => Some(Severity::Critical),
        FailOnArg::High => Some(Severity::High),
        FailOnArg::Medium => Some(Severity::Medium),
        FailOnArg::Low => Some(Severity::Low),
        FailOnArg::Never => None,
    }
}

/// Writes the SARIF report (see `output_file`: private, never through a symlink).
fn write_sarif(path: &Path, report: &ScanReport) -> Result<()> {
    Ok(output_file::write_report(path, |out| {
        report::write(Format::Sarif, report, out)
    })?)
}

/// Appends the `findings` and `sarif-file` outputs to the file GitHub names in
/// `$GITHUB_OUTPUT`, for later steps; nothing outside Actions.
fn write_step_outputs(findings: usize, sarif: &Path) -> Result<()> {
    let Some(path) = std::env::var_os("GITHUB_OUTPUT").filter(|p| !p.is_empty()) else {
        return Ok(());
    };
    let path = Path::new(&path);
    let lines = format!("findings={findings}\nsarif-file={}\n", sarif.display());
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut file| file.write_all(lines.as_bytes()))
        .with_context(|| format!("cannot append the step outputs to {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_branch_is_tracked_on_any_remote_by_its_whole_name() {
        assert!(tracks("refs/remotes/origin/feat", "feat"));
        assert!(tracks("refs/remotes/upstream/team/feat", "team/feat"));
        assert!(!tracks("refs/remotes/origin/team/feat", "feat"));
        assert!(!tracks("refs/remotes/origin/feature", "feat"));
        assert!(!tracks("refs/heads/feat", "feat"));
    }

    #[test]
    fn fail_on_is_a_floor_and_never_is_none() {
        assert_eq!(severity_floor(FailOnArg::High), Some(Severity::High));
        assert_eq!(severity_floor(FailOnArg::Low), Some(Severity::Low));
        assert_eq!(severity_floor(FailOnArg::Never), None);
    }

    #[test]
    fn short_ids_never_split_a_character() {
        assert_eq!(short("0123456789abcdef"), "0123456");
        assert_eq!(short("abc"), "abc");
        assert_eq!(short("ééééé"), "ééééé");
    }
}
