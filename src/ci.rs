//! `keyhound ci`: the scan a CI job runs. The CI system (detected, or `--ci-system`; see
//! `ci_system`) says what started the run: a push, a pull or merge request, a schedule.
//! That becomes a history selection — the commits a push or request brings, what a new branch
//! has that no other branch has, the whole history on a schedule — scanned once, and
//! delivered as that system shows findings: in GitHub Actions SARIF for code scanning,
//! annotations, the job summary and the `findings` and `sarif-file` step outputs; in GitLab
//! CI the secret-detection report for merge requests and the job log; elsewhere the job log
//! (`--format`, `--output`, `--sarif-file` and `--gitlab-report` choose otherwise).
//!
//! A commit the run names but the clone lacks (shallow clones are the default almost
//! everywhere) is an error saying what to set, never an empty scan that passes. Config and
//! ignore files come from the run's base commit, never from the commits judged (see
//! `trusted_policy`).

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};

use crate::app;
use crate::ci_system::{self, Env, Outputs, Pipeline};
use crate::cli::{CiArgs, CommonArgs, FailOnArg, FormatArg};
use crate::finding::Finding;
use crate::github_event::ScanPlan;
use crate::history;
use crate::output_file;
use crate::remediate::Exposure;
use crate::report::{self, Format, ScanReport};
use crate::rules::Severity;
use crate::source::git::{GitRepo, Selection};
use crate::trusted_policy::{self, PolicySource};

/// Runs `keyhound ci`.
pub fn run(common: &CommonArgs, args: &CiArgs) -> Result<ExitCode> {
    let lookup = ci_system::process_env;
    let env = Env::new(&lookup);
    crate::validate::Options::from_common(common)?;
    if args.fail_on == FailOnArg::Live && !crate::validate::wanted(common) {
        bail!("--fail-on live needs --validate (or KEYHOUND_VALIDATE=1): only validation tells a live key");
    }
    let system = ci_system::detect(&env, args)?;
    let files = ReportFiles::choose(args, &system.outputs)?;
    let pipeline = (system.pipeline)(&env, args)?;
    let path = args
        .repo
        .clone()
        .unwrap_or_else(|| ci_system::workspace(&env, system));
    let repo = GitRepo::open(&path)?;
    let trusted = trusted_base(&repo, &pipeline.plan, pipeline.default_branch.as_deref());
    let Some(target) = resolve(&repo, &pipeline, !common.notes_wanted())? else {
        return deleted_ref(common, args, &files, &pipeline.event);
    };
    let mut scan = history::scan(
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
            announce(
                common,
                files.format,
                &change.notice(pipeline.change, &scan.findings),
            );
        }
    }
    scan.validate(common)?;
    let described = format!(
        "{}: {}, {} commit(s)",
        target.label, target.scope, scan.commits_walked
    );
    deliver(common, args, &files, &scan.report(&described))
}

/// The report files and stdout format of one run: the system's defaults, unless the flags say
/// otherwise.
struct ReportFiles {
    format: FormatArg,
    sarif: Option<PathBuf>,
    gitlab: Option<PathBuf>,
    step_outputs: bool,
}

