//! The command line as a user meets it: flags and operands that do what they say (or are
//! refused), and errors in one clear line, with no library internals, no error repeated, and no
//! scan summary after a command that could not start.

mod common_hostile;
use common_hostile::{findings, generic_secret, keyhound, run, sha256_hex};

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
