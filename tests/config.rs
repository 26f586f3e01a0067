//! keyhound.toml end to end: broken configs are refused naming the field, per-rule and global
//! allowlists with each regex target, severity overrides, the default path allowlist, inline
//! allow comments, and `rules check` on a config.

mod common_config;

use std::fs;
use std::path::Path;

use common_config::{acme_config, keyhound, scan_dir, Repo, Tokens};

/// Every file in fixtures/configs/ is a broken config whose `# expect:` lines are what the
/// error must say; each must be refused with exit code 2, naming the file.
#[test]
fn every_broken_config_fixture_is_refused_with_its_error() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/configs");
    let empty = tempfile::tempdir().unwrap();
    let mut checked = 0;
    let mut failures = Vec::new();
    let mut entries: Vec<_> = fs::read_dir(&fixtures)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let text = fs::read_to_string(&path).unwrap();
        let expected: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# expect: "))
            .collect();
        assert!(
            !expected.is_empty(),
            "{}: no `# expect:` line",
            path.display()
        );
        let run = keyhound(
            &[
                "--config",
                path.to_str().unwrap(),
                "dir",
                empty.path().to_str().unwrap(),
            ],
            None,
            &[],
        );
        let name = path.file_name().unwrap().to_str().unwrap();
        if run.code != 2 || !run.stderr.contains(name) {
            failures.push(format!(
                "{name}: exit {} (want 2), stderr:\n{}",
                run.code, run.stderr
            ));
        }
        for want in expected {
            if !run.stderr.contains(want) {
                failures.push(format!("{name}: stderr lacks `{want}`:\n{}", run.stderr));
            }
        }
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} fixtures");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn inline_allow_silences_its_line_and_a_scoped_marker_only_its_rule() {
    let mut tokens = Tokens::new(1);
    let t: Vec<String> = (0..5).map(|_| tokens.api()).collect();
    let key = tokens.signing();
    let repo = Repo::new();
    repo.write("keyhound.toml", &acme_config(""));
    repo.write(
        "app/settings.py",
        &format!(
            "A = \"{}\"  # keyhound:allow\n\
             # keyhound:allow:acme-api-token\n\
             B = \"{}\"\n\
             C = \"{}\"  # keyhound:allow:acme-signing-key\n\
             D = \"{}\"  // gitleaks:allow\n\
             E = \"{}\"\n\
             F = \"{key}\"  # keyhound:allow:acme-api-token\n",
            t[0], t[1], t[2], t[3], t[4]
        ),
    );
    repo.commit("settings");
    let mut secrets: Vec<&str> = t.iter().map(String::as_str).collect();
    secrets.push(&key);
    let run = scan_dir(repo.path(), &[], &secrets);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let found: Vec<(String, u64)> = run
        .locations()
        .into_iter()
        .map(|(rule, _, line, _)| (rule, line))
        .collect();
    assert_eq!(
        found,
        [
            ("acme-api-token".to_string(), 4),
            ("acme-api-token".to_string(), 6),
            ("acme-signing-key".to_string(), 7),
        ]
    );
}

#[test]
fn rule_allowlists_match_the_secret_the_match_or_the_line() {
    let mut tokens = Tokens::new(2);
    let t: Vec<String> = (0..4).map(|_| tokens.api()).collect();
    let (test_pass, pass) = (tokens.passphrase(), tokens.passphrase());
    let key = tokens.signing();
    let repo = Repo::new();
    repo.write(
        "keyhound.toml",
        &acme_config(
            r#"
[[rule_allowlist]]
rules = ["acme-api-token"]
description = "target secret: the token alone"
regexes = ['''^acme_0''']

[[rule_allowlist]]
rules = ["acme-api-token", "acme-signing-key"]
description = "target line: lines that say sandbox"
regexes = ['''(?i)\bsandbox\b''']
target = "line"

[[rule_allowlist]]
rules = ["acme-passphrase"]
description = "target match: the name the secret is assigned to is part of the match"
regexes = ['''(?i)^test_''']
target = "match"

[[rule_allowlist]]
rules = ["acme-signing-key"]
description = "a path glob for one rule: other rules still scan the file"
paths = ["docs/**"]
"#,
        ),
    );
    let zero = format!("acme_0{}", &t[0][6..]);
    repo.write(
        "src/a.py",
        &format!(
            "ONE = \"{zero}\"\n\
             TWO = \"{}\"  # sandbox\n\
             TEST_ACME_PASS = \"{test_pass}\"\n\
             ACME_PASS = \"{pass}\"\n\
             FOUR = \"{}\"\n\
             KEY = \"{key}\"  # SANDBOX\n",
            t[1], t[2]
        ),
    );
    repo.write("docs/setup.md", &format!("key {key}\ntoken {}\n", t[3]));
    repo.commit("files");
    let secrets = [zero.as_str(), &t[1], &t[2], &t[3], &test_pass, &pass, &key];
    let run = scan_dir(repo.path(), &[], &secrets);
    let found: Vec<(String, String, u64)> = run
        .locations()
        .into_iter()
        .map(|(rule, path, line, _)| (rule, path, line))
        .collect();
    assert_eq!(
        found,
        [
            ("acme-api-token".into(), "docs/setup.md".into(), 2),
            ("acme-api-token".into(), "src/a.py".into(), 5),
            ("acme-passphrase".into(), "src/a.py".into(), 4),
        ],
        "{}",
        run.stderr
    );
}

