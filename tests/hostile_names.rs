//! Issue 15, items 3 and 9: names from the scanned tree are escaped in every output. Files whose
//! names carry GitHub workflow commands (`::add-mask::`, a line break then `::stop-commands::`),
//! terminal escapes (OSC 52, CSI, C1), bidi overrides, backslash path tricks and bytes that are
//! not UTF-8, each holding a generated fake token, are scanned with `dir` in every format, with
//! `git` over their history and with `ci` over a push of them. No stdout or stderr line may read
//! as a workflow command unless keyhound wrote it as one, no escape character may reach either
//! stream, SARIF URIs stay percent-encoded relative references, and the names stay recognisable.
//! A repository's custom rule cannot put a live link or a tag in SARIF or the job summary.

#![cfg(unix)]

use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use serde_json::{json, Value};
use tempfile::TempDir;

mod common_hostile;
use common_hostile::{token, TOKEN_RULES};

/// A hostile file name (raw bytes) and how keyhound must show it in the human report and on
/// stderr (its escaped form).
struct Name {
    raw: &'static [u8],
    shown: &'static str,
}

const NAMES: &[Name] = &[
    Name {
        raw: b"::add-mask::x.env",
        shown: r"\x3a:add-mask::x.env",
    },
    Name {
        raw: b"a\n::stop-commands::tok.env",
        shown: r"a\x0a::stop-commands::tok.env",
    },
    Name {
        raw: b"osc\x1b]52;c;aGk=\x07.env",
        shown: r"osc\x1b]52;c;aGk=\x07.env",
    },
    Name {
        raw: b"cls\x1b[2J.env",
        shown: r"cls\x1b[2J.env",
    },
    Name {
        raw: "c1\u{9b}31m.env".as_bytes(),
        shown: r"c1\u{009b}31m.env",
    },
    Name {
        raw: "bidi\u{202e}vne.txt".as_bytes(),
        shown: r"bidi\u{202e}vne.txt",
    },
    Name {
        raw: b"legacy##[add-mask]y.env",
        shown: r"legacy##\x5badd-mask]y.env",
    },
    Name {
        // Shown with the backslash before `x` doubled, so that it cannot pass for a byte
        // escape (`\xFF` below).
        raw: br"..\..\x.env",
        shown: r"..\..\\x.env",
    },
    Name {
        raw: b"bad\xff.env",
        shown: r"bad\xFF.env",
    },
];

/// The workflow-command levels keyhound writes in `--format github`.
const OWN_COMMANDS: [&str; 3] = ["::error ", "::warning ", "::notice "];

fn keyhound() -> Command {
    let mut cmd = Command::cargo_bin("keyhound").unwrap();
    cmd.env_remove("NO_COLOR")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env("CI", "true");
    cmd
}

/// A temp dir holding the config (outside the scanned tree), the tree `src/` with one hostile
/// file per name, each holding its own fake token, and room for outputs.
struct Tree {
    dir: TempDir,
    tokens: Vec<String>,
}

impl Tree {
    fn new() -> Tree {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("keyhound.toml"), TOKEN_RULES).unwrap();
        let src = dir.path().join("src");
        fs::create_dir(&src).unwrap();
        let tokens: Vec<String> = (0..NAMES.len())
            .map(|i| token("hdemo_", 1500 + i as u64))
            .collect();
        for (name, token) in NAMES.iter().zip(&tokens) {
            fs::write(
                src.join(OsStr::from_bytes(name.raw)),
                format!("API_TOKEN={token}\n"),
            )
            .unwrap();
        }
        Tree { dir, tokens }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn config(&self) -> PathBuf {
        self.path("keyhound.toml")
    }
}

