//! Files a hostile checkout plants for keyhound to read or write: config and ignore files that
//! are symlinks to a credentials file, config errors that would echo a file's contents, report
//! paths that are symlinks to a file the runner can write, and gitleaks `[extend] path`s that
//! lead out of the tree or into a device. Real binary, real files and repositories in temp dirs,
//! secrets generated at run time.

#![cfg(unix)]

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::time::{Duration, Instant};

mod common_hostile;
use common_hostile::{assert_no_raw, generic_secret, keyhound, run, sha256_hex, write, Run};

mod common_git;
use common_git::Git;

const GIT: Git = Git::undated();

/// A credentials file outside the scanned tree, in the shape of `/proc/self/environ` or an
/// `.env`: what a symlinked config would expose. Returns the secret it holds.
fn credentials_outside(dir: &Path) -> String {
    let secret = generic_secret(41);
    write(
        dir,
        "outside/credentials",
        format!("DEPLOY_TOKEN={secret}\nAPI_KEY={secret}\n"),
    );
    secret
}

#[test]
fn a_config_or_ignore_file_symlinked_to_a_credentials_file_is_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let secret = credentials_outside(dir.path());
    let tree = dir.path().join("tree");
    fs::create_dir(&tree).unwrap();
    let target = dir.path().join("outside/credentials");
    for name in [
        "keyhound.toml",
        ".keyhound.toml",
        ".gitleaks.toml",
        ".keyhoundignore",
        ".gitleaksignore",
    ] {
        symlink(&target, tree.join(name)).unwrap();
    }
    let leaked = generic_secret(42);
    write(&tree, "app/.env", format!("API_KEY={leaked}\n"));

    let r = run(keyhound().arg("dir").arg(&tree).args(["--format", "json"]));
    assert_eq!(
        r.code, 1,
        "the defaults apply and find the tree's key: {r:?}"
    );
    assert_no_raw(&r, &[&secret, &leaked]);
    assert!(
        r.stderr.matches("is a symbolic link").count() >= 5,
        "each refused file is named: {}",
        r.stderr
    );
}

#[test]
fn a_history_scan_ignores_a_symlinked_config_in_the_work_tree() {
    let dir = tempfile::tempdir().unwrap();
    let secret = credentials_outside(dir.path());
    let repo = dir.path().join("repo");
    fs::create_dir(&repo).unwrap();
    GIT.run(&repo, &["init", "-q", "-b", "main"]);
    let leaked = generic_secret(43);
    GIT.commit(
        &repo,
        "add",
        &[("app/.env", &format!("API_KEY={leaked}\n"))],
    );
    symlink(
        dir.path().join("outside/credentials"),
        repo.join("keyhound.toml"),
    )
    .unwrap();
    symlink(
        dir.path().join("outside/credentials"),
        repo.join(".keyhoundignore"),
    )
    .unwrap();

    let r = run(keyhound().arg("git").arg(&repo).args(["--format", "json"]));
    assert_eq!(r.code, 1, "{r:?}");
    assert_no_raw(&r, &[&secret, &leaked]);
    assert!(r.stderr.contains("is a symbolic link"), "{}", r.stderr);
}

#[test]
fn parse_errors_quote_no_more_than_a_redacted_excerpt() {
    let dir = tempfile::tempdir().unwrap();
    let secret = generic_secret(44);
    // A regular config whose values are secrets (a credentials file renamed), an ignore file of
    // credentials, and a baseline of them: each refused without printing them.
    write(
        dir.path(),
        "a/keyhound.toml",
        format!("[rules]\nuse_default = \"{secret}\"\n"),
    );
    write(dir.path(), "b/keyhound.toml", format!("{secret}\n"));
    write(
        dir.path(),
        "c/.keyhoundignore",
        format!("API_KEY={secret}\n"),
    );
    write(dir.path(), "d/.gitleaksignore", format!("{secret}\n"));
    write(
        dir.path(),
        "baseline.json",
        format!(r#"{{"version": 1, "findings": [{{"rule": "r", "fingerprint": "{secret}"}}]}}"#),
    );
    write(
        dir.path(),
        "bad.json",
        format!(r#"{{"version": "{secret}"}}"#),
    );
    write(dir.path(), "empty.toml", "");
    let mut runs: Vec<Run> = ["a", "b", "c", "d"]
        .iter()
        .map(|t| run(keyhound().arg("dir").arg(dir.path().join(t))))
        .collect();
    for baseline in ["baseline.json", "bad.json"] {
        runs.push(run(keyhound()
            .arg("dir")
            .arg(dir.path().join("a/keyhound.toml"))
            .arg("--config")
            .arg(dir.path().join("empty.toml"))
            .arg("--baseline")
            .arg(dir.path().join(baseline))));
    }
    for r in &runs {
        assert_eq!(r.code, 2, "refused: {r:?}");
        assert!(r.stderr.contains("error:"), "{}", r.stderr);
        assert_no_raw(r, &[&secret]);
        // The excerpt: the first few characters and an ellipsis.
        assert!(
            r.stderr.contains(&format!("{}…", &secret[..4])) || r.stderr.contains("line"),
            "{}",
            r.stderr
        );
    }
}

#[test]
fn a_report_path_that_is_a_symlink_is_refused_and_its_target_untouched() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "home/.bashrc", "# mine\n");
    let victim = dir.path().join("home/.bashrc");
    let tree = dir.path().join("tree");
    write(
        &tree,
        "app/.env",
        format!("API_KEY={}\n", generic_secret(45)),
    );
    symlink(&victim, tree.join("report.json")).unwrap();
    symlink(&victim, tree.join("baseline.json")).unwrap();

    let report = run(keyhound().current_dir(&tree).args([
        "dir",
        ".",
        "--format",
        "json",
        "--output",
        "report.json",
    ]));
    let baseline = run(keyhound().current_dir(&tree).args([
        "baseline",
        "dir",
        ".",
        "--output",
        "baseline.json",
    ]));
    for r in [&report, &baseline] {
        assert_eq!(r.code, 2, "{r:?}");
        assert!(r.stderr.contains("symbolic link"), "{}", r.stderr);
    }
    assert_eq!(fs::read_to_string(&victim).unwrap(), "# mine\n");
    assert!(fs::symlink_metadata(tree.join("report.json"))
        .unwrap()
        .file_type()
        .is_symlink());
}

