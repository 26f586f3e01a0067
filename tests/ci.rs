//! `keyhound ci` as a GitHub Actions job runs it: real repositories built with the git CLI (a
//! bare "origin" and clones of it where remote branches matter), fabricated event payloads, and
//! the real binary with `GITHUB_EVENT_NAME`, `GITHUB_EVENT_PATH`, `GITHUB_OUTPUT`,
//! `GITHUB_STEP_SUMMARY` and `GITHUB_WORKSPACE` pointing into a temp dir.
//!
//! The scans use a config with two Stripe-style rules (a critical live key, a low-severity test
//! key) and no built-in pack. Tokens are generated at run time from the library's `ExampleRng`.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command as BinCommand;
use serde_json::{json, Value};
use tempfile::TempDir;

mod common_git;
use common_git::{file_url, fingerprint, Git, Tokens, STRIPE_CONFIG};

/// Commits keep git's own dates: these tests read no dates.
const GIT: Git = Git::undated();

const NULL_SHA: &str = "0000000000000000000000000000000000000000";

/// The workflow notice `keyhound ci` gives when the head changes its config or ignore files.
const POLICY_NOTICE: &str = "::notice title=keyhound::";

/// A temp dir holding the config, repositories, the event payload and the files Actions
/// provides; `keyhound ci` runs in its `run/` directory.
struct Workspace {
    dir: TempDir,
}

impl Workspace {
    fn new() -> Workspace {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("keyhound.toml"), STRIPE_CONFIG).unwrap();
        fs::create_dir(dir.path().join("run")).unwrap();
        Workspace { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A repository with branch `main`.
    fn init(&self, name: &str) -> PathBuf {
        let repo = self.path(name);
        fs::create_dir_all(&repo).unwrap();
        GIT.run(&repo, &["init", "-q", "-b", "main"]);
        repo
    }

    /// A bare `origin` and a clone of it, `work`, to push from.
    fn origin_and_work(&self) -> (PathBuf, PathBuf) {
        GIT.origin_and_work(self.dir.path())
    }

    /// Clones `origin` into `name` over the git protocol, as actions/checkout fetches: only
    /// objects that some ref reaches come along.
    fn checkout(&self, origin: &Path, name: &str, extra: &[&str]) -> PathBuf {
        let mut args = vec!["clone", "-q"];
        args.extend_from_slice(extra);
        let url = file_url(origin);
        args.extend_from_slice(&[&url, name]);
        GIT.run(self.dir.path(), &args);
        self.path(name)
    }

    /// Runs `keyhound ci` on `repo` (as `GITHUB_WORKSPACE`) for `event` with `payload`, with
    /// this workspace's config.
    fn ci(&self, repo: &Path, event: &str, payload: &Value, extra: &[&str]) -> Run {
        let config = self.path("keyhound.toml");
        let mut args = vec!["--config", config.to_str().unwrap()];
        args.extend_from_slice(extra);
        self.ci_without_config(repo, event, payload, &args)
    }

    /// Runs `keyhound ci` as `ci` does, without `--config`: config and ignore files come from
    /// the repository.
    fn ci_without_config(&self, repo: &Path, event: &str, payload: &Value, extra: &[&str]) -> Run {
        let event_path = self.path("event.json");
        fs::write(&event_path, payload.to_string()).unwrap();
        let (outputs, summary) = (self.path("github_output"), self.path("step_summary"));
        let sarif = self.path("run/keyhound.sarif");
        for stale in [&outputs, &summary, &sarif] {
            let _ = fs::remove_file(stale);
        }
        let out = BinCommand::cargo_bin("keyhound")
            .unwrap()
            .current_dir(self.path("run"))
            .arg("ci")
            .args(extra)
            .env("GITHUB_EVENT_NAME", event)
            .env("GITHUB_EVENT_PATH", &event_path)
            .env("GITHUB_OUTPUT", &outputs)
            .env("GITHUB_STEP_SUMMARY", &summary)
            .env("GITHUB_WORKSPACE", repo)
            .env_remove("GIT_DIR")
            .output()
            .unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            sarif: fs::read_to_string(&sarif).ok(),
            sarif_path: sarif,
            outputs: fs::read_to_string(&outputs).unwrap_or_default(),
            summary: fs::read_to_string(&summary).unwrap_or_default(),
        }
    }
}

fn push_event(branch: &str, before: &str, after: &str) -> Value {
    json!({
        "ref": format!("refs/heads/{branch}"),
        "before": before,
        "after": after,
        "created": before == NULL_SHA,
        "forced": false,
        // Never used: GitHub truncates this list. A secret-free decoy to prove it.
        "commits": [{"id": after, "message": "decoy"}],
    })
}

fn pull_request_event(base: &str, head: &str) -> Value {
    json!({
        "number": 7,
        "pull_request": {"base": {"ref": "main", "sha": base}, "head": {"ref": "feat", "sha": head}},
    })
}

