//! Audits of many repositories (`keyhound git REPO…`, `--repos-from`), split into shards
//! (`--shard K/N`), merged (`keyhound merge`), cloned (`file://` URLs, offline) and re-run with
//! `--cache`, over real repositories built in temp dirs with a few commits each.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Write;
use std::path::PathBuf;
use std::process::Stdio;

use assert_cmd::cargo::CommandCargoExt;
use serde_json::Value;
use tempfile::TempDir;

mod common_git;
use common_git::{file_url, fingerprint, Git, Tokens, STRIPE_CONFIG};

/// A temp dir holding the config and the repositories.
struct Org {
    dir: TempDir,
    git: Git,
}

/// What one run of keyhound gave.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\n{}", self.stdout, self.stderr))
    }

    fn findings(&self) -> Vec<Value> {
        self.json()["findings"].as_array().unwrap().clone()
    }
}

impl Org {
    fn new() -> Org {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("keyhound.toml"), STRIPE_CONFIG).unwrap();
        Org {
            dir,
            git: Git::undated(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A repository `name` with one commit per entry of `files`.
    fn repo(&self, name: &str, commits: &[&[(&str, &str)]]) -> PathBuf {
        let repo = self.path(name);
        fs::create_dir_all(&repo).unwrap();
        self.git.run(&repo, &["init", "-q", "-b", "main"]);
        for (i, files) in commits.iter().enumerate() {
            self.git.commit(&repo, &format!("Commit {i}"), files);
        }
        repo
    }

    /// Runs keyhound in the workspace with its config, `stdin` on standard input.
    fn run(&self, args: &[&str], stdin: &str) -> Run {
        let mut cmd = std::process::Command::cargo_bin("keyhound").unwrap();
        cmd.current_dir(self.dir.path())
            .args(args)
            .arg("--config")
            .arg(self.path("keyhound.toml"))
            .args(if args[0] == "git" {
                &["--no-progress"][..]
            } else {
                &[]
            })
            .env_remove("GIT_DIR")
            .env_remove("GITHUB_STEP_SUMMARY")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// A place a secret was seen: (fingerprint, repository, path, line, commit).
type Place = (String, String, String, u64, String);

/// Every place every finding names: its own and its other locations.
fn places(findings: &[Value]) -> BTreeSet<Place> {
    let mut places = BTreeSet::new();
    for f in findings {
        let sha = f["secret"]["sha256"].as_str().unwrap().to_string();
        let repo = f["location"]["repo"].as_str().unwrap_or("").to_string();
        places.insert((
            sha.clone(),
            repo.clone(),
            f["location"]["path"].as_str().unwrap().to_string(),
            f["location"]["line"].as_u64().unwrap(),
            f["commit"]["id"].as_str().unwrap().to_string(),
        ));
        for o in f["commit"]["other_locations"].as_array().unwrap() {
            places.insert((
                sha.clone(),
                o["repo"].as_str().unwrap_or(&repo).to_string(),
                o["path"].as_str().unwrap().to_string(),
                o["line"].as_u64().unwrap(),
                o["commit"].as_str().unwrap().to_string(),
            ));
        }
    }
    places
}

/// Each secret's reported place: fingerprint → (repository, path, line, commit).
fn firsts(findings: &[Value]) -> BTreeMap<String, (String, String, u64, String)> {
    let mut firsts = BTreeMap::new();
    for f in findings {
        let sha = f["secret"]["sha256"].as_str().unwrap().to_string();
        let place = (
            f["location"]["repo"].as_str().unwrap_or("").to_string(),
            f["location"]["path"].as_str().unwrap().to_string(),
            f["location"]["line"].as_u64().unwrap(),
            f["commit"]["id"].as_str().unwrap().to_string(),
        );
        assert!(
            firsts.insert(sha, place).is_none(),
            "one finding per secret"
        );
    }
    firsts
}

/// `n` repositories `r00`… with a secret of their own each; the first `shared` also hold
/// `common`, in a second commit. Returns their paths as given.
fn org_of(org: &Org, n: usize, shared: usize, common: &str, seed: u64) -> Vec<String> {
    let mut tokens = Tokens::new(seed);
    (0..n)
        .map(|i| {
            let own = format!("KEY={}\n", tokens.live());
            let shared_file = format!("STRIPE={common}\n");
            let mut commits: Vec<&[(&str, &str)]> = Vec::new();
            let first = [("app.env", own.as_str()), ("README", "hello\n")];
            let second = [("deploy/prod.env", shared_file.as_str())];
            commits.push(&first);
            if i < shared {
                commits.push(&second);
            }
            let name = format!("r{i:02}");
            org.repo(&name, &commits);
            name
        })
        .collect()
}

#[test]
fn many_repositories_in_one_run_equal_the_union_of_single_runs() {
    let org = Org::new();
    let common = Tokens::new(99).live();
    let names = org_of(&org, 30, 5, &common, 1);

    let mut args = vec!["git"];
    args.extend(names.iter().map(String::as_str));
    args.extend(["--format", "json"]);
    let all = org.run(&args, "");
    assert_eq!(all.code, 1, "{}", all.stderr);
    assert!(!all.stdout.contains(&common) && !all.stderr.contains(&common));
    assert_eq!(all.json()["summary"]["repositories"], 30);

    let mut union = BTreeSet::new();
    for name in &names {
        let one = org.run(&["git", name, "--format", "json"], "");
        assert_eq!(one.code, 1, "{name}: {}", one.stderr);
        union.extend(places(&one.findings()));
    }
    assert_eq!(places(&all.findings()), union);

    // The shared secret is one finding, with the five repositories' places.
    let shared: Vec<Value> = all
        .findings()
        .into_iter()
        .filter(|f| f["secret"]["sha256"] == fingerprint(&common).as_str())
        .collect();
    assert_eq!(shared.len(), 1, "{shared:#?}");
    assert_eq!(places(&shared).len(), 5);
    // The earliest commit: r00's, the first made.
    assert_eq!(shared[0]["location"]["repo"], "r00");
    assert_eq!(
        all.findings().len(),
        31,
        "30 own secrets and the shared one"
    );
}

#[test]
fn a_list_with_a_missing_repository_is_exit_2_with_the_others_findings() {
    let org = Org::new();
    let common = Tokens::new(98).live();
    let names = org_of(&org, 5, 5, &common, 2);
    let mut list = String::from("# the organisation\n\n");
    list.push_str(&names[..2].join("\n"));
    list.push_str("\nno-such-repo\n");
    list.push_str(&names[2..].join("\n"));
    list.push('\n');

    let run = org.run(&["git", "--repos-from", "-", "--format", "json"], &list);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("no-such-repo"), "{}", run.stderr);
    let repos: BTreeSet<String> = places(&run.findings()).into_iter().map(|p| p.1).collect();
    assert_eq!(repos.len(), 5, "{repos:?}");
    assert_eq!(run.json()["summary"]["errors"], 1);

    let human = org.run(&["git", "--repos-from", "-", "--format", "human"], &list);
    assert_eq!(human.code, 2);
    assert!(
        human.stdout.contains("in 5 repositories"),
        "{}",
        human.stdout
    );
    // The one folded secret's file is named with its repository, and the error names the
    // missing one once.
    assert!(
        human
            .stdout
            .lines()
            .any(|l| l.contains(": ") && names.iter().any(|n| l.starts_with(n.as_str()))),
        "{}",
        human.stdout
    );
    assert!(
        !human.stderr.contains("no-such-repo: no-such-repo"),
        "{}",
        human.stderr
    );

    // An empty list is a failed listing, not an audit of nothing.
    let empty = org.run(&["git", "--repos-from", "-"], "# nothing\n");
    assert_eq!(empty.code, 2);
    assert!(
        empty.stderr.contains("names no repository"),
        "{}",
        empty.stderr
    );
}

#[test]
fn repository_shards_merged_equal_the_unsharded_run_in_any_order_and_again() {
    let org = Org::new();
    let common = Tokens::new(97).live();
    let names = org_of(&org, 9, 4, &common, 3);
    fs::write(org.path("repos.txt"), names.join("\n")).unwrap();
    let whole = org.run(
        &["git", "--repos-from", "repos.txt", "--format", "json"],
        "",
    );
    assert_eq!(whole.code, 1, "{}", whole.stderr);

    let mut shards = Vec::new();
    for k in 1..=3 {
        let out = format!("shard-{k}.jsonl");
        let shard = format!("{k}/3");
        let run = org.run(
            &[
                "git",
                "--repos-from",
                "repos.txt",
                "--shard",
                &shard,
                "--format",
                "jsonl",
                "-o",
                &out,
            ],
            "",
        );
        assert!(run.code <= 1, "{}", run.stderr);
        shards.push(out);
    }
    let merge = |reports: &[&str], extra: &[&str]| {
        let mut args = vec!["merge"];
        args.extend(reports);
        args.extend(["--format", "json"]);
        args.extend(extra);
        org.run(&args, "")
    };
    let merged = merge(
        &[&shards[0], &shards[1], &shards[2]],
        &["-o", "merged.json"],
    );
    assert_eq!(merged.code, 1, "{}", merged.stderr);
    let merged = org.run(&["merge", "merged.json", "--format", "json"], "");
    assert_eq!(firsts(&merged.findings()), firsts(&whole.findings()));
    assert_eq!(places(&merged.findings()), places(&whole.findings()));

    // Order-independent, and merging the merged report again changes nothing.
    let reordered = merge(&[&shards[2], &shards[0], &shards[1]], &[]);
    assert_eq!(reordered.findings(), merged.findings());
    let again = merge(&["merged.json", &shards[1]], &[]);
    assert_eq!(again.findings(), merged.findings());

    // Filters apply at merge time.
    let critical = merge(&["merged.json"], &["--min-severity", "critical"]);
    assert_eq!(critical.findings().len(), merged.findings().len());
    fs::write(
        org.path("baseline.json"),
        format!(
            r#"{{"version": 1, "findings": [{{"rule": "stripe-live-secret-key", "fingerprint": "{}"}}]}}"#,
            fingerprint(&common)
        ),
    )
    .unwrap();
    let known = merge(&["merged.json"], &["--baseline", "baseline.json"]);
    assert_eq!(known.findings().len(), merged.findings().len() - 1);
    let sarif = org.run(&["merge", "merged.json", "--format", "sarif"], "");
    assert_eq!(sarif.code, 1, "{}", sarif.stderr);
    let results = &serde_json::from_str::<Value>(&sarif.stdout).unwrap()["runs"][0]["results"];
    assert_eq!(results.as_array().unwrap().len(), merged.findings().len());
}

/// A shard written with `--show-secrets` holds raw secrets, in its values and its context
/// lines; a merge without the flag shows none of them, in any format.
#[test]
fn a_merge_without_show_secrets_hides_what_a_shard_showed() {
    let org = Org::new();
    let mut tokens = Tokens::new(41);
    let (key, neighbour) = (tokens.live(), tokens.test());
    let line = format!("STRIPE_KEY={key} # old: {neighbour}\n");
    org.repo("app", &[&[("config.env", line.as_str())]]);
    let shard = org.run(
        &[
            "git",
            "app",
            "--show-secrets",
            "--format",
            "jsonl",
            "-o",
            "shard.jsonl",
        ],
        "",
    );
    assert_eq!(shard.code, 1, "{}", shard.stderr);
    let written = fs::read_to_string(org.path("shard.jsonl")).unwrap();
    assert!(written.contains(&key), "the shard holds the raw secret");
    for format in ["json", "human", "sarif", "github"] {
        let merged = org.run(&["merge", "shard.jsonl", "--format", format], "");
        assert_eq!(merged.code, 1, "{}", merged.stderr);
        for raw in [&key, &neighbour] {
            assert!(
                !merged.stdout.contains(raw.as_str()),
                "{format} shows a raw secret:\n{}",
                merged.stdout
            );
        }
    }
    let shown = org.run(
        &["merge", "shard.jsonl", "--show-secrets", "--format", "json"],
        "",
    );
    assert!(shown.stdout.contains(&key));
}

#[test]
fn blob_shards_of_one_repository_merged_equal_the_unsharded_run() {
    let org = Org::new();
    let mut tokens = Tokens::new(5);
    let common = tokens.live();
    let files: Vec<(String, String)> = (0..12)
        .map(|i| {
            let text = if i % 3 == 0 {
                format!("# v{i}\nKEY={common}\n")
            } else {
                format!("KEY={}\n", tokens.live())
            };
            (format!("conf/{i}.env"), text)
        })
        .collect();
    let commits: Vec<Vec<(&str, &str)>> = files
        .chunks(4)
        .map(|c| c.iter().map(|(p, t)| (p.as_str(), t.as_str())).collect())
        .collect();
    let commits: Vec<&[(&str, &str)]> = commits.iter().map(Vec::as_slice).collect();
    org.repo("big", &commits);

    let whole = org.run(&["git", "big", "--format", "json"], "");
    assert_eq!(whole.code, 1, "{}", whole.stderr);
    let mut reports = Vec::new();
    let mut read = 0;
    for k in 1..=3 {
        let out = format!("blobs-{k}.json");
        let shard = format!("{k}/3");
        let run = org.run(
            &[
                "git", "big", "--shard", &shard, "--format", "json", "-o", &out,
            ],
            "",
        );
        assert!(run.code <= 1, "{}", run.stderr);
        let doc: Value =
            serde_json::from_str(&fs::read_to_string(org.path(&out)).unwrap()).unwrap();
        read += doc["summary"]["files"].as_u64().unwrap();
        reports.push(out);
    }
    assert_eq!(
        read,
        whole.json()["summary"]["files"].as_u64().unwrap(),
        "each blob once"
    );
    let merged = org.run(
        &[
            "merge",
            &reports[1],
            &reports[0],
            &reports[2],
            "--format",
            "json",
        ],
        "",
    );
    assert_eq!(merged.code, 1, "{}", merged.stderr);
    assert_eq!(firsts(&merged.findings()), firsts(&whole.findings()));
    assert_eq!(places(&merged.findings()), places(&whole.findings()));
}

#[test]
fn a_cached_rerun_reads_no_unchanged_blob_and_finds_a_new_commit() {
    let org = Org::new();
    let common = Tokens::new(96).live();
    let names = org_of(&org, 3, 2, &common, 4);
    fs::write(org.path("repos.txt"), names.join("\n")).unwrap();
    let scan = || {
        let run = org.run(
            &[
                "git",
                "--repos-from",
                "repos.txt",
                "--cache",
                "cache",
                "--format",
                "json",
            ],
            "",
        );
        assert_eq!(run.code, 1, "{}", run.stderr);
        run
    };
    let count = |run: &Run, key: &str| run.json()["summary"][key].as_u64().unwrap_or(0);
    let cold = scan();
    assert!(count(&cold, "files") > 0);
    assert_eq!(count(&cold, "cached"), 0);
    let warm = scan();
    assert_eq!(count(&warm, "files"), 0, "no unchanged blob is read");
    assert_eq!(count(&warm, "cached"), count(&cold, "files"));
    assert_eq!(warm.findings(), cold.findings());

    let new_secret = Tokens::new(95).live();
    let added = org.git.commit(
        &org.path(&names[1]),
        "Add a key",
        &[("new.env", &format!("NEW={new_secret}\n"))],
    );
    let after = scan();
    assert_eq!(count(&after, "files"), 1, "only the new blob is read");
    let found = after
        .findings()
        .into_iter()
        .find(|f| f["secret"]["sha256"] == fingerprint(&new_secret).as_str())
        .expect("the new commit's secret");
    assert_eq!(found["commit"]["id"], added.as_str());
    assert!(!after.stdout.contains(&new_secret));

    // Other rules invalidate the cache.
    let mut config = fs::read_to_string(org.path("keyhound.toml")).unwrap();
    config.push_str("\n# changed\n");
    fs::write(org.path("keyhound.toml"), config).unwrap();
    let changed = scan();
    assert_eq!(count(&changed, "cached"), 0);
    assert_eq!(count(&changed, "files"), count(&cold, "files") + 1);
}

#[test]
fn clone_urls_are_cloned_bare_scanned_and_deleted_unless_kept() {
    let org = Org::new();
    let mut tokens = Tokens::new(6);
    let secret = tokens.live();
    let upstream = org.repo("upstream", &[&[("k.env", &format!("K={secret}\n"))]]);
    let url = file_url(&upstream);
    let clones = org.path("clones");
    let clones_text = clones.to_str().unwrap();

    let run = org.run(
        &["git", &url, "--clone-dir", clones_text, "--format", "json"],
        "",
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.findings()[0]["location"]["repo"], url.as_str());
    assert_eq!(
        fs::read_dir(&clones).unwrap().count(),
        0,
        "deleted after the scan"
    );

    let kept = org.run(
        &[
            "git",
            &url,
            "--clone-dir",
            clones_text,
            "--keep-clones",
            "--format",
            "json",
        ],
        "",
    );
    assert_eq!(kept.code, 1, "{}", kept.stderr);
    assert_eq!(fs::read_dir(&clones).unwrap().count(), 1, "kept");
    // Kept, the clone is fetched again: a new commit upstream is found.
    let later = tokens.live();
    org.git
        .commit(&upstream, "Later", &[("l.env", &format!("L={later}\n"))]);
    let again = org.run(
        &[
            "git",
            &url,
            "--clone-dir",
            clones_text,
            "--keep-clones",
            "--format",
            "json",
        ],
        "",
    );
    assert_eq!(again.findings().len(), 2, "{}", again.stderr);

    let missing = file_url(&org.path("gone"));
    let failed = org.run(
        &[
            "git",
            &missing,
            &url,
            "--clone-dir",
            clones_text,
            "--format",
            "json",
        ],
        "",
    );
    assert_eq!(failed.code, 2, "{}", failed.stderr);
    assert!(failed.stderr.contains("gone"), "{}", failed.stderr);
    assert_eq!(failed.findings().len(), 2);

    let local = org.run(&["git", "upstream", "--keep-clones"], "");
    assert_eq!(local.code, 2);
    assert!(
        local.stderr.contains("no repository given is one"),
        "{}",
        local.stderr
    );
}
