//! Every rule in the embedded pack: its examples match, its negative examples do not, and its
//! fields are what reports need (a place to revoke, or steps saying what to replace).

use keyhound::rules::{check::check_examples, RulePack};

#[test]
fn every_rule_matches_its_examples_and_none_of_its_negatives() {
    let pack = RulePack::embedded().expect("embedded rule pack loads");
    let failures = check_examples(pack.rules());
    assert!(
        failures.is_empty(),
        "{} rule example failure(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_rule_has_negative_examples_and_a_place_to_revoke_or_steps() {
    let pack = RulePack::embedded().unwrap();
    let mut problems = Vec::new();
    for rule in pack.rules() {
        if rule.negative_examples.is_empty() {
            problems.push(format!("{}: no negative_examples", rule.id));
        }
        if rule.revoke_url.is_empty() && rule.rotation.is_empty() {
            problems.push(format!(
                "{}: neither a revoke_url nor rotation steps",
                rule.id
            ));
        }
        if !rule.revoke_url.is_empty() && !rule.revoke_url.starts_with("https://") {
            problems.push(format!("{}: revoke_url is not https", rule.id));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A revoke URL is a place to revoke the secret: a standard, a man page or a general advice
/// page is not one, and a rule without a place says in its steps where the secret is trusted.
#[test]
fn no_revoke_url_points_at_a_document_about_secrets_in_general() {
    let documents = [
        "rfc-editor.org",
        "ietf.org",
        "man.openbsd.org",
        "owasp.org",
        "wikipedia.org",
    ];
    let pack = RulePack::embedded().unwrap();
    let offenders: Vec<String> = pack
        .rules()
        .iter()
        .filter(|r| documents.iter().any(|d| r.revoke_url.contains(d)))
        .map(|r| format!("{}: {}", r.id, r.revoke_url))
        .collect();
    assert!(offenders.is_empty(), "{}", offenders.join("\n"));
    for id in ["private-key-pem", "private-key-openssh", "jwt"] {
        let rule = pack.get(id).unwrap();
        assert!(rule.revoke_url.is_empty(), "{id}");
        assert!(
            rule.rotation.iter().any(|s| s.contains("trust")
                || s.contains("authorized_keys")
                || s.contains("issuer")),
            "{id}: the steps must say where it is trusted"
        );
    }
}
