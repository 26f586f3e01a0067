//! The command line as a user meets it: flags and operands that do what they say (or are
//! refused), and errors in one clear line, with no library internals, no error repeated, and no
//! scan summary after a command that could not start.

mod common_hostile;
use common_hostile::{findings, generic_secret, git, keyhound, run, scan_json, sha256_hex};

#[test]
fn install_hook_outside_a_repository_names_no_libgit2_internals() {
    let dir = tempfile::tempdir().unwrap();
    let r = run(keyhound().current_dir(dir.path()).arg("install-hook"));
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("is not in a git repository"),
        "{}",
        r.stderr
    );
    assert!(
        !r.stderr.contains("class=") && !r.stderr.contains("code="),
        "{}",
        r.stderr
    );
}

#[test]
fn dir_on_a_missing_path_is_an_error_without_a_scan_summary() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nonexistent");
    let r = run(keyhound().arg("dir").arg(&missing));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("error:"), "{}", r.stderr);
    assert!(!r.stderr.contains("no secrets found"), "{}", r.stderr);
}

#[test]
fn a_missing_baseline_is_reported_once() {
    let dir = tempfile::tempdir().unwrap();
    let r =
        run(keyhound()
            .current_dir(dir.path())
            .args(["dir", ".", "--baseline", "missing.json"]));
    assert_eq!(r.code, 2);
    assert_eq!(
        r.stderr.matches("No such file or directory").count(),
        1,
        "{}",
        r.stderr
    );
}

#[test]
fn a_dash_reads_standard_input_for_dir_and_stdin() {
    let secret = generic_secret(61);
    for args in [&["dir", "-"][..], &["stdin", "-"], &["stdin"]] {
        let r = run(keyhound()
            .args(args)
            .args(["--format", "json"])
            .write_stdin(format!("API_KEY={secret}\n")));
        assert_eq!(r.code, 1, "{args:?}: {}", r.stderr);
        let found = findings(&r);
        assert_eq!(found.len(), 1, "{args:?}");
        assert_eq!(found[0]["secret"]["sha256"], sha256_hex(&secret));
        assert_eq!(found[0]["location"]["path"], "<stdin>");
    }
    let r = run(keyhound().args(["dir", "-", "src"]).write_stdin(""));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("on its own"), "{}", r.stderr);
}

/// `-q` meant "no summary" while every finding was still printed; as in grep and ripgrep it
/// now means no output, the exit code being the answer. `--no-summary` keeps the old meaning.
#[test]
fn quiet_prints_nothing_and_no_summary_prints_only_findings() {
    let dir = tempfile::tempdir().unwrap();
    let secret = generic_secret(62);
    std::fs::write(dir.path().join(".env"), format!("API_KEY={secret}\n")).unwrap();
    let tree = dir.path().to_str().unwrap();

    let r = run(keyhound().args(["dir", tree, "-q"]));
    assert_eq!(r.code, 1);
    assert!(r.stdout.is_empty() && r.stderr.is_empty(), "{r:?}");
    let clean = tempfile::tempdir().unwrap();
    let r = run(keyhound().arg("dir").arg(clean.path()).arg("-q"));
    assert_eq!(r.code, 0);
    assert!(r.stdout.is_empty() && r.stderr.is_empty(), "{r:?}");
    // A report asked for by name is still written.
    let report = dir.path().join("report.json");
    let r = run(keyhound()
        .args(["dir", tree, "-q", "--format", "json", "-o"])
        .arg(&report));
    assert_eq!(r.code, 1);
    assert!(std::fs::read_to_string(&report)
        .unwrap()
        .contains(&sha256_hex(&secret)));

    let r = run(keyhound().args(["dir", tree, "--no-summary", "--format", "json"]));
    assert_eq!(r.code, 1);
    assert_eq!(findings(&r).len(), 1);
    assert!(r.stderr.is_empty(), "{}", r.stderr);
}

