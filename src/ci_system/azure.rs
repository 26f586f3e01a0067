//! Azure Pipelines: pull-request builds against their target branch, scheduled and manual
//! builds over the whole history; branch builds, which name no previous commit, are refused.

use anyhow::{bail, Result};

use super::{remote_branch, Env, Pipeline};
use crate::cli::CiArgs;
use crate::github_event::ScanPlan;

/// Azure Pipelines: a pull-request build scans what the commit built (the merge of the pull
/// request) brings over the target branch; scheduled and manual builds the whole history. A
/// branch build names no previous commit, so it is refused.
pub(super) fn pipeline(env: &Env, _args: &CiArgs) -> Result<Pipeline> {
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

#[cfg(test)]
mod tests {
    use super::super::testing::{run, B};
    use super::*;
    use crate::cli::CiSystemArg;

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
}
