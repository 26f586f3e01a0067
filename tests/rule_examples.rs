//! Every rule in the embedded pack: its examples match, its negative examples do not, and its
//! fields are what reports need (a revoke URL, a description naming the format's source).

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
fn every_rule_has_negative_examples_and_a_https_revoke_url() {
    let pack = RulePack::embedded().unwrap();
    let mut problems = Vec::new();
    for rule in pack.rules() {
        if rule.negative_examples.is_empty() {
            problems.push(format!("{}: no negative_examples", rule.id));
        }
        if !rule.revoke_url.starts_with("https://") {
            problems.push(format!("{}: revoke_url is not https", rule.id));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
