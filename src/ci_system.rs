//! The CI systems `keyhound ci` runs in, one entry each, with its tests beside it: the
//! variable that says a job runs there, which of its variables name the commits the run
//! brings, where it checks the repository out, what to set when the clone lacks the history a
//! scan needs, and where the findings go (SARIF and annotations for GitHub, the
//! secret-detection report for GitLab, the job log elsewhere).
//!
//! A system that names no range for some kind of run (an Azure or Bitbucket branch build)
//! is an error naming the variable that would, never a guess: a guessed range could leave
//! out the commit that holds the secret and pass.

use std::fs;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};

use crate::cli::{CiArgs, CiSystemArg, FormatArg};
use crate::github_event::{self, ScanPlan};

/// The all-zero commit id GitLab (like GitHub) gives as the commit before a new branch.
const NULL_SHA: &str = "0000000000000000000000000000000000000000";

/// The CI job's environment; only non-empty values count as set.
pub struct Env<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
}

impl<'a> Env<'a> {
    pub fn new(lookup: &'a dyn Fn(&str) -> Option<String>) -> Env<'a> {
        Env { lookup }
    }

    fn get(&self, name: &str) -> Option<String> {
        (self.lookup)(name).filter(|v| !v.is_empty())
    }

    /// The value of `name`, or an error saying the run needs it.
    fn need(&self, name: &str, why: &str) -> Result<String> {
        self.get(name)
            .with_context(|| format!("{name} is not set: {why}"))
    }
}

/// The process environment.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// One run, as its CI system describes it.
#[derive(Debug)]
pub struct Pipeline {
    /// What started the run, in words: `push`, `pull_request`, `merge request !7`.
    pub event: String,
    pub plan: ScanPlan,
    /// The repository's default branch, when the system names it: a new branch is judged by
    /// its policy.
    pub default_branch: Option<String>,
    /// How the notice names the change judged: `this pull request`, `this push`.
    pub change: &'static str,
    /// The variables that named revisions of the plan, so that a missing one is named too.
    pub named_by: Vec<(String, &'static str)>,
    /// What to set to get the history the scan needs.
    pub fetch_advice: String,
}

/// Where a system's findings go by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outputs {
    /// The report on standard output unless `--format` says otherwise.
    pub format: FormatArg,
    /// The SARIF file written unless `--sarif-file` says otherwise.
    pub sarif_file: Option<&'static str>,
    /// GitLab's report file written unless `--gitlab-report` says otherwise.
    pub gitlab_report: Option<&'static str>,
    /// Whether the `findings` and `sarif-file` step outputs are written ($GITHUB_OUTPUT).
    pub step_outputs: bool,
}

/// One CI system.
#[derive(Debug)]
pub struct System {
    pub id: CiSystemArg,
    /// Its name, for messages.
    pub name: &'static str,
    /// The variable whose presence says a job runs here.
    pub detect: &'static str,
    /// The variable naming the checkout to scan.
    pub workspace: &'static str,
    pub outputs: Outputs,
    /// Reads the run from the environment (and, for GitHub, the event flags).
    pub pipeline: fn(&Env, &CiArgs) -> Result<Pipeline>,
}

/// Every system `keyhound ci` knows, in the order detection tries them.
pub const SYSTEMS: [System; 4] = [
    System {
        id: CiSystemArg::Github,
        name: "GitHub Actions",
        detect: "GITHUB_ACTIONS",
        workspace: "GITHUB_WORKSPACE",
        outputs: Outputs {
            format: FormatArg::Github,
            sarif_file: Some("keyhound.sarif"),
            gitlab_report: None,
            step_outputs: true,
        },
        pipeline: github,
    },
    System {
        id: CiSystemArg::Gitlab,
        name: "GitLab CI",
        detect: "GITLAB_CI",
        workspace: "CI_PROJECT_DIR",
        outputs: Outputs {
            format: FormatArg::Human,
            sarif_file: None,
            gitlab_report: Some("gl-secret-detection-report.json"),
            step_outputs: false,
        },
        pipeline: gitlab,
    },
    System {
        id: CiSystemArg::Azure,
        name: "Azure Pipelines",
        detect: "TF_BUILD",
        workspace: "BUILD_SOURCESDIRECTORY",
        outputs: LOG_ONLY,
        pipeline: azure,
    },
    System {
        id: CiSystemArg::Bitbucket,
        name: "Bitbucket Pipelines",
        detect: "BITBUCKET_BUILD_NUMBER",
        workspace: "BITBUCKET_CLONE_DIR",
        outputs: LOG_ONLY,
        pipeline: bitbucket,
    },
];

/// Findings in the job log only (a SARIF or GitLab file when asked for).
const LOG_ONLY: Outputs = Outputs {
    format: FormatArg::Human,
    sarif_file: None,
    gitlab_report: None,
    step_outputs: false,
};

/// The system `--ci-system` names, else the first whose variable is set; GitHub also when the
/// event flags (or their variables) are given.
pub fn detect(env: &Env, args: &CiArgs) -> Result<&'static System> {
    let chosen = match args.ci_system {
        Some(id) => SYSTEMS.iter().find(|s| s.id == id),
        None if args.event_name.is_some() || args.event_path.is_some() => SYSTEMS.first(),
        None => SYSTEMS.iter().find(|s| env.get(s.detect).is_some()),
    };
    if let Some(system) = chosen {
        return Ok(system);
    }
    let vars: Vec<&str> = SYSTEMS.iter().map(|s| s.detect).collect();
    bail!(
        "no CI system detected (GITHUB_EVENT_NAME is not set, nor any of {}): pass \
         --ci-system NAME; outside CI, --event-name NAME and --event-path FILE stand in for a \
         GitHub Actions event, or use `keyhound git --range BASE..HEAD`",
        vars.join(", ")
    )
}

