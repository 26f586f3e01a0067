//! `keyhound keycheck`: one key on stdin, never on the command line; rule matches, entropy,
//! the 128-bit floor as the exit code, and the key never echoed.

mod common_reports;

use common_reports::{fake_key, keyhound, run, sha256_hex, FIXTURE_RULES};
use keyhound::rules::templates::ExampleRng;
use serde_json::Value;

/// `keyhound keycheck <args>` with the fixture's Stripe rules, reading `input`.
fn keycheck(dir: &tempfile::TempDir, args: &[&str], input: &str) -> common_reports::Run {
    let config = dir.path().join("rules.toml");
    std::fs::write(&config, FIXTURE_RULES).unwrap();
    run(keyhound()
        .current_dir(dir.path())
        .arg("keycheck")
        .args(args)
        .arg("--config")
        .arg(&config)
        .write_stdin(input))
}

#[test]
fn a_live_stripe_key_matches_its_rule_and_clears_the_floor() {
    let dir = tempfile::tempdir().unwrap();
    let key = fake_key(&["sk", "live"].join("_"), &mut ExampleRng::new(11), 24);
    let r = keycheck(&dir, &["--format", "json"], &format!("{key}\r\n"));
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(!r.stdout.contains(&key) && !r.stderr.contains(&key));
    let c: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        c["sha256"],
        sha256_hex(&key),
        "the trailing CRLF is trimmed"
    );
    assert_eq!(c["length"], 32);
    assert_eq!(c["rules"][0]["id"], "stripe-live-secret-key");
    assert_eq!(c["rules"][0]["context"], "alone");
    assert_eq!(c["rules"][0]["whole_key"], true);
    assert_eq!(c["prefix"], ["sk", "live", ""].join("_"));
    assert_eq!(c["measured_length"], 24);
    assert_eq!(c["pool"]["size"], 62);
    assert_eq!(c["pool_bits"], 142.9); // 24 × log2 62
    assert!(c["shannon_bits_per_char"].as_f64().unwrap() > 3.5);
    assert_eq!(c["clears_floor"], true);

    let r = keycheck(&dir, &[], &format!("{key}\n"));
    assert_eq!(r.code, 0);
    assert!(r
        .stdout
        .contains("stripe-live-secret-key (Stripe live secret key, critical)"));
    assert!(
        r.stdout.contains("verdict    clears the 128-bit floor"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains(&sha256_hex(&key)));
    assert!(!r.stdout.contains(&key));
}

#[test]
fn short_and_repetitive_keys_do_not_clear_the_floor() {
    let dir = tempfile::tempdir().unwrap();
    // 20 hex characters: 80 bits.
    let key = ExampleRng::new(3).string(b"0123456789abcdef", 20);
    let r = keycheck(&dir, &["--format", "json"], &key);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let c: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(c["pool"]["name"], "hexadecimal");
    assert_eq!(c["pool_bits"], 80.0);
    assert_eq!(c["clears_floor"], false);
    assert!(c["rules"].as_array().unwrap().is_empty());
    assert!(!r.stdout.contains(&key));

    // Long enough for the pool estimate, but not random at all.
    let r = keycheck(&dir, &[], &"ab".repeat(40));
    assert_eq!(r.code, 1);
    assert!(
        r.stdout.contains("does not clear the floor"),
        "{}",
        r.stdout
    );
}

#[test]
fn keyword_rules_get_a_chance_through_an_assignment() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("generic.toml");
    std::fs::write(
        &config,
        r#"
[rules]
use_default = false

[[rule]]
id = "demo-assigned-key"
name = "Key assigned to API_KEY"
provider = "Demo"
description = "Fires only after an api_key name."
keywords = ["api_key"]
regex = '(?i)api_key=(?P<secret>[0-9A-Za-z]{32})'
severity = "high"
confidence = "medium"
revoke_url = "https://example.invalid/keys"
"#,
    )
    .unwrap();
    let key = ExampleRng::new(5).string(
        b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
        32,
    );
    let r = run(keyhound()
        .args(["keycheck", "--format", "json", "--config"])
        .arg(&config)
        .write_stdin(key.clone()));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let c: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(c["rules"][0]["id"], "demo-assigned-key");
    assert_eq!(c["rules"][0]["context"], "assigned");
    assert_eq!(c["rules"][0]["whole_key"], true);
}

#[test]
fn the_key_is_never_taken_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let key = fake_key(&["sk", "live"].join("_"), &mut ExampleRng::new(12), 24);
    let r = run(keyhound().args(["keycheck", &key]));
    assert_eq!(r.code, 2, "a positional key is a usage error");
    assert!(r.stdout.is_empty());

    let r = keycheck(&dir, &[], "");
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("no key on standard input"),
        "{}",
        r.stderr
    );

    let r = keycheck(&dir, &[], &format!("{key}\n{key}\n"));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("one key on one line"), "{}", r.stderr);
    assert!(!r.stderr.contains(&key));
}

/// keycheck said "below the 128-bit floor" of a value that `keyhound dir` then reported: it
/// now says what the scans do with the value, judged by the same filters, and why that
/// differs from the floor when it does.
#[test]
fn keycheck_says_whether_scans_report_the_value_as_dir_does() {
    let dir = tempfile::tempdir().unwrap();
    // 18 random base62 characters: about 107 bits, reported under a secret's name.
    let value = generic_value(18);
    let check = |input: &str, format: &str| {
        run(keyhound()
            .current_dir(dir.path())
            .args(["keycheck", "--format", format])
            .write_stdin(input.to_string()))
    };
    let r = check(&format!("{value}\n"), "json");
    let c: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(c["clears_floor"], false, "{c}");
    assert_eq!(c["reported_by_scans"], true, "{c}");
    assert!(
        c["scans"].as_str().unwrap().starts_with("still reported"),
        "{c}"
    );

    std::fs::write(dir.path().join("app.env"), format!("API_KEY={value}\n")).unwrap();
    let scan = run(keyhound()
        .current_dir(dir.path())
        .args(["dir", "app.env", "--format", "json"]));
    assert_eq!(scan.code, 1, "dir agrees: {}", scan.stderr);

    let r = check("your_api_key_here\n", "human");
    assert!(
        r.stdout.contains("scans      not reported either"),
        "{}",
        r.stdout
    );
}

/// `n` characters of base62 from a fixed-seed generator (no literal secret in the source).
fn generic_value(n: usize) -> String {
    let mut rng = ExampleRng::new(77);
    keyhound::rules::templates::expand(&format!("@{{rand:alnum:{n}}}"), &mut rng).unwrap()
}
