//! Rotation playbooks: what to do about a found secret, depending on how far it has travelled,
//! with the provider's revoke URL and the rule's own rotation steps.
//!
//! The order of the steps is the order to act in. A secret that was pushed or shared is revoked
//! at once; one that never left the machine is rotated with an overlap window so nothing breaks.
//! History is rewritten only after revocation, because rewriting does not un-leak anything.
//! Test-mode and other low-severity keys get the same steps without the alarm.

use serde::{Deserialize, Serialize};

use crate::rules::{Rule, RuleKind, Severity};
use crate::validate::{Status, Validation};

/// How far a secret has travelled, which decides how urgent its rotation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exposure {
    /// Found on disk or in a stream: it may or may not have been pushed.
    Unknown,
    /// In a local git history: pushed if that history ever was.
    Committed,
    /// In commits a remote already has (a push or pull request judged in CI).
    Pushed,
    /// Staged for a commit that has not happened yet.
    Staged,
    /// In local commits about to be pushed (the pre-push check).
    Unpushed,
}

impl Exposure {
    /// Whether the secret is in commits, so purging history is part of the cleanup.
    pub fn in_history(self) -> bool {
        matches!(self, Exposure::Committed | Exposure::Pushed)
    }
}

/// Steps for one finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Remediation {
    /// One line: what to do, in short.
    pub summary: String,
    /// The steps, in the order to take them.
    pub steps: Vec<String>,
    /// Where to revoke or roll the secret; empty when there is no one place (a private key is
    /// trusted wherever its public half was installed: the steps say where to look), and then
    /// left out of JSON.
    #[serde(default, skip_serializing_if = "String::is_empty")]
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

/// How the playbook names a secret and where it sends the user to revoke it.
struct Wording {
    /// A noun phrase after "this": `Stripe secret`, `private key (PEM)`, `secret`.
    what: String,
    /// Where revoking happens: `at https://…`, or in words when there is no one place.
    revoke_at: String,
    /// Whose logs to read for misuse.
    logs: String,
}

impl Wording {
    fn of(rule: &Rule) -> Wording {
        if rule.kind == RuleKind::Weak {
            return Wording {
                what: "password".into(),
                revoke_at: "where it is set (the account, database role or service the name and file point to)".into(),
                logs: "that account's sign-in or access logs".into(),
            };
        }
        if rule.kind == RuleKind::Generic {
            // The generic detector does not know the issuer; the assignment does.
            return Wording {
                what: "secret".into(),
                revoke_at: "with the service that issued it (the name it is assigned to and the file it is in usually tell which: look for that name in the service's settings or the deployment's environment)".into(),
                logs: "that service's access logs".into(),
            };
        }
        if rule.revoke_url.is_empty() {
            return Wording {
                what: common_noun(&rule.name),
                revoke_at: "everywhere it is trusted (the steps below say where to look)".into(),
                logs: "the logs of every system that trusted it".into(),
            };
        }
        Wording {
            what: format!("{} secret", rule.provider),
            revoke_at: format!("at {}", rule.revoke_url),
            logs: format!("the {} audit or request logs", rule.provider),
        }
    }
}

/// A rule name as it reads after "this": a capitalised first word (`Private key (PEM)`,
/// `Bearer token in …`) is lower-cased; a name (`OpenSSH`, `MySQL`, `JSON`) is kept.
fn common_noun(name: &str) -> String {
    let first = name.split([' ', '-']).next().unwrap_or_default();
    let mut chars = first.chars();
    let capitalised = chars.next().is_some_and(|c| c.is_ascii_uppercase())
        && chars.all(|c| !c.is_ascii_uppercase());
    match name.chars().next() {
        Some(c) if capitalised => format!("{}{}", c.to_ascii_lowercase(), &name[c.len_utf8()..]),
        _ => name.to_string(),
    }
}