/// The checkout to scan: the system's workspace variable, else the current directory.
pub fn workspace(env: &Env, system: &System) -> PathBuf {
    env.get(system.workspace)
        .map_or_else(|| PathBuf::from("."), PathBuf::from)
}

// --- GitHub Actions: the event payload (see `github_event`) --------------------------------

fn github(_env: &Env, args: &CiArgs) -> Result<Pipeline> {
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
    let mut fetch_advice =
        "check out the full history with `fetch-depth: 0` on actions/checkout".to_string();
    if name == "pull_request_target" {
        // That event checks out the base branch: the pull request's commits are not fetched.
        fetch_advice.push_str(
            ", and the pull request's head with `ref: ${{ github.event.pull_request.head.sha }}`",
        );
    }
    let event = match &plan {
        ScanPlan::ForcePush { .. } => "force-push".to_string(),
        _ => name.to_string(),
    };
    Ok(Pipeline {
        event,
        plan,
        default_branch,
        change: if name.starts_with("pull_request") {
            "this pull request"
        } else {
            "this push"
        },
        named_by: Vec::new(),
        fetch_advice,
    })
}

// --- GitLab CI: predefined variables -------------------------------------------------------

/// GitLab CI's pipelines: a merge request's commits from its diff base (or, in a merged
/// results pipeline, the target branch's tip) to the commit built; a push's from the branch's
/// previous tip, with the all-zero id of a new branch or tag meaning "what no other branch
/// has"; the whole history for schedules and manual runs.
fn gitlab(env: &Env, _args: &CiArgs) -> Result<Pipeline> {
    let source = env.need(
        "CI_PIPELINE_SOURCE",
        "GitLab names what started the pipeline there (GitLab 9.5 and later)",
    )?;
    let head = env.need("CI_COMMIT_SHA", "GitLab names the commit built there")?;
    let depth = match env.get("GIT_DEPTH").as_deref() {
        Some("0") | None => String::new(),
        Some(depth) => format!(" (GIT_DEPTH is {depth} here)"),
    };
    let mut fetch_advice = format!("set `GIT_DEPTH: 0` in the job's variables{depth}");
    let default_branch = env.get("CI_DEFAULT_BRANCH");
    let mut named_by = vec![(head.clone(), "CI_COMMIT_SHA")];
    let (event, plan, change) = match source.as_str() {
        "merge_request_event" => {
            let iid = env.get("CI_MERGE_REQUEST_IID").unwrap_or_default();
            // Merged results and merge trains build the merge of the source into the target
            // branch's tip: what that commit brings over the tip is the merge request.
            let (base, variable) = match env.get("CI_MERGE_REQUEST_TARGET_BRANCH_SHA") {
                Some(tip) => (tip, "CI_MERGE_REQUEST_TARGET_BRANCH_SHA"),
                None => (
                    env.need(
                        "CI_MERGE_REQUEST_DIFF_BASE_SHA",
                        "GitLab names the merge request's base there (GitLab 13.9 and later)",
                    )?,
                    "CI_MERGE_REQUEST_DIFF_BASE_SHA",
                ),
            };
            named_by.push((base.clone(), variable));
            fetch_advice = format!(
                "set `GIT_DEPTH: 0` in the job's variables, so that the clone has the merge \
                 request's base{depth}"
            );
            (
                format!("merge request !{iid}"),
                ScanPlan::Range { base, head },
                "this merge request",
            )
        }
        "external_pull_request_event" => {
            let base = env.need(
                "CI_EXTERNAL_PULL_REQUEST_TARGET_BRANCH_SHA",
                "GitLab names the external pull request's target there",
            )?;
            named_by.push((base.clone(), "CI_EXTERNAL_PULL_REQUEST_TARGET_BRANCH_SHA"));
            (
                "external pull request".to_string(),
                ScanPlan::Range { base, head },
                "this pull request",
            )
        }
        "push" => {
            let before = env.need(
                "CI_COMMIT_BEFORE_SHA",
                "GitLab names the branch's previous tip there",
            )?;
            let branch = env.get("CI_COMMIT_BRANCH");
            let plan = if before == NULL_SHA {
                ScanPlan::NewBranch { head, branch }
            } else {
                named_by.push((before.clone(), "CI_COMMIT_BEFORE_SHA"));
                // GitLab does not say whether the push was forced: a previous tip the full
                // clone lacks was replaced, and is handled as a force-push.
                ScanPlan::ForcePush {
                    base: before,
                    head,
                    branch,
                }
            };
            ("push".to_string(), plan, "this push")
        }
        // schedule, web, api, trigger, pipeline, parent_pipeline, chat, …
        other => (other.to_string(), ScanPlan::FullHistory, "this push"),
    };
    Ok(Pipeline {
        event,
        plan,
        default_branch,
        change,
        named_by,
        fetch_advice,
    })
}

