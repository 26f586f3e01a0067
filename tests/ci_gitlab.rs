//! `keyhound ci` outside GitHub Actions: GitLab CI merge-request (and merged results), push,
//! new-branch, shallow and scheduled pipelines, and Azure Pipelines and Bitbucket Pipelines
//! pull-request builds, each with the variables those systems set, over real repositories
//! built with the git CLI in temp dirs (a bare "origin" and clones of it, full or shallow, as
//! the runners clone). Every run starts from an environment with no CI variable of any
//! system, so detection is tested too.
//!
//! GitLab's report is checked against the fields GitLab documents as required for a
//! secret-detection report of schema 15 (`scan` with analyzer, scanner, type, times and
//! status; each vulnerability's id, identifiers and location with a commit): GitLab publishes
//! the JSON schema itself in no package registry this project installs from (it ships in a
//! Ruby gem). When `KEYHOUND_GITLAB_SCHEMA` names a copy of
//! `secret-detection-report-format.json`, the report is validated against it as well.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command as BinCommand;
use serde_json::Value;
use tempfile::TempDir;

mod common_git;
use common_git::{file_url, fingerprint, Git, Tokens, STRIPE_CONFIG};

const GIT: Git = Git::undated();
const NULL_SHA: &str = "0000000000000000000000000000000000000000";
const REPORT: &str = "gl-secret-detection-report.json";

/// Variables of every CI system `keyhound ci` reads, cleared before each run.
const CI_VARIABLES: &[&str] = &[
    "GITHUB_ACTIONS",
    "GITHUB_EVENT_NAME",
    "GITHUB_EVENT_PATH",
    "GITHUB_OUTPUT",
    "GITHUB_STEP_SUMMARY",
    "GITHUB_WORKSPACE",
    "GITLAB_CI",
    "CI_PROJECT_DIR",
    "CI_PIPELINE_SOURCE",
    "CI_COMMIT_SHA",
    "CI_COMMIT_BEFORE_SHA",
    "CI_COMMIT_BRANCH",
    "CI_DEFAULT_BRANCH",
    "CI_MERGE_REQUEST_IID",
    "CI_MERGE_REQUEST_DIFF_BASE_SHA",
    "CI_MERGE_REQUEST_TARGET_BRANCH_SHA",
    "GIT_DEPTH",
    "TF_BUILD",
    "BUILD_REASON",
    "BUILD_SOURCEVERSION",
    "BUILD_SOURCESDIRECTORY",
    "SYSTEM_PULLREQUEST_TARGETBRANCH",
    "BITBUCKET_BUILD_NUMBER",
    "BITBUCKET_COMMIT",
    "BITBUCKET_CLONE_DIR",
    "BITBUCKET_PR_ID",
    "BITBUCKET_PR_DESTINATION_BRANCH",
    "GIT_DIR",
];

/// A temp dir with the Stripe config, an `origin` to push to and clone from, and `run/`, the
/// job's working directory.
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

    /// A bare `origin` and a clone of it, `work`, on branch `main`.
    fn origin_and_work(&self) -> (PathBuf, PathBuf) {
        GIT.origin_and_work(self.dir.path())
    }

    /// Clones `origin` into `name` over git's transport, as a runner does.
    fn clone(&self, origin: &Path, name: &str, extra: &[&str]) -> PathBuf {
        let url = file_url(origin);
        let mut args = vec!["clone", "-q"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&[&url, name]);
        GIT.run(self.dir.path(), &args);
        self.path(name)
    }

    /// Runs `keyhound ci` in `run/` with `vars` and nothing else from any CI system, and
    /// with this workspace's config unless `own_config` (then the repository's files judge).
    fn ci(&self, vars: &[(&str, &str)], extra: &[&str], own_config: bool) -> Run {
        let report = self.path("run").join(REPORT);
        let _ = fs::remove_file(&report);
        let mut cmd = BinCommand::cargo_bin("keyhound").unwrap();
        cmd.current_dir(self.path("run")).arg("ci");
        if !own_config {
            cmd.arg("--config").arg(self.path("keyhound.toml"));
        }
        cmd.args(extra);
        for name in CI_VARIABLES {
            cmd.env_remove(name);
        }
        for (name, value) in vars {
            cmd.env(name, value);
        }
        let out = cmd.output().unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            report: fs::read_to_string(&report).ok(),
        }
    }

    /// A GitLab job on `repo` (as `CI_PROJECT_DIR`) with `vars`.
    fn gitlab(&self, repo: &Path, vars: &[(&str, &str)], extra: &[&str]) -> Run {
        let dir = repo.to_str().unwrap();
        let mut all = vec![("GITLAB_CI", "true"), ("CI_PROJECT_DIR", dir)];
        all.extend_from_slice(vars);
        self.ci(&all, extra, false)
    }
}