/// The playbook for a secret matched by `rule`.
pub fn playbook(rule: &Rule, exposure: Exposure) -> Remediation {
    let Wording {
        what,
        revoke_at,
        logs,
    } = Wording::of(rule);
    let provider = &rule.provider;
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
            "If the secret was ever shared anywhere else (chat, ticket, another repository), revoke it {revoke_at}."
        ));
        let bypass = if exposure == Exposure::Staged {
            "git commit --no-verify"
        } else {
            "git push --no-verify"
        };
        steps.push(format!(
            "If this is not a secret, record that for good: add `keyhound:allow` in a comment on the line, or its sha256 fingerprint (shown above) on a line of .keyhoundignore. `{bypass}` skips the check once, without recording anything."
        ));
        if exposure == Exposure::Staged {
            format!("Remove this {what} before committing")
        } else {
            format!("Remove this {what} from your commits before pushing")
        }
    } else if rule.severity <= Severity::Low && rule.revoke_url.is_empty() {
        // Material with no one place to revoke it (a password hash): the rule's steps say
        // what it exposes and what to change.
        steps.push(format!(
            "Low severity: no emergency, but this {what} should not be in source; act on the steps below."
        ));
        steps.extend(rule.rotation.iter().cloned());
        if exposure.in_history() {
            steps.push(
                "Rewriting history is optional once the exposed material has been replaced.".into(),
            );
        }
        format!("Replace this {what} (low severity)")
    } else if rule.severity <= Severity::Low {
        steps.push(format!(
            "This is a test-mode or low-privilege credential: no emergency, but anyone holding it can use it, so revoke it {revoke_at} when convenient and issue a new one."
        ));
        steps.extend(rule.rotation.iter().cloned());
        steps.push(
            "Keep test keys out of source too: read them from the environment or a secret manager, and add files such as .env to .gitignore."
                .into(),
        );
        if exposure.in_history() {
            steps.push(
                "Rewriting history is optional for a test key once it has been rotated.".into(),
            );
        }
        format!("Rotate this {what} (test or low-privilege)")
    } else {
        steps.push(match exposure {
            Exposure::Pushed => format!(
                "It is in pushed history, so treat it as compromised: revoke it {revoke_at} now, even if that breaks running services, then issue a replacement and deploy it."
            ),
            Exposure::Committed => format!(
                "It is in git history: if that history was ever pushed, or the repository is public, treat it as compromised and revoke it {revoke_at} now, even if that breaks running services, then issue a replacement and deploy it."
            ),
            _ => format!(
                "If it was ever pushed, published or shared (chat, ticket, paste), treat it as compromised and revoke it {revoke_at} now, even if that breaks running services, then issue a replacement and deploy it."
            ),
        });
        if exposure != Exposure::Pushed {
            let never_left = if exposure == Exposure::Committed {
                "If that history never left this machine"
            } else {
                "If it never left this machine"
            };
            steps.push(format!(
                "{never_left}, rotate with an overlap window instead: issue a new secret, deploy it everywhere the old one is used, confirm traffic has moved to it (last-used data or access logs), then revoke the old one."
            ));
        }
        steps.extend(rule.rotation.iter().cloned());
        steps.push(format!(
            "Check {logs} for activity you do not recognise since it was exposed."
        ));
        steps.push(
            "Keep the new secret out of source: read it from the environment or a secret manager, and add files such as .env to .gitignore."
                .into(),
        );
        if exposure.in_history() {
            steps.push(
                "Only after revoking, purge the secret from history (git filter-repo), force-push and have collaborators re-clone: rewriting history does not un-leak it."
                    .into(),
            );
        }
        if rule.revoke_url.is_empty() && rule.kind == RuleKind::Token {
            format!("Revoke and replace this {what}")
        } else {
            format!("Revoke and rotate this {what}")
        }
    };
    Remediation {
        summary,
        steps,
        revoke_url: rule.revoke_url.clone(),
    }
}

