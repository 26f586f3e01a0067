//! GitHub Actions: the run is the event that started the workflow, read from its payload
//! (`$GITHUB_EVENT_NAME`, `$GITHUB_EVENT_PATH`, or the flags that stand in for them) by
//! `github_event`.

use std::fs;

use anyhow::{bail, Context, Result};

use super::{Env, Pipeline};
use crate::cli::CiArgs;
use crate::github_event::{self, ScanPlan};

pub(super) fn pipeline(_env: &Env, args: &CiArgs) -> Result<Pipeline> {
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
