//! The hooks in `.pre-commit-hooks.yaml`, run by the real pre-commit framework (installed from
//! PyPI by `scripts/test`): a temp repository's `.pre-commit-config.yaml` points at a snapshot of
//! this checkout — its files as they are now, committed into a repository the framework can
//! clone, as `pre-commit try-repo` does — and real `git commit` / `git push` runs go through it.
//!
//! The `language: system` hooks run the keyhound this test run built. The `language: rust`
//! hook makes the framework build keyhound itself with `cargo install` (minutes, and a second
//! copy of every dependency), so that one test runs only when `KEYHOUND_TEST_RUST_HOOK=1`, as
//! `.ci/run` sets it; its build directory and the framework's cache live under `target/`, so
//! later runs reuse them. `KEYHOUND_SKIP_PRE_COMMIT=1` skips these tests (with a notice) where
//! the framework cannot be installed.

mod common_config;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use common_config::{acme_config, git_in, Repo, Tokens};

/// This checkout, where the hooks file is.
fn checkout() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A committed copy of this checkout's files (build output and fuzzing state left out), at a
/// stable path so that the framework's cached environments are reused between runs. Returns
/// the path and the commit id.
fn hooks_repo() -> &'static (PathBuf, String) {
    static SNAPSHOT: OnceLock<(PathBuf, String)> = OnceLock::new();
    SNAPSHOT.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("keyhound-hooks-repo");
        if dir.exists() {
            fs::remove_dir_all(&dir).unwrap();
        }
        copy_tree(checkout(), &dir);
        git_in(&dir, &["init", "-q", "-b", "main"]);
        git_in(&dir, &["add", "-A"]);
        git_in(&dir, &["commit", "-q", "-m", "snapshot"]);
        let rev = git_in(&dir, &["rev-parse", "HEAD"]);
        (dir, rev.trim().to_string())
    })
}

/// Copies the source tree: everything but `.git`, `target` and fuzzing output.
fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if [".git", "target", "corpus", "artifacts"].contains(&name.to_str().unwrap_or("")) {
            continue;
        }
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            copy_tree(&entry.path(), &to.join(&name));
        } else if kind.is_file() {
            fs::copy(entry.path(), to.join(&name)).unwrap();
        }
    }
}

/// False (with a notice) when the tests are asked to skip; a missing framework otherwise fails
/// loudly, so CI cannot pass without having run them.
fn framework_wanted() -> bool {
    if std::env::var_os("KEYHOUND_SKIP_PRE_COMMIT").is_some() {
        eprintln!("notice: KEYHOUND_SKIP_PRE_COMMIT is set: pre-commit framework test skipped");
        return false;
    }
    let found = Command::new("pre-commit").arg("--version").output();
    assert!(
        found.is_ok_and(|o| o.status.success()),
        "the pre-commit framework is not on PATH: run the tests with scripts/test, which \
         installs it, or set KEYHOUND_SKIP_PRE_COMMIT=1"
    );
    true
}

/// A project repository using the hook `id` from this checkout, with the ACME-only config.
fn project(id: &str) -> Repo {
    let (url, rev) = hooks_repo();
    let repo = Repo::new();
    repo.write("keyhound.toml", &acme_config(""));
    repo.write(
        ".pre-commit-config.yaml",
        &format!(
            "repos:\n  - repo: {}\n    rev: {rev}\n    hooks:\n      - id: {id}\n",
            url.display()
        ),
    );
    repo.commit("init");
    repo
}

