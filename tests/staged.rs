//! `keyhound staged` and `keyhound install-hook` on real repositories built with the git CLI:
//! what the next commit records is judged, nothing else — the index, not the working tree;
//! added lines, not the whole file — and a hook installed the plain-git way blocks a real
//! `git commit`.
//!
//! Most tests use the made-up ACME rules (no built-in pack), so findings do not move as the
//! pack grows; the private-key test uses the built-in pack.

mod common_config;

use std::fs;

use common_config::{acme_config, git_in, keyhound, Repo, Run, Tokens};
use keyhound::rules::templates::{expand, ExampleRng};

/// A repository with the ACME-only config committed at its root.
fn repo() -> Repo {
    let repo = Repo::new();
    repo.write("keyhound.toml", &acme_config(""));
    repo.write("README.md", "hello\n");
    repo.commit("init");
    repo
}

fn staged(repo: &Repo, secrets: &[&str]) -> Run {
    let path = repo.path().to_str().unwrap();
    keyhound(&["staged", path, "--format", "json"], None, secrets)
}

/// (path, line) of each finding.
fn where_found(run: &Run) -> Vec<(String, u64)> {
    run.locations()
        .into_iter()
        .map(|(_, path, line, _)| (path, line))
        .collect()
}

#[test]
fn a_staged_secret_is_reported_at_its_staged_line_with_advice_for_an_uncommitted_key() {
    let repo = repo();
    let secret = Tokens::new(1).api();
    repo.write("app.py", "import os\n\nDEBUG = False\n");
    repo.commit("app");
    repo.write(
        "app.py",
        &format!("import os\n\nKEY = \"{secret}\"\nDEBUG = False\n"),
    );
    repo.git(&["add", "app.py"]);

    let run = staged(&repo, &[&secret]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(where_found(&run), [("app.py".to_string(), 3)]);
    let summary = run.findings()[0]["remediation"]["summary"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(summary.contains("before committing"), "{summary}");
}

#[test]
fn the_human_report_says_the_key_has_not_left_the_machine() {
    let repo = repo();
    let secret = Tokens::new(2).api();
    repo.write(".env", &format!("ACME_TOKEN={secret}\n"));
    repo.git(&["add", ".env"]);

    let run = keyhound(&["staged", repo.path().to_str().unwrap()], None, &[&secret]);
    assert_eq!(run.code, 1);
    // The report wraps to the terminal's width: compare words, not lines.
    let words = run.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(words.contains(".env:1"), "{}", run.stdout);
    assert!(
        words.contains("it has not left this machine yet"),
        "{words}"
    );
    assert!(words.contains("keyhound:allow"), "{words}");
}

#[test]
fn unstaged_changes_are_not_judged() {
    let repo = repo();
    let secret = Tokens::new(3).api();
    repo.write("config.js", &format!("const key = '{secret}';\n"));

    let run = staged(&repo, &[&secret]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(run.findings().is_empty());
}

#[test]
fn a_partially_staged_file_is_judged_by_its_staged_content() {
    let repo = repo();
    let mut tokens = Tokens::new(4);
    let (in_index, in_worktree) = (tokens.api(), tokens.api());

    // Staged clean, secret only in the working tree: the commit is clean.
    repo.write("a.txt", "one\ntwo\n");
    repo.git(&["add", "a.txt"]);
    repo.write("a.txt", &format!("one\ntwo\nleak {in_worktree}\n"));
    let run = staged(&repo, &[&in_worktree]);
    assert_eq!(run.code, 0, "{}", run.stdout);

    // Secret staged, then removed from the working tree only: the commit still carries it.
    repo.write("b.txt", &format!("x\ntoken {in_index}\n"));
    repo.git(&["add", "b.txt"]);
    repo.write("b.txt", "x\n");
    let run = staged(&repo, &[&in_index, &in_worktree]);
    assert_eq!(run.code, 1);
    assert_eq!(where_found(&run), [("b.txt".to_string(), 2)]);
}

#[test]
fn the_first_commit_is_judged_against_the_empty_tree() {
    let repo = Repo::new();
    let secret = Tokens::new(5).signing();
    repo.write("keyhound.toml", &acme_config(""));
    repo.write(
        "src/main.rs",
        &format!("// setup\nconst K: &str = \"{secret}\";\n"),
    );
    repo.git(&["add", "-A"]);

    let run = staged(&repo, &[&secret]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(where_found(&run), [("src/main.rs".to_string(), 2)]);
}

#[test]
fn only_added_lines_count_a_secret_already_committed_is_not_reported_again() {
    let repo = repo();
    let mut tokens = Tokens::new(6);
    let (old, new) = (tokens.api(), tokens.api());
    repo.write("settings.ini", &format!("[a]\nold = {old}\n[b]\n"));
    repo.commit("settings with a known key");

    repo.write(
        "settings.ini",
        &format!("[a]\nold = {old}\n[b]\nnew = {new}\n"),
    );
    repo.git(&["add", "settings.ini"]);
    let run = staged(&repo, &[&old, &new]);
    assert_eq!(run.code, 1);
    assert_eq!(where_found(&run), [("settings.ini".to_string(), 4)]);
}

#[test]
fn deleting_a_file_with_a_secret_adds_nothing() {
    let repo = repo();
    let secret = Tokens::new(7).api();
    repo.write("old.env", &format!("T={secret}\n"));
    repo.commit("oops");
    repo.git(&["rm", "-q", "old.env"]);

    let run = staged(&repo, &[&secret]);
    assert_eq!(run.code, 0, "{}", run.stdout);
}

#[test]
fn a_rename_adds_only_its_edited_lines() {
    let repo = repo();
    let mut tokens = Tokens::new(8);
    let (moved, added) = (tokens.api(), tokens.api());
    let body: String = (0..20).map(|i| format!("line {i}\n")).collect();
    repo.write("conf/old.yml", &format!("{body}key: {moved}\n"));
    repo.commit("conf");

    repo.git(&["mv", "conf/old.yml", "conf/new.yml"]);
    let run = staged(&repo, &[&moved]);
    assert_eq!(run.code, 0, "a pure rename adds no lines: {}", run.stdout);
    repo.git(&["mv", "conf", "settings"]);
    let run = staged(&repo, &[&moved]);
    assert_eq!(run.code, 0, "nor does moving a directory: {}", run.stdout);
    repo.git(&["mv", "settings", "conf"]);

    repo.write(
        "conf/new.yml",
        &format!("{body}key: {moved}\nother: {added}\n"),
    );
    repo.git(&["add", "conf/new.yml"]);
    let run = staged(&repo, &[&moved, &added]);
    assert_eq!(run.code, 1);
    assert_eq!(where_found(&run), [("conf/new.yml".to_string(), 22)]);
}

#[test]
fn binary_files_no_longer_hide_a_secret_after_a_nul() {
    let repo = repo();
    let secret = Tokens::new(9).api();
    let mut blob = b"\x89PNG\r\n\x1a\n\0\0\0".to_vec();
    blob.extend_from_slice(secret.as_bytes());
    fs::write(repo.join("logo.png"), blob).unwrap();
    repo.git(&["add", "logo.png"]);

    let run = staged(&repo, &[&secret]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert_eq!(where_found(&run), [("logo.png".to_string(), 3)]);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(doc["summary"]["skipped"], 0, "{}", run.stdout);
}

#[test]
fn a_multi_line_private_key_is_caught_when_staged() {
    let repo = Repo::new();
    repo.write("README.md", "hello\n");
    repo.commit("init");
    let key = expand(
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA@{rand:base64:48}\n@{rand:base64:64}\n@{rand:base64:64}\n@{rand:base64:40}==\n-----END RSA PRIVATE KEY-----\n",
        &mut ExampleRng::new(10),
    )
    .unwrap();
    // Line 1 blank, the key's body on lines 3 to 6.
    repo.write("deploy/id_rsa", &format!("\n{key}"));
    repo.git(&["add", "deploy/id_rsa"]);

    let body = key.lines().nth(2).unwrap();
    let run = staged(&repo, &[body]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let findings = run.findings();
    assert!(
        findings
            .iter()
            .any(|f| f["location"]["path"] == "deploy/id_rsa"
                && f["location"]["line"] == 3
                && f["location"]["end_line"] == 6),
        "{}",
        run.stdout
    );
}

#[test]
fn submodules_are_noted_not_scanned() {
    let repo = repo();
    let head = git_in(repo.path(), &["rev-parse", "HEAD"]);
    let cacheinfo = format!("160000,{},vendor/lib", head.trim());
    repo.git(&["update-index", "--add", "--cacheinfo", &cacheinfo]);

    let run = staged(&repo, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("vendor/lib: submodule not scanned"),
        "{}",
        run.stderr
    );
}

#[test]
fn outside_a_repository_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let run = keyhound(&["staged", dir.path().to_str().unwrap()], None, &[]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("not in a git repository"),
        "{}",
        run.stderr
    );
}

/// Runs git in `repo` as a person would, hooks and all; returns whether it succeeded and
/// everything it printed.
fn hooked_git(repo: &Repo, args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new("git")
        .args(["-c", "user.name=T", "-c", "user.email=t@example.com"])
        .args(args)
        .current_dir(repo.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn try_commit(repo: &Repo, message: &str) -> (bool, String) {
    hooked_git(repo, &["commit", "-q", "-m", message])
}

#[test]
fn an_installed_hook_blocks_a_commit_with_a_secret_and_lets_a_clean_one_through() {
    let repo = repo();
    let run = keyhound(&["install-hook", repo.path().to_str().unwrap()], None, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(repo.join(".git/hooks/pre-commit").is_file());

    let secret = Tokens::new(11).api();
    repo.write("app.env", &format!("ACME={secret}\n"));
    repo.git(&["add", "app.env"]);
    let (committed, output) = try_commit(&repo, "leak");
    assert!(!committed, "the hook let a secret through:\n{output}");
    assert!(output.contains("app.env"), "{output}");
    assert!(!output.contains(&secret), "raw secret in hook output");

    repo.write("app.env", "ACME=${ACME_TOKEN}\n");
    repo.git(&["add", "app.env"]);
    let (committed, output) = try_commit(&repo, "clean");
    assert!(committed, "a clean commit was blocked:\n{output}");
}

#[test]
fn install_hook_honours_core_hooks_path_and_keeps_other_hooks() {
    let repo = repo();
    repo.git(&["config", "core.hooksPath", "githooks"]);
    fs::create_dir_all(repo.join("githooks")).unwrap();
    fs::write(repo.join("githooks/pre-commit"), "#!/bin/sh\nmake lint\n").unwrap();
    let path = repo.path().to_str().unwrap();

    let run = keyhound(&["install-hook", path], None, &[]);
    assert_eq!(run.code, 2, "another tool's hook must not be replaced");
    assert!(run.stderr.contains("--force"), "{}", run.stderr);
    assert_eq!(
        fs::read_to_string(repo.join("githooks/pre-commit")).unwrap(),
        "#!/bin/sh\nmake lint\n"
    );

    let run = keyhound(&["install-hook", path, "--force"], None, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let hook = fs::read_to_string(repo.join("githooks/pre-commit")).unwrap();
    assert!(hook.contains(" staged"), "{hook}");
    assert_eq!(
        fs::read_to_string(repo.join("githooks/pre-commit.keyhound-backup")).unwrap(),
        "#!/bin/sh\nmake lint\n"
    );
    // Its own hook it may rewrite: installing twice is not an error.
    let run = keyhound(&["install-hook", path], None, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!repo.join(".git/hooks/pre-commit").exists());
}

/// A hook that is not text (a compiled binary, a Latin-1 script) is another tool's too.
#[test]
fn install_hook_keeps_a_hook_that_is_not_utf8() {
    let repo = repo();
    let hook = repo.join(".git/hooks/pre-commit");
    let binary = b"\x7fELF\x02\x01\x01\xff\xfe not text".to_vec();
    fs::write(&hook, &binary).unwrap();
    let run = keyhound(&["install-hook", repo.path().to_str().unwrap()], None, &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(fs::read(&hook).unwrap(), binary);
}

#[test]
fn an_installed_pre_push_hook_blocks_a_secret_buried_in_unpushed_commits() {
    let repo = repo();
    let remote = tempfile::tempdir().unwrap();
    git_in(remote.path(), &["init", "-q", "--bare"]);
    repo.git(&["remote", "add", "origin", remote.path().to_str().unwrap()]);
    let path = repo.path().to_str().unwrap();
    let run = keyhound(&["install-hook", path, "--hook", "pre-push"], None, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);

    let push = |repo: &Repo| hooked_git(repo, &["push", "-q", "origin", "main"]);
    // The first push of a clean history: the remote has nothing, everything is scanned.
    let (pushed, said) = push(&repo);
    assert!(pushed, "a clean first push was blocked:\n{said}");

    let secret = Tokens::new(12).api();
    repo.write("notes.txt", &format!("token {secret}\n"));
    repo.commit("add");
    repo.write("notes.txt", "token in the vault\n");
    repo.commit("remove");
    let (pushed, said) = push(&repo);
    assert!(
        !pushed,
        "a secret in an unpushed commit got pushed:\n{said}"
    );
    let words = said.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(words.contains("notes.txt:1"), "{said}");
    assert!(words.contains("before pushing"), "{said}");
    assert!(!said.contains(&secret), "raw secret printed");

    repo.git(&["reset", "-q", "--hard", "origin/main"]);
    repo.write("docs.md", "# docs\n");
    repo.commit("docs");
    let (pushed, said) = push(&repo);
    assert!(pushed, "a clean push was blocked:\n{said}");
}

#[test]
fn the_hook_judges_the_index_git_commit_builds_for_commit_a_and_commit_paths() {
    let repo = repo();
    repo.write("app.cfg", "name = app\n");
    repo.commit("cfg");
    let run = keyhound(&["install-hook", repo.path().to_str().unwrap()], None, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);

    // Not staged: `git commit -a` and `git commit PATH` stage it into a temporary index
    // (GIT_INDEX_FILE) just for the hook.
    let secret = Tokens::new(13).api();
    repo.write("app.cfg", &format!("name = app\ntoken = {secret}\n"));
    for args in [&["-a"][..], &["app.cfg"][..]] {
        let (committed, said) =
            hooked_git(&repo, &[&["commit", "-q", "-m", "leak"][..], args].concat());
        assert!(
            !committed,
            "git commit {args:?} let a secret through:\n{said}"
        );
        assert!(said.contains("app.cfg"), "{said}");
    }
}

#[test]
fn a_corrupt_index_is_a_clear_error_not_a_crash() {
    let repo = repo();
    fs::write(repo.join(".git/index"), b"DIRC\0\0\0\x02\0\0\0\x09garbage").unwrap();
    let run = staged(&repo, &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("index"), "{}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
}

#[test]
fn a_push_of_several_refs_is_judged_in_one_scan() {
    let repo = repo();
    let remote = tempfile::tempdir().unwrap();
    git_in(remote.path(), &["init", "-q", "--bare"]);
    repo.git(&["remote", "add", "origin", remote.path().to_str().unwrap()]);
    repo.git(&["push", "-q", "origin", "main"]);
    let path = repo.path().to_str().unwrap();
    let run = keyhound(&["install-hook", path, "--hook", "pre-push"], None, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);

    let secret = Tokens::new(14).api();
    repo.git(&["checkout", "-q", "-b", "feat"]);
    repo.write("feat.env", &format!("T={secret}\n"));
    repo.commit("feat");
    repo.git(&["tag", "v1"]);
    repo.git(&["checkout", "-q", "main"]);
    repo.write("docs.md", "# docs\n");
    repo.commit("docs");

    let (pushed, said) = hooked_git(&repo, &["push", "-q", "origin", "main", "feat", "v1"]);
    assert!(
        !pushed,
        "a secret on one of the pushed refs got through:\n{said}"
    );
    let words = said.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(words.contains("feat.env:1"), "{said}");
    assert_eq!(
        said.matches("feat.env:1").count(),
        1,
        "one finding, not one per ref:\n{said}"
    );
    assert!(!said.contains(&secret), "raw secret printed");
}

/// Scripts, CI jobs and GUIs run the hook's command with nothing on standard input: that once
/// passed silently while the same command at a terminal found the secret.
#[test]
fn pre_push_with_no_refs_on_stdin_scans_what_the_remote_lacks_and_says_so() {
    let repo = repo();
    let remote = tempfile::tempdir().unwrap();
    git_in(remote.path(), &["init", "-q", "--bare"]);
    repo.git(&["remote", "add", "origin", remote.path().to_str().unwrap()]);
    repo.git(&["push", "-q", "origin", "main"]);
    let secret = Tokens::new(15).api();
    repo.write("notes.txt", &format!("token {secret}\n"));
    repo.commit("add");
    repo.write("notes.txt", "token in the vault\n");
    repo.commit("remove");

    let path = repo.path().to_str().unwrap();
    let run = keyhound(&["pre-push", "--repo", path], Some(""), &[&secret]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stdout.contains("notes.txt"), "{}", run.stdout);
    assert!(
        run.stderr.contains("no refs to push on standard input"),
        "{}",
        run.stderr
    );

    // Only deletions on standard input: nothing is sent, nothing is scanned.
    let deletion = format!(
        "(delete) {} refs/heads/old {}\n",
        "0".repeat(40),
        "1".repeat(40)
    );
    let run = keyhound(&["pre-push", "--repo", path], Some(&deletion), &[&secret]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}