#[test]
fn global_allowlist_and_condition_needs_every_criterion() {
    let mut tokens = Tokens::new(3);
    let t: Vec<String> = (0..4).map(|_| tokens.api()).collect();
    let repo = Repo::new();
    repo.write(
        "keyhound.toml",
        &acme_config(
            r#"
[allowlist]
paths = ["third_party/**"]
stopwords = ["Q9Q9"]

[[rule_allowlist]]
rules = ["acme-api-token"]
condition = "and"
paths = ["legacy/**"]
regexes = ['''(?i)^old_''']
target = "line"
"#,
        ),
    );
    let stopped = format!("{}Q9Q9", &t[0][..t[0].len() - 4]);
    repo.write("third_party/lib.env", &format!("X={}\n", t[1]));
    repo.write(
        "legacy/app.env",
        &format!("OLD_TOKEN={}\nNEW_TOKEN={}\nX={stopped}\n", t[2], t[3]),
    );
    repo.write("src/app.env", &format!("OLD_TOKEN={}\n", t[2]));
    repo.commit("files");
    let run = scan_dir(repo.path(), &[], &[&t[1], &t[2], &t[3], &stopped]);
    let found: Vec<(String, u64)> = run
        .locations()
        .into_iter()
        .map(|(_, path, line, _)| (path, line))
        .collect();
    assert_eq!(
        found,
        [("legacy/app.env".into(), 2), ("src/app.env".into(), 1)],
        "{}",
        run.stderr
    );
    // The third-party file was skipped, not scanned and filtered.
    let summary: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(summary["summary"]["files"], 3, "{}", run.stdout);
}

#[test]
fn severity_override_shows_in_the_report() {
    let mut tokens = Tokens::new(4);
    let token = tokens.api();
    let repo = Repo::new();
    repo.write(
        "keyhound.toml",
        &acme_config("[severity]\nacme-api-token = \"low\"\n"),
    );
    repo.write("a.env", &format!("ACME={token}\n"));
    repo.commit("a");
    let run = scan_dir(repo.path(), &[], &[&token]);
    let findings = run.findings();
    assert_eq!(findings.len(), 1, "{}", run.stdout);
    assert_eq!(findings[0]["severity"], "low");
}

#[test]
fn lock_files_and_vendored_code_are_skipped_by_default_but_minified_bundles_are_not() {
    let mut tokens = Tokens::new(5);
    let t: Vec<String> = (0..4).map(|_| tokens.api()).collect();
    let repo = Repo::new();
    repo.write("keyhound.toml", &acme_config(""));
    repo.write(
        "web/package-lock.json",
        &format!("{{\"resolved\": \"{}\"}}\n", t[0]),
    );
    repo.write("go.sum", &format!("example.com/x v1.0.0 {}\n", t[1]));
    repo.write("vendor/lib/client.go", &format!("var k = \"{}\"\n", t[2]));
    repo.write(
        "web/public/app.min.js",
        &format!("!function(){{var a=\"{}\";}}();\n", t[3]),
    );
    repo.commit("files");
    let secrets: Vec<&str> = t.iter().map(String::as_str).collect();
    let paths = |run: &common_config::Run| -> Vec<String> {
        run.locations().into_iter().map(|(_, p, _, _)| p).collect()
    };
    let run = scan_dir(repo.path(), &[], &secrets);
    assert_eq!(paths(&run), ["web/public/app.min.js"], "{}", run.stderr);

    repo.write(
        "keyhound.toml",
        &acme_config("[allowlist]\nuse_default_paths = false\n"),
    );
    let run = scan_dir(repo.path(), &[], &secrets);
    assert_eq!(
        paths(&run),
        [
            "go.sum",
            "vendor/lib/client.go",
            "web/package-lock.json",
            "web/public/app.min.js"
        ],
        "{}",
        run.stderr
    );
}

#[test]
fn rules_check_validates_a_config_and_runs_its_rules_examples() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("keyhound.toml");
    fs::write(
        &good,
        acme_config("[[rule_allowlist]]\nrules = [\"acme-api-token\"]\npaths = [\"docs/**\"]\n"),
    )
    .unwrap();
    let run = keyhound(&["rules", "check", good.to_str().unwrap()], None, &[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("3 rule(s), 0 problem(s)"),
        "{}",
        run.stdout
    );

    // A negative example that the rule matches is a problem; an invalid allowlist an error.
    let bad = dir.path().join("bad.toml");
    fs::write(
        &bad,
        acme_config("").replace(
            "negative_examples = [\"acme_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX\"]",
            "negative_examples = [\"acme_@{rand:alnum:32}\"]",
        ),
    )
    .unwrap();
    let run = keyhound(&["rules", "check", bad.to_str().unwrap()], None, &[]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("acme-api-token: negative example matches"),
        "{}",
        run.stdout
    );
    fs::write(
        &bad,
        acme_config("[[rule_allowlist]]\nrules = [\"acme-api-tokn\"]\npaths = [\"docs/**\"]\n"),
    )
    .unwrap();
    let run = keyhound(&["rules", "check", bad.to_str().unwrap()], None, &[]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("field `rule_allowlist[0].rules`"),
        "{}",
        run.stderr
    );
}