/// The variables of a merge request pipeline.
fn merge_request<'a>(base: &'a str, head: &'a str) -> Vec<(&'static str, &'a str)> {
    vec![
        ("CI_PIPELINE_SOURCE", "merge_request_event"),
        ("CI_MERGE_REQUEST_IID", "7"),
        ("CI_MERGE_REQUEST_DIFF_BASE_SHA", base),
        ("CI_COMMIT_SHA", head),
    ]
}

/// The variables of a push pipeline on `branch`.
fn push<'a>(branch: &'a str, before: &'a str, head: &'a str) -> Vec<(&'static str, &'a str)> {
    vec![
        ("CI_PIPELINE_SOURCE", "push"),
        ("CI_COMMIT_BRANCH", branch),
        ("CI_COMMIT_BEFORE_SHA", before),
        ("CI_COMMIT_SHA", head),
        ("CI_DEFAULT_BRANCH", "main"),
    ]
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    report: Option<String>,
}

impl Run {
    fn report(&self) -> Value {
        let text = self
            .report
            .as_deref()
            .unwrap_or_else(|| panic!("no GitLab report: {}\n{}", self.stdout, self.stderr));
        let doc: Value = serde_json::from_str(text).unwrap();
        assert_documented_fields(&doc);
        validate_against_published_schema(&doc);
        doc
    }

    /// Asserts the report holds exactly the findings of `secrets`, and that no output
    /// carries any of `hidden` raw.
    fn assert_found(&self, secrets: &[&str], hidden: &[&str]) {
        let doc = self.report();
        let found: BTreeSet<String> = doc["vulnerabilities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                let description = v["description"].as_str().unwrap();
                let start = description.find("`.keyhoundignore`: `").unwrap() + 20;
                description[start..start + 64].to_string()
            })
            .collect();
        let expected: BTreeSet<String> = secrets.iter().map(|s| fingerprint(s)).collect();
        assert_eq!(found, expected, "{}", self.stderr);
        for secret in hidden {
            for (name, text) in [
                ("stdout", self.stdout.as_str()),
                ("stderr", &self.stderr),
                ("report", self.report.as_deref().unwrap_or("")),
            ] {
                assert!(!text.contains(secret), "raw secret in {name}");
            }
        }
    }
}

