//! Rotation playbooks: what to do about a found secret, depending on how far it has travelled,
//! with the provider's revoke URL and the rule's own rotation steps.
//!
//! The order of the steps is the order to act in. A secret that was pushed or shared is revoked
//! at once; one that never left the machine is rotated with an overlap window so nothing breaks.
//! History is rewritten only after revocation, because rewriting does not un-leak anything.
//! Test-mode and other low-severity keys get the same steps without the alarm.

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
    /// In local commits about to be pushed (the pre-push check).
    Unpushed,
}

/// Steps for one finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Remediation {
    /// One line: what to do, in short.
    pub summary: String,
    /// The steps, in the order to take them.
    pub steps: Vec<String>,
    /// Where to revoke or roll the secret.
    pub revoke_url: String,
}

impl Remediation {
    /// Plain text: the summary, then the numbered steps, one per line.
    pub fn text(&self) -> String {
        let mut out = format!("{}\n", self.summary);
        for (i, step) in self.steps.iter().enumerate() {
            out.push_str(&format!("{}. {step}\n", i + 1));
        }
        out
    }
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
    let mut steps: Vec<String> = Vec::new();
    let summary = if rule.public {
        steps.push(format!(
            "This is a publishable {provider} key, meant to ship in client code: confirm it is the publishable key and not its secret counterpart."
        ));
        steps.extend(rule.rotation.iter().cloned());
        format!("Publishable {provider} key: no rotation needed")
    } else if matches!(exposure, Exposure::Staged | Exposure::Unpushed) {
        steps.push(if exposure == Exposure::Staged {
            "Unstage the file and take the secret out of it: it has not left this machine yet, so nothing needs revoking."
                .into()
        } else {
            "Take the secret out of the commits before pushing: they have not left this machine yet, so nothing needs revoking. Amend the last commit (`git commit --amend`) or edit the one that added it (`git rebase -i`); a later commit that deletes the line is not enough, the older commit still carries it."
                .into()
        });
        steps.push(
            "Read the secret at run time from the environment or a secret manager instead.".into(),
        );
        steps.push(
            "If it lives in a file such as .env, add that file to .gitignore and commit a .env.example with a placeholder instead."
                .into(),
        );
        steps.push(format!(
            "If the secret was ever shared anywhere else (chat, ticket, another repository), rotate it {at}."
        ));
        steps
            .push("If this is not a secret, add `keyhound:allow` in a comment on the line.".into());
        if exposure == Exposure::Staged {
            format!("Remove this {provider} secret before committing")
        } else {
            format!("Remove this {provider} secret from your commits before pushing")
        }
    } else if rule.severity <= Severity::Low {
        steps.push(format!(
            "This is a test-mode or low-privilege {provider} credential: no emergency, but anyone holding it can use it, so rotate it {at} when convenient."
        ));
        steps.extend(rule.rotation.iter().cloned());
        steps.push(
            "Keep test keys out of source too: read them from the environment or a secret manager, and add files such as .env to .gitignore."
                .into(),
        );
        if exposure == Exposure::Committed {
            steps.push(
                "Rewriting history is optional for a test key once it has been rotated.".into(),
            );
        }
        format!("Rotate this {provider} test credential")
    } else {
        let pushed = if exposure == Exposure::Committed {
            "It is in git history: if that history was ever pushed, or the repository is public, treat the secret as compromised"
        } else {
            "If it was ever pushed, published or shared (chat, ticket, paste), treat it as compromised"
        };
        steps.push(format!(
            "{pushed} and revoke it {at} now, even if that breaks running services, then issue a replacement and deploy it."
        ));
        steps.push(
            "If it never left this machine, rotate with an overlap window instead: issue a new secret, deploy it everywhere the old one is used, confirm traffic has moved to it (the provider's last-used data or request logs), then revoke the old one."
                .into(),
        );
        steps.extend(rule.rotation.iter().cloned());
        let logs = if rule.kind == RuleKind::Generic {
            "the issuing service's".to_string()
        } else {
            format!("{provider}'s")
        };
        steps.push(format!(
            "Check {logs} logs for requests you do not recognise made with the old secret since it was exposed."
        ));
        steps.push(
            "Keep the new secret out of source: read it from the environment or a secret manager, and add files such as .env to .gitignore."
                .into(),
        );
        if exposure == Exposure::Committed {
            steps.push(
                "Only after revoking, purge the secret from history (git filter-repo), force-push and have collaborators re-clone: rewriting history does not un-leak it."
                    .into(),
            );
        }
        format!("Revoke and rotate this {provider} secret")
    };
    Remediation {
        summary,
        steps,
        revoke_url: url.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::parse_rule_file;

    fn rule(severity: &str, public: bool) -> Rule {
        let toml = format!(
            r#"
[[rule]]
id = "demo-key"
name = "Demo key"
provider = "Demo"
description = "test"
keywords = ["demo_"]
regex = 'demo_[a-z]+'
severity = "{severity}"
confidence = "high"
public = {public}
revoke_url = "https://example.invalid/keys"
rotation = ["Roll the key in the dashboard."]
"#
        );
        parse_rule_file(&toml, "t.toml").unwrap().remove(0)
    }

    #[test]
    fn pushed_secrets_are_revoked_first_and_purged_only_after() {
        let r = playbook(&rule("critical", false), Exposure::Committed);
        assert!(r.steps[0].contains("revoke it at https://example.invalid/keys now"));
        assert!(r.steps[1].contains("overlap window"));
        assert_eq!(r.steps[2], "Roll the key in the dashboard.");
        let purge = r
            .steps
            .iter()
            .position(|s| s.contains("filter-repo"))
            .unwrap();
        assert_eq!(purge, r.steps.len() - 1, "purging comes last");
        assert!(r.steps[purge].starts_with("Only after revoking"));
        assert!(r.steps.iter().any(|s| s.contains(".gitignore")));
    }

    #[test]
    fn unknown_exposure_does_not_ask_for_a_history_rewrite() {
        let r = playbook(&rule("high", false), Exposure::Unknown);
        assert!(r.steps[0].starts_with("If it was ever pushed"));
        assert!(!r.steps.iter().any(|s| s.contains("filter-repo")));
    }

    #[test]
    fn test_keys_get_calm_steps() {
        let r = playbook(&rule("low", false), Exposure::Committed);
        assert_eq!(r.summary, "Rotate this Demo test credential");
        assert!(r.steps[0].contains("no emergency"));
        assert!(!r.steps.iter().any(|s| s.contains("now")));
    }

    #[test]
    fn staged_and_public_secrets() {
        let staged = playbook(&rule("critical", false), Exposure::Staged);
        assert!(staged.steps[0].contains("nothing needs revoking"));
        let unpushed = playbook(&rule("critical", false), Exposure::Unpushed);
        assert!(unpushed.steps[0].contains("git rebase -i"));
        assert!(unpushed.summary.ends_with("before pushing"));
        let public = playbook(&rule("low", true), Exposure::Committed);
        assert!(public.summary.contains("no rotation needed"));
    }

    #[test]
    fn text_numbers_the_steps() {
        let r = playbook(&rule("critical", false), Exposure::Unknown);
        let text = r.text();
        assert!(text.starts_with("Revoke and rotate this Demo secret\n1. "));
        assert_eq!(text.lines().count(), r.steps.len() + 1);
    }
}
