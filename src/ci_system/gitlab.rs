//! GitLab CI: the run is read from GitLab's predefined variables (`CI_PIPELINE_SOURCE`,
//! `CI_MERGE_REQUEST_DIFF_BASE_SHA`, `CI_COMMIT_BEFORE_SHA`, …); a shallow clone's advice
//! names `GIT_DEPTH`.

use anyhow::Result;

use super::{Env, Pipeline};
use crate::cli::CiArgs;
use crate::github_event::ScanPlan;

/// The all-zero commit id GitLab gives as the commit before a new branch or tag.
const NULL_SHA: &str = "0000000000000000000000000000000000000000";

/// GitLab CI's pipelines: a merge request's commits from its diff base (or, in a merged
/// results pipeline, the target branch's tip) to the commit built; a push's from the branch's
/// previous tip, with the all-zero id of a new branch or tag meaning "what no other branch
/// has"; the whole history for schedules and manual runs.
pub(super) fn pipeline(env: &Env, _args: &CiArgs) -> Result<Pipeline> {
    let source = env.need(
        "CI_PIPELINE_SOURCE",
        "GitLab names what started the pipeline there",
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
                        "GitLab names the merge request's base there",
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

#[cfg(test)]
mod tests {
    use super::super::testing::{run, A, B};
    use super::*;
    use crate::cli::CiSystemArg;

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
}