// --- Azure Pipelines: predefined variables -------------------------------------------------

/// Azure Pipelines: a pull-request build scans what the commit built (the merge of the pull
/// request) brings over the target branch; scheduled and manual builds the whole history. A
/// branch build names no previous commit, so it is refused.
fn azure(env: &Env, _args: &CiArgs) -> Result<Pipeline> {
    let reason = env.need(
        "BUILD_REASON",
        "Azure Pipelines names what started the build there",
    )?;
    let advice = "check out the full history with `fetchDepth: 0` on the `checkout` step";
    let (event, plan, change, named_by) = match reason.as_str() {
        "PullRequest" => {
            let target = env.need(
                "SYSTEM_PULLREQUEST_TARGETBRANCH",
                "Azure Pipelines names the pull request's target branch there",
            )?;
            let head = env.need(
                "BUILD_SOURCEVERSION",
                "Azure Pipelines names the commit built there",
            )?;
            let base = remote_branch(&target);
            let named_by = vec![
                (base.clone(), "SYSTEM_PULLREQUEST_TARGETBRANCH"),
                (head.clone(), "BUILD_SOURCEVERSION"),
            ];
            let id = env
                .get("SYSTEM_PULLREQUEST_PULLREQUESTID")
                .unwrap_or_default();
            (
                format!("pull request {id}").trim_end().to_string(),
                ScanPlan::Range { base, head },
                "this pull request",
                named_by,
            )
        }
        "Schedule" | "Manual" => (
            reason.to_lowercase(),
            ScanPlan::FullHistory,
            "this push",
            Vec::new(),
        ),
        other => bail!(
            "BUILD_REASON is {other}: Azure Pipelines names no commit before a branch build, \
             so keyhound ci scans pull-request builds (SYSTEM_PULLREQUEST_TARGETBRANCH) and \
             scheduled or manual ones (the whole history); for this build run `keyhound git \
             --range BASE..$(Build.SourceVersion)` with a BASE you trust"
        ),
    };
    Ok(Pipeline {
        event,
        plan,
        default_branch: None,
        change,
        named_by,
        fetch_advice: advice.to_string(),
    })
}