#[test]
fn max_file_size_takes_units_and_threads_zero_means_every_core() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("big.txt"), "x".repeat(3 << 10)).unwrap();
    for size in ["2K", "2KB", "2KiB", "2048"] {
        let r = run(keyhound()
            .current_dir(dir.path())
            .args(["dir", "."])
            .args(["--max-file-size", size]));
        assert_eq!(r.code, 0, "{size}: {}", r.stderr);
        assert!(
            r.stderr.contains("big.txt: not scanned"),
            "{size}: {}",
            r.stderr
        );
    }
    let r = run(keyhound()
        .current_dir(dir.path())
        .args(["dir", "."])
        .args(["--max-file-size", "1M"]));
    assert!(!r.stderr.contains("not scanned"), "{}", r.stderr);
    let r = run(keyhound()
        .current_dir(dir.path())
        .args(["dir", "."])
        .args(["--max-file-size", "ten"]));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("not a size"), "{}", r.stderr);
    let r = run(keyhound()
        .current_dir(dir.path())
        .args(["dir", "."])
        .args(["--threads", "0"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
}

/// `install-hook --baseline F --format json` used to write a hook that ignored both.
#[test]
fn flags_a_command_would_ignore_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["install-hook", "--baseline", "b.json"][..],
        &["--format", "json", "install-hook"],
        &["keycheck", "--show-secrets"],
        &["keycheck", "--format", "sarif"],
        &["rules", "list", "--threads", "2"],
        &["baseline", "dir", ".", "--format", "sarif"],
    ] {
        let r = run(keyhound()
            .current_dir(dir.path())
            .args(args)
            .write_stdin(""));
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains("error: --"), "{args:?}: {}", r.stderr);
    }
    assert!(!dir.path().join(".git").exists());
}

/// `keyhound rules --help` offered ~14 scan options that the command refuses; each command's
/// help lists only the common flags it uses, and the scan commands list them all.
#[test]
fn help_offers_only_the_flags_a_command_uses() {
    let help = |args: &[&str]| {
        let r = run(keyhound().args(args).arg("--help"));
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
        r.stdout
    };
    let scan_only = [
        "--min-confidence",
        "--include-public",
        "--threads",
        "--baseline",
    ];
    for args in [
        &["rules"][..],
        &["rules", "list"],
        &["keycheck"],
        &["install-hook"],
    ] {
        let text = help(args);
        for flag in scan_only {
            assert!(
                !text.contains(flag),
                "{args:?} --help offers {flag}:\n{text}"
            );
        }
    }
    for flag in ["--format <", "--output <", "--config <"] {
        assert!(
            help(&["rules", "list"]).contains(flag),
            "rules list --help lacks {flag}"
        );
        assert!(
            !help(&["install-hook"]).contains(flag),
            "install-hook offers {flag}"
        );
    }
    let baseline = help(&["baseline", "git"]);
    assert!(baseline.contains("--threads") && !baseline.contains("--show-secrets"));
    for command in ["dir", "git", "staged", "pre-push", "ci", "stdin"] {
        let text = help(&[command]);
        for flag in scan_only.iter().chain(&["--show-secrets", "--exit-code"]) {
            assert!(text.contains(flag), "{command} --help lacks {flag}");
        }
    }
    // Hidden is not removed: a flag before the command still reaches the ones that use it.
    let r = run(keyhound().args(["--format", "json", "rules", "list"]));
    assert!(r.stdout.trim_start().starts_with('{'), "{}", r.stdout);
}
/// A typo in a scoped inline marker silenced nothing, and nothing said why.
#[test]
fn an_inline_marker_naming_no_rule_is_a_warning_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let (typo, good) = (generic_secret(63), generic_secret(64));
    std::fs::write(
        dir.path().join("app.env"),
        format!(
            "# settings\nAPI_KEY={typo}  # keyhound:allow:generic-secret-assigment\n\
             TOKEN={good}  # keyhound:allow:generic-secret-assignment\n"
        ),
    )
    .unwrap();
    let r = scan_json(dir.path());
    assert_eq!(r.code, 1, "{}", r.stderr);
    let found = findings(&r);
    assert_eq!(found.len(), 1, "the correct marker silences its line");
    assert_eq!(found[0]["secret"]["sha256"], sha256_hex(&typo));
    assert!(
        r.stderr
            .contains("app.env:2: keyhound:allow:generic-secret-assigment names no rule"),
        "{}",
        r.stderr
    );
}

