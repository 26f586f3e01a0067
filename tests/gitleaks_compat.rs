//! gitleaks configs end to end: the fixture under fixtures/gitleaks/acme/ (custom rules with
//! secretGroup, keywords, path, per-rule and global allowlists with every regex target and an
//! AND condition) gives the findings gitleaks' documented semantics give; `.gitleaksignore`
//! hides by location; `useDefault` keeps keyhound's pack; unsupported fields are noted once.

mod common_config;

use std::fs;
use std::path::{Path, PathBuf};

use common_config::{keyhound, scan_dir, sha256, Repo, Run, Tokens};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/gitleaks/acme")
}

/// Copies the fixture tree into a fresh git repository.
fn fixture_repo() -> Repo {
    fn copy(from: &Path, rel: &Path, repo: &Repo) {
        for entry in fs::read_dir(from.join(rel)).unwrap() {
            let entry = entry.unwrap();
            let rel = rel.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                copy(from, &rel, repo);
            } else {
                repo.write(
                    rel.to_str().unwrap(),
                    &fs::read_to_string(entry.path()).unwrap(),
                );
            }
        }
    }
    let repo = Repo::new();
    copy(&fixture(), Path::new(""), &repo);
    repo.commit("fixture");
    repo
}

/// Every value the fixture's rules could report, so that tests can check none is printed.
fn fixture_secrets() -> Vec<String> {
    let mut secrets = Vec::new();
    let mut files = vec![fixture()];
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        } else if path.file_name().unwrap() != ".gitleaks.toml" {
            let text = fs::read_to_string(&path).unwrap();
            secrets.extend(
                text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .filter(|w| w.len() >= 24)
                    .map(str::to_string),
            );
        }
    }
    secrets
}

fn scan(root: &Path, extra: &[&str]) -> Run {
    let secrets = fixture_secrets();
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    scan_dir(root, extra, &secrets)
}

fn found(run: &Run) -> Vec<(String, String, u64)> {
    run.locations()
        .into_iter()
        .map(|(rule, path, line, _)| (rule, path, line))
        .collect()
}

fn at(rule: &str, path: &str, line: u64) -> (String, String, u64) {
    (rule.to_string(), path.to_string(), line)
}

/// What gitleaks' documented semantics give on the fixture, finding by finding.
fn expected() -> Vec<(String, String, u64)> {
    let mut all = vec![
        // Reported by acme-api-token; the sandbox line (regexTarget = "line") is allowed.
        at("acme-api-token", "src/client.py", 4),
        // secretGroup = 2; the TEST_ variable (regexTarget = "match") and the value with the
        // stopword `deadbeef` are allowed.
        at("acme-hook-secret", "src/client.py", 6),
        // The keyword `acmeclient` is on line 1: gitleaks runs the regex over the whole file.
        at("acme-session-token", "src/client.py", 9),
        // worker.py has no `acmeclient`, so its session token is not looked for; its deploy
        // key is outside the rule's `path`; its acme_0 token is outside legacy/ (AND).
        at("acme-api-token", "src/worker.py", 4),
        // No keywords: the rule runs everywhere, but reports only in *.tf; the line marked
        // `# rotated` is allowed by the rule's [rules.allowlist].
        at("acme-deploy-key", "infra/main.tf", 2),
        // legacy/: the acme_0 token is allowed (path AND regex), the other is not.
        at("acme-api-token", "legacy/app.env", 2),
        // docs/ (rule path allowlist) and third_party/testdata/ (global) report nothing.
    ];
    all.sort();
    all
}

