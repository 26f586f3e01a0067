//! Bitbucket Pipelines: pull-request pipelines against their destination branch; other
//! pipelines name no range and are refused.

use anyhow::{bail, Result};

use super::{remote_branch, Env, Pipeline};
use crate::cli::CiArgs;
use crate::github_event::ScanPlan;

/// Bitbucket Pipelines: a pull-request pipeline scans what the commit built brings over the
/// destination branch. Other pipelines name no range, so they are refused.
pub(super) fn pipeline(env: &Env, _args: &CiArgs) -> Result<Pipeline> {
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

#[cfg(test)]
mod tests {
    use super::super::testing::{run, B};
    use super::*;
    use crate::cli::CiSystemArg;

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
