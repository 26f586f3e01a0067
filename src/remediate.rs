//! Rotation playbooks: what to do about a found secret, depending on whether it has left the
//! machine, with the provider's revoke URL and its own steps.

use serde::Serialize;

use crate::rules::{Rule, RuleKind, Severity};

/// How far a secret has travelled, which decides how urgent its rotation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exposure {
    /// Found on disk or in a stream: it may or may not have been pushed.
    Unknown,
    /// In git history: treat it as pushed.
    Committed,
    /// Staged for a commit that has not happened yet.
    Staged,
}

/// Steps for one finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Remediation {
    pub summary: String,
    pub steps: Vec<String>,
    pub revoke_url: String,
}

/// The playbook for a secret matched by `rule`.
pub fn playbook(rule: &Rule, exposure: Exposure) -> Remediation {
    let provider = &rule.provider;
    let url = &rule.revoke_url;
    // The generic detector does not know the issuer: point at where to find out instead.
    let at = if rule.kind == RuleKind::Generic {
        format!("with the service that issued it (guidance: {url})")
    } else {
        format!("at {url}")
    };
    let mut steps = Vec::new();
    let summary = if rule.public {
        steps.push(format!(
            "This is a publishable {provider} key, meant to be public; confirm it is the publishable one and not its secret counterpart."
        ));
        format!("Publishable {provider} key: no rotation needed")
    } else {
        match exposure {
            Exposure::Staged => {
                steps.push("Remove the secret from the file before committing; it has not left this machine yet.".into());
                steps.push("Read it at run time from the environment or a secret manager instead of the source.".into());
                steps.push(
                    "If it lives in a file such as .env, add that file to .gitignore.".into(),
                );
                steps.push(format!(
                    "If the key was ever shared elsewhere (chat, ticket, another repository), rotate it {at}."
                ));
                steps.push(
                    "If this is a false positive, add `keyhound:allow` in a comment on the line."
                        .into(),
                );
                format!("Unstage and remove this {provider} secret before committing")
            }
            Exposure::Committed | Exposure::Unknown => {
                let calm = rule.severity <= Severity::Low;
                if calm {
                    steps.push(format!(
                        "This looks like a test or low-privilege {provider} credential: rotate it {at} at your next convenience."
                    ));
                } else {
                    let when = if exposure == Exposure::Committed {
                        "It is in git history, so treat it as public"
                    } else {
                        "If it was ever pushed or shared, treat it as public"
                    };
                    steps.push(format!("{when}: revoke it now {at}."));
                    steps.push("Otherwise rotate with an overlap window: issue a new key, deploy it, confirm traffic has moved to it (the provider's last-used data), then revoke the old key.".into());
                }
                steps.extend(rule.rotation.iter().cloned());
                steps.push("Store the new key in a secret manager or the environment, never in source; add files such as .env to .gitignore.".into());
                if exposure == Exposure::Committed {
                    steps.push("Purge it from history (git filter-repo) only after revoking: rewriting history does not un-leak it.".into());
                }
                if calm {
                    format!("Rotate this {provider} test credential")
                } else {
                    format!("Revoke and rotate this {provider} secret")
                }
            }
        }
    };
    Remediation {
        summary,
        steps,
        revoke_url: url.clone(),
    }
}
