//! `keyhound rules`: the pack as a table or as JSON / JSONL, written where `--output` says, and
//! report formats that mean nothing for a rule list refused rather than ignored.

use std::fs;

mod common_hostile;
use common_hostile::{keyhound, run};
use keyhound::rules::RulePack;
use serde_json::Value;

#[test]
fn rules_list_prints_the_pack_as_json_and_jsonl() {
    let pack = RulePack::embedded().unwrap();
    let r = run(keyhound().args(["rules", "list", "--format", "json"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let catalogue: Value = serde_json::from_str(&r.stdout).unwrap();
    let rules = catalogue["rules"].as_array().unwrap();
    assert_eq!(rules.len(), pack.len());
    let stripe = rules
        .iter()
        .find(|r| r["id"] == "stripe-live-secret-key")
        .unwrap();
    assert_eq!(stripe["provider"], "Stripe");
    assert_eq!(stripe["severity"], "critical");
    assert!(stripe["revoke_url"]
        .as_str()
        .unwrap()
        .starts_with("https://"));
    assert!(stripe["examples"].as_u64().unwrap() > 0);
    assert!(!stripe["keywords"].as_array().unwrap().is_empty());
    assert!(catalogue["providers"].as_u64().unwrap() > 100);

    // The global flag before the subcommand means the same.
    let r = run(keyhound().args(["--format", "jsonl", "rules", "list"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines: Vec<Value> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), pack.len());
}

#[test]
fn rules_show_prints_one_rule_as_json() {
    let r = run(keyhound().args(["rules", "show", "private-key-pem", "--format", "json"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rule: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(rule["id"], "private-key-pem");
    assert!(rule.get("revoke_url").is_none(), "no one place to revoke");
    assert!(!rule["rotation"].as_array().unwrap().is_empty());
}

#[test]
fn report_formats_are_refused_for_rules_list_and_check() {
    for args in [
        &["rules", "list", "--format", "sarif"][..],
        &["rules", "show", "jwt", "--format", "github"],
        &["rules", "check", "rules/stripe.toml", "--format", "json"],
    ] {
        let r = run(keyhound()
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR")));
        assert_eq!(r.code, 2, "{args:?}: {}", r.stdout);
        assert!(r.stderr.contains("--format"), "{}", r.stderr);
    }
}

#[test]
fn rules_commands_honour_output() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("rules.json");
    let check = dir.path().join("check.txt");
    let r = run(keyhound()
        .args(["rules", "list", "--format", "json", "-o"])
        .arg(&list));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    let catalogue: Value = serde_json::from_str(&fs::read_to_string(&list).unwrap()).unwrap();
    assert!(catalogue["rules"].as_array().unwrap().len() > 300);
    let r = run(keyhound()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["rules", "check", "rules/stripe.toml", "-o"])
        .arg(&check));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(fs::read_to_string(&check).unwrap().contains("0 problem(s)"));
}