// --- Bitbucket Pipelines: default variables ------------------------------------------------

/// Bitbucket Pipelines: a pull-request pipeline scans what the commit built brings over the
/// destination branch. Other pipelines name no range, so they are refused.
fn bitbucket(env: &Env, _args: &CiArgs) -> Result<Pipeline> {
    let Some(destination) = env.get("BITBUCKET_PR_DESTINATION_BRANCH") else {
        bail!(
            "BITBUCKET_PR_DESTINATION_BRANCH is not set: Bitbucket names a range only in \
             pull-request pipelines, so run keyhound ci under `pull-requests:`; a branch \
             pipeline names no commit before the push, so scan it with `keyhound git --range \
             BASE..$BITBUCKET_COMMIT` from a BASE you trust, or `keyhound git` for the whole \
             history"
        );
    };
    let head = env.need("BITBUCKET_COMMIT", "Bitbucket names the commit built there")?;
    let base = remote_branch(&destination);
    let id = env.get("BITBUCKET_PR_ID").unwrap_or_default();
    Ok(Pipeline {
        event: format!("pull request #{id}"),
        named_by: vec![
            (base.clone(), "BITBUCKET_PR_DESTINATION_BRANCH"),
            (head.clone(), "BITBUCKET_COMMIT"),
        ],
        plan: ScanPlan::Range { base, head },
        default_branch: None,
        change: "this pull request",
        fetch_advice: format!(
            "clone the full history (`clone: depth: full`) and fetch the destination branch: \
             `git fetch origin +refs/heads/{destination}:refs/remotes/origin/{destination}`"
        ),
    })
}

