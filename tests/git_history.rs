//! `keyhound git` over real repositories built with the git CLI in temp dirs: history-only
//! secrets, one finding per secret with its other locations, merges, renames, tag-only commits,
//! bare, shallow and worktree checkouts, submodules, commit ranges, binary blobs, and a "git
//! bomb" of duplicated trees.
//!
//! The scans use a config with a single Stripe-style rule (and no built-in pack), so what they
//! find does not change as the rule pack grows. Tokens are generated at run time.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use assert_cmd::Command as BinCommand;
use serde_json::Value;
use tempfile::TempDir;

mod common_git;
use common_git::{fingerprint, Git, Tokens, STRIPE_CONFIG};

const RULE_ID: &str = "stripe-live-secret-key";

/// A workspace: a temp dir holding the config and one or more repositories.
struct Workspace {
    dir: TempDir,
    /// Git with commit dates one day apart, so they are predictable.
    git: Git,
}

impl Workspace {
    fn new() -> Workspace {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("keyhound.toml"), STRIPE_CONFIG).unwrap();
        Workspace {
            dir,
            git: Git::dated(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn config(&self) -> PathBuf {
        self.path("keyhound.toml")
    }

    /// Initialises `name` with branch `main`.
    fn init(&self, name: &str) -> PathBuf {
        let repo = self.path(name);
        fs::create_dir_all(&repo).unwrap();
        self.git.run(&repo, &["init", "-q", "-b", "main"]);
        repo
    }

    /// Runs `keyhound git` with this workspace's config and JSON output.
    fn scan(&self, target: &Path, extra: &[&str]) -> Scan {
        let mut cmd = BinCommand::cargo_bin("keyhound").unwrap();
        cmd.arg("git")
            .arg(target)
            .args(extra)
            .arg("--config")
            .arg(self.config())
            .args(["--format", "json", "--no-progress"])
            .env_remove("GIT_DIR");
        let out = cmd.output().unwrap();
        Scan {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

struct Scan {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Scan {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\n{}", self.stdout, self.stderr))
    }

    fn findings(&self) -> Vec<Value> {
        self.json()["findings"].as_array().unwrap().clone()
    }

    /// The finding for `secret`, which must be the only one with its fingerprint.
    fn finding_for(&self, secret: &str) -> Value {
        let sha = fingerprint(secret);
        let matching: Vec<Value> = self
            .findings()
            .into_iter()
            .filter(|f| f["secret"]["sha256"] == sha.as_str())
            .collect();
        assert_eq!(matching.len(), 1, "findings for one secret: {matching:#?}");
        matching.into_iter().next().unwrap()
    }

    /// No output may carry a raw secret.
    fn assert_hides(&self, secrets: &[&str]) {
        for secret in secrets {
            assert!(!self.stdout.contains(secret), "raw secret on stdout");
            assert!(!self.stderr.contains(secret), "raw secret on stderr");
        }
    }
}

fn other_locations(finding: &Value) -> Vec<(String, String, u64)> {
    finding["commit"]["other_locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["commit"].as_str().unwrap().to_string(),
                o["path"].as_str().unwrap().to_string(),
                o["line"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn secret_deleted_later_is_reported_from_history_with_its_commit() {
    let ws = Workspace::new();
    let mut tokens = Tokens::new(1);
    let secret = tokens.live();
    let repo = ws.init("repo");
    ws.git
        .commit(&repo, "Initial commit", &[("README.md", "# demo\n")]);
    let day = ws.git.next_day().unwrap();
    let added = ws.git.commit(
        &repo,
        "Add payment settings\n\nBody text.",
        &[(
            "app/settings.py",
            &format!("DEBUG = False\n\nSTRIPE_KEY = \"{secret}\"\n"),
        )],
    );
    fs::remove_file(repo.join("app/settings.py")).unwrap();
    ws.git.commit(&repo, "Remove settings", &[]);

    let scan = ws.scan(&repo, &[]);
    assert_eq!(scan.code, 1, "{}", scan.stderr);
    scan.assert_hides(&[&secret]);
    let findings = scan.findings();
    assert_eq!(findings.len(), 1, "{findings:#?}");
    let f = &findings[0];
    assert_eq!(f["rule"], RULE_ID);
    assert_eq!(f["location"]["path"], "app/settings.py");
    assert_eq!(f["location"]["line"], 3);
    assert_eq!(f["location"]["column"], 15);
    let commit = &f["commit"];
    assert_eq!(commit["id"], added.as_str());
    assert_eq!(commit["author"], "Alice Example");
    assert_eq!(commit["email"], "alice@example.com");
    assert_eq!(commit["date"], Git::date_of_day(day).as_str());
    assert_eq!(commit["summary"], "Add payment settings");
    assert_eq!(commit["present_at_head"], false);
    assert_eq!(commit["still_in"], serde_json::json!([]));
    assert_eq!(commit["other_locations"], serde_json::json!([]));
    let first_step = f["remediation"]["steps"][0].as_str().unwrap();
    assert!(first_step.contains("git history"), "{first_step}");
    assert_eq!(scan.json()["summary"]["findings"], 1);
}

/// A secret deleted on the checked-out branch but still at the tip of another was reported as
/// "removed before HEAD", as if cleaning up were done.
#[test]
fn a_secret_gone_from_head_but_on_another_branch_says_which() {
    let ws = Workspace::new();
    let secret = Tokens::new(31).live();
    let repo = ws.init("repo");
    ws.git
        .commit(&repo, "Key", &[("app.env", &format!("STRIPE={secret}\n"))]);
    ws.git.run(&repo, &["branch", "release"]);
    ws.git.run(&repo, &["tag", "v1"]);
    fs::remove_file(repo.join("app.env")).unwrap();
    ws.git.commit(&repo, "Remove key", &[]);

    let scan = ws.scan(&repo, &[]);
    assert_eq!(scan.code, 1, "{}", scan.stderr);
    let commit = &scan.finding_for(&secret)["commit"];
    assert_eq!(commit["present_at_head"], false);
    assert_eq!(commit["still_in"], serde_json::json!(["release", "v1"]));

    let human = BinCommand::cargo_bin("keyhound")
        .unwrap()
        .arg("git")
        .arg(&repo)
        .arg("--config")
        .arg(ws.config())
        .args(["--format", "human", "--color", "never"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&human.stdout);
    let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        words.contains("not in HEAD; still in release, v1"),
        "{text}"
    );
}

#[test]
fn one_secret_in_many_commits_and_branches_is_one_finding_with_other_locations() {
    let ws = Workspace::new();
    let mut tokens = Tokens::new(2);
    let secret = tokens.live();
    let repo = ws.init("repo");
    let first = ws.git.commit(
        &repo,
        "Add env",
        &[("config/app.env", &format!("STRIPE={secret}\n"))],
    );
    let second = ws.git.commit(
        &repo,
        "Add a setting above",
        &[("config/app.env", &format!("MODE=live\nSTRIPE={secret}\n"))],
    );
    // Unrelated commits that keep the same blob must not add locations.
    for i in 0..5 {
        ws.git.commit(
            &repo,
            &format!("Docs {i}"),
            &[("docs.md", &format!("v{i}\n"))],
        );
    }
    ws.git.run(&repo, &["checkout", "-q", "-b", "deploy"]);
    let on_branch = ws.git.commit(
        &repo,
        "Deploy script",
        &[(
            "deploy/run.sh",
            &format!("#!/bin/sh\n# deploy\nexport STRIPE_KEY={secret}\n"),
        )],
    );
    ws.git.run(&repo, &["checkout", "-q", "main"]);
    ws.git.commit(&repo, "More docs", &[("docs.md", "final\n")]);

    let scan = ws.scan(&repo, &[]);
    assert_eq!(scan.code, 1, "{}", scan.stderr);
    scan.assert_hides(&[&secret]);
    assert_eq!(scan.findings().len(), 1);
    let f = scan.finding_for(&secret);
    assert_eq!(f["location"]["path"], "config/app.env");
    assert_eq!(f["location"]["line"], 1);
    assert_eq!(f["commit"]["id"], first.as_str());
    assert_eq!(f["commit"]["present_at_head"], true);
    let mut others = other_locations(&f);
    others.sort();
    let mut expected = vec![
        (second, "config/app.env".to_string(), 2),
        (on_branch, "deploy/run.sh".to_string(), 3),
    ];
    expected.sort();
    assert_eq!(others, expected);
}

#[test]
fn merges_and_renames_keep_the_introducing_commit() {
    let ws = Workspace::new();
    let mut tokens = Tokens::new(3);
    let (side_secret, merge_secret) = (tokens.live(), tokens.live());
    let repo = ws.init("repo");
    ws.git.commit(&repo, "Base", &[("main.txt", "base\n")]);
    ws.git.run(&repo, &["checkout", "-q", "-b", "side"]);
    let on_side = ws.git.commit(
        &repo,
        "Side work",
        &[("side/keys.txt", &format!("one\ntwo\nkey {side_secret}\n"))],
    );
    ws.git.run(&repo, &["checkout", "-q", "main"]);
    ws.git
        .commit(&repo, "Main work", &[("main.txt", "base\nmore\n")]);
    // An "evil merge": the merge commit itself adds content that neither parent has.
    ws.git
        .run(&repo, &["merge", "-q", "--no-ff", "--no-commit", "side"]);
    fs::write(repo.join("merged.cfg"), format!("token={merge_secret}\n")).unwrap();
    ws.git.run(&repo, &["add", "merged.cfg"]);
    let merge = ws.git.commit_staged(&repo, "Merge side");
    // A pure rename keeps the blob: still the same secret, still at HEAD.
    ws.git
        .run(&repo, &["mv", "side/keys.txt", "keys-renamed.txt"]);
    ws.git.commit_staged(&repo, "Rename keys");

    let scan = ws.scan(&repo, &[]);
    assert_eq!(scan.code, 1, "{}", scan.stderr);
    scan.assert_hides(&[&side_secret, &merge_secret]);
    assert_eq!(scan.findings().len(), 2);
    let side = scan.finding_for(&side_secret);
    assert_eq!(side["commit"]["id"], on_side.as_str());
    assert_eq!(side["location"]["path"], "side/keys.txt");
    assert_eq!(side["location"]["line"], 3);
    assert_eq!(side["commit"]["present_at_head"], true);
    let merged = scan.finding_for(&merge_secret);
    assert_eq!(merged["commit"]["id"], merge.as_str());
    assert_eq!(merged["commit"]["summary"], "Merge side");
    assert_eq!(merged["location"]["path"], "merged.cfg");
}

#[test]
fn commit_reachable_only_from_a_tag_is_scanned_by_default() {
    let ws = Workspace::new();
    let mut tokens = Tokens::new(4);
    let secret = tokens.live();
    let repo = ws.init("repo");
    ws.git.commit(&repo, "Base", &[("a.txt", "a\n")]);
    ws.git.run(&repo, &["checkout", "-q", "--detach"]);
    let tagged = ws.git.commit(
        &repo,
        "Release build",
        &[("build.cfg", &format!("k={secret}\n"))],
    );
    ws.git.run(&repo, &["tag", "-a", "v1.0", "-m", "v1.0"]);
    ws.git.run(&repo, &["checkout", "-q", "main"]);

    let scan = ws.scan(&repo, &[]);
    assert_eq!(scan.code, 1, "{}", scan.stderr);
    scan.assert_hides(&[&secret]);
    let f = scan.finding_for(&secret);
    assert_eq!(f["commit"]["id"], tagged.as_str());
    assert_eq!(f["commit"]["present_at_head"], false);

    let only_main = ws.scan(&repo, &["--branch", "main"]);
    assert_eq!(only_main.code, 0, "{}", only_main.stdout);
    assert!(only_main.findings().is_empty());
    let by_ref = ws.scan(&repo, &["--ref", "v1.0"]);
    assert_eq!(by_ref.code, 1);
    assert_eq!(by_ref.finding_for(&secret)["commit"]["id"], tagged.as_str());
}

#[test]
fn remote_tracking_branches_are_scanned_by_default_and_pull_refs_only_with_all() {
    let ws = Workspace::new();
    let mut tokens = Tokens::new(11);
    let (secret, in_pull) = (tokens.live(), tokens.live());
    let upstream = ws.init("upstream");
    ws.git.commit(&upstream, "Base", &[("a.txt", "a\n")]);
    ws.git.run(&upstream, &["checkout", "-q", "-b", "feature"]);
    let on_feature = ws
        .git
        .commit(&upstream, "Feature", &[("f.env", &format!("K={secret}\n"))]);
    ws.git.run(&upstream, &["checkout", "-q", "main"]);
    ws.git.run(
        ws.dir.path(),
        &["clone", "-q", upstream.to_str().unwrap(), "clone"],
    );
    let clone = ws.path("clone");
    // A pull request's head, as a mirror of a GitHub repository holds it.
    ws.git.run(&clone, &["checkout", "-q", "--detach"]);
    let pull = ws
        .git
        .commit(&clone, "PR", &[("p.env", &format!("K={in_pull}\n"))]);
    ws.git
        .run(&clone, &["update-ref", "refs/pull/7/head", &pull]);
    ws.git.run(&clone, &["checkout", "-q", "main"]);

    for args in [&[][..], &["--all"][..], &["--branch", "origin/feature"][..]] {
        let scan = ws.scan(&clone, args);
        assert_eq!(scan.code, 1, "{args:?}: {}", scan.stderr);
        scan.assert_hides(&[&secret, &in_pull]);
        assert_eq!(
            scan.finding_for(&secret)["commit"]["id"],
            on_feature.as_str()
        );
        let pulled = scan
            .findings()
            .iter()
            .any(|f| f["secret"]["sha256"] == fingerprint(&in_pull).as_str());
        assert_eq!(
            pulled,
            args == ["--all"],
            "{args:?}: refs/pull/* only with --all"
        );
    }
}

#[test]
fn bare_clone_and_linked_worktree_are_scanned() {
    let ws = Workspace::new();
    let mut tokens = Tokens::new(5);
    let secret = tokens.live();
    let repo = ws.init("repo");
    let added = ws
        .git
        .commit(&repo, "Add key", &[("k.env", &format!("KEY={secret}\n"))]);
    ws.git.commit(&repo, "Later", &[("b.txt", "b\n")]);
    let bare = ws.path("bare.git");
    ws.git.run(
        ws.dir.path(),
        &["clone", "-q", "--bare", repo.to_str().unwrap(), "bare.git"],
    );
    let linked = ws.path("linked");
    ws.git
        .run(&repo, &["worktree", "add", "-q", linked.to_str().unwrap()]);

    for target in [
        &bare,
        &linked,
        &linked.join("k.env").parent().unwrap().to_path_buf(),
    ] {
        let scan = ws.scan(target, &[]);
        assert_eq!(scan.code, 1, "{}: {}", target.display(), scan.stderr);
        scan.assert_hides(&[&secret]);
        let f = scan.finding_for(&secret);
        assert_eq!(f["commit"]["id"], added.as_str());
        assert_eq!(f["location"]["path"], "k.env");
        assert_eq!(f["commit"]["present_at_head"], true);
    }
}

#[test]
fn shallow_clone_says_history_is_cut_and_a_range_past_the_cut_fails() {
    let ws = Workspace::new();
    let mut tokens = Tokens::new(6);
    let (old, current) = (tokens.live(), tokens.live());
    let repo = ws.init("repo");
    let first = ws
        .git
        .commit(&repo, "Old key", &[("old.env", &format!("K={old}\n"))]);
    fs::remove_file(repo.join("old.env")).unwrap();
    ws.git.commit(&repo, "Drop old key", &[]);
    ws.git.commit(
        &repo,
        "Current key",
        &[("new.env", &format!("K={current}\n"))],
    );
    let url = format!("file://{}", repo.display());
    ws.git.run(
        ws.dir.path(),
        &["clone", "-q", "--depth", "1", &url, "shallow"],
    );
    let shallow = ws.path("shallow");

    let scan = ws.scan(&shallow, &[]);
    assert_eq!(scan.code, 1, "{}", scan.stderr);
    scan.assert_hides(&[&old, &current]);
    assert!(scan.stderr.contains("shallow clone"), "{}", scan.stderr);
    assert!(scan.stderr.contains("history is cut"), "{}", scan.stderr);
    assert_eq!(scan.findings().len(), 1, "only HEAD's secret is visible");
    scan.finding_for(&current);

    {
        let range = format!("{first}..HEAD");
        let args = ["--range", range.as_str()];
        let failed = ws.scan(&shallow, &args);
        assert_eq!(failed.code, 2, "{args:?}: {}", failed.stdout);
        assert!(
            failed.stdout.is_empty(),
            "no report on error: {}",
            failed.stdout
        );
        assert!(failed.stderr.contains(&first), "{}", failed.stderr);
        assert!(
            failed.stderr.contains("fetch-depth: 0"),
            "{}",
            failed.stderr
        );
        failed.assert_hides(&[&old, &current]);
    }
}

#[test]
fn range_reports_only_blobs_new_in_the_range() {
    let ws = Workspace::new();
    let mut tokens = Tokens::new(7);
    let (old, new) = (tokens.live(), tokens.live());
    let repo = ws.init("repo");
    ws.git
        .commit(&repo, "Old key", &[("a.env", &format!("A={old}\n"))]);
    let base = ws.git.commit(&repo, "Docs", &[("README.md", "readme\n")]);
    // A copy of a blob the base already has is not new, wherever it lands.
    let added = ws.git.commit(
        &repo,
        "New key and a copy",
        &[
            ("b.env", &format!("B={new}\n")),
            ("copy/a.env", &format!("A={old}\n")),
        ],
    );
    ws.git.commit(&repo, "More", &[("README.md", "readme 2\n")]);

    // Commits are dated one day apart from 2024-03-01: the third, "New key and a copy", is the
    // first on 2024-03-03.
    for args in [
        vec!["--range", &format!("{base}..HEAD")],
        vec!["--since", "2024-03-03"],
        vec!["--since", "2024-03-03T00:00:00+01:00", "--all"],
    ] {
        let args: Vec<&str> = args.iter().map(|s| s.as_ref()).collect();
        let scan = ws.scan(&repo, &args);
        assert_eq!(scan.code, 1, "{args:?}: {}", scan.stderr);
        scan.assert_hides(&[&old, &new]);
        let findings = scan.findings();
        assert_eq!(findings.len(), 1, "{findings:#?}");
        let f = scan.finding_for(&new);
        assert_eq!(f["commit"]["id"], added.as_str());
        assert_eq!(f["location"]["path"], "b.env");
    }

    let until = ws.scan(&repo, &["--until", "2024-03-02T23:59:59Z"]);
    assert_eq!(until.code, 1, "{}", until.stderr);
    assert_eq!(until.findings().len(), 1);
    assert_eq!(until.finding_for(&old)["location"]["path"], "a.env");
    let later = ws.scan(&repo, &["--since", "2024-03-04"]);
    assert_eq!(later.code, 0, "{}", later.stderr);
    assert!(
        later.stderr.contains("committed since 2024-03-04"),
        "the summary says what was scanned: {}",
        later.stderr
    );
    let a_ref = ws.scan(&repo, &["--since", &base]);
    assert_eq!(a_ref.code, 2);
    assert!(
        a_ref.stderr.contains("--range REV..HEAD"),
        "{}",
        a_ref.stderr
    );

    let empty = ws.scan(&repo, &["--range", "HEAD..HEAD"]);
    assert_eq!(empty.code, 0, "{}", empty.stderr);
    let unknown = ws.scan(&repo, &["--range", "no-such-ref..HEAD"]);
    assert_eq!(unknown.code, 2);
    assert!(unknown.stderr.contains("no-such-ref"), "{}", unknown.stderr);
    let unknown_branch = ws.scan(&repo, &["--branch", "nope"]);
    assert_eq!(unknown_branch.code, 2);
    assert!(
        unknown_branch.stderr.contains("nope"),
        "{}",
        unknown_branch.stderr
    );
}

#[test]
fn binary_blob_is_scanned_in_its_printable_runs_and_submodule_is_noted() {
    let ws = Workspace::new();
    let mut tokens = Tokens::new(8);
    let secret = tokens.live();
    let repo = ws.init("repo");
    let mut binary = b"\x7fELF\x02\x01\x01\0\0\0\0".to_vec();
    binary.extend_from_slice(format!("key={secret}\n").as_bytes());
    fs::write(repo.join("tool.bin"), &binary).unwrap();
    ws.git.run(&repo, &["add", "tool.bin"]);
    let any_commit = ws.git.commit_staged(&repo, "Add binary");
    // A gitlink (submodule entry) points at a commit of another repository.
    ws.git.run(
        &repo,
        &[
            "update-index",
            "--add",
            "--cacheinfo",
            &format!("160000,{any_commit},vendor/lib"),
        ],
    );
    ws.git.commit_staged(&repo, "Add submodule");

    let scan = ws.scan(&repo, &[]);
    // A NUL near the start once hid the whole blob.
    assert_eq!(scan.code, 1, "{}\n{}", scan.stdout, scan.stderr);
    scan.assert_hides(&[&secret]);
    let json = scan.json();
    assert_eq!(scan.finding_for(&secret)["location"]["path"], "tool.bin");
    assert_eq!(json["summary"]["skipped"], 0);
    assert_eq!(json["summary"]["files"], 1);
    assert!(
        scan.stderr.contains("vendor/lib is a submodule"),
        "{}",
        scan.stderr
    );
}

/// A "git bomb": ten entries per level all pointing at the same subtree, eight levels deep,
/// is 10^8 paths to a naive walker; skipping seen trees keeps the walk to nine trees.
#[test]
fn git_bomb_of_duplicated_trees_is_walked_once() {
    let ws = Workspace::new();
    let mut tokens = Tokens::new(9);
    let secret = tokens.live();
    let repo = ws.init("repo");
    fs::write(repo.join("leaf.txt"), format!("k={secret}\n")).unwrap();
    let blob = ws.git.run(&repo, &["hash-object", "-w", "leaf.txt"]);
    fs::remove_file(repo.join("leaf.txt")).unwrap();
    let mut entry = format!("100644 blob {blob}\tleaf.txt\n");
    for _ in 0..8 {
        let tree = mktree(&repo, &entry);
        entry = (0..10)
            .map(|i| format!("040000 tree {tree}\td{i}\n"))
            .collect();
    }
    let root = mktree(&repo, &entry);
    let commit = ws.git.run(&repo, &["commit-tree", &root, "-m", "bomb"]);
    ws.git
        .run(&repo, &["update-ref", "refs/heads/main", &commit]);

    let started = std::time::Instant::now();
    let scan = ws.scan(&repo, &[]);
    assert!(started.elapsed().as_secs() < 30, "walk was not linear");
    assert_eq!(scan.code, 1, "{}", scan.stderr);
    scan.assert_hides(&[&secret]);
    let f = scan.finding_for(&secret);
    assert_eq!(f["location"]["path"], "d0/d0/d0/d0/d0/d0/d0/d0/leaf.txt");
    assert_eq!(f["commit"]["present_at_head"], true);
    assert_eq!(scan.json()["summary"]["files"], 1);
}

fn mktree(repo: &Path, entries: &str) -> String {
    use std::io::Write;
    let mut child = Command::new("git")
        .current_dir(repo)
        .arg("mktree")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(entries.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn human_report_names_the_commit() {
    let ws = Workspace::new();
    let mut tokens = Tokens::new(10);
    let secret = tokens.live();
    let repo = ws.init("repo");
    let added = ws
        .git
        .commit(&repo, "Add key", &[("k.env", &format!("KEY={secret}\n"))]);
    let out = BinCommand::cargo_bin("keyhound")
        .unwrap()
        .arg("git")
        .arg(&repo)
        .arg("--config")
        .arg(ws.config())
        .args(["--color", "never"])
        .env("CI", "true")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(!stdout.contains(&secret) && !stderr.contains(&secret));
    assert!(
        stdout.contains(&format!("introduced in {}", &added[..12])),
        "{stdout}"
    );
    assert!(stdout.contains("(still in HEAD)"), "{stdout}");
    assert!(stderr.contains("git history of"), "{stderr}");
}

/// The path of a loose object.
fn loose_object(repo: &Path, id: &str) -> PathBuf {
    repo.join(".git/objects").join(&id[..2]).join(&id[2..])
}

/// A blob whose object is missing (a partial clone, a broken copy) or corrupt is reported by
/// id, the rest of the history is still scanned, and the exit code says something was unread.
#[test]
fn missing_and_corrupt_objects_are_reported_and_the_scan_goes_on() {
    let ws = Workspace::new();
    let mut tokens = Tokens::new(20);
    let (kept, lost, garbled) = (tokens.live(), tokens.live(), tokens.live());
    let repo = ws.init("repo");
    ws.git.commit(
        &repo,
        "Three files",
        &[
            ("kept.env", &format!("K={kept}\n")),
            ("lost.env", &format!("L={lost}\n")),
            ("garbled.env", &format!("G={garbled}\n")),
        ],
    );
    let lost_id = ws.git.run(&repo, &["rev-parse", "HEAD:lost.env"]);
    let garbled_id = ws.git.run(&repo, &["rev-parse", "HEAD:garbled.env"]);
    fs::remove_file(loose_object(&repo, &lost_id)).unwrap();
    let garbled_path = loose_object(&repo, &garbled_id);
    let mut permissions = fs::metadata(&garbled_path).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    permissions.set_readonly(false);
    fs::set_permissions(&garbled_path, permissions).unwrap();
    fs::write(&garbled_path, b"\x78\x9c not zlib at all").unwrap();

    let scan = ws.scan(&repo, &[]);
    assert_eq!(scan.code, 2, "{}", scan.stderr);
    scan.assert_hides(&[&kept, &lost, &garbled]);
    scan.finding_for(&kept);
    assert_eq!(scan.findings().len(), 1, "{}", scan.stdout);
    for id in [&lost_id, &garbled_id] {
        assert!(
            scan.stderr.contains(id.as_str()),
            "{id} not named:\n{}",
            scan.stderr
        );
    }
}

/// HEAD's tree missing (a partial clone): the secret found in older history is still reported,
/// with the tree named as unread, not lost to an error at the end.
#[test]
fn an_unreadable_head_tree_keeps_the_findings() {
    let ws = Workspace::new();
    let secret = Tokens::new(23).live();
    let repo = ws.init("repo");
    ws.git
        .commit(&repo, "Key", &[("k.env", &format!("K={secret}\n"))]);
    ws.git.commit(&repo, "Docs", &[("docs/a.md", "a\n")]);
    let docs_tree = ws.git.run(&repo, &["rev-parse", "HEAD:docs"]);
    fs::remove_file(loose_object(&repo, &docs_tree)).unwrap();

    let scan = ws.scan(&repo, &[]);
    assert_eq!(scan.code, 2, "{}", scan.stderr);
    scan.assert_hides(&[&secret]);
    scan.finding_for(&secret);
    assert!(scan.stderr.contains(&docs_tree), "{}", scan.stderr);
}

/// A packfile damaged in the middle: objects that cannot be read are reported, never a crash.
#[test]
fn a_corrupt_packfile_is_an_error_not_a_crash() {
    let ws = Workspace::new();
    let mut tokens = Tokens::new(21);
    let repo = ws.init("repo");
    for i in 0..20 {
        let body: String = (0..200).map(|j| format!("line {i} {j}\n")).collect();
        let secret = tokens.live();
        ws.git.commit(
            &repo,
            &format!("c{i}"),
            &[(&format!("f{i}.txt"), &format!("{body}k={secret}\n"))],
        );
    }
    ws.git.run(&repo, &["gc", "-q", "--aggressive"]);
    let pack_dir = repo.join(".git/objects/pack");
    let pack = fs::read_dir(&pack_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "pack"))
        .unwrap();
    let mut bytes = fs::read(&pack).unwrap();
    let middle = bytes.len() / 2;
    for b in &mut bytes[middle..middle + 64] {
        *b ^= 0xa5;
    }
    let mut permissions = fs::metadata(&pack).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    permissions.set_readonly(false);
    fs::set_permissions(&pack, permissions).unwrap();
    fs::write(&pack, bytes).unwrap();

    let scan = ws.scan(&repo, &[]);
    assert!(
        matches!(scan.code, 1 | 2),
        "exit {}: {}",
        scan.code,
        scan.stderr
    );
    assert!(!scan.stderr.contains("panicked"), "{}", scan.stderr);
    // Whatever could be read was scanned and reported as JSON.
    scan.json();
}

/// Tens of thousands of refs (tags on every commit of a long-lived repository) are walked
/// once: the commits they share are not walked again.
#[test]
fn a_huge_number_of_refs_is_walked_once() {
    let ws = Workspace::new();
    let secret = Tokens::new(22).live();
    let repo = ws.init("repo");
    let first = ws
        .git
        .commit(&repo, "Secret", &[("s.env", &format!("S={secret}\n"))]);
    let second = ws.git.commit(&repo, "More", &[("t.txt", "text\n")]);
    let mut packed = String::from("# pack-refs with: peeled fully-peeled sorted\n");
    let mut refs: Vec<String> = (0..30_000)
        .map(|i| {
            let id = if i % 2 == 0 { &first } else { &second };
            format!("{id} refs/tags/t{i:05}\n")
        })
        .collect();
    refs.sort_by(|a, b| a[41..].cmp(&b[41..]));
    packed.extend(refs);
    fs::write(repo.join(".git/packed-refs"), packed).unwrap();

    let started = std::time::Instant::now();
    let scan = ws.scan(&repo, &[]);
    assert_eq!(scan.code, 1, "{}", scan.stderr);
    assert_eq!(scan.findings().len(), 1);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "30,000 refs took {:?}",
        started.elapsed()
    );
}

/// How a blob lands at a vendored path and at a path no allowlist covers.
#[derive(Debug, Clone, Copy)]
enum CopyOrder {
    SameCommit,
    VendoredFirst,
    VendoredLast,
}

/// Regression (issue 15, item 4): each blob was scanned once under the first path it was seen
/// at, so a secret first committed under `vendor/` (allowlisted by default) was never reported
/// at `config/prod.env`, where the same blob also lives. Whole directories copied out of
/// `vendor/` (the same tree object at two paths) are covered too.
#[test]
fn blob_at_an_allowlisted_path_is_still_reported_where_it_is_not_allowlisted() {
    let cases = [
        ("vendor/x.env", "config/prod.env"),
        ("vendor/pkg/prod.env", "config/pkg/prod.env"),
        ("node_modules/lib/prod.env", "lib/prod.env"),
    ];
    for (n, (vendored, exposed)) in cases.into_iter().enumerate() {
        for order in [
            CopyOrder::SameCommit,
            CopyOrder::VendoredFirst,
            CopyOrder::VendoredLast,
        ] {
            let ws = Workspace::new();
            let mut tokens = Tokens::new(40 + n as u64);
            let secret = tokens.live();
            let content = format!("STRIPE={secret}\n");
            let repo = ws.init("repo");
            ws.git.commit(&repo, "Readme", &[("README.md", "# demo\n")]);
            let introduced = match order {
                CopyOrder::SameCommit => ws.git.commit(
                    &repo,
                    "Both",
                    &[(vendored, content.as_str()), (exposed, content.as_str())],
                ),
                CopyOrder::VendoredFirst => {
                    ws.git
                        .commit(&repo, "Vendor", &[(vendored, content.as_str())]);
                    ws.git.commit(&repo, "Copy", &[(exposed, content.as_str())])
                }
                CopyOrder::VendoredLast => {
                    let first = ws.git.commit(&repo, "Add", &[(exposed, content.as_str())]);
                    ws.git
                        .commit(&repo, "Vendor", &[(vendored, content.as_str())]);
                    first
                }
            };
            let scan = ws.scan(&repo, &[]);
            let case = format!("{vendored} / {exposed}, {order:?}");
            assert_eq!(scan.code, 1, "{case}: {}", scan.stderr);
            scan.assert_hides(&[&secret]);
            assert_eq!(scan.findings().len(), 1, "{case}");
            let f = scan.finding_for(&secret);
            assert_eq!(f["location"]["path"], exposed, "{case}");
            assert_eq!(f["commit"]["id"], introduced.as_str(), "{case}");
            assert_eq!(other_locations(&f), [], "{case}: no allowlisted location");
        }
    }
}

#[test]
fn blob_only_ever_at_allowlisted_paths_is_not_reported() {
    let ws = Workspace::new();
    let mut tokens = Tokens::new(45);
    let secret = tokens.live();
    let content = format!("STRIPE={secret}\n");
    let repo = ws.init("repo");
    ws.git.commit(
        &repo,
        "Vendor",
        &[
            ("vendor/x.env", content.as_str()),
            ("web/node_modules/y/x.env", content.as_str()),
        ],
    );
    ws.git.commit(
        &repo,
        "Vendor again",
        &[("vendor/z/x.env", content.as_str())],
    );
    ws.git.commit(&repo, "Readme", &[("README.md", "# demo\n")]);
    let scan = ws.scan(&repo, &[]);
    assert_eq!(scan.code, 0, "{}\n{}", scan.stdout, scan.stderr);
    assert_eq!(scan.findings().len(), 0);
    assert_eq!(scan.json()["summary"]["files"], 1, "only README.md is read");
}

/// Another blob of the same secret at an allowlisted path is not listed among the finding's
/// other locations.
#[test]
fn other_locations_list_only_paths_no_allowlist_covers() {
    let ws = Workspace::new();
    let mut tokens = Tokens::new(46);
    let secret = tokens.live();
    let repo = ws.init("repo");
    let added = ws.git.commit(
        &repo,
        "Add",
        &[
            ("config/prod.env", &format!("STRIPE={secret}\n")),
            (
                "vendor/lib/settings.env",
                &format!("# copy\nSTRIPE={secret}\n"),
            ),
        ],
    );
    let copied = ws.git.commit(
        &repo,
        "Copy",
        &[(
            "deploy/run.sh",
            &format!("#!/bin/sh\nexport STRIPE={secret}\n"),
        )],
    );
    let scan = ws.scan(&repo, &[]);
    assert_eq!(scan.code, 1, "{}", scan.stderr);
    let f = scan.finding_for(&secret);
    assert_eq!(f["location"]["path"], "config/prod.env");
    assert_eq!(f["commit"]["id"], added.as_str());
    assert_eq!(
        other_locations(&f),
        [(copied, "deploy/run.sh".to_string(), 2)]
    );
}

/// A range scan: a blob the base has only under `vendor/` is new in the range when the range
/// copies it to a path no allowlist covers; a copy into another vendored path is not.
#[test]
fn range_reports_a_vendored_blob_copied_out_in_the_range() {
    let ws = Workspace::new();
    let mut tokens = Tokens::new(47);
    let secret = tokens.live();
    let content = format!("STRIPE={secret}\n");
    let repo = ws.init("repo");
    let base = ws
        .git
        .commit(&repo, "Vendor", &[("vendor/pkg/x.env", content.as_str())]);
    ws.git.commit(
        &repo,
        "Vendor elsewhere",
        &[("third_party/vendor/pkg/x.env", content.as_str())],
    );
    let quiet = ws.scan(&repo, &["--range", &format!("{base}..HEAD")]);
    assert_eq!(quiet.code, 0, "{}\n{}", quiet.stdout, quiet.stderr);

    let copied = ws
        .git
        .commit(&repo, "Copy out", &[("app/pkg/x.env", content.as_str())]);
    let scan = ws.scan(&repo, &["--range", &format!("{base}..HEAD")]);
    assert_eq!(scan.code, 1, "{}", scan.stderr);
    scan.assert_hides(&[&secret]);
    let f = scan.finding_for(&secret);
    assert_eq!(f["location"]["path"], "app/pkg/x.env");
    assert_eq!(f["commit"]["id"], copied.as_str());
}

/// A "git bomb" under `vendor/`: every copy of every tree sits at a new allowlisted path, so
/// walking trees again per path would be exponential. The walk stays bounded: past a budget,
/// path allowlists are waived (the secret is reported, with a note; a range scan that can no
/// longer follow its base's vendored blobs fails) rather than the walk exploding or the copy
/// outside `vendor/` going unseen.
#[test]
fn git_bomb_under_an_allowlisted_path_stays_bounded() {
    let ws = Workspace::new();
    let mut tokens = Tokens::new(48);
    let secret = tokens.live();
    let repo = ws.init("repo");
    fs::write(repo.join("leaf.txt"), format!("k={secret}\n")).unwrap();
    let blob = ws.git.run(&repo, &["hash-object", "-w", "leaf.txt"]);
    fs::remove_file(repo.join("leaf.txt")).unwrap();
    let mut entry = format!("100644 blob {blob}\tleaf.txt\n");
    for _ in 0..8 {
        let tree = mktree(&repo, &entry);
        entry = (0..10)
            .map(|i| format!("040000 tree {tree}\td{i}\n"))
            .collect();
    }
    let bomb = mktree(&repo, &entry);
    let vendor = mktree(&repo, &format!("040000 tree {bomb}\tvendor\n"));
    let first = ws.git.run(&repo, &["commit-tree", &vendor, "-m", "bomb"]);
    let root = mktree(
        &repo,
        &format!("040000 tree {bomb}\tvendor\n040000 tree {bomb}\tsrc\n"),
    );
    let second = ws
        .git
        .run(&repo, &["commit-tree", &root, "-p", &first, "-m", "copy"]);
    ws.git
        .run(&repo, &["update-ref", "refs/heads/main", &second]);

    let started = std::time::Instant::now();
    let scan = ws.scan(&repo, &[]);
    assert!(started.elapsed().as_secs() < 60, "walk was not bounded");
    assert_eq!(scan.code, 1, "{}", scan.stderr);
    scan.assert_hides(&[&secret]);
    assert!(
        scan.stderr.contains("path allowlists were not applied"),
        "{}",
        scan.stderr
    );

    // A range whose base holds the bomb: the copy to src/ cannot be followed once allowlists
    // are waived, so the check fails instead of passing.
    let range = ws.scan(&repo, &["--range", &format!("{first}..{second}")]);
    assert_eq!(range.code, 2, "{}\n{}", range.stdout, range.stderr);
    assert!(
        range.stderr.contains("could not be followed"),
        "{}",
        range.stderr
    );
}

/// `keyhound staged` shares the rule: a file moved as it was (`git mv`) adds no line, unless
/// it was moved out of an allowlisted path, where its lines were never reported.
#[test]
fn staged_move_out_of_an_allowlisted_path_is_judged_whole() {
    let ws = Workspace::new();
    let mut tokens = Tokens::new(49);
    let secret = tokens.live();
    let repo = ws.init("repo");
    let content = |name: &str| format!("# {name}\nSTRIPE={secret}\n");
    ws.git.commit(
        &repo,
        "Vendor and config",
        &[
            ("vendor/pkg/x.env", &content("x")),
            ("config/old.env", &content("old")),
            ("vendor/lib/y.env", &content("y")),
        ],
    );
    let staged = || {
        let out = BinCommand::cargo_bin("keyhound")
            .unwrap()
            .current_dir(&repo)
            .arg("staged")
            .arg("--config")
            .arg(ws.config())
            .args(["--format", "json", "--no-progress"])
            .env_remove("GIT_DIR")
            .env_remove("GIT_INDEX_FILE")
            .output()
            .unwrap();
        Scan {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    };
    // Moved within reported paths: nothing new.
    ws.git
        .run(&repo, &["mv", "config/old.env", "config/prod.env"]);
    let scan = staged();
    assert_eq!(scan.code, 0, "{}\n{}", scan.stdout, scan.stderr);
    // A file and a whole directory moved out of vendor/, one with an edit (libgit2's
    // rename detection), one without (the fast path).
    ws.git.run(&repo, &["mv", "vendor/pkg", "app"]);
    fs::create_dir_all(repo.join("lib")).unwrap();
    ws.git.run(&repo, &["mv", "vendor/lib/y.env", "lib/y.env"]);
    fs::write(
        repo.join("lib/y.env"),
        format!("{}MODE=live\n", content("y")),
    )
    .unwrap();
    ws.git.run(&repo, &["add", "lib/y.env"]);
    let scan = staged();
    assert_eq!(scan.code, 1, "{}\n{}", scan.stdout, scan.stderr);
    scan.assert_hides(&[&secret]);
    let mut paths: Vec<String> = scan
        .findings()
        .iter()
        .map(|f| f["location"]["path"].as_str().unwrap().to_string())
        .collect();
    paths.sort();
    assert_eq!(paths, ["app/x.env", "lib/y.env"]);
}