/// Asserts what holds for every output of every command: no raw secret, no ESC, C1 or bidi
/// character, and no line the Actions runner would read as a workflow command (the runner trims
/// leading whitespace, and reads the legacy `##[` anywhere) other than keyhound's own
/// annotations, when `own_commands` allows them on stdout.
fn assert_inert(what: &str, stream: &[u8], own_commands: bool, tokens: &[String]) {
    assert!(
        !stream.contains(&0x1b),
        "{what}: ESC reached the output:\n{}",
        String::from_utf8_lossy(stream)
    );
    let text = String::from_utf8_lossy(stream);
    for c in text.chars() {
        assert!(
            !matches!(c, '\u{80}'..='\u{9f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'),
            "{what}: raw U+{:04X} in the output:\n{text}",
            c as u32
        );
    }
    for (i, token) in tokens.iter().enumerate() {
        assert!(!text.contains(token.as_str()), "{what}: raw token #{i}");
    }
    for line in text.lines() {
        assert!(!line.contains("##["), "{what}: legacy command in {line:?}");
        let trimmed = line.trim_start();
        if !trimmed.starts_with("::") {
            continue;
        }
        assert!(
            own_commands && line == trimmed && OWN_COMMANDS.iter().any(|c| line.starts_with(c)),
            "{what}: a line reads as a workflow command: {line:?}"
        );
        // keyhound's own annotation: the `file=` property holds no raw `:` or `,`, so the
        // name cannot end it and start the message early.
        let props = &line[line.find(' ').unwrap() + 1..];
        let file = props
            .strip_prefix("file=")
            .and_then(|p| p.split(',').next())
            .unwrap_or_else(|| panic!("{what}: annotation without file=: {line:?}"));
        assert!(!file.contains(':'), "{what}: unescaped file= in {line:?}");
    }
}

fn assert_run_inert(what: &str, out: &Output, own_commands: bool, tokens: &[String]) {
    assert_inert(&format!("{what} stdout"), &out.stdout, own_commands, tokens);
    assert_inert(&format!("{what} stderr"), &out.stderr, false, tokens);
}

/// Each name in its escaped form, so a reader can still tell which file is meant.
fn assert_names_shown(what: &str, text: &str) {
    for name in NAMES {
        assert!(
            text.contains(name.shown),
            "{what}: {:?} is not shown as {:?}:\n{text}",
            String::from_utf8_lossy(name.raw),
            name.shown
        );
    }
}

/// The lossless text keyhound reports as a name's path in JSON: the UTF-8 name itself, or
/// `\xFF` for a byte that is not UTF-8 (paths are relative to the scanned root).
fn json_path(name: &Name) -> String {
    keyhound::escape::name_from_bytes(name.raw)
}

/// Every SARIF artifact URI is a relative reference whose segments hold only unreserved
/// characters, safe sub-delimiters and percent escapes: no `..`, no backslash, no control.
fn assert_sarif_uris(what: &str, sarif: &Value) -> Vec<String> {
    let uris: Vec<String> = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let loc = &r["locations"][0]["physicalLocation"]["artifactLocation"];
            assert_eq!(loc["uriBaseId"], "%SRCROOT%", "{what}");
            loc["uri"].as_str().unwrap().to_string()
        })
        .collect();
    for uri in &uris {
        assert!(
            uri.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=@%/".contains(&b)),
            "{what}: {uri:?} is not percent-encoded"
        );
        assert!(
            uri.split('/').all(|seg| seg != ".." && seg != "."),
            "{what}: {uri:?} has a dot segment"
        );
        assert!(!uri.starts_with('/'), "{what}: {uri:?} is not relative");
    }
    uris
}

