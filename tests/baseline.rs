//! Baselines and `.keyhoundignore` end to end: a baseline made on a repository hides today's
//! secrets wherever they move, still reports a new secret on an old line, holds no secret and
//! no line number, and does not change when code moves.

mod common_config;

use std::fs;

use common_config::{acme_config, keyhound, scan_dir, sha256, Repo, Tokens};

/// A repository with two committed secrets and a keyhound.toml with the ACME rules.
fn repo_with_secrets(tokens: &mut Tokens) -> (Repo, String, String) {
    let (token, key) = (tokens.api(), tokens.signing());
    let repo = Repo::new();
    repo.write("keyhound.toml", &acme_config(""));
    repo.write(
        "app/settings.py",
        &format!("DEBUG = False\nACME = \"{token}\"\nTIMEOUT = 30\n"),
    );
    repo.write("deploy/env.sh", &format!("export SIGNING={key}\n"));
    repo.commit("initial");
    (repo, token, key)
}

fn make_baseline(repo: &Repo, secrets: &[&str]) -> String {
    let out = repo.join(".keyhound-baseline.json");
    let run = keyhound(
        &[
            "baseline",
            "dir",
            repo.path().to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ],
        None,
        secrets,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("baseline of 2 finding(s) written"),
        "{}",
        run.stderr
    );
    fs::read_to_string(out).unwrap()
}