/// Adapts a playbook to what `--validate` learnt. A live secret that may have left the machine
/// leads with "revoke now"; an invalid one is already dead, so what is left is cleanup.
pub fn after_validation(
    remediation: &mut Remediation,
    validation: &Validation,
    provider: &str,
    exposure: Exposure,
) {
    let at = if remediation.revoke_url.is_empty() {
        String::new()
    } else {
        format!(" at {}", remediation.revoke_url)
    };
    match validation.status {
        Status::Live if !matches!(exposure, Exposure::Staged | Exposure::Unpushed) => {
            remediation.summary = format!("LIVE: revoke now. {}", remediation.summary);
            remediation.steps.insert(
                0,
                format!(
                    "{provider} confirmed that this secret works right now: revoke it{at} first, before anything else below."
                ),
            );
        }
        Status::Live => {
            remediation.summary = format!(
                "{} (it works: {provider} confirmed it)",
                remediation.summary
            );
        }
        Status::Invalid => {
            remediation.summary =
                format!("Already dead ({provider} refused it): clean up what is left");
            let mut steps = vec![
                format!("{provider} refused this secret: it is revoked, expired or was never valid, so there is nothing to revoke. Make sure whatever used it has a working replacement."),
                "Take it out of the file; read secrets at run time from the environment or a secret manager.".to_string(),
                format!("Check the {provider} logs for use of it before it stopped working."),
            ];
            if exposure.in_history() {
                steps.push(
                    "Purging it from history is optional now; until then scanners keep finding it, so record its fingerprint in a baseline or .keyhoundignore.".into(),
                );
            }
            remediation.steps = steps;
        }
        Status::Unknown => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::parse_rule_file;

    /// A rule of `severity`; `revoke_url` empty means no one place to revoke.
    fn rule_with(name: &str, provider: &str, severity: &str, public: bool, url: &str) -> Rule {
        let toml = format!(
            r#"
[[rule]]
id = "demo-key"
name = "{name}"
provider = "{provider}"
description = "test"
keywords = ["demo_"]
regex = 'demo_[a-z]+'
severity = "{severity}"
confidence = "high"
public = {public}
revoke_url = "{url}"
rotation = ["Roll the key in the dashboard."]
"#
        );
        parse_rule_file(&toml, "t.toml").unwrap().remove(0)
    }

    fn rule(severity: &str, public: bool) -> Rule {
        rule_with(
            "Demo key",
            "Demo",
            severity,
            public,
            "https://example.invalid/keys",
        )
    }

    fn private_key() -> Rule {
        rule_with("Private key (PEM)", "Private key", "critical", false, "")
    }

    fn all_text(r: &Remediation) -> String {
        r.text()
    }

    #[test]
    fn pushed_secrets_are_revoked_at_once_with_no_overlap_window() {
        let r = playbook(&rule("critical", false), Exposure::Pushed);
        assert!(r.steps[0].starts_with("It is in pushed history"), "{r:?}");
        assert!(r.steps[0].contains("revoke it at https://example.invalid/keys now"));
        assert!(!all_text(&r).contains("never left this machine"), "{r:?}");
        assert!(!all_text(&r).contains("overlap window"), "{r:?}");
        assert!(r.steps.last().unwrap().starts_with("Only after revoking"));
    }

    #[test]
    fn committed_secrets_are_revoked_first_and_purged_only_after() {
        let r = playbook(&rule("critical", false), Exposure::Committed);
        assert!(r.steps[0].contains("revoke it at https://example.invalid/keys now"));
        assert!(r.steps[1].starts_with("If that history never left this machine"));
        assert!(r.steps[1].contains("overlap window"));
        assert_eq!(r.steps[2], "Roll the key in the dashboard.");
        assert_eq!(
            r.steps[3],
            "Check the Demo audit or request logs for activity you do not recognise since it was exposed."
        );
        let purge = r
            .steps
            .iter()
            .position(|s| s.contains("filter-repo"))
            .unwrap();
        assert_eq!(purge, r.steps.len() - 1, "purging comes last");
        assert!(r.steps.iter().any(|s| s.contains(".gitignore")));
        assert_eq!(r.summary, "Revoke and rotate this Demo secret");
    }

    #[test]
    fn unknown_exposure_does_not_ask_for_a_history_rewrite() {
        let r = playbook(&rule("high", false), Exposure::Unknown);
        assert!(r.steps[0].starts_with("If it was ever pushed"));
        assert!(r.steps[1].starts_with("If it never left this machine"));
        assert!(!all_text(&r).contains("filter-repo"));
    }

    #[test]
    fn test_keys_get_calm_steps() {
        for exposure in [Exposure::Committed, Exposure::Pushed, Exposure::Unknown] {
            let r = playbook(&rule("low", false), exposure);
            assert_eq!(r.summary, "Rotate this Demo secret (test or low-privilege)");
            assert!(r.steps[0].contains("no emergency"));
            assert!(!all_text(&r).contains(" now"), "{r:?}");
            assert_eq!(
                all_text(&r).contains("Rewriting history is optional"),
                exposure.in_history()
            );
        }
    }

    #[test]
    fn staged_secrets_need_no_revoking_and_no_history_rewrite() {
        let staged = playbook(&rule("critical", false), Exposure::Staged);
        assert!(staged.steps[0].contains("nothing needs revoking"));
        assert_eq!(staged.summary, "Remove this Demo secret before committing");
        assert!(!all_text(&staged).contains("filter-repo"));
        assert!(all_text(&staged).contains(".keyhoundignore"));
        assert!(all_text(&staged).contains("`git commit --no-verify`"));
        let unpushed = playbook(&rule("critical", false), Exposure::Unpushed);
        assert!(unpushed.steps[0].contains("git rebase -i"));
        assert!(unpushed.summary.ends_with("before pushing"));
        assert!(all_text(&unpushed).contains("`git push --no-verify`"));
        assert!(!all_text(&unpushed).contains("filter-repo"));
    }

    #[test]
    fn publishable_keys_need_no_rotation() {
        let public = playbook(&rule("low", true), Exposure::Committed);
        assert_eq!(public.summary, "Publishable Demo key: no rotation needed");
        assert_eq!(public.steps.len(), 2);
    }

    #[test]
    fn a_secret_with_no_revoke_page_names_no_link_and_reads_as_english() {
        for exposure in [
            Exposure::Unknown,
            Exposure::Committed,
            Exposure::Pushed,
            Exposure::Staged,
        ] {
            let r = playbook(&private_key(), exposure);
            let text = all_text(&r);
            assert!(!text.contains("http"), "{text}");
            assert!(!text.contains("Private key's"), "{text}");
            assert!(!text.contains("Private key secret"), "{text}");
            assert!(r.revoke_url.is_empty());
        }
        let r = playbook(&private_key(), Exposure::Committed);
        assert_eq!(r.summary, "Revoke and replace this private key (PEM)");
        assert!(
            r.steps[0].contains("revoke it everywhere it is trusted"),
            "{r:?}"
        );
        assert!(all_text(&r).contains("the logs of every system that trusted it"));
    }

    #[test]
    fn low_severity_material_with_no_revoke_page_is_not_called_a_test_key() {
        let mut hash = rule_with("bcrypt password hash", "Password hash", "low", false, "");
        hash.rotation = vec!["Treat the password behind this hash as exposed.".into()];
        let r = playbook(&hash, Exposure::Committed);
        assert_eq!(
            r.summary,
            "Replace this bcrypt password hash (low severity)"
        );
        let text = all_text(&r);
        assert!(!text.contains("test"), "{text}");
        assert!(!text.contains("http"), "{text}");
        assert!(text.contains("Treat the password behind this hash as exposed."));
    }

    #[test]
    fn generic_findings_say_how_to_find_the_issuer() {
        let mut generic = rule("high", false);
        generic.kind = RuleKind::Generic;
        let r = playbook(&generic, Exposure::Unknown);
        assert!(r.steps[0].contains("the name it is assigned to"), "{r:?}");
        assert_eq!(r.summary, "Revoke and rotate this secret");
    }

    #[test]
    fn names_are_lower_cased_only_when_they_are_common_words() {
        assert_eq!(common_noun("Private key (PEM)"), "private key (PEM)");
        assert_eq!(
            common_noun("Base64-encoded PEM private key"),
            "base64-encoded PEM private key"
        );
        assert_eq!(common_noun("OpenSSH private key"), "OpenSSH private key");
        assert_eq!(common_noun("JSON Web Token"), "JSON Web Token");
        assert_eq!(common_noun("MySQL password"), "MySQL password");
        assert_eq!(common_noun("age secret key"), "age secret key");
    }

    #[test]
    fn text_numbers_the_steps() {
        let r = playbook(&rule("critical", false), Exposure::Unknown);
        let text = r.text();
        assert!(text.starts_with("Revoke and rotate this Demo secret\n1. "));
        assert_eq!(text.lines().count(), r.steps.len() + 1);
    }

    #[test]
    fn validation_leads_with_revoke_now_or_says_the_key_is_dead() {
        let verdict = |status, identity: Option<&str>| Validation {
            status,
            identity: identity.map(String::from),
            reason: None,
        };
        let mut live = playbook(&rule("critical", false), Exposure::Pushed);
        after_validation(
            &mut live,
            &verdict(Status::Live, Some("login a")),
            "Demo",
            Exposure::Pushed,
        );
        assert!(live.summary.starts_with("LIVE: revoke now."), "{live:?}");
        assert!(live.steps[0].contains("works right now"), "{live:?}");
        let mut staged = playbook(&rule("critical", false), Exposure::Staged);
        let before = staged.steps.clone();
        after_validation(
            &mut staged,
            &verdict(Status::Live, None),
            "Demo",
            Exposure::Staged,
        );
        assert_eq!(
            staged.steps, before,
            "nothing left the machine: no revoking"
        );
        let mut dead = playbook(&rule("critical", false), Exposure::Committed);
        after_validation(
            &mut dead,
            &verdict(Status::Invalid, None),
            "Demo",
            Exposure::Committed,
        );
        assert!(dead.summary.starts_with("Already dead"), "{dead:?}");
        assert!(all_text(&dead).contains("nothing to revoke"));
        let mut unknown = playbook(&rule("critical", false), Exposure::Pushed);
        let before = unknown.clone();
        after_validation(
            &mut unknown,
            &verdict(Status::Unknown, None),
            "Demo",
            Exposure::Pushed,
        );
        assert_eq!(unknown, before);
    }
}