#[test]
fn hostile_file_names_are_escaped_in_every_dir_format() {
    let tree = Tree::new();
    let summary = tree.path("step_summary.md");
    for format in ["human", "json", "jsonl", "sarif", "github"] {
        let _ = fs::remove_file(&summary);
        let out = keyhound()
            .current_dir(tree.path("src"))
            .args(["dir", "."])
            .arg("--config")
            .arg(tree.config())
            .args(["--format", format, "--color", "never"])
            .env("GITHUB_STEP_SUMMARY", &summary)
            .output()
            .unwrap();
        let what = format!("dir --format {format}");
        assert_eq!(
            out.status.code(),
            Some(1),
            "{what}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_run_inert(&what, &out, format == "github", &tree.tokens);
        let summary_text = fs::read(&summary).unwrap();
        assert_inert(
            &format!("{what} job summary"),
            &summary_text,
            false,
            &tree.tokens,
        );
        let stdout = String::from_utf8(out.stdout).unwrap();
        match format {
            "human" => assert_names_shown(&what, &stdout),
            "json" | "jsonl" => {
                let docs: Vec<Value> = if format == "json" {
                    serde_json::from_str::<Value>(&stdout).unwrap()["findings"]
                        .as_array()
                        .unwrap()
                        .clone()
                } else {
                    stdout
                        .lines()
                        .map(|l| serde_json::from_str(l).unwrap())
                        .collect()
                };
                let paths: Vec<&str> = docs
                    .iter()
                    .map(|f| f["location"]["path"].as_str().unwrap())
                    .collect();
                for name in NAMES {
                    let path = json_path(name);
                    assert!(
                        paths.contains(&path.as_str()),
                        "{what}: {path:?} not in {paths:?}"
                    );
                }
            }
            "sarif" => {
                let sarif: Value = serde_json::from_str(&stdout).unwrap();
                let uris = assert_sarif_uris(&what, &sarif);
                for expected in [
                    "..%5C..%5Cx.env",
                    "%3A%3Aadd-mask%3A%3Ax.env",
                    "a%0A%3A%3Astop-commands%3A%3Atok.env",
                    "bad%FF.env",
                    "bidi%E2%80%AEvne.txt",
                ] {
                    assert!(
                        uris.iter().any(|u| u == expected),
                        "{what}: no {expected} in {uris:?}"
                    );
                }
            }
            "github" => {
                let annotations = stdout.lines().filter(|l| l.starts_with("::")).count();
                assert_eq!(annotations, NAMES.len(), "{what}:\n{stdout}");
                for escaped in [
                    "file=%3A%3Aadd-mask%3A%3Ax.env,",
                    "file=cls%1B[2J.env,",
                    "file=legacy##%5Badd-mask]y.env,",
                    "file=..\\..\\x.env,",
                ] {
                    assert!(stdout.contains(escaped), "{what}: no {escaped}:\n{stdout}");
                }
            }
            _ => unreachable!(),
        }
        // The job summary names every file, escaped, in code spans.
        let summary_text = String::from_utf8(summary_text).unwrap();
        for shown in [r"\x3a:add-mask::x.env", r"cls\x1b[2J.env", r"bad\xFF.env"] {
            assert!(
                summary_text.contains(shown),
                "{what}: summary lacks {shown}"
            );
        }
    }
}

#[test]
fn problem_lines_name_hostile_files_escaped() {
    let tree = Tree::new();
    // A root that does not exist is reported by name on stderr.
    let missing = tree.path("::add-mask::gone\x1b]52;c;aGk=\x07");
    let big = tree.path("src/::big\x1b[31m.env");
    fs::write(
        &big,
        format!("API_TOKEN={}\n{}", tree.tokens[0], "x".repeat(4096)),
    )
    .unwrap();
    let out = keyhound()
        .arg("dir")
        .arg(tree.path("src"))
        .arg(&missing)
        .arg("--config")
        .arg(tree.config())
        .args(["--format", "json", "--max-file-size", "2048"])
        .output()
        .unwrap();
    assert_run_inert("problems", &out, false, &tree.tokens);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains(r"/::add-mask::gone\x1b]52;c;aGk=\x07"),
        "the missing root is named, escaped:\n{stderr}"
    );
    // A file too large to scan is named too, if it is skipped rather than streamed.
    if let Some(line) = stderr.lines().find(|l| l.contains("not scanned")) {
        assert!(line.contains(r"/::big\x1b[31m.env"), "{line}");
    }
}