#[test]
fn baseline_hides_moved_secrets_and_reports_a_new_secret_on_an_old_line() {
    let mut tokens = Tokens::new(11);
    let (repo, token, key) = repo_with_secrets(&mut tokens);
    let baseline = make_baseline(&repo, &[&token, &key]);

    // Rule and fingerprint only: no secret, no line number.
    let doc: serde_json::Value = serde_json::from_str(&baseline).unwrap();
    assert_eq!(doc["version"], 1);
    let mut entries: Vec<(String, String)> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["rule"].as_str().unwrap().to_string(),
                e["fingerprint"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    entries.sort();
    assert_eq!(
        entries,
        [
            ("acme-api-token".to_string(), sha256(&token)),
            ("acme-signing-key".to_string(), sha256(&key)),
        ]
    );
    assert!(!baseline.contains(&token) && !baseline.contains(&key));
    assert!(!baseline.contains("line"), "{baseline}");
    repo.commit("baseline");

    let base = repo.join(".keyhound-baseline.json");
    let base = base.to_str().unwrap();
    let run = scan_dir(repo.path(), &["--baseline", base], &[&token, &key]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(run.findings().is_empty());
    assert!(
        run.stderr.contains("2 known finding(s) hidden"),
        "{}",
        run.stderr
    );

    // A new secret on the old secret's line; the old key moved to another file and line.
    let new_token = tokens.api();
    repo.write(
        "app/settings.py",
        &format!(
            "DEBUG = False\nACME = \"{token}\" if LEGACY else \"{new_token}\"\nTIMEOUT = 30\n"
        ),
    );
    repo.git(&["rm", "-q", "deploy/env.sh"]);
    repo.write(
        "ops/secrets/prod.env",
        &format!("# moved\n\nSIGNING={key}\n"),
    );
    repo.commit("move things around");

    let secrets = [token.as_str(), key.as_str(), new_token.as_str()];
    let run = scan_dir(repo.path(), &["--baseline", base], &secrets);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        run.locations(),
        [(
            "acme-api-token".to_string(),
            "app/settings.py".to_string(),
            2,
            sha256(&new_token)
        )]
    );

    // Without the baseline all three are there.
    let run = scan_dir(repo.path(), &[], &secrets);
    assert_eq!(run.findings().len(), 3, "{}", run.stdout);
}

#[test]
fn baseline_does_not_change_when_code_moves_within_a_file() {
    let mut tokens = Tokens::new(12);
    let (repo, token, key) = repo_with_secrets(&mut tokens);
    let before = make_baseline(&repo, &[&token, &key]);
    repo.write(
        "app/settings.py",
        &format!("import os\n\n\nDEBUG = False\nTIMEOUT = 30\nACME = \"{token}\"\n"),
    );
    repo.commit("reorder");
    let after = make_baseline(&repo, &[&token, &key]);
    assert_eq!(before, after);
}

#[test]
fn keyhoundignore_hides_fingerprints_for_any_rule_or_for_one() {
    let mut tokens = Tokens::new(13);
    let (repo, token, key) = repo_with_secrets(&mut tokens);
    let other = tokens.api();
    repo.write("more.env", &format!("ACME={other}\n"));
    repo.write(
        ".keyhoundignore",
        &format!(
            "# rotated on 2024-03-01\n\
             {}\n\
             acme-api-token:{}  # the old sandbox token\n\
             acme-signing-key:{}\n",
            sha256(&key),
            sha256(&token),
            sha256(&other),
        ),
    );
    repo.commit("ignore");
    let run = scan_dir(repo.path(), &[], &[&token, &key, &other]);
    assert_eq!(run.code, 1);
    // The third entry names another rule, so that token is still reported.
    assert_eq!(
        run.locations(),
        [(
            "acme-api-token".to_string(),
            "more.env".to_string(),
            1,
            sha256(&other)
        )]
    );

    repo.write(".keyhoundignore", "acme-api-token:not-a-fingerprint\n");
    let run = scan_dir(repo.path(), &[], &[&token, &key, &other]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains(".keyhoundignore") && run.stderr.contains("line 1"),
        "{}",
        run.stderr
    );
}

#[test]
fn baseline_of_standard_input_and_refused_misuse() {
    let mut tokens = Tokens::new(14);
    let token = tokens.api();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("keyhound.toml");
    fs::write(&config, acme_config("")).unwrap();
    let config = config.to_str().unwrap();
    let input = format!("ACME={token}\n");
    let run = keyhound(
        &["baseline", "stdin", "--name", "pipe.env", "-c", config],
        Some(&input),
        &[&token],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let base = dir.path().join("b.json");
    fs::write(&base, &run.stdout).unwrap();
    let base = base.to_str().unwrap();

    let run = keyhound(
        &[
            "stdin",
            "-c",
            config,
            "--baseline",
            base,
            "--format",
            "json",
        ],
        Some(&input),
        &[&token],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.findings().is_empty());

    let run = keyhound(
        &["baseline", "stdin", "-c", config, "--baseline", base],
        Some(&input),
        &[&token],
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--baseline"), "{}", run.stderr);

    let run = keyhound(
        &["stdin", "-c", config, "--baseline", config],
        Some(&input),
        &[&token],
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("keyhound.toml"), "{}", run.stderr);
}

/// A hook or CI job runs with no flags: a baseline must be usable from the config, by `dir`,
/// `staged` and `git`, and regenerating it must not drop what it holds.
#[test]
fn a_baseline_named_in_the_config_is_used_by_every_scan_and_survives_regeneration() {
    let mut tokens = Tokens::new(21);
    let (repo, token, key) = repo_with_secrets(&mut tokens);
    let path = repo.path().to_str().unwrap();
    let history = |extra: &[&str]| {
        keyhound(
            &[&["baseline", "git", path, "-o"][..], extra].concat(),
            None,
            &[&token, &key],
        )
    };
    let run = history(&[repo.join("keyhound-baseline.json").to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("baseline of 2 finding(s)"),
        "{}",
        run.stderr
    );
    // A top-level key: before the config's tables.
    repo.write(
        "keyhound.toml",
        &format!("baseline = \"keyhound-baseline.json\"\n{}", acme_config("")),
    );
    repo.commit("use the baseline");

    // Every scan: known secrets hidden, with no flag given.
    for args in [&["dir", path][..], &["git", path], &["staged", path]] {
        let run = keyhound(args, None, &[&token, &key]);
        assert_eq!(run.code, 0, "{args:?}: {}\n{}", run.stdout, run.stderr);
    }
    // A new secret staged is still caught.
    let fresh = tokens.api();
    repo.write("new.env", &format!("ACME={fresh}\n"));
    repo.git(&["add", "new.env"]);
    let run = keyhound(&["staged", path], None, &[&fresh]);
    assert_eq!(run.code, 1, "{}", run.stderr);

    // Regenerated with the config in place: still both secrets, not an empty baseline.
    let again = repo.join("again.json");
    let run = history(&[again.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("baseline of 2 finding(s)"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_config_baseline_outside_its_directory_is_refused() {
    let repo = Repo::new();
    repo.write(
        "keyhound.toml",
        &format!("baseline = \"../elsewhere.json\"\n{}", acme_config("")),
    );
    let run = keyhound(&["dir", repo.path().to_str().unwrap()], None, &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("field `baseline`"), "{}", run.stderr);
}