/// The line shown for a finding hid a neighbouring name, `const STRI… = "sk_live_…"`, when that
/// name was also assigned as a value elsewhere (`apiKey = STRIPE_SECRET_KEY`).
#[test]
fn the_context_line_redacts_the_secret_not_a_name_beside_it() {
    let dir = tempfile::tempdir().unwrap();
    let secret = generic_secret(65);
    std::fs::write(
        dir.path().join("app.js"),
        format!("const STRIPE_API_TOKEN = \"{secret}\";\nconst apiKey = STRIPE_API_TOKEN;\n"),
    )
    .unwrap();
    let r = scan_json(dir.path());
    assert_eq!(r.code, 1, "{}", r.stderr);
    let found = findings(&r);
    assert_eq!(found.len(), 1);
    let context = found[0]["context"].as_str().unwrap();
    assert!(
        context.starts_with("const STRIPE_API_TOKEN = \""),
        "{context}"
    );
    assert!(!context.contains(&secret), "{context}");
}

/// `keyhound dir src` at a repository's root ignored the root's keyhound.toml (while `git` and
/// `staged` used it), and `keyhound dir src/billing.py` reported `billing.py`.
#[test]
fn dir_inside_a_work_tree_uses_the_root_config_and_names_a_file_as_given() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    git(root, &["init", "-q"]);
    let (kept, vendored) = (generic_secret(66), generic_secret(67));
    std::fs::write(
        root.join("keyhound.toml"),
        "[allowlist]\npaths = [\"src/fixtures2/**\"]\n",
    )
    .unwrap();
    std::fs::create_dir_all(root.join("src/fixtures2")).unwrap();
    std::fs::write(root.join("src/billing.env"), format!("API_KEY={kept}\n")).unwrap();
    std::fs::write(
        root.join("src/fixtures2/lib.env"),
        format!("API_KEY={vendored}\n"),
    )
    .unwrap();

    // Paths read from where the user stands, as ripgrep prints them; the config's globs see
    // them from the work tree's root whatever the operand.
    let absolute = root.join("src");
    let absolute = absolute.to_str().unwrap();
    let shown_absolute = format!("{absolute}/billing.env");
    for (cwd, target, shown) in [
        (root.to_path_buf(), "src", "src/billing.env"),
        (root.to_path_buf(), "./src/", "src/billing.env"),
        (root.join("src"), ".", "billing.env"),
        (root.join("src/fixtures2"), "..", "../billing.env"),
        (root.join("src"), absolute, shown_absolute.as_str()),
        (root.to_path_buf(), "src/billing.env", "src/billing.env"),
    ] {
        let r = run(keyhound()
            .current_dir(&cwd)
            .args(["dir", target, "--format", "json"]));
        assert_eq!(r.code, 1, "{target}: {}", r.stderr);
        let found = findings(&r);
        assert_eq!(
            found.len(),
            1,
            "{target}: the root config's allowlist applies: {found:?}"
        );
        assert_eq!(found[0]["secret"]["sha256"], sha256_hex(&kept));
        assert_eq!(found[0]["location"]["path"], shown, "{target}");
    }
}

/// A `.gitleaksignore` location names a file from the work tree's root: it hides the finding
/// whatever the operand was, while the report shows the path from where the user stands.
#[test]
fn ignore_file_locations_match_from_the_root_whatever_the_operand() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    git(root, &["init", "-q"]);
    std::fs::create_dir_all(root.join("src")).unwrap();
    let secret = generic_secret(68);
    std::fs::write(
        root.join("src/billing.env"),
        format!(
            "API_KEY={secret}
"
        ),
    )
    .unwrap();
    let r = run(keyhound()
        .current_dir(root)
        .args(["dir", "src", "--format", "json"]));
    let rule = findings(&r)[0]["rule"].as_str().unwrap().to_string();
    for target in ["src", ".", root.join("src").to_str().unwrap()] {
        let r = run(keyhound()
            .current_dir(root)
            .args(["dir", target, "--format", "json"]));
        assert_eq!(r.code, 1, "{target}: before the ignore entry: {}", r.stderr);
    }
    std::fs::write(
        root.join(".gitleaksignore"),
        format!("src/billing.env:{rule}:1\n"),
    )
    .unwrap();
    for target in ["src", ".", root.join("src").to_str().unwrap()] {
        let r = run(keyhound()
            .current_dir(root)
            .args(["dir", target, "--format", "json"]));
        assert_eq!(r.code, 0, "{target}: the location is ignored: {}", r.stdout);
    }
}