/// The fields GitLab documents as required in a secret-detection report of schema 15, with
/// the formats it documents: `version`; `scan` with `analyzer` and `scanner` (id, name,
/// version, vendor name), `type`, `start_time` and `end_time` (`YYYY-MM-DDTHH:MM:SS`) and
/// `status`; each vulnerability's `id` (unique), `identifiers` (at least one, each with type,
/// name and value; the first is the primary one), `severity` from GitLab's list, `name` of at
/// most 255 characters, `solution` of at most 7000, and a `location` with `file`, a line and a
/// commit `sha`. keyhound never writes `raw_source_code_extract`.
fn assert_documented_fields(doc: &Value) {
    let text = |v: &Value, what: &str| -> String {
        let s = v
            .as_str()
            .unwrap_or_else(|| panic!("{what} is not a string: {v}"));
        assert!(!s.is_empty(), "{what} is empty");
        s.to_string()
    };
    let version = text(&doc["version"], "version");
    let parts: Vec<&str> = version.split('.').collect();
    assert!(parts.len() == 3 && parts[0] == "15", "{version}");
    assert!(parts.iter().all(|p| p.parse::<u32>().is_ok()), "{version}");
    let scan = &doc["scan"];
    for tool in ["analyzer", "scanner"] {
        for field in ["id", "name", "version"] {
            text(&scan[tool][field], &format!("scan.{tool}.{field}"));
        }
        text(&scan[tool]["vendor"]["name"], "vendor name");
    }
    assert_eq!(scan["type"], "secret_detection");
    for time in ["start_time", "end_time"] {
        let t = text(&scan[time], time);
        let shape: String = t
            .chars()
            .map(|c| if c.is_ascii_digit() { '9' } else { c })
            .collect();
        assert_eq!(shape, "9999-99-99T99:99:99", "{time}: {t}");
    }
    assert!(["success", "failure"].contains(&scan["status"].as_str().unwrap()));
    let mut ids = BTreeSet::new();
    for v in doc["vulnerabilities"].as_array().expect("vulnerabilities") {
        assert!(ids.insert(text(&v["id"], "id")), "duplicate id {}", v["id"]);
        let identifiers = v["identifiers"].as_array().expect("identifiers");
        assert!(!identifiers.is_empty());
        for identifier in identifiers {
            for field in ["type", "name", "value"] {
                text(&identifier[field], field);
            }
        }
        assert_eq!(identifiers[0]["type"], "keyhound_rule_id");
        let severity = v["severity"].as_str().unwrap();
        assert!(
            ["Info", "Unknown", "Low", "Medium", "High", "Critical"].contains(&severity),
            "{severity}"
        );
        assert!(text(&v["name"], "name").chars().count() <= 255);
        assert!(text(&v["solution"], "solution").chars().count() <= 7000);
        text(&v["description"], "description");
        text(&v["location"]["file"], "location.file");
        assert!(v["location"]["start_line"].as_u64().unwrap() >= 1);
        text(&v["location"]["commit"]["sha"], "location.commit.sha");
        assert!(v.get("raw_source_code_extract").is_none());
    }
}