/// One run's exit code, streams and files.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    sarif: Option<String>,
    sarif_path: PathBuf,
    outputs: String,
    summary: String,
}

impl Run {
    fn sarif(&self) -> Value {
        let text = self
            .sarif
            .as_deref()
            .unwrap_or_else(|| panic!("no SARIF file written: {}\n{}", self.stdout, self.stderr));
        serde_json::from_str(text).unwrap_or_else(|e| panic!("SARIF is not JSON ({e}): {text}"))
    }

    /// Fingerprints of the SARIF results.
    fn found(&self) -> BTreeSet<String> {
        self.sarif()["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                r["partialFingerprints"]["keyhound/v1"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    }

    /// Asserts the SARIF results are exactly the findings of `secrets`, and that the
    /// annotations, job summary and step outputs agree.
    fn assert_found(&self, secrets: &[&str]) {
        let expected: BTreeSet<String> = secrets.iter().map(|s| fingerprint(s)).collect();
        assert_eq!(self.found(), expected, "{}", self.stderr);
        let results = self.sarif()["runs"][0]["results"].as_array().unwrap().len();
        assert_eq!(results, secrets.len(), "one result per secret");
        assert_eq!(
            self.stdout
                .lines()
                .filter(|l| l.starts_with("::") && !l.starts_with(POLICY_NOTICE))
                .count(),
            secrets.len(),
            "one annotation per finding: {}",
            self.stdout
        );
        let n = secrets.len();
        assert!(
            self.outputs.contains(&format!("findings={n}\n")),
            "{}",
            self.outputs
        );
        let heading = match n {
            0 => "## keyhound: no secrets found".to_string(),
            1 => "## keyhound: 1 finding ".to_string(),
            n => format!("## keyhound: {n} findings "),
        };
        assert!(self.summary.contains(&heading), "{}", self.summary);
    }

    /// No output or file may carry a raw secret.
    fn assert_hides(&self, secrets: &[&str]) {
        let files = [
            ("stdout", self.stdout.as_str()),
            ("stderr", &self.stderr),
            ("SARIF", self.sarif.as_deref().unwrap_or("")),
            ("GITHUB_OUTPUT", &self.outputs),
            ("step summary", &self.summary),
        ];
        for secret in secrets {
            for (name, text) in files {
                assert!(!text.contains(secret), "raw secret in {name}");
            }
        }
    }
}

fn short(id: &str) -> &str {
    &id[..7]
}

#[test]
fn push_reports_the_pushed_commits_and_not_older_history() {
    let ws = Workspace::new();
    let mut tokens = Tokens::new(101);
    let (old, deleted_old, new) = (tokens.live(), tokens.live(), tokens.live());
    let repo = ws.init("repo");
    GIT.commit(
        &repo,
        "Old keys",
        &[
            ("old.env", &format!("K={old}\n")),
            ("gone.env", &format!("K={deleted_old}\n")),
        ],
    );
    fs::remove_file(repo.join("gone.env")).unwrap();
    let before = GIT.commit(&repo, "Drop a key", &[]);
    GIT.commit(
        &repo,
        "New key, and a copy of an old one",
        &[
            ("new.env", &format!("N={new}\n")),
            ("copy/old.env", &format!("K={old}\n")),
        ],
    );
    let after = GIT.commit(&repo, "Docs", &[("README.md", "readme\n")]);

    let run = ws.ci(&repo, "push", &push_event("main", &before, &after), &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    run.assert_found(&[&new]);
    run.assert_hides(&[&old, &deleted_old, &new]);
    assert!(
        run.stderr.contains(&format!(
            "keyhound: push: scanning {}..{} (2 commit(s))",
            short(&before),
            short(&after)
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout.starts_with("::error file=new.env,line=1,"),
        "{}",
        run.stdout
    );
    assert!(
        run.outputs.contains("sarif-file=keyhound.sarif\n"),
        "{}",
        run.outputs
    );
    let result = &run.sarif()["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "stripe-live-secret-key");
    assert_eq!(result["properties"]["commit"], after_parent(&repo, &after));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&run.sarif_path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // Nothing new: a clean run still writes every output.
    let empty = ws.ci(&repo, "push", &push_event("main", &after, &after), &[]);
    assert_eq!(empty.code, 0, "{}", empty.stderr);
    empty.assert_found(&[]);
}

fn after_parent(repo: &Path, after: &str) -> String {
    GIT.run(repo, &["rev-parse", &format!("{after}^")])
}

#[test]
fn new_branch_push_scans_only_what_no_other_remote_branch_has() {
    let ws = Workspace::new();
    let mut tokens = Tokens::new(102);
    let (on_main, on_feat) = (tokens.live(), tokens.live());
    let (origin, work) = ws.origin_and_work();
    GIT.commit(&work, "Base", &[("main.env", &format!("M={on_main}\n"))]);
    GIT.commit(&work, "More", &[("README.md", "readme\n")]);
    GIT.run(&work, &["push", "-q", "origin", "main"]);
    GIT.run(&work, &["checkout", "-q", "-b", "feat"]);
    let feat = GIT.commit(&work, "Feature", &[("feat.env", &format!("F={on_feat}\n"))]);
    GIT.run(&work, &["push", "-q", "origin", "feat"]);

    let checkout = ws.checkout(&origin, "checkout", &["--branch", "feat"]);
    let run = ws.ci(&checkout, "push", &push_event("feat", NULL_SHA, &feat), &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    run.assert_found(&[&on_feat]);
    run.assert_hides(&[&on_main, &on_feat]);
    assert!(
        run.stderr.contains(&format!(
            "keyhound: push creating branch feat: scanning the commits of {} on no other remote \
             branch (1 commit(s))",
            short(&feat)
        )),
        "{}",
        run.stderr
    );
}

#[test]
fn first_push_of_a_repository_scans_its_whole_history() {
    let ws = Workspace::new();
    let mut tokens = Tokens::new(103);
    let (first, second) = (tokens.live(), tokens.live());
    let (origin, work) = ws.origin_and_work();
    GIT.commit(&work, "One", &[("a.env", &format!("A={first}\n"))]);
    fs::remove_file(work.join("a.env")).unwrap();
    GIT.commit(&work, "Two", &[]);
    let head = GIT.commit(&work, "Three", &[("b.env", &format!("B={second}\n"))]);
    GIT.run(&work, &["push", "-q", "origin", "main"]);

    // origin/main is this branch and origin/HEAD points at it: no other branch hides anything.
    let checkout = ws.checkout(&origin, "checkout", &[]);
    let run = ws.ci(&checkout, "push", &push_event("main", NULL_SHA, &head), &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    run.assert_found(&[&first, &second]);
    run.assert_hides(&[&first, &second]);
    assert!(
        run.stderr.contains("the full history of") && run.stderr.contains("(3 commit(s))"),
        "{}",
        run.stderr
    );
}

#[test]
fn force_push_scans_the_rewritten_commits_with_or_without_the_old_tip() {
    let ws = Workspace::new();
    let mut tokens = Tokens::new(104);
    let (on_main, replaced, rewritten) = (tokens.live(), tokens.live(), tokens.live());
    let (origin, work) = ws.origin_and_work();
    let base = GIT.commit(&work, "Base", &[("main.env", &format!("M={on_main}\n"))]);
    GIT.run(&work, &["push", "-q", "origin", "main"]);
    GIT.run(&work, &["checkout", "-q", "-b", "feat"]);
    let old_tip = GIT.commit(
        &work,
        "First try",
        &[("try.env", &format!("T={replaced}\n"))],
    );
    GIT.run(&work, &["push", "-q", "origin", "feat"]);
    GIT.run(&work, &["reset", "-q", "--hard", &base]);
    GIT.commit(
        &work,
        "Second try",
        &[("fix.env", &format!("F={rewritten}\n"))],
    );
    let new_tip = GIT.commit(&work, "Polish", &[("README.md", "readme\n")]);
    GIT.run(&work, &["push", "-q", "--force", "origin", "feat"]);
    let forced = || {
        let mut event = push_event("feat", &old_tip, &new_tip);
        event["forced"] = json!(true);
        event
    };

    // A clone that still has the replaced tip: the range old..new, though old is not an
    // ancestor of new; the payload's `forced` flag is not needed for that.
    for event in [forced(), push_event("feat", &old_tip, &new_tip)] {
        let run = ws.ci(&work, "push", &event, &[]);
        assert_eq!(run.code, 1, "{}", run.stderr);
        run.assert_found(&[&rewritten]);
        run.assert_hides(&[&on_main, &replaced, &rewritten]);
        assert!(
            run.stderr.contains(&format!(
                "scanning {}..{} (2 commit(s))",
                short(&old_tip),
                short(&new_tip)
            )),
            "{}",
            run.stderr
        );
    }

    // A fresh full clone, as actions/checkout makes: no ref reaches the replaced tip, so it
    // is not there, and the branch's own commits are scanned instead.
    let checkout = ws.checkout(&origin, "checkout", &["--branch", "feat"]);
    assert!(!GIT
        .try_run(&checkout, &["cat-file", "-e", &old_tip])
        .status
        .success());
    let run = ws.ci(&checkout, "push", &forced(), &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    run.assert_found(&[&rewritten]);
    run.assert_hides(&[&on_main, &replaced, &rewritten]);
    assert!(
        run.stderr.contains(&format!(
            "note: {}, the tip this force-push replaced, is not in the clone",
            short(&old_tip)
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("force-push to feat: scanning the commits of"),
        "{}",
        run.stderr
    );
}

#[test]
fn pull_request_scans_base_to_head() {
    let ws = Workspace::new();
    let mut tokens = Tokens::new(105);
    let (old, in_pr, main_later) = (tokens.live(), tokens.live(), tokens.live());
    let repo = ws.init("repo");
    GIT.commit(&repo, "Old", &[("old.env", &format!("O={old}\n"))]);
    GIT.run(&repo, &["checkout", "-q", "-b", "feat"]);
    GIT.commit(&repo, "PR work", &[("pr.env", &format!("P={in_pr}\n"))]);
    let head = GIT.commit(&repo, "PR docs", &[("docs.md", "docs\n")]);
    GIT.run(&repo, &["checkout", "-q", "main"]);
    let base = GIT.commit(
        &repo,
        "Main moves on",
        &[("m.env", &format!("L={main_later}\n"))],
    );

    for event in ["pull_request", "pull_request_target"] {
        let run = ws.ci(&repo, event, &pull_request_event(&base, &head), &[]);
        assert_eq!(run.code, 1, "{event}: {}", run.stderr);
        run.assert_found(&[&in_pr]);
        run.assert_hides(&[&old, &in_pr, &main_later]);
        assert!(
            run.stderr.contains(&format!(
                "keyhound: {event}: scanning {}..{} (2 commit(s))",
                short(&base),
                short(&head)
            )),
            "{}",
            run.stderr
        );
    }
}

#[test]
fn schedule_and_manual_runs_scan_the_full_history_of_every_ref() {
    let ws = Workspace::new();
    let mut tokens = Tokens::new(106);
    let (deleted, current, remote_only) = (tokens.live(), tokens.live(), tokens.live());
    let (origin, work) = ws.origin_and_work();
    GIT.commit(&work, "Key", &[("k.env", &format!("K={deleted}\n"))]);
    fs::remove_file(work.join("k.env")).unwrap();
    GIT.commit(&work, "Remove key", &[]);
    GIT.commit(&work, "Current", &[("c.env", &format!("C={current}\n"))]);
    GIT.run(&work, &["push", "-q", "origin", "main"]);
    GIT.run(&work, &["checkout", "-q", "-b", "experiment"]);
    GIT.commit(&work, "Try", &[("x.env", &format!("X={remote_only}\n"))]);
    GIT.run(&work, &["push", "-q", "origin", "experiment"]);

    // The checkout has `experiment` only as origin/experiment.
    let checkout = ws.checkout(&origin, "checkout", &[]);
    for event in ["schedule", "workflow_dispatch"] {
        let run = ws.ci(&checkout, event, &json!({}), &[]);
        assert_eq!(run.code, 1, "{event}: {}", run.stderr);
        run.assert_found(&[&deleted, &current, &remote_only]);
        run.assert_hides(&[&deleted, &current, &remote_only]);
        assert!(
            run.stderr.contains(&format!(
                "keyhound: {event}: scanning the full history of every ref"
            )),
            "{}",
            run.stderr
        );
    }
}

#[test]
fn shallow_clone_that_cuts_the_scan_fails_with_fetch_depth_advice() {
    let ws = Workspace::new();
    let mut tokens = Tokens::new(107);
    let (old, new) = (tokens.live(), tokens.live());
    let (origin, work) = ws.origin_and_work();
    let before = GIT.commit(&work, "Old", &[("old.env", &format!("O={old}\n"))]);
    let after = GIT.commit(&work, "New", &[("new.env", &format!("N={new}\n"))]);
    GIT.run(&work, &["push", "-q", "origin", "main"]);
    // actions/checkout's default: one commit.
    let shallow = ws.checkout(&origin, "shallow", &["--depth", "1"]);

    let cases = [
        ("push", push_event("main", &before, &after)),
        ("pull_request", pull_request_event(&before, &after)),
        // These scan a stretch of history the cut would shorten: `old` would pass unseen.
        ("push", push_event("main", NULL_SHA, &after)),
        ("schedule", json!({})),
    ];
    for (event, payload) in cases {
        let run = ws.ci(&shallow, event, &payload, &[]);
        assert_eq!(run.code, 2, "{event}: {}\n{}", run.stdout, run.stderr);
        assert!(run.stdout.is_empty(), "no report: {}", run.stdout);
        assert!(run.sarif.is_none(), "no SARIF for a scan that did not run");
        if payload["before"] == before.as_str() || payload.get("pull_request").is_some() {
            assert!(run.stderr.contains(&before), "{}", run.stderr);
        }
        assert!(run.stderr.contains("shallow clone"), "{}", run.stderr);
        assert!(run.stderr.contains("fetch-depth: 0"), "{}", run.stderr);
        run.assert_hides(&[&old, &new]);
    }
}

#[test]
fn fail_on_sets_the_least_severity_that_fails_the_job() {
    let ws = Workspace::new();
    let mut tokens = Tokens::new(108);
    let (test_key, live_key) = (tokens.test(), tokens.live());
    let repo = ws.init("repo");
    let base = GIT.commit(&repo, "Base", &[("README.md", "readme\n")]);
    let low = GIT.commit(&repo, "Test key", &[("t.env", &format!("T={test_key}\n"))]);
    let event = push_event("main", &base, &low);

    for (fail_on, code) in [("high", 0), ("medium", 0), ("low", 1), ("never", 0)] {
        let run = ws.ci(&repo, "push", &event, &["--fail-on", fail_on]);
        assert_eq!(run.code, code, "--fail-on {fail_on}: {}", run.stderr);
        run.assert_found(&[&test_key]);
        assert!(run.stdout.starts_with("::notice "), "{}", run.stdout);
    }
    let default = ws.ci(&repo, "push", &event, &[]);
    assert_eq!(default.code, 1, "the default is low: {}", default.stderr);

    let critical = GIT.commit(&repo, "Live key", &[("l.env", &format!("L={live_key}\n"))]);
    let event = push_event("main", &base, &critical);
    for (fail_on, code) in [("critical", 1), ("never", 0)] {
        let run = ws.ci(&repo, "push", &event, &["--fail-on", fail_on]);
        assert_eq!(run.code, code, "--fail-on {fail_on}: {}", run.stderr);
        run.assert_found(&[&test_key, &live_key]);
        run.assert_hides(&[&test_key, &live_key]);
    }
    // Global flags hold: another format on stdout, from the same single scan.
    let json = ws.ci(&repo, "push", &event, &["--format", "json"]);
    assert_eq!(json.code, 1, "{}", json.stderr);
    let report: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(report["summary"]["findings"], 2);
    assert_eq!(json.found().len(), 2);

    let bad = ws.ci(&repo, "push", &event, &["--fail-on", "severe"]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
}

#[test]
fn outside_actions_the_event_must_be_named() {
    let ws = Workspace::new();
    let mut tokens = Tokens::new(109);
    let secret = tokens.live();
    let repo = ws.init("repo");
    GIT.commit(&repo, "Key", &[("k.env", &format!("K={secret}\n"))]);

    let keyhound = || {
        let mut cmd = BinCommand::cargo_bin("keyhound").unwrap();
        cmd.current_dir(ws.path("run"))
            .env_remove("GITHUB_EVENT_NAME")
            .env_remove("GITHUB_EVENT_PATH")
            .env_remove("GITHUB_OUTPUT")
            .env_remove("GITHUB_STEP_SUMMARY")
            .env_remove("GITHUB_WORKSPACE")
            .env_remove("GIT_DIR")
            .arg("ci")
            .arg("--config")
            .arg(ws.path("keyhound.toml"));
        cmd
    };
    let out = keyhound().arg(&repo).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("GITHUB_EVENT_NAME is not set"), "{stderr}");
    assert!(stderr.contains("--event-name"), "{stderr}");

    let out = keyhound()
        .arg(&repo)
        .args(["--event-name", "push"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("GITHUB_EVENT_PATH is not set"), "{stderr}");

    // The flags stand in for the environment; REPO for GITHUB_WORKSPACE.
    let event = ws.path("event.json");
    fs::write(&event, "{}").unwrap();
    let out = keyhound()
        .arg(&repo)
        .args(["--event-name", "workflow_dispatch", "--event-path"])
        .arg(&event)
        .args(["--sarif-file", "out.sarif"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(ws.path("run/out.sarif").is_file());
    assert!(!String::from_utf8_lossy(&out.stdout).contains(&secret));

    let not_json = keyhound()
        .arg(&repo)
        .args(["--event-name", "push", "--event-path"])
        .arg(ws.path("keyhound.toml"))
        .output()
        .unwrap();
    assert_eq!(not_json.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&not_json.stderr).contains("not valid JSON"));
}

#[test]
fn a_push_that_deletes_a_branch_scans_nothing_and_still_writes_outputs() {
    let ws = Workspace::new();
    let secret = Tokens::new(110).live();
    let repo = ws.init("repo");
    let tip = GIT.commit(&repo, "Old", &[("old.env", &format!("O={secret}\n"))]);

    let mut event = push_event("gone", &tip, NULL_SHA);
    event["deleted"] = json!(true);
    let run = ws.ci(&repo, "push", &event, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("deleted a ref"), "{}", run.stderr);
    assert_eq!(run.sarif()["runs"][0]["results"], json!([]));
    assert!(run.outputs.contains("findings=0\n"), "{}", run.outputs);
}

/// The files a pull request adds or changes, given the secrets it commits.
type PrFiles = fn(&[String; 2]) -> Vec<(String, String)>;

/// STRIPE_CONFIG with more TOML after it.
fn stripe_config_and(more: &str) -> String {
    format!("{STRIPE_CONFIG}\n{more}\n")
}

/// A repository whose `main` holds `base_files` and a `feat` branch that adds two secrets
/// (`app.env`, `lib/other.env`) and `pr_files`; returns (repo, base, head, secrets).
fn pull_request_repo(
    ws: &Workspace,
    seed: u64,
    base_files: &[(&str, &str)],
    pr_files: PrFiles,
) -> (PathBuf, String, String, [String; 2]) {
    let mut tokens = Tokens::new(seed);
    let secrets = [tokens.live(), tokens.live()];
    let repo = ws.init(&format!("repo-{seed}"));
    let mut files = vec![("README.md", "# demo\n")];
    files.extend_from_slice(base_files);
    let base = GIT.commit(&repo, "Base", &files);
    GIT.run(&repo, &["checkout", "-q", "-b", "feat"]);
    let pr = pr_files(&secrets);
    let mut files: Vec<(&str, &str)> = pr.iter().map(|(p, c)| (p.as_str(), c.as_str())).collect();
    let app = format!("A={}\n", secrets[0]);
    let other = format!("B={}\n", secrets[1]);
    files.extend([("app.env", app.as_str()), ("lib/other.env", other.as_str())]);
    let head = GIT.commit(&repo, "Feature", &files);
    (repo, base, head, secrets)
}

/// Regression (issue 15, item 5): `keyhound ci` read config and ignore files from the
/// checkout, the pull request's head, so a pull request could silence it: an allowlist of
/// every path, the finding's fingerprint in `.keyhoundignore` or its location in
/// `.gitleaksignore`, the rule disabled. The base's policy judges; the change is a notice
/// counting the findings it would hide.
#[test]
fn pull_request_that_edits_the_allowlist_still_fails_and_says_what_it_would_hide() {
    let ws = Workspace::new();
    let cases: [(&str, bool, PrFiles, usize); 6] = [
        (
            ".keyhound.toml",
            true,
            |_| {
                vec![(
                    ".keyhound.toml".into(),
                    stripe_config_and("[allowlist]\npaths = [\"**\"]"),
                )]
            },
            2,
        ),
        // No config in the base (the embedded rules): the pull request adds one.
        (
            ".keyhound.toml",
            false,
            |_| {
                vec![(
                    ".keyhound.toml".into(),
                    "[allowlist]\npaths = [\"**\"]\n".into(),
                )]
            },
            2,
        ),
        (
            ".keyhound.toml",
            true,
            |_| {
                vec![(
                    ".keyhound.toml".into(),
                    stripe_config_and("[allowlist]\npaths = [\"lib/**\"]"),
                )]
            },
            1,
        ),
        (
            ".keyhound.toml",
            true,
            |_| {
                vec![(
                    ".keyhound.toml".into(),
                    STRIPE_CONFIG.replace(
                        "use_default = false",
                        "use_default = false\ndisable = [\"stripe-live-secret-key\"]",
                    ),
                )]
            },
            2,
        ),
        (
            ".keyhoundignore",
            true,
            |secrets| {
                vec![(
                    ".keyhoundignore".into(),
                    format!("# accepted\n{}\n", fingerprint(&secrets[0])),
                )]
            },
            1,
        ),
        (
            ".gitleaksignore",
            true,
            |_| {
                vec![(
                    ".gitleaksignore".into(),
                    "app.env:stripe-live-secret-key:1\nlib/other.env:stripe-live-secret-key:1\n"
                        .into(),
                )]
            },
            2,
        ),
    ];
    for (n, (file, base_config, pr_files, hidden)) in cases.into_iter().enumerate() {
        let base_files: &[(&str, &str)] = if base_config {
            &[(".keyhound.toml", STRIPE_CONFIG)]
        } else {
            &[]
        };
        let (repo, base, head, secrets) =
            pull_request_repo(&ws, 400 + n as u64, base_files, pr_files);
        let run = ws.ci_without_config(
            &repo,
            "pull_request",
            &pull_request_event(&base, &head),
            &[],
        );
        let case = format!("case {n} ({file})");
        assert_eq!(run.code, 1, "{case}: {}\n{}", run.stdout, run.stderr);
        run.assert_found(&[&secrets[0], &secrets[1]]);
        run.assert_hides(&[&secrets[0], &secrets[1]]);
        let notice = format!(
            "this pull request changes keyhound's allowlist ({file}): {hidden} finding(s) it \
             would hide are reported"
        );
        assert!(run.stderr.contains(&notice), "{case}: {}", run.stderr);
        let annotation = format!("{POLICY_NOTICE}{notice}");
        assert!(
            run.stdout.lines().any(|l| l.starts_with(&annotation)),
            "{case}: {}",
            run.stdout
        );
    }
}

/// The base branch's own allowlist is honoured, and a pull request that leaves the policy
/// files alone gets no notice.
#[test]
fn base_branch_config_that_allowlists_a_path_is_honoured() {
    let ws = Workspace::new();
    let config = stripe_config_and("[allowlist]\npaths = [\"lib/**\"]");
    let (repo, base, head, secrets) =
        pull_request_repo(&ws, 410, &[(".keyhound.toml", config.as_str())], |_| {
            Vec::new()
        });
    let run = ws.ci_without_config(
        &repo,
        "pull_request",
        &pull_request_event(&base, &head),
        &[],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    run.assert_found(&[&secrets[0]]);
    run.assert_hides(&[&secrets[0], &secrets[1]]);
    assert!(!run.stderr.contains("notice"), "{}", run.stderr);
}

/// A config in the base tree that is a symlink is not followed (it could point at the
/// runner's environment or a credentials file, and silence the scan): it is ignored with a
/// note, and the embedded rules judge.
#[cfg(unix)]
#[test]
fn symlinked_config_in_the_base_tree_is_ignored() {
    let ws = Workspace::new();
    let mut tokens = Tokens::new(411);
    let outside_secret = tokens.live();
    let outside = ws.path("outside.toml");
    fs::write(
        &outside,
        format!("# {outside_secret}\n[allowlist]\npaths = [\"**\"]\n"),
    )
    .unwrap();
    let repo = ws.init("repo");
    std::os::unix::fs::symlink(&outside, repo.join(".keyhound.toml")).unwrap();
    std::os::unix::fs::symlink("allow.toml", repo.join("keyhound.toml")).unwrap();
    let base = GIT.commit(
        &repo,
        "Base",
        &[("allow.toml", "[allowlist]\npaths = [\"**\"]\n")],
    );
    let secret = tokens.live();
    let head = GIT.commit(&repo, "Key", &[("app.env", &format!("A={secret}\n"))]);
    let run = ws.ci_without_config(
        &repo,
        "pull_request",
        &pull_request_event(&base, &head),
        &[],
    );
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    run.assert_found(&[&secret]);
    run.assert_hides(&[&secret, &outside_secret]);
    for name in ["keyhound.toml", ".keyhound.toml"] {
        let note = format!(
            "{}:{name} is a symbolic link, not a regular file: ignored",
            short(&base)
        );
        assert!(run.stderr.contains(&note), "{note}: {}", run.stderr);
    }
}

/// Regression (issue 15, item 5): a pushed `.keyhoundignore` holding the finding's
/// fingerprint silenced `keyhound pre-push`. What the remote has judges the push.
#[test]
fn pre_push_with_a_head_only_keyhoundignore_still_blocks() {
    let ws = Workspace::new();
    let mut tokens = Tokens::new(412);
    let secret = tokens.live();
    let (_origin, work) = ws.origin_and_work();
    let base = GIT.commit(&work, "Base", &[(".keyhound.toml", STRIPE_CONFIG)]);
    GIT.run(&work, &["push", "-q", "origin", "main"]);
    let head = GIT.commit(
        &work,
        "Key, and ignore it",
        &[
            ("app.env", &format!("A={secret}\n")),
            (".keyhoundignore", &format!("{}\n", fingerprint(&secret))),
        ],
    );
    let out = BinCommand::cargo_bin("keyhound")
        .unwrap()
        .current_dir(&work)
        .args(["pre-push", "origin", "--format", "json", "--no-progress"])
        .write_stdin(format!("refs/heads/main {head} refs/heads/main {base}\n"))
        .env_remove("GIT_DIR")
        .env_remove("PRE_COMMIT_FROM_REF")
        .env_remove("PRE_COMMIT_TO_REF")
        .env_remove("PRE_COMMIT_LOCAL_BRANCH")
        .env_remove("PRE_COMMIT_REMOTE_NAME")
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(
        findings[0]["secret"]["sha256"],
        fingerprint(&secret).as_str()
    );
    assert!(
        stderr.contains(
            "this push changes keyhound's allowlist (.keyhoundignore): 1 finding(s) it would \
             hide are reported"
        ),
        "{stderr}"
    );
    assert!(!stdout.contains(&secret) && !stderr.contains(&secret));
}

/// A push creating a branch has no base in its event: the remote default branch's tip
/// (`origin/HEAD`) judges it, not the branch's own `.keyhoundignore`.
#[test]
fn new_branch_is_judged_by_the_default_branch_policy() {
    let ws = Workspace::new();
    let mut tokens = Tokens::new(413);
    let secret = tokens.live();
    let (origin, work) = ws.origin_and_work();
    GIT.commit(&work, "Base", &[(".keyhound.toml", STRIPE_CONFIG)]);
    GIT.run(&work, &["push", "-q", "origin", "main"]);
    GIT.run(&work, &["checkout", "-q", "-b", "feat"]);
    let feat = GIT.commit(
        &work,
        "Key, and ignore it",
        &[
            ("app.env", &format!("A={secret}\n")),
            (".keyhoundignore", &format!("{}\n", fingerprint(&secret))),
        ],
    );
    GIT.run(&work, &["push", "-q", "origin", "feat"]);

    let checkout = ws.checkout(&origin, "checkout", &["--branch", "feat"]);
    let run = ws.ci_without_config(&checkout, "push", &push_event("feat", NULL_SHA, &feat), &[]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    run.assert_found(&[&secret]);
    run.assert_hides(&[&secret]);
    assert!(
        run.stderr.contains(
            "this push changes keyhound's allowlist (.keyhoundignore): 1 finding(s) it would \
             hide are reported"
        ),
        "{}",
        run.stderr
    );
}

/// A head config that does not compile is a notice (its errors could quote what it holds),
/// not an error: the base's policy judges. A base ignore file over the size cap, or a base
/// gitleaks config extending a file by path, is an error.
#[test]
fn broken_head_config_is_a_notice_and_an_oversized_base_file_an_error() {
    let ws = Workspace::new();
    let (repo, base, head, secrets) =
        pull_request_repo(&ws, 414, &[(".keyhound.toml", STRIPE_CONFIG)], |_| {
            vec![(".keyhound.toml".into(), "[allowlist\npaths = 1\n".into())]
        });
    let run = ws.ci_without_config(
        &repo,
        "pull_request",
        &pull_request_event(&base, &head),
        &[],
    );
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    run.assert_found(&[&secrets[0], &secrets[1]]);
    assert!(
        run.stderr
            .contains("(.keyhound.toml): 0 finding(s) it would hide are reported")
            && run.stderr.contains("could not be read or compiled"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("paths = 1"), "{}", run.stderr);

    let big = format!("# {}\n", "x".repeat(4 << 20));
    let (repo, base, head, _) =
        pull_request_repo(&ws, 415, &[(".keyhoundignore", big.as_str())], |_| {
            Vec::new()
        });
    let run = ws.ci_without_config(
        &repo,
        "pull_request",
        &pull_request_event(&base, &head),
        &[],
    );
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains(".keyhoundignore") && run.stderr.contains("too large"),
        "{}",
        run.stderr
    );
    // A gitleaks config that extends another by path would read that file from the checkout
    // of the commits judged: refused, not followed.
    let (repo, base, head, _) = pull_request_repo(
        &ws,
        416,
        &[
            (".gitleaks.toml", "[extend]\npath = \"rules.toml\"\n"),
            ("rules.toml", "title = \"base\"\n"),
        ],
        |_| vec![("rules.toml".into(), "[allowlist]\npaths = ['.*']\n".into())],
    );
    let run = ws.ci_without_config(
        &repo,
        "pull_request",
        &pull_request_event(&base, &head),
        &[],
    );
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("[extend] path"), "{}", run.stderr);
}

/// A baseline named in the base's config is read from the base's tree: it hides what it
/// accepted, and a pull request that adds its own secret to the baseline file is still judged
/// by the base's version.
#[test]
fn the_base_configs_baseline_is_read_from_the_base_commit() {
    let ws = Workspace::new();
    let seed = 412;
    let mut tokens = Tokens::new(seed);
    let (accepted, added) = (tokens.live(), tokens.live());
    let entry = |secret: &str| {
        format!(
            "{{\"rule\": \"stripe-live-secret-key\", \"fingerprint\": \"{}\"}}",
            fingerprint(secret)
        )
    };
    let base_baseline = format!("{{\"version\": 1, \"findings\": [{}]}}", entry(&accepted));
    let config = format!("baseline = \"ci/baseline.json\"\n{STRIPE_CONFIG}");
    let (repo, base, head, secrets) = pull_request_repo(
        &ws,
        seed,
        &[
            (".keyhound.toml", config.as_str()),
            ("ci/baseline.json", base_baseline.as_str()),
        ],
        |secrets| {
            let both = format!(
                "{{\"version\": 1, \"findings\": [{}, {}]}}",
                format_args!(
                    "{{\"rule\": \"stripe-live-secret-key\", \"fingerprint\": \"{}\"}}",
                    fingerprint(&secrets[0])
                ),
                format_args!(
                    "{{\"rule\": \"stripe-live-secret-key\", \"fingerprint\": \"{}\"}}",
                    fingerprint(&secrets[1])
                )
            );
            vec![("ci/baseline.json".into(), both)]
        },
    );
    assert_eq!(secrets, [accepted, added.clone()]);
    let run = ws.ci_without_config(
        &repo,
        "pull_request",
        &pull_request_event(&base, &head),
        &[],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    run.assert_found(&[&added]);
    run.assert_hides(&secrets.iter().map(String::as_str).collect::<Vec<_>>());
}