/// The remote-tracking ref of branch `name` (`main`, or `refs/heads/main` as Azure Repos
/// spells it).
fn remote_branch(name: &str) -> String {
    let name = name.strip_prefix("refs/heads/").unwrap_or(name);
    format!("refs/remotes/origin/{name}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    const A: &str = "1111111111111111111111111111111111111111";
    const B: &str = "2222222222222222222222222222222222222222";

    /// `keyhound ci` arguments, without the event flags (clap would fill them from the
    /// process environment's GITHUB_EVENT_NAME and GITHUB_EVENT_PATH).
    fn args(extra: &[&str]) -> CiArgs {
        let cli = crate::cli::Cli::try_parse_from(["keyhound", "ci"].iter().chain(extra)).unwrap();
        match cli.command {
            crate::cli::Command::Ci(mut args) => {
                args.event_name = None;
                args.event_path = None;
                args
            }
            _ => unreachable!(),
        }
    }

    fn run(system: CiSystemArg, vars: &[(&str, &str)]) -> Result<Pipeline> {
        let lookup = |name: &str| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        };
        let env = Env::new(&lookup);
        let system = SYSTEMS.iter().find(|s| s.id == system).unwrap();
        (system.pipeline)(&env, &args(&[]))
    }

    #[test]
    fn detection_follows_each_systems_variable_and_the_flag_overrides_it() {
        let vars = [("GITLAB_CI", "true"), ("TF_BUILD", "True")];
        let lookup = |name: &str| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        };
        let env = Env::new(&lookup);
        assert_eq!(detect(&env, &args(&[])).unwrap().id, CiSystemArg::Gitlab);
        let chosen = detect(&env, &args(&["--ci-system", "azure"])).unwrap();
        assert_eq!(chosen.id, CiSystemArg::Azure);
        let none = |_: &str| None;
        let err = detect(&Env::new(&none), &args(&[]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("GITLAB_CI") && err.contains("--ci-system"),
            "{err}"
        );
    }

    #[test]
    fn gitlab_merge_request_runs_from_the_diff_base_or_the_target_tip() {
        let mr = [
            ("CI_PIPELINE_SOURCE", "merge_request_event"),
            ("CI_COMMIT_SHA", B),
            ("CI_MERGE_REQUEST_DIFF_BASE_SHA", A),
            ("CI_MERGE_REQUEST_IID", "7"),
        ];
        let p = run(CiSystemArg::Gitlab, &mr).unwrap();
        assert_eq!(p.event, "merge request !7");
        assert_eq!(
            p.plan,
            ScanPlan::Range {
                base: A.into(),
                head: B.into()
            }
        );
        let mut merged = mr.to_vec();
        merged.push(("CI_MERGE_REQUEST_TARGET_BRANCH_SHA", "3333"));
        let p = run(CiSystemArg::Gitlab, &merged).unwrap();
        assert_eq!(
            p.plan,
            ScanPlan::Range {
                base: "3333".into(),
                head: B.into()
            }
        );
        let err = run(CiSystemArg::Gitlab, &mr[..2]).unwrap_err().to_string();
        assert!(
            err.starts_with("CI_MERGE_REQUEST_DIFF_BASE_SHA is not set"),
            "{err}"
        );
    }

    #[test]
    fn gitlab_push_new_branch_and_schedule() {
        let push = |before: &'static str| {
            run(
                CiSystemArg::Gitlab,
                &[
                    ("CI_PIPELINE_SOURCE", "push"),
                    ("CI_COMMIT_SHA", B),
                    ("CI_COMMIT_BEFORE_SHA", before),
                    ("CI_COMMIT_BRANCH", "feat"),
                    ("GIT_DEPTH", "20"),
                ],
            )
            .unwrap()
        };
        let p = push(A);
        assert!(matches!(p.plan, ScanPlan::ForcePush { ref base, .. } if base == A));
        assert!(
            p.fetch_advice.contains("GIT_DEPTH is 20"),
            "{}",
            p.fetch_advice
        );
        assert_eq!(
            push(NULL_SHA).plan,
            ScanPlan::NewBranch {
                head: B.into(),
                branch: Some("feat".into())
            }
        );
        let scheduled = [("CI_PIPELINE_SOURCE", "schedule"), ("CI_COMMIT_SHA", B)];
        assert_eq!(
            run(CiSystemArg::Gitlab, &scheduled).unwrap().plan,
            ScanPlan::FullHistory
        );
    }

    #[test]
    fn azure_pull_requests_use_the_target_branch_and_branch_builds_are_refused() {
        let p = run(
            CiSystemArg::Azure,
            &[
                ("BUILD_REASON", "PullRequest"),
                ("SYSTEM_PULLREQUEST_TARGETBRANCH", "refs/heads/main"),
                ("BUILD_SOURCEVERSION", B),
            ],
        )
        .unwrap();
        let base = "refs/remotes/origin/main".to_string();
        assert_eq!(
            p.plan,
            ScanPlan::Range {
                base,
                head: B.into()
            }
        );
        let err = run(CiSystemArg::Azure, &[("BUILD_REASON", "IndividualCI")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("SYSTEM_PULLREQUEST_TARGETBRANCH"), "{err}");
    }

    #[test]
    fn bitbucket_pull_requests_use_the_destination_and_others_are_refused() {
        let p = run(
            CiSystemArg::Bitbucket,
            &[
                ("BITBUCKET_PR_DESTINATION_BRANCH", "main"),
                ("BITBUCKET_COMMIT", B),
            ],
        )
        .unwrap();
        assert!(
            matches!(p.plan, ScanPlan::Range { ref base, .. } if base == "refs/remotes/origin/main")
        );
        let err = run(CiSystemArg::Bitbucket, &[("BITBUCKET_COMMIT", B)])
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("BITBUCKET_PR_DESTINATION_BRANCH is not set"),
            "{err}"
        );
    }
}