/// A PEM test key under `tests/data/` was `critical`, like one in `config/prod.pem`: findings
/// say where they live, tests, examples and docs are one severity step lower (never hidden),
/// and `--exclude-context` / `--min-severity` filter on it.
#[test]
fn findings_say_where_they_live_and_filter_on_it() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for (i, path) in ["config/app.env", "tests/data/app.env", "docs/setup.md"]
        .iter()
        .enumerate()
    {
        let file = root.join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, format!("API_KEY={}\n", generic_secret(70 + i as u64))).unwrap();
    }
    let places = |extra: &[&str]| -> Vec<(String, String, String, Option<String>)> {
        let r = run(keyhound()
            .current_dir(root)
            .args(["dir", ".", "--format", "json"])
            .args(extra));
        let text = |v: &serde_json::Value| v.as_str().map(str::to_string);
        findings(&r)
            .iter()
            .map(|f| {
                (
                    text(&f["location"]["path"]).unwrap(),
                    text(&f["path_context"]).unwrap(),
                    text(&f["severity"]).unwrap(),
                    text(&f["rule_severity"]),
                )
            })
            .collect()
    };
    let all = places(&[]);
    assert_eq!(all.len(), 3, "{all:?}");
    let (source, docs, test) = (&all[0], &all[1], &all[2]);
    assert_eq!(
        (source.0.as_str(), source.1.as_str()),
        ("config/app.env", "source")
    );
    assert_eq!(source.3, None);
    assert_eq!(
        (docs.0.as_str(), docs.1.as_str()),
        ("docs/setup.md", "docs")
    );
    assert_eq!(
        (test.0.as_str(), test.1.as_str()),
        ("tests/data/app.env", "test")
    );
    for lowered in [docs, test] {
        assert_eq!(lowered.3.as_deref(), Some(source.2.as_str()), "{lowered:?}");
        assert_ne!(lowered.2, source.2, "{lowered:?}");
    }
    let paths = |found: Vec<(String, String, String, Option<String>)>| -> Vec<String> {
        found.into_iter().map(|f| f.0).collect()
    };
    assert_eq!(
        paths(places(&["--exclude-context", "test,docs"])),
        ["config/app.env"]
    );
    assert_eq!(
        paths(places(&["--min-severity", &source.2])),
        ["config/app.env"]
    );
    let r = run(keyhound().current_dir(root).args(["dir", "."]));
    assert!(r.stdout.contains("in test code (rule: "), "{}", r.stdout);

    // The same as config keys; a flag takes precedence.
    std::fs::write(
        root.join("keyhound.toml"),
        "exclude_context = [\"test\"]\nmin_severity = \"low\"\n",
    )
    .unwrap();
    assert_eq!(paths(places(&[])), ["config/app.env", "docs/setup.md"]);
    assert_eq!(
        paths(places(&["--exclude-context", "docs"])),
        ["config/app.env", "tests/data/app.env"]
    );
    std::fs::write(
        root.join("keyhound.toml"),
        "exclude_context = [\"tests\"]\n",
    )
    .unwrap();
    let r = run(keyhound().current_dir(root).args(["dir", "."]));
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("exclude_context") && r.stderr.contains("`tests` is not a context"),
        "{}",
        r.stderr
    );
    let r = run(keyhound().args(["rules", "list", "--exclude-context", "test"]));
    assert_eq!(r.code, 2, "refused where it means nothing: {}", r.stderr);
}