/// Validates against GitLab's published schema when `KEYHOUND_GITLAB_SCHEMA` names a copy.
fn validate_against_published_schema(doc: &Value) {
    let Some(path) = std::env::var_os("KEYHOUND_GITLAB_SCHEMA") else {
        return;
    };
    let schema: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    let validator = jsonschema::options()
        .build(&schema)
        .expect("schema compiles");
    let errors: Vec<String> = validator.iter_errors(doc).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

/// `main` with an old secret, and `feat` adding one; `main` then moves on with another.
/// Returns (origin, work, diff base, feat head, [old, in_mr, main_later]).
fn merge_request_repo(
    ws: &Workspace,
    seed: u64,
) -> (PathBuf, PathBuf, String, String, [String; 3]) {
    let mut tokens = Tokens::new(seed);
    let secrets = [tokens.live(), tokens.live(), tokens.live()];
    let (origin, work) = ws.origin_and_work();
    let base = GIT.commit(
        &work,
        "Base",
        &[
            (".keyhound.toml", STRIPE_CONFIG),
            ("old.env", &format!("O={}\n", secrets[0])),
        ],
    );
    GIT.run(&work, &["checkout", "-q", "-b", "feat"]);
    GIT.commit(
        &work,
        "MR work",
        &[("mr.env", &format!("M={}\n", secrets[1]))],
    );
    let head = GIT.commit(&work, "MR docs", &[("docs.md", "docs\n")]);
    GIT.run(&work, &["checkout", "-q", "main"]);
    GIT.commit(
        &work,
        "Main moves on",
        &[("l.env", &format!("L={}\n", secrets[2]))],
    );
    GIT.run(&work, &["push", "-q", "origin", "main", "feat"]);
    (origin, work, base, head, secrets)
}

#[test]
fn merge_request_pipeline_scans_the_diff_base_to_the_head() {
    let ws = Workspace::new();
    let (origin, _work, base, head, secrets) = merge_request_repo(&ws, 501);
    let clone = ws.clone(&origin, "clone", &["--branch", "feat"]);
    let run = ws.gitlab(&clone, &merge_request(&base, &head), &[]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let all: Vec<&str> = secrets.iter().map(String::as_str).collect();
    run.assert_found(&[&secrets[1]], &all);
    assert!(
        run.stderr.contains(&format!(
            "keyhound: merge request !7: scanning {}..{} (2 commit(s))",
            &base[..7],
            &head[..7]
        )),
        "{}",
        run.stderr
    );
    // The job log gets the human report; GitLab gets the artifact.
    assert!(run.stdout.contains("mr.env"), "{}", run.stdout);
    let v = &run.report()["vulnerabilities"][0];
    assert_eq!(v["location"]["file"], "mr.env");
    assert_eq!(v["location"]["start_line"], 1);
    assert_eq!(v["severity"], "Critical");
    assert_eq!(v["identifiers"][0]["value"], "stripe-live-secret-key");
    let introduced = GIT.run(&clone, &["rev-parse", &format!("{head}^")]);
    assert_eq!(v["location"]["commit"]["sha"], introduced.as_str());

    // The same run again: the same vulnerability id.
    let again = ws.gitlab(&clone, &merge_request(&base, &head), &[]);
    assert_eq!(again.report()["vulnerabilities"][0]["id"], v["id"]);
}

/// A merged results pipeline builds the merge of the source into the target's tip: what
/// that commit brings over the tip, not the target's own newer commits.
#[test]
fn merged_results_pipeline_scans_the_merge_against_the_target_tip() {
    let ws = Workspace::new();
    let (origin, _work, base, head, secrets) = merge_request_repo(&ws, 502);
    let clone = ws.clone(&origin, "clone", &[]);
    GIT.run(&clone, &["checkout", "-q", "--detach", "origin/main"]);
    let tip = GIT.run(&clone, &["rev-parse", "HEAD"]);
    GIT.run(
        &clone,
        &["merge", "-q", "--no-ff", "-m", "Merged result", &head],
    );
    let merged = GIT.run(&clone, &["rev-parse", "HEAD"]);
    let mut vars = merge_request(&base, &merged);
    vars.push(("CI_MERGE_REQUEST_TARGET_BRANCH_SHA", &tip));
    let run = ws.gitlab(&clone, &vars, &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let all: Vec<&str> = secrets.iter().map(String::as_str).collect();
    run.assert_found(&[&secrets[1]], &all);
    assert!(
        run.stderr
            .contains(&format!("scanning {}..{}", &tip[..7], &merged[..7])),
        "{}",
        run.stderr
    );
}

/// The trust model holds on GitLab: a merge request that adds the finding's fingerprint to
/// `.keyhoundignore` is judged by its target branch's files, and told so.
#[test]
fn merge_request_cannot_silence_itself() {
    let ws = Workspace::new();
    let mut tokens = Tokens::new(503);
    let secret = tokens.live();
    let (origin, work) = ws.origin_and_work();
    let base = GIT.commit(&work, "Base", &[(".keyhound.toml", STRIPE_CONFIG)]);
    GIT.run(&work, &["checkout", "-q", "-b", "feat"]);
    let allow_all = format!("{STRIPE_CONFIG}\n[allowlist]\npaths = [\"**\"]\n");
    let head = GIT.commit(
        &work,
        "Key, and ignore it",
        &[
            ("app.env", &format!("A={secret}\n")),
            (".keyhoundignore", &format!("{}\n", fingerprint(&secret))),
            (".keyhound.toml", &allow_all),
        ],
    );
    GIT.run(&work, &["push", "-q", "origin", "feat"]);
    let clone = ws.clone(&origin, "clone", &["--branch", "feat"]);
    let dir = clone.to_str().unwrap();
    let mut vars = vec![("GITLAB_CI", "true"), ("CI_PROJECT_DIR", dir)];
    vars.extend(merge_request(&base, &head));
    let run = ws.ci(&vars, &[], true);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    run.assert_found(&[&secret], &[&secret]);
    assert!(
        run.stderr.contains(
            "notice: this merge request changes keyhound's allowlist (.keyhound.toml, \
             .keyhoundignore): 1 finding(s) it would hide are reported"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn push_pipeline_scans_from_the_previous_tip() {
    let ws = Workspace::new();
    let mut tokens = Tokens::new(504);
    let (old, new) = (tokens.live(), tokens.live());
    let (origin, work) = ws.origin_and_work();
    GIT.commit(&work, "Start", &[("README.md", "start\n")]);
    let before = GIT.commit(&work, "Old", &[("old.env", &format!("O={old}\n"))]);
    GIT.commit(&work, "New", &[("new.env", &format!("N={new}\n"))]);
    let after = GIT.commit(&work, "Docs", &[("README.md", "readme\n")]);
    GIT.run(&work, &["push", "-q", "origin", "main"]);
    // A shallow clone (GitLab's default) deep enough for the push's two commits.
    let clone = ws.clone(&origin, "clone", &["--depth", "3"]);
    assert!(clone.join(".git/shallow").is_file());
    let mut vars = push("main", &before, &after);
    vars.push(("GIT_DEPTH", "3"));
    let run = ws.gitlab(&clone, &vars, &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    run.assert_found(&[&new], &[&old, &new]);
    assert!(
        run.stderr.contains(&format!(
            "keyhound: push to main: scanning {}..{} (2 commit(s))",
            &before[..7],
            &after[..7]
        )),
        "{}",
        run.stderr
    );
    // Nothing new: a clean run passes and still writes the report.
    let clean = ws.gitlab(&clone, &push("main", &after, &after), &[]);
    assert_eq!(clean.code, 0, "{}", clean.stderr);
    assert_eq!(clean.report()["vulnerabilities"], serde_json::json!([]));
}

/// The all-zero CI_COMMIT_BEFORE_SHA of a new branch: what no other remote branch has,
/// judged by the default branch's policy.
#[test]
fn new_branch_pipeline_scans_what_no_other_branch_has() {
    let ws = Workspace::new();
    let mut tokens = Tokens::new(505);
    let (on_main, on_feat) = (tokens.live(), tokens.live());
    let (origin, work) = ws.origin_and_work();
    GIT.commit(&work, "Base", &[("main.env", &format!("M={on_main}\n"))]);
    GIT.run(&work, &["push", "-q", "origin", "main"]);
    GIT.run(&work, &["checkout", "-q", "-b", "feat"]);
    let feat = GIT.commit(&work, "Feature", &[("feat.env", &format!("F={on_feat}\n"))]);
    GIT.run(&work, &["push", "-q", "origin", "feat"]);
    let clone = ws.clone(&origin, "clone", &["--branch", "feat"]);
    let run = ws.gitlab(&clone, &push("feat", NULL_SHA, &feat), &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    run.assert_found(&[&on_feat], &[&on_main, &on_feat]);
    assert!(
        run.stderr.contains(&format!(
            "keyhound: push creating branch feat: scanning the commits of {} on no other \
             remote branch (1 commit(s))",
            &feat[..7]
        )),
        "{}",
        run.stderr
    );
}

/// The runner fetches the branch built and nothing else (no `origin/HEAD`): with the default
/// branch fetched as the template does, a new branch is scanned for what the default branch
/// lacks and judged by the default branch's files (CI_DEFAULT_BRANCH), not its own.
#[test]
fn new_branch_in_a_runner_clone_is_judged_by_the_default_branch() {
    let ws = Workspace::new();
    let mut tokens = Tokens::new(511);
    let (on_main, on_feat) = (tokens.live(), tokens.live());
    let (origin, work) = ws.origin_and_work();
    GIT.commit(
        &work,
        "Base",
        &[
            (".keyhound.toml", STRIPE_CONFIG),
            ("main.env", &format!("M={on_main}\n")),
        ],
    );
    GIT.run(&work, &["push", "-q", "origin", "main"]);
    GIT.run(&work, &["checkout", "-q", "-b", "feat"]);
    let feat = GIT.commit(
        &work,
        "Key, and ignore it",
        &[
            ("feat.env", &format!("F={on_feat}\n")),
            (".keyhoundignore", &format!("{}\n", fingerprint(&on_feat))),
        ],
    );
    GIT.run(&work, &["push", "-q", "origin", "feat"]);
    // As gitlab-runner clones: init, fetch the branch's ref, check out the commit.
    let clone = ws.path("runner");
    fs::create_dir(&clone).unwrap();
    GIT.run(&clone, &["init", "-q"]);
    GIT.run(&clone, &["remote", "add", "origin", &file_url(&origin)]);
    let fetch = |refspec: &str| GIT.run(&clone, &["fetch", "-q", "origin", refspec]);
    fetch("+refs/heads/feat:refs/remotes/origin/feat");
    GIT.run(&clone, &["checkout", "-q", "--detach", &feat]);
    // The template's extra fetch of the default branch.
    fetch("+refs/heads/main:refs/remotes/origin/main");

    let dir = clone.to_str().unwrap();
    let mut vars = vec![("GITLAB_CI", "true"), ("CI_PROJECT_DIR", dir)];
    vars.extend(push("feat", NULL_SHA, &feat));
    let run = ws.ci(&vars, &[], true);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    run.assert_found(&[&on_feat], &[&on_main, &on_feat]);
    assert!(
        run.stderr.contains(
            "this push changes keyhound's allowlist (.keyhoundignore): 1 finding(s) it would \
             hide are reported"
        ),
        "{}",
        run.stderr
    );
}

/// `--format gitlab` on a scan of files: the same report, with GitLab's placeholder commit.
#[test]
fn dir_scan_writes_the_gitlab_report_too() {
    let ws = Workspace::new();
    let secret = Tokens::new(512).live();
    let files = ws.path("files");
    fs::create_dir(&files).unwrap();
    fs::write(files.join("app.env"), format!("\nKEY={secret}\n")).unwrap();
    let out = BinCommand::cargo_bin("keyhound")
        .unwrap()
        .current_dir(&files)
        .args(["dir", ".", "--format", "gitlab", "--config"])
        .arg(ws.path("keyhound.toml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let run = Run {
        code: 1,
        stdout: String::new(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        report: Some(String::from_utf8_lossy(&out.stdout).into_owned()),
    };
    run.assert_found(&[&secret], &[&secret]);
    let v = &run.report()["vulnerabilities"][0];
    assert_eq!(v["location"]["file"], "app.env");
    assert_eq!(v["location"]["start_line"], 2);
    assert_eq!(v["location"]["commit"]["sha"], "0000000");
}

/// A shallow clone (GitLab's default GIT_DEPTH) that lacks the commit a range starts from,
/// or that would cut a whole-history scan, fails and says to set GIT_DEPTH: 0.
#[test]
fn shallow_clone_fails_naming_the_variable_and_git_depth() {
    let ws = Workspace::new();
    let (origin, _work, base, head, secrets) = merge_request_repo(&ws, 506);
    let shallow = ws.clone(&origin, "shallow", &["--depth", "1", "--branch", "feat"]);
    let schedule = vec![
        ("CI_PIPELINE_SOURCE", "schedule"),
        ("CI_COMMIT_SHA", head.as_str()),
    ];
    let cases = [
        (
            merge_request(&base, &head),
            Some("CI_MERGE_REQUEST_DIFF_BASE_SHA"),
        ),
        (push("feat", &base, &head), Some("CI_COMMIT_BEFORE_SHA")),
        (push("feat", NULL_SHA, &head), None),
        (schedule, None),
    ];
    for (mut vars, variable) in cases {
        vars.push(("GIT_DEPTH", "1"));
        let run = ws.gitlab(&shallow, &vars, &[]);
        assert_eq!(run.code, 2, "{vars:?}: {}\n{}", run.stdout, run.stderr);
        assert!(
            run.report.is_none(),
            "no report for a scan that did not run"
        );
        assert!(run.stderr.contains("shallow clone"), "{}", run.stderr);
        assert!(
            run.stderr.contains("set `GIT_DEPTH: 0`") && run.stderr.contains("GIT_DEPTH is 1"),
            "{}",
            run.stderr
        );
        if let Some(variable) = variable {
            let named = format!("{base} (from {variable}) is not in the repository");
            assert!(run.stderr.contains(&named), "{named}: {}", run.stderr);
        }
        let all: Vec<&str> = secrets.iter().map(String::as_str).collect();
        for secret in all {
            assert!(!run.stderr.contains(secret));
        }
    }
}

#[test]
fn scheduled_pipeline_scans_every_ref_and_the_report_flags_are_honoured() {
    let ws = Workspace::new();
    let (origin, _work, _base, _head, secrets) = merge_request_repo(&ws, 507);
    let clone = ws.clone(&origin, "clone", &[]);
    let schedule = [
        ("CI_PIPELINE_SOURCE", "schedule"),
        ("CI_COMMIT_SHA", "HEAD"),
    ];
    let out = ws.path("out.json");
    let out_arg = out.to_str().unwrap();
    let run = ws.gitlab(
        &clone,
        &schedule,
        &[
            "--gitlab-report",
            out_arg,
            "--format",
            "json",
            "--show-secrets",
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run
        .stderr
        .contains("schedule: scanning the full history of every ref"));
    assert!(
        run.report.is_none(),
        "the report went where --gitlab-report said"
    );
    let text = fs::read_to_string(&out).unwrap();
    let relocated = Run {
        report: Some(text),
        ..run
    };
    // --show-secrets shows them on stdout (the JSON asked for), never in GitLab's report.
    let json: Value = serde_json::from_str(&relocated.stdout).unwrap();
    assert_eq!(json["summary"]["findings"], 3);
    let all: Vec<&str> = secrets.iter().map(String::as_str).collect();
    let doc = relocated.report();
    assert_eq!(doc["vulnerabilities"].as_array().unwrap().len(), 3);
    for secret in all {
        assert!(!relocated.report.as_deref().unwrap().contains(secret));
    }
}

#[test]
fn detection_and_the_override_flag() {
    let ws = Workspace::new();
    let (origin, _work, base, head, _) = merge_request_repo(&ws, 508);
    let clone = ws.clone(&origin, "clone", &["--branch", "feat"]);
    let dir = clone.to_str().unwrap();
    let mut vars = merge_request(&base, &head);
    vars.push(("CI_PROJECT_DIR", dir));

    // Without GITLAB_CI nothing says which system this is.
    let run = ws.ci(&vars, &[], false);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("no CI system detected") && run.stderr.contains("--ci-system"),
        "{}",
        run.stderr
    );
    // --ci-system says it, and wins over another system's variable.
    vars.push(("TF_BUILD", "True"));
    let run = ws.ci(&vars, &["--ci-system", "gitlab"], false);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.report.is_some());
    let run = ws.ci(&vars, &["--ci-system", "jenkins"], false);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("invalid value 'jenkins'"),
        "{}",
        run.stderr
    );
    // Azure detected from TF_BUILD: a branch build names no range, and the error says which
    // variable would.
    let run = ws.ci(
        &[("TF_BUILD", "True"), ("BUILD_REASON", "IndividualCI")],
        &[],
        false,
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("BUILD_REASON is IndividualCI")
            && run.stderr.contains("SYSTEM_PULLREQUEST_TARGETBRANCH"),
        "{}",
        run.stderr
    );
}

/// Azure Pipelines checks out the merge of the pull request, with every branch fetched as
/// `origin/*`: the merge against the target branch.
#[test]
fn azure_pull_request_build_scans_the_merge_against_the_target_branch() {
    let ws = Workspace::new();
    let (origin, _work, _base, head, secrets) = merge_request_repo(&ws, 509);
    let clone = ws.clone(&origin, "clone", &[]);
    GIT.run(&clone, &["checkout", "-q", "--detach", "origin/main"]);
    GIT.run(
        &clone,
        &[
            "merge",
            "-q",
            "--no-ff",
            "-m",
            "Merge pull request 3",
            &head,
        ],
    );
    let merged = GIT.run(&clone, &["rev-parse", "HEAD"]);
    let dir = clone.to_str().unwrap();
    let vars = [
        ("TF_BUILD", "True"),
        ("BUILD_REASON", "PullRequest"),
        ("SYSTEM_PULLREQUEST_TARGETBRANCH", "refs/heads/main"),
        ("SYSTEM_PULLREQUEST_PULLREQUESTID", "3"),
        ("BUILD_SOURCEVERSION", merged.as_str()),
        ("BUILD_SOURCESDIRECTORY", dir),
    ];
    let out = ws.path("run/gl.json");
    let run = ws.ci(&vars, &["--gitlab-report", out.to_str().unwrap()], false);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("keyhound: pull request 3: scanning"),
        "{}",
        run.stderr
    );
    let report = Run {
        report: fs::read_to_string(&out).ok(),
        ..run
    };
    let all: Vec<&str> = secrets.iter().map(String::as_str).collect();
    report.assert_found(&[&secrets[1]], &all);
}

/// Bitbucket clones one branch, shallow: the destination branch is missing until fetched,
/// and the error says so, naming the variable; after the fetch it advises, the scan runs.
#[test]
fn bitbucket_pull_request_pipeline_needs_the_destination_branch() {
    let ws = Workspace::new();
    let (origin, _work, _base, head, secrets) = merge_request_repo(&ws, 510);
    let clone = ws.clone(&origin, "clone", &["--branch", "feat", "--depth", "50"]);
    let dir = clone.to_str().unwrap();
    let vars = [
        ("BITBUCKET_BUILD_NUMBER", "12"),
        ("BITBUCKET_PR_ID", "4"),
        ("BITBUCKET_PR_DESTINATION_BRANCH", "main"),
        ("BITBUCKET_COMMIT", head.as_str()),
        ("BITBUCKET_CLONE_DIR", dir),
    ];
    let run = ws.ci(&vars, &[], false);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "refs/remotes/origin/main (from BITBUCKET_PR_DESTINATION_BRANCH) is not in the \
             repository"
        ) && run.stderr.contains("clone: depth: full"),
        "{}",
        run.stderr
    );
    GIT.run(
        &clone,
        &[
            "fetch",
            "-q",
            "origin",
            "+refs/heads/main:refs/remotes/origin/main",
        ],
    );
    let run = ws.ci(&vars, &["--format", "gitlab"], false);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("keyhound: pull request #4: scanning"),
        "{}",
        run.stderr
    );
    let report = Run {
        report: Some(run.stdout.clone()),
        ..run
    };
    let all: Vec<&str> = secrets.iter().map(String::as_str).collect();
    report.assert_found(&[&secrets[1]], &all);

    // A branch pipeline names no range: refused, naming the variable that would.
    let branch = [
        ("BITBUCKET_BUILD_NUMBER", "13"),
        ("BITBUCKET_COMMIT", head.as_str()),
    ];
    let run = ws.ci(&branch, &[], false);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("BITBUCKET_PR_DESTINATION_BRANCH is not set"),
        "{}",
        run.stderr
    );
}