/// Runs git in `repo` as a fixed committer.
fn git(repo: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .current_dir(repo)
        .args([
            "-c",
            "user.name=Mallory",
            "-c",
            "user.email=m@example.com",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// A repository whose first commit is clean and whose second adds the hostile files and a
/// submodule entry with a hostile name; returns (base, head).
fn hostile_repo(tree: &Tree) -> (String, String) {
    let repo = tree.path("src");
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["commit", "-q", "--allow-empty", "-m", "base"]);
    let base = git(&repo, &["rev-parse", "HEAD"]);
    git(&repo, &["add", "-A"]);
    git(
        &repo,
        &[
            "update-index",
            "--add",
            "--cacheinfo",
            &format!("160000,{base},::sub\x1b[2J"),
        ],
    );
    git(&repo, &["commit", "-q", "-m", "hostile names"]);
    (base, git(&repo, &["rev-parse", "HEAD"]))
}

#[test]
fn hostile_names_in_history_are_escaped() {
    let tree = Tree::new();
    hostile_repo(&tree);
    for format in ["human", "json", "sarif", "github", "gitlab"] {
        let out = keyhound()
            .arg("git")
            .arg(tree.path("src"))
            .arg("--config")
            .arg(tree.config())
            .args(["--format", format, "--color", "never"])
            .output()
            .unwrap();
        let what = format!("git --format {format}");
        assert_eq!(out.status.code(), Some(1), "{what}");
        assert_run_inert(&what, &out, format == "github", &tree.tokens);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(r"\x3a:sub\x1b[2J is a submodule"),
            "{what}: the submodule note names it, escaped:\n{stderr}"
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        match format {
            "human" => assert_names_shown(&what, &stdout),
            "json" => {
                let doc: Value = serde_json::from_str(&stdout).unwrap();
                let paths: Vec<&str> = doc["findings"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|f| f["location"]["path"].as_str().unwrap())
                    .collect();
                for name in NAMES {
                    let path = json_path(name);
                    assert!(
                        paths.contains(&path.as_str()),
                        "{what}: {path:?} not in {paths:?}"
                    );
                }
            }
            "gitlab" => {
                let doc: Value = serde_json::from_str(&stdout).unwrap();
                let files: Vec<&str> = doc["vulnerabilities"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v["location"]["file"].as_str().unwrap())
                    .collect();
                for name in NAMES {
                    assert!(
                        files.contains(&json_path(name).as_str()),
                        "{what}: {files:?}"
                    );
                }
            }
            "sarif" => {
                let uris = assert_sarif_uris(&what, &serde_json::from_str(&stdout).unwrap());
                assert!(uris.iter().any(|u| u == "..%5C..%5Cx.env"), "{uris:?}");
            }
            _ => {}
        }
    }
}

#[test]
fn hostile_names_in_a_pushed_commit_are_escaped_by_ci() {
    let tree = Tree::new();
    let (base, head) = hostile_repo(&tree);
    let event = tree.path("event.json");
    let payload = json!({
        "ref": "refs/heads/main",
        "before": base,
        "after": head,
        "created": false,
        "forced": false,
    });
    fs::write(&event, payload.to_string()).unwrap();
    let (summary, sarif, outputs) = (
        tree.path("summary.md"),
        tree.path("keyhound.sarif"),
        tree.path("github_output"),
    );
    let out = keyhound()
        .current_dir(tree.path("src"))
        .arg("ci")
        .arg("--config")
        .arg(tree.config())
        .arg("--sarif-file")
        .arg(&sarif)
        .env("GITHUB_EVENT_NAME", "push")
        .env("GITHUB_EVENT_PATH", &event)
        .env("GITHUB_OUTPUT", &outputs)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_WORKSPACE", tree.path("src"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_run_inert("ci", &out, true, &tree.tokens);
    assert_inert(
        "ci job summary",
        &fs::read(&summary).unwrap(),
        false,
        &tree.tokens,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("::")).count(),
        NAMES.len(),
        "one annotation per hostile file:\n{stdout}"
    );
    let doc: Value = serde_json::from_str(&fs::read_to_string(&sarif).unwrap()).unwrap();
    let uris = assert_sarif_uris("ci sarif", &doc);
    assert!(uris.iter().any(|u| u == "..%5C..%5Cx.env"), "{uris:?}");
}

#[test]
fn hostile_names_staged_for_a_commit_are_escaped() {
    let tree = Tree::new();
    let repo = tree.path("src");
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["commit", "-q", "--allow-empty", "-m", "base"]);
    let base = git(&repo, &["rev-parse", "HEAD"]);
    git(&repo, &["add", "-A"]);
    git(
        &repo,
        &[
            "update-index",
            "--add",
            "--cacheinfo",
            &format!("160000,{base},::sub\x1b[2J"),
        ],
    );
    for format in ["human", "github"] {
        let out = keyhound()
            .arg("staged")
            .arg(&repo)
            .arg("--config")
            .arg(tree.config())
            .args(["--format", format, "--color", "never"])
            .output()
            .unwrap();
        let what = format!("staged --format {format}");
        assert_eq!(out.status.code(), Some(1), "{what}");
        assert_run_inert(&what, &out, format == "github", &tree.tokens);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(r"\x3a:sub\x1b[2J: submodule not scanned"),
            "{what}: the submodule note names it, escaped:\n{stderr}"
        );
        if format == "human" {
            assert_names_shown(&what, &String::from_utf8_lossy(&out.stdout));
        }
    }
}

