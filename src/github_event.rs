//! Reads a GitHub Actions event payload (`$GITHUB_EVENT_PATH`) and decides which commits a CI
//! scan must cover. The payload's `commits[]` list is truncated by GitHub (at 20 commits) and
//! is never used: ranges come from the commit ids only, and git computes the rest.

use serde_json::Value;
use thiserror::Error;

/// What to scan for one workflow run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanPlan {
    /// Commits reachable from `head` but not from `base` (push, pull request).
    Range { base: String, head: String },
    /// A force-push to `branch`: commits reachable from `head` but not from `base`, the tip it
    /// replaced. Nothing may reach `base` any more, so a fresh clone may not have it.
    ForcePush {
        base: String,
        head: String,
        branch: Option<String>,
    },
    /// A new branch: commits reachable from `head` that are on no other remote branch.
    NewBranch {
        head: String,
        branch: Option<String>,
    },
    /// Every commit of every branch and tag (schedule, manual runs, unknown events).
    FullHistory,
    /// A push that deleted a branch or tag: no commits arrive.
    Nothing,
}

/// Why a payload gives no plan.
#[derive(Debug, Error)]
pub enum EventError {
    #[error("event payload is not valid JSON")]
    Json(#[from] serde_json::Error),
    #[error("{event} event payload has no `{field}`")]
    Missing { event: String, field: &'static str },
}

/// The all-zero id GitHub sends as `before` when a push creates a branch.
const NULL_SHA: &str = "0000000000000000000000000000000000000000";

/// Decides the scan for event `event_name` (`$GITHUB_EVENT_NAME`) with payload `json`.
pub fn plan(event_name: &str, json: &str) -> Result<ScanPlan, EventError> {
    let payload: Value = serde_json::from_str(json)?;
    let field = |path: &[&str], name: &'static str| -> Result<String, EventError> {
        let mut value = &payload;
        for key in path {
            value = &value[*key];
        }
        value
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| EventError::Missing {
                event: event_name.to_string(),
                field: name,
            })
    };
    match event_name {
        "push" => {
            let head = field(&["after"], "after")?;
            let before = field(&["before"], "before")?;
            let created = payload["created"].as_bool().unwrap_or(false);
            let forced = payload["forced"].as_bool().unwrap_or(false);
            let branch = payload["ref"]
                .as_str()
                .and_then(|r| r.strip_prefix("refs/heads/"))
                .map(str::to_owned);
            if head == NULL_SHA || payload["deleted"].as_bool().unwrap_or(false) {
                Ok(ScanPlan::Nothing)
            } else if before == NULL_SHA || created {
                Ok(ScanPlan::NewBranch { head, branch })
            } else if forced {
                Ok(ScanPlan::ForcePush {
                    base: before,
                    head,
                    branch,
                })
            } else {
                Ok(ScanPlan::Range { base: before, head })
            }
        }
        "pull_request" | "pull_request_target" => Ok(ScanPlan::Range {
            base: field(&["pull_request", "base", "sha"], "pull_request.base.sha")?,
            head: field(&["pull_request", "head", "sha"], "pull_request.head.sha")?,
        }),
        _ => Ok(ScanPlan::FullHistory),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "1111111111111111111111111111111111111111";
    const B: &str = "2222222222222222222222222222222222222222";

    #[test]
    fn push_is_a_range_and_ignores_the_commit_list() {
        let json = format!(
            r#"{{"ref":"refs/heads/main","before":"{A}","after":"{B}","commits":[{{"id":"{A}"}}]}}"#
        );
        assert_eq!(
            plan("push", &json).unwrap(),
            ScanPlan::Range {
                base: A.into(),
                head: B.into()
            }
        );
    }

    #[test]
    fn push_creating_a_branch_scans_what_no_other_branch_has() {
        let json = format!(r#"{{"ref":"refs/heads/feat","before":"{NULL_SHA}","after":"{B}"}}"#);
        assert_eq!(
            plan("push", &json).unwrap(),
            ScanPlan::NewBranch {
                head: B.into(),
                branch: Some("feat".into())
            }
        );
    }

    #[test]
    fn force_push_keeps_the_old_tip_and_the_branch() {
        let json =
            format!(r#"{{"ref":"refs/heads/feat","before":"{A}","after":"{B}","forced":true}}"#);
        assert_eq!(
            plan("push", &json).unwrap(),
            ScanPlan::ForcePush {
                base: A.into(),
                head: B.into(),
                branch: Some("feat".into())
            }
        );
    }

    #[test]
    fn pushing_a_tag_is_a_new_ref_without_a_branch() {
        let json = format!(
            r#"{{"ref":"refs/tags/v1","before":"{NULL_SHA}","after":"{B}","created":true}}"#
        );
        assert_eq!(
            plan("push", &json).unwrap(),
            ScanPlan::NewBranch {
                head: B.into(),
                branch: None
            }
        );
    }

    #[test]
    fn pull_request_uses_base_and_head_shas() {
        let json =
            format!(r#"{{"pull_request":{{"base":{{"sha":"{A}"}},"head":{{"sha":"{B}"}}}}}}"#);
        assert_eq!(
            plan("pull_request", &json).unwrap(),
            ScanPlan::Range {
                base: A.into(),
                head: B.into()
            }
        );
    }

    #[test]
    fn schedule_and_dispatch_scan_everything_and_bad_payloads_are_errors() {
        assert_eq!(plan("schedule", "{}").unwrap(), ScanPlan::FullHistory);
        assert_eq!(
            plan("workflow_dispatch", "{}").unwrap(),
            ScanPlan::FullHistory
        );
        let target =
            format!(r#"{{"pull_request":{{"base":{{"sha":"{A}"}},"head":{{"sha":"{B}"}}}}}}"#);
        assert!(matches!(
            plan("pull_request_target", &target).unwrap(),
            ScanPlan::Range { .. }
        ));
        assert!(plan("pull_request", "{}")
            .unwrap_err()
            .to_string()
            .contains("pull_request.base.sha"));
        assert!(plan("push", "{}")
            .unwrap_err()
            .to_string()
            .contains("after"));
        assert!(plan("push", "not json").is_err());
    }

    #[test]
    fn deleting_a_branch_brings_nothing_to_scan() {
        let payload = format!(
            r#"{{"ref":"refs/heads/old","before":"{}","after":"{NULL_SHA}","deleted":true}}"#,
            "a".repeat(40)
        );
        assert_eq!(plan("push", &payload).unwrap(), ScanPlan::Nothing);
    }
}