#[test]
fn a_report_replaces_a_regular_file_privately_and_atomically() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let secret = generic_secret(46);
    write(dir.path(), "tree/.env", format!("API_KEY={secret}\n"));
    let out = dir.path().join("report.json");
    fs::write(&out, "stale").unwrap();
    fs::set_permissions(&out, fs::Permissions::from_mode(0o644)).unwrap();
    let r = run(keyhound()
        .arg("dir")
        .arg(dir.path().join("tree"))
        .args(["--format", "json", "--output"])
        .arg(&out));
    assert_eq!(r.code, 1, "{r:?}");
    let written = fs::read_to_string(&out).unwrap();
    assert!(written.contains(&sha256_hex(&secret)), "{written}");
    assert_eq!(
        fs::metadata(&out).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let leftovers: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn ci_refuses_a_committed_sarif_symlink() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "home/.bashrc", "# mine\n");
    let victim = dir.path().join("home/.bashrc");
    let repo = dir.path().join("repo");
    fs::create_dir(&repo).unwrap();
    GIT.run(&repo, &["init", "-q", "-b", "main"]);
    symlink(&victim, repo.join("keyhound.sarif")).unwrap();
    GIT.run(&repo, &["add", "keyhound.sarif"]);
    GIT.commit(&repo, "sarif trap", &[("README", "hello\n")]);
    write(dir.path(), "event.json", "{}");

    let r = run(keyhound()
        .current_dir(&repo)
        .arg("ci")
        .env("GITHUB_EVENT_NAME", "schedule")
        .env("GITHUB_EVENT_PATH", dir.path().join("event.json"))
        .env("GITHUB_WORKSPACE", &repo)
        .env_remove("GITHUB_OUTPUT")
        .env_remove("GITHUB_STEP_SUMMARY"));
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("symbolic link"), "{}", r.stderr);
    assert_eq!(fs::read_to_string(&victim).unwrap(), "# mine\n");
}

#[test]
fn a_gitleaks_extend_path_cannot_leave_the_tree_or_read_a_device() {
    let dir = tempfile::tempdir().unwrap();
    let secret = credentials_outside(dir.path());
    let cases = [
        ("abs", "/dev/zero".to_string()),
        (
            "up",
            format!("{}", dir.path().join("outside/credentials").display()),
        ),
        ("dots", "../outside/credentials".to_string()),
        ("fifo", "fifo.toml".to_string()),
        ("link", "link.toml".to_string()),
    ];
    for (name, path) in &cases {
        write(
            dir.path(),
            &format!("{name}/.gitleaks.toml"),
            format!("[extend]\npath = \"{path}\"\n"),
        );
    }
    let fifo = dir.path().join("fifo/fifo.toml");
    let c_path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
    symlink(
        dir.path().join("outside/credentials"),
        dir.path().join("link/link.toml"),
    )
    .unwrap();

    for (name, _) in &cases {
        let started = Instant::now();
        let r = run(keyhound().arg("dir").arg(dir.path().join(name)));
        assert!(started.elapsed() < Duration::from_secs(20), "{name}: hung");
        assert_eq!(r.code, 2, "{name}: {r:?}");
        assert!(r.stderr.contains("extend.path"), "{name}: {}", r.stderr);
        assert_no_raw(&r, &[&secret]);
    }

    // A config the user names may extend a file anywhere, as gitleaks allows.
    write(
        dir.path(),
        "shared/base.toml",
        "[extend]\nuseDefault = true\n",
    );
    write(
        dir.path(),
        "named.gitleaks.toml",
        format!(
            "[extend]\npath = \"{}\"\n",
            dir.path().join("shared/base.toml").display()
        ),
    );
    let r = run(keyhound()
        .arg("dir")
        .arg(dir.path().join("shared"))
        .arg("--config")
        .arg(dir.path().join("named.gitleaks.toml")));
    assert_eq!(r.code, 0, "{r:?}");
}