/// Markdown with its code spans taken out: what GitHub would render as something other than
/// literal code.
fn outside_code_spans(markdown: &str) -> String {
    let mut out = String::new();
    let mut rest = markdown;
    while let Some(open) = rest.find('`') {
        out.push_str(&rest[..open]);
        let run = rest[open..].bytes().take_while(|&b| b == b'`').count();
        let fence = "`".repeat(run);
        let body = &rest[open + run..];
        match body.find(&fence) {
            Some(close) => rest = &body[close + run..],
            None => {
                rest = body;
            }
        }
    }
    out.push_str(rest);
    out
}

/// No link, image or HTML tag GitHub would render, except plain links to `allowed`.
fn assert_markdown_inert(what: &str, markdown: &str, allowed: &str) {
    let prose = outside_code_spans(markdown);
    let lower = prose.to_lowercase();
    assert!(!lower.contains("<script"), "{what}: a tag:\n{markdown}");
    assert!(!lower.contains("<img"), "{what}: a tag:\n{markdown}");
    assert!(
        !lower.contains("evil.example"),
        "{what}: a live link:\n{markdown}"
    );
    for (at, _) in prose.match_indices("](") {
        assert!(
            prose[..at].ends_with('\\'),
            "{what}: an unescaped link at {at}:\n{markdown}"
        );
    }
    assert!(
        prose.contains(allowed),
        "{what}: the rule's own link is gone:\n{markdown}"
    );
}

#[test]
fn a_custom_rule_cannot_put_links_or_html_in_sarif_or_the_job_summary() {
    let dir = tempfile::tempdir().unwrap();
    let config = r#"
[[rule]]
id = "evil-token"
name = "Evil [click](https://evil.example/name) token"
provider = "Evil <b>Corp</b>"
description = "Looks fine [click](https://evil.example) <script>alert(1)</script> ![x](https://evil.example/i.png) www.evil.example"
keywords = ["hdemo_"]
regex = '\b(?P<secret>hdemo_[0-9A-Za-z]{32})\b'
min_entropy_bits = 128
severity = "critical"
confidence = "high"
revoke_url = "https://keys.example/revoke"
rotation = ["Go to https://evil.example/steal and <img src=x onerror=alert(1)>", "[here](javascript:alert(1))"]
"#;
    fs::write(dir.path().join("keyhound.toml"), config).unwrap();
    let secret = token("hdemo_", 77);
    fs::write(dir.path().join("app.env"), format!("API_TOKEN={secret}\n")).unwrap();
    let summary = dir.path().join("summary.md");
    let out = keyhound()
        .current_dir(dir.path())
        .args(["dir", "."])
        .args(["--format", "sarif"])
        .env("GITHUB_STEP_SUMMARY", &summary)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sarif: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rules = sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    let rule = rules.iter().find(|r| r["id"] == "evil-token").unwrap();
    let markdown = rule["help"]["markdown"].as_str().unwrap();
    assert_markdown_inert(
        "SARIF help.markdown",
        markdown,
        "https://keys.example/revoke",
    );
    assert!(
        markdown.contains("&lt;script&gt;"),
        "the tag is shown as text:\n{markdown}"
    );
    for field in [
        &rule["help"]["text"],
        &rule["fullDescription"]["text"],
        &rule["shortDescription"]["text"],
    ] {
        let text = field.as_str().unwrap();
        assert!(
            !text.contains("[click]("),
            "SARIF text keeps a link: {text}"
        );
    }
    let message = sarif["runs"][0]["results"][0]["message"]["text"]
        .as_str()
        .unwrap();
    assert!(
        !message.contains("[click]("),
        "SARIF message keeps a link: {message}"
    );
    let summary = fs::read_to_string(&summary).unwrap();
    assert_markdown_inert("job summary", &summary, "https://keys.example/revoke");
}