#[test]
fn gitleaks_config_at_the_root_gives_gitleaks_findings() {
    let repo = fixture_repo();
    let run = scan(repo.path(), &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(found(&run), expected(), "{}", run.stderr);

    // secretGroup = 2 made the hex value, not the assignment, the secret.
    let client = fs::read_to_string(repo.join("src/client.py")).unwrap();
    let hook = client.lines().nth(5).unwrap().split('"').nth(1).unwrap();
    let hook_finding = run
        .locations()
        .into_iter()
        .find(|(rule, ..)| rule == "acme-hook-secret")
        .unwrap();
    assert_eq!(hook_finding.3, sha256(hook));

    // `tags` is not supported: said once, naming the rule.
    assert_eq!(
        run.stderr
            .matches("gitleaks fields keyhound does not support")
            .count(),
        1,
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("rules.tags (rule acme-api-token)"),
        "{}",
        run.stderr
    );
}

#[test]
fn gitleaks_config_under_another_name_is_recognised_by_content() {
    let repo = fixture_repo();
    let config = repo.join("ci/secrets.toml");
    fs::create_dir_all(config.parent().unwrap()).unwrap();
    fs::rename(repo.join(".gitleaks.toml"), &config).unwrap();
    let run = scan(
        repo.path(),
        &["--config", config.to_str().unwrap(), "--no-summary"],
    );
    assert_eq!(found(&run), expected(), "{}", run.stderr);
    assert!(
        run.stderr.is_empty(),
        "--no-summary keeps notes quiet: {}",
        run.stderr
    );

    // Without it, nothing at the root is a config: the embedded pack knows no ACME format.
    let run = scan(repo.path(), &[]);
    assert!(
        found(&run)
            .iter()
            .all(|(rule, ..)| !rule.starts_with("acme-")),
        "{}",
        run.stdout
    );
}

#[test]
fn gitleaksignore_hides_a_location_not_a_secret() {
    let repo = fixture_repo();
    repo.write(
        ".gitleaksignore",
        "# accepted\nsrc/client.py:acme-api-token:4\nlegacy/app.env:acme-api-token:2\n",
    );
    repo.commit("ignore");
    let run = scan(repo.path(), &[]);
    let mut want = expected();
    want.retain(|(rule, path, _)| !(rule == "acme-api-token" && path != "src/worker.py"));
    assert_eq!(found(&run), want, "{}", run.stderr);

    // Location-based: a line added above moves the secret to line 5, and it is back.
    let client = fs::read_to_string(repo.join("src/client.py")).unwrap();
    repo.write("src/client.py", &format!("# moved down\n{client}"));
    let run = scan(repo.path(), &[]);
    assert!(
        found(&run).contains(&at("acme-api-token", "src/client.py", 5)),
        "{}",
        run.stdout
    );
}

#[test]
fn use_default_keeps_keyhounds_pack_and_a_same_id_rule_replaces_ours() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join(".gitleaks.toml");
    fs::write(
        &config,
        r#"
[extend]
useDefault = true
disabledRules = ["generic-api-key"]

[[rules]]
id = "generic-secret-assignment"
description = "Our own generic rule"
regex = '''(?i)acme_pass\s*=\s*(\w{24})'''
keywords = ["acme_pass"]
"#,
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let run = keyhound(&["rules", "list", "-c", config], None, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let builtin = keyhound(&["rules", "list"], None, &[]);
    let count = |out: &str| out.lines().filter(|l| !l.contains("rule")).count();
    assert_eq!(count(&run.stdout), count(&builtin.stdout), "{}", run.stdout);
    let generic = run
        .stdout
        .lines()
        .find(|l| l.starts_with("generic-secret-assignment"))
        .unwrap();
    assert!(generic.contains("Custom"), "{generic}");
    assert!(
        run.stderr
            .contains("`generic-api-key` is not a keyhound rule"),
        "{}",
        run.stderr
    );

    // The replacement rule is used, with its capture group as the secret.
    let pass = Tokens::new(21).passphrase();
    let input = format!("ACME_PASS = {pass}\n");
    let run = keyhound(
        &["stdin", "-c", config, "--format", "json"],
        Some(&input),
        &[&pass],
    );
    assert_eq!(
        run.locations(),
        [(
            "generic-secret-assignment".to_string(),
            "<stdin>".to_string(),
            1,
            sha256(&pass)
        )],
        "{}",
        run.stderr
    );
}

#[test]
fn rules_check_accepts_a_gitleaks_config() {
    let path = fixture().join(".gitleaks.toml");
    let run = keyhound(&["rules", "check", path.to_str().unwrap()], None, &[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("4 rule(s), 0 problem(s)"),
        "{}",
        run.stdout
    );
}
