//! Errors as a user meets them: one clear line, no library internals, no error repeated, and
//! no scan summary after a command that could not start.

mod common_hostile;
use common_hostile::{keyhound, run};

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