impl ReportFiles {
    fn choose(args: &CiArgs, outputs: &Outputs) -> Result<ReportFiles> {
        let sarif = args
            .sarif_file
            .clone()
            .or_else(|| outputs.sarif_file.map(PathBuf::from));
        let gitlab = args
            .gitlab_report
            .clone()
            .or_else(|| outputs.gitlab_report.map(PathBuf::from));
        if outputs.step_outputs {
            if let Some(sarif) = &sarif {
                if sarif.to_string_lossy().contains(['\n', '\r']) {
                    bail!(
                        "--sarif-file: a path with a line break cannot be passed on as a step \
                         output"
                    );
                }
            }
        }
        for path in sarif.iter().chain(&gitlab) {
            output_file::check_target(path)?;
        }
        Ok(ReportFiles {
            format: outputs.format,
            sarif,
            gitlab,
            step_outputs: outputs.step_outputs,
        })
    }
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
/// notice when the report is GitHub annotations.
fn announce(common: &CommonArgs, default: FormatArg, notice: &str) {
    if common.notes_wanted() {
        crate::diag::say(format_args!("notice: {notice}"));
    }
    if !common.quiet && common.format.unwrap_or(default) == FormatArg::Github {
        println!(
            "::notice title=keyhound::{}",
            crate::escape::workflow_data(notice)
        );
    }
}

/// Everything the CI system wants from one report: the report files, the report on stdout
/// (and GitHub's job summary), the step outputs, and the exit code `--fail-on` decides.
fn deliver(
    common: &CommonArgs,
    args: &CiArgs,
    files: &ReportFiles,
    report: &ScanReport,
) -> Result<ExitCode> {
    for (path, format) in [
        (&files.sarif, Format::Sarif),
        (&files.gitlab, Format::Gitlab),
    ] {
        if let Some(path) = path {
            output_file::write_report(path, |out| report::write(format, report, out))?;
        }
    }
    app::emit_as(common, files.format, report)?;
    if files.step_outputs {
        write_step_outputs(report.findings.len(), files.sarif.as_deref())?;
    }
    let floor = severity_floor(args.fail_on);
    let failing = |f: &Finding| match args.fail_on {
        FailOnArg::Live => f
            .validation
            .as_ref()
            .is_some_and(|v| v.status == crate::validate::Status::Live),
        _ => floor.is_some_and(|floor| f.severity >= floor),
    };
    Ok(app::check_exit_code_by(
        common,
        report,
        &failing,
        args.allow_skipped,
    ))
}

/// A push that deleted a ref brings no commits: an empty report, so the workflow's later
/// steps (SARIF upload) still find their files.
fn deleted_ref(
    common: &CommonArgs,
    args: &CiArgs,
    files: &ReportFiles,
    event: &str,
) -> Result<ExitCode> {
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
    deliver(common, args, files, &report)
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

/// Turns the run's plan into a selection in `repo`, checking first that the commits it
/// names are there; `None` when the run brings no commits.
fn resolve(repo: &GitRepo, pipeline: &Pipeline, quiet: bool) -> Result<Option<Target>> {
    let event = pipeline.event.as_str();
    let target = match pipeline.plan.clone() {
        ScanPlan::Range { base, head } => {
            require(repo, pipeline, event, &[&base, &head])?;
            range(event.to_string(), pin(repo, base), pin(repo, head))
        }
        ScanPlan::ForcePush { base, head, branch } => {
            let label = match &branch {
                Some(branch) => format!("{event} to {branch}"),
                None => event.to_string(),
            };
            require(repo, pipeline, &label, &[&head])?;
            if repo.has_commit(&base) {
                return Ok(Some(range(label, pin(repo, base), pin(repo, head))));
            }
            // The replaced tip is reachable from no ref, so even a full clone lacks it; a
            // shallow one may lack much more, and is refused as usual.
            if repo.is_shallow() {
                require(repo, pipeline, &label, &[&base])?;
            }
            if !quiet {
                crate::diag::note(format_args!(
                    "{}, the tip this {event} replaced, is not in the clone \
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
            require(repo, pipeline, &label, &[&head])?;
            refuse_shallow(repo, pipeline, &label, "what no other remote branch has")?;
            new_branch(repo, label, head, branch.as_deref())?
        }
        ScanPlan::FullHistory => {
            let scope = "the full history of every ref";
            refuse_shallow(repo, pipeline, event, scope)?;
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

/// The commit id `rev` names (a branch such as `refs/remotes/origin/main`, or an id), so
/// that the scope shows and scans one commit.
fn pin(repo: &GitRepo, rev: String) -> String {
    repo.resolve_commit(&rev).unwrap_or(rev)
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
fn require(repo: &GitRepo, pipeline: &Pipeline, label: &str, commits: &[&str]) -> Result<()> {
    let Some(missing) = commits.iter().find(|c| !repo.has_commit(c)) else {
        return Ok(());
    };
    let why = if repo.is_shallow() {
        "it is a shallow clone, so its history is cut"
    } else {
        "it was not fetched"
    };
    let what = match pipeline.named_by.iter().find(|(rev, _)| rev == missing) {
        Some((_, variable)) => format!("{missing} (from {variable})"),
        None => format!("commit {missing} named by the event"),
    };
    let advice = &pipeline.fetch_advice;
    bail!("{label}: {what} is not in the repository ({why}): {advice}")
}

/// Fails when the clone is shallow and the scan is a whole stretch of history (`scope`), which
/// the cut would silently shorten: a secret added and removed before it would pass.
fn refuse_shallow(repo: &GitRepo, pipeline: &Pipeline, label: &str, scope: &str) -> Result<()> {
    if repo.is_shallow() {
        let advice = &pipeline.fetch_advice;
        bail!("{label}: this scans {scope}, but the repository is a shallow clone: {advice}");
    }
    Ok(())
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
        FailOnArg::Never | FailOnArg::Live => None,
    }
}

/// Appends the `findings` and `sarif-file` outputs to the file GitHub names in
/// `$GITHUB_OUTPUT`, for later steps; nothing outside Actions.
fn write_step_outputs(findings: usize, sarif: Option<&Path>) -> Result<()> {
    let Some(path) = std::env::var_os("GITHUB_OUTPUT").filter(|p| !p.is_empty()) else {
        return Ok(());
    };
    let path = Path::new(&path);
    let mut lines = format!("findings={findings}\n");
    if let Some(sarif) = sarif {
        lines.push_str(&format!("sarif-file={}\n", sarif.display()));
    }
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