/// Runs `program` in `repo` with the framework's environment: its cache and the cargo build
/// it starts under `target/`, and the freshly built keyhound first on PATH for the
/// `language: system` hook.
fn run_in(repo: &Repo, program: &str, args: &[&str]) -> Output {
    let target = checkout().join("target");
    let bin_dir = assert_cmd::cargo::cargo_bin("keyhound")
        .parent()
        .unwrap()
        .to_path_buf();
    let path = std::env::join_paths(std::iter::once(bin_dir).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .unwrap();
    Command::new(program)
        .args(args)
        .current_dir(repo.path())
        .env("PATH", path)
        .env("PRE_COMMIT_HOME", target.join("pre-commit-home"))
        .env("CARGO_TARGET_DIR", target.join("pre-commit-install"))
        // A quicker release build for the hook than the published one: the hook is timed by
        // people, the build by this test.
        .env("CARGO_PROFILE_RELEASE_LTO", "false")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16")
        .env("GIT_AUTHOR_NAME", "T")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "T")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Installs the framework's git hook of `hook_type` in `repo`.
fn install(repo: &Repo, hook_type: &str) {
    let out = run_in(
        repo,
        "pre-commit",
        &["install", "--hook-type", hook_type, "--install-hooks"],
    );
    assert!(out.status.success(), "pre-commit install: {}", text(&out));
}

/// A commit with a secret is blocked with a readable message and no raw secret; once the
/// secret is replaced by a reference, the commit goes through.
fn assert_commit_gate(repo: &Repo, seed: u64) {
    let secret = Tokens::new(seed).api();
    repo.write("service.env", &format!("ACME_TOKEN={secret}\n"));
    repo.git(&["add", "service.env"]);
    let out = run_in(repo, "git", &["commit", "-q", "-m", "add token"]);
    let said = text(&out);
    assert!(!out.status.success(), "a secret got committed:\n{said}");
    assert!(said.contains("service.env:1"), "{said}");
    assert!(said.contains("ACME API token"), "{said}");
    assert!(said.contains("before committing"), "{said}");
    assert!(!said.contains(&secret), "raw secret printed:\n{said}");

    repo.write("service.env", "ACME_TOKEN=${ACME_TOKEN}\n");
    repo.git(&["add", "service.env"]);
    let out = run_in(repo, "git", &["commit", "-q", "-m", "token from env"]);
    assert!(
        out.status.success(),
        "a clean commit was blocked:\n{}",
        text(&out)
    );
}

#[test]
fn system_hook_gates_real_commits() {
    if !framework_wanted() {
        return;
    }
    let repo = project("keyhound-system");
    install(&repo, "pre-commit");
    assert_commit_gate(&repo, 21);
}

#[test]
fn rust_hook_is_built_by_the_framework_and_gates_real_commits() {
    if !framework_wanted() {
        return;
    }
    if std::env::var_os("KEYHOUND_TEST_RUST_HOOK").is_none() {
        eprintln!(
            "notice: the language: rust hook test builds keyhound with cargo install (minutes); \
             set KEYHOUND_TEST_RUST_HOOK=1 to run it (.ci/run does)"
        );
        return;
    }
    let repo = project("keyhound");
    install(&repo, "pre-commit");
    assert_commit_gate(&repo, 22);
}

#[test]
fn pre_push_hook_blocks_pushing_a_secret_buried_in_history() {
    if !framework_wanted() {
        return;
    }
    let repo = project("keyhound-pre-push-system");
    let remote = tempfile::tempdir().unwrap();
    git_in(remote.path(), &["init", "-q", "--bare"]);
    repo.git(&["remote", "add", "origin", remote.path().to_str().unwrap()]);
    repo.git(&["push", "-q", "origin", "main"]);
    install(&repo, "pre-push");

    // The secret is added and removed again: only history has it.
    let secret = Tokens::new(23).api();
    repo.write("notes.txt", &format!("token {secret}\n"));
    repo.commit("add");
    repo.write("notes.txt", "token in the vault\n");
    repo.commit("remove");
    let out = run_in(&repo, "git", &["push", "-q", "origin", "main"]);
    let said = text(&out);
    assert!(!out.status.success(), "a secret got pushed:\n{said}");
    assert!(said.contains("notes.txt"), "{said}");
    assert!(!said.contains(&secret), "raw secret printed:\n{said}");

    // A branch whose commits are all clean pushes.
    repo.git(&["reset", "-q", "--hard", "origin/main"]);
    repo.write("docs.md", "# docs\n");
    repo.commit("docs");
    let out = run_in(&repo, "git", &["push", "-q", "origin", "main"]);
    assert!(
        out.status.success(),
        "a clean push was blocked:\n{}",
        text(&out)
    );
}
