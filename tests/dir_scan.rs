//! `keyhound dir` and `keyhound stdin` end to end: the real binary over trees built in temp
//! dirs, asserting rule, path, line, fingerprint, exit code, and that no raw secret leaks.

mod common_hostile;

use std::fs;
use std::path::Path;

use assert_cmd::Command;
use common_hostile::git;
use keyhound::rules::templates::{expand, ExampleRng};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// A fake Stripe live key from a fixed seed: random enough to pass the entropy floor, never a
/// real credential.
fn fake_stripe_key(seed: u64) -> String {
    const ALNUM: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let body: String = (0..28)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            ALNUM[(state % 62) as usize] as char
        })
        .collect();
    format!("sk_{}_{body}", "live")
}

fn sha256_hex(s: &str) -> String {
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn keyhound() -> Command {
    let mut cmd = Command::cargo_bin("keyhound").unwrap();
    cmd.env_remove("NO_COLOR").env("CI", "true");
    cmd
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(cmd: &mut Command) -> Run {
    let out = cmd.output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn report_json(run: &Run) -> Value {
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", run.stdout))
}

fn json_findings(run: &Run) -> Vec<Value> {
    report_json(run)["findings"].as_array().unwrap().clone()
}

fn assert_no_raw(run: &Run, secrets: &[&str]) {
    for secret in secrets {
        assert!(!run.stdout.contains(secret), "raw secret in stdout");
        assert!(!run.stderr.contains(secret), "raw secret in stderr");
    }
}

fn write(root: &Path, rel: &str, contents: impl AsRef<[u8]>) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, contents).unwrap();
}

#[test]
fn finds_a_secret_with_path_line_column_and_fingerprint() {
    let dir = tempfile::tempdir().unwrap();
    let key = fake_stripe_key(1);
    write(
        dir.path(),
        "services/billing/.env",
        format!("# billing\nDEBUG=1\nSTRIPE_SECRET_KEY={key}\n"),
    );
    write(dir.path(), "README.md", "nothing to see\n");
    let r = run(keyhound()
        .current_dir(dir.path())
        .args(["dir", "."])
        .args(["--format", "json"]));
    assert_eq!(r.code, 1, "{}", r.stderr);
    let findings = json_findings(&r);
    assert_eq!(findings.len(), 1, "{findings:#?}");
    let f = &findings[0];
    assert_eq!(f["rule"], "stripe-live-secret-key");
    assert_eq!(f["location"]["path"], "services/billing/.env");
    assert_eq!(f["location"]["line"], 3);
    assert_eq!(f["location"]["column"], 19);
    assert_eq!(f["location"]["end_column"], 19 + key.len() as u64);
    assert_eq!(f["secret"]["sha256"], sha256_hex(&key));
    assert_eq!(f["secret"]["length"], key.len());
    assert!(f["secret"]["redacted"]
        .as_str()
        .unwrap()
        .starts_with("sk_live_"));
    assert!(f["secret"]["entropy_bits"].as_f64().unwrap() >= 128.0);
    assert!(f["secret"].get("value").is_none());
    assert!(f["commit"].is_null());
    assert!(!f["remediation"]["steps"].as_array().unwrap().is_empty());
    assert!(f["remediation"]["revoke_url"]
        .as_str()
        .unwrap()
        .starts_with("https://"));
    let summary = &serde_json::from_str::<Value>(&r.stdout).unwrap()["summary"];
    assert_eq!(summary["files"], 2);
    assert_eq!(summary["findings"], 1);
    assert_no_raw(&r, &[&key]);
}

#[test]
fn clean_tree_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "src/main.rs",
        "fn main() { println!(\"hi\"); }\n",
    );
    let r = run(keyhound().current_dir(dir.path()).args(["dir", "."]));
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("no secrets found"), "{}", r.stderr);
}

#[test]
fn human_output_is_redacted_and_show_secrets_opts_in() {
    let dir = tempfile::tempdir().unwrap();
    let key = fake_stripe_key(2);
    write(dir.path(), "config.py", format!("STRIPE = \"{key}\"\n"));
    let r = run(keyhound().current_dir(dir.path()).args(["dir", "."]));
    assert_eq!(r.code, 1);
    assert!(r.stdout.contains("config.py"), "{}", r.stdout);
    assert!(r.stdout.contains("Stripe live secret key"), "{}", r.stdout);
    assert!(r.stdout.contains(&sha256_hex(&key)[..12]), "{}", r.stdout);
    assert!(r.stdout.contains("What to do"), "{}", r.stdout);
    assert_no_raw(&r, &[&key]);

    let r = run(keyhound().current_dir(dir.path()).args(["dir", "."]).args([
        "--show-secrets",
        "--format",
        "json",
    ]));
    assert_eq!(json_findings(&r)[0]["secret"]["value"], key.as_str());
}

/// The paths of a JSON report's findings, sorted.
fn finding_paths(r: &Run) -> Vec<String> {
    let mut paths: Vec<String> = json_findings(r)
        .iter()
        .map(|f| f["location"]["path"].as_str().unwrap().to_owned())
        .collect();
    paths.sort();
    paths
}

/// A source tarball with `*.pem` in its `.gitignore` had most of its private keys skipped,
/// silently: outside a git repository a `.gitignore` is just a file (as in ripgrep).
#[test]
fn a_plain_directory_is_scanned_whole_skipping_git_and_large_files_and_scanning_binaries() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let keys: Vec<String> = (10..15).map(fake_stripe_key).collect();
    write(root, ".gitignore", "ignored.env\n");
    write(root, "ignored.env", format!("K={}\n", keys[0]));
    write(root, ".git/config", format!("K={}\n", keys[1]));
    // A NUL no longer hides the text after it: binaries are scanned in their printable runs.
    let mut binary = b"\x00\x01\x02binary\x00".to_vec();
    binary.extend_from_slice(keys[2].as_bytes());
    write(root, "blob.bin", binary);
    write(
        root,
        "big.txt",
        format!("{}K={}\n", "x".repeat(2000), keys[3]),
    );
    write(root, "kept.env", format!("K={}\n", keys[4]));

    let r = run(keyhound().current_dir(root).args(["dir", "."]).args([
        "--format",
        "json",
        "--max-file-size",
        "1000",
    ]));
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(finding_paths(&r), ["blob.bin", "ignored.env", "kept.env"]);
    let summary = &report_json(&r)["summary"];
    assert_eq!(summary["skipped"], 1, "{summary}");
    assert_eq!(summary["ignored"], 0, "{summary}");
    assert!(r.stderr.contains("skipped 1"), "{}", r.stderr);

    let r = run(keyhound().current_dir(root).args(["dir", "."]).args([
        "--format",
        "json",
        "--no-ignore",
    ]));
    let expected = ["big.txt", "blob.bin", "ignored.env", "kept.env"];
    assert_eq!(finding_paths(&r), expected);
    assert_no_raw(&r, &keys.iter().map(String::as_str).collect::<Vec<_>>());
}

/// In a work tree git's ignore rules apply to untracked files only: a tracked key that a
/// `.gitignore` pattern matches is in every clone, so it is reported; what the rules and the
/// path allowlists leave out is counted in the summary, each separately.
#[test]
fn a_work_tree_scans_tracked_files_a_gitignore_matches_and_counts_what_it_leaves_out() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let keys: Vec<String> = (20..25).map(fake_stripe_key).collect();
    write(root, ".gitignore", "*.pem\nbuild/\n");
    write(root, "certs/key.pem", format!("K={}\n", keys[0]));
    write(root, "certs/local.pem", format!("K={}\n", keys[1]));
    write(root, "build/out.env", format!("K={}\n", keys[2]));
    write(
        root,
        "web/package-lock.json",
        format!("{{\"k\": \"{}\"}}\n", keys[3]),
    );
    write(root, "app.env", format!("K={}\n", keys[4]));
    git(root, &["init", "-q"]);
    git(root, &["add", ".gitignore", "app.env", "web"]);
    git(root, &["add", "-f", "certs/key.pem"]);

    for (cwd, target, shown) in [
        (root.to_path_buf(), ".", ["app.env", "certs/key.pem"]),
        (root.join("certs"), "..", ["../app.env", "../certs/key.pem"]),
    ] {
        let r = run(keyhound()
            .current_dir(&cwd)
            .args(["dir", target, "--format", "json"]));
        assert_eq!(r.code, 1, "{}", r.stderr);
        assert_eq!(finding_paths(&r), shown);
        let summary = &report_json(&r)["summary"];
        // certs/local.pem and build/ (one directory), by git; web/package-lock.json by the
        // default path allowlist.
        assert_eq!(summary["ignored"], 2, "{summary}");
        assert_eq!(summary["excluded"], 1, "{summary}");
    }
    let r = run(keyhound()
        .current_dir(root)
        .args(["dir", "certs", "--format", "json"]));
    assert_eq!(finding_paths(&r), ["certs/key.pem"]);
    assert_eq!(report_json(&r)["summary"]["ignored"], 1);
    let r = run(keyhound().current_dir(root).args(["dir", "."]));
    assert!(
        r.stderr.contains("2 untracked path(s) ignored by git")
            && r.stderr.contains("1 file(s) left out by path allowlists"),
        "{}",
        r.stderr
    );
    let r = run(keyhound()
        .current_dir(root)
        .args(["dir", ".", "--format", "json", "--no-ignore"]));
    let expected = [
        "app.env",
        "build/out.env",
        "certs/key.pem",
        "certs/local.pem",
    ];
    assert_eq!(finding_paths(&r), expected);
    assert_eq!(report_json(&r)["summary"]["ignored"], 0);
}

/// Vendored code is other people's, full of their test values: only private keys are looked
/// for there (a key file is a key wherever it sits), reported as vendored, one severity lower.
/// `use_default_paths = false` scans it like any other code.
#[test]
fn vendored_code_is_searched_for_private_keys_only() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let pem = expand(
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA@{rand:base64:48}\n@{rand:base64:64}\n@{rand:base64:64}\n@{rand:base64:40}==\n-----END RSA PRIVATE KEY-----\n",
        &mut ExampleRng::new(31),
    )
    .unwrap();
    let go_literal = format!("var caKey = []byte(`{pem}`)\n");
    write(root, "vendor/github.com/x/proxy/key.pem", &pem);
    write(root, "vendor/github.com/x/proxy/certs.go", go_literal);
    write(
        root,
        "vendor/github.com/x/proxy/conf.env",
        format!("K={}\n", fake_stripe_key(32)),
    );
    write(
        root,
        "web/node_modules/pkg/test.js",
        format!("k = '{}'\n", fake_stripe_key(33)),
    );

    let r = run(keyhound()
        .current_dir(root)
        .args(["dir", ".", "--format", "json"]));
    assert_eq!(r.code, 1, "{}", r.stderr);
    let findings = json_findings(&r);
    let seen: Vec<(&str, &str, &str, &str)> = findings
        .iter()
        .map(|f| {
            (
                f["location"]["path"].as_str().unwrap(),
                f["rule"].as_str().unwrap(),
                f["severity"].as_str().unwrap(),
                f["path_context"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (
                "vendor/github.com/x/proxy/certs.go",
                "private-key-pem",
                "high",
                "vendored"
            ),
            (
                "vendor/github.com/x/proxy/key.pem",
                "private-key-pem",
                "high",
                "vendored"
            ),
        ]
    );
    assert!(findings.iter().all(|f| f["rule_severity"] == "critical"));

    write(
        root,
        "keyhound.toml",
        "[allowlist]\nuse_default_paths = false\n",
    );
    let r = run(keyhound()
        .current_dir(root)
        .args(["dir", ".", "--format", "json"]));
    assert_eq!(json_findings(&r).len(), 4, "{}", r.stdout);
}

#[test]
fn placeholders_and_examples_are_not_findings() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        ".env.example",
        "STRIPE_SECRET_KEY=sk_live_XXXXXXXXXXXXXXXXXXXXXXXX\nSTRIPE_KEY=${STRIPE_KEY}\nAPI_KEY=your_api_key_here\nAWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\nTOKEN=<token>\n",
    );
    let r = run(keyhound()
        .current_dir(dir.path())
        .args(["dir", "."])
        .args(["--format", "json"]));
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(json_findings(&r).is_empty());
}

#[test]
fn inline_allow_silences_one_line_only() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (fake_stripe_key(20), fake_stripe_key(21));
    write(
        dir.path(),
        "app.js",
        format!("const a = \"{a}\"; // keyhound:allow\nconst b = \"{b}\";\n"),
    );
    let r = run(keyhound()
        .current_dir(dir.path())
        .args(["dir", "."])
        .args(["--format", "json"]));
    let findings = json_findings(&r);
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0]["location"]["line"], 2);
    assert_eq!(findings[0]["secret"]["sha256"], sha256_hex(&b));
}

#[test]
fn config_allowlist_paths_and_bad_config_exit_two() {
    let dir = tempfile::tempdir().unwrap();
    let key = fake_stripe_key(30);
    write(dir.path(), "tests/fixture.env", format!("K={key}\n"));
    write(
        dir.path(),
        "keyhound.toml",
        "[allowlist]\npaths = [\"tests/**\"]\n",
    );
    let r = run(keyhound().current_dir(dir.path()).args(["dir", "."]));
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);

    write(
        dir.path(),
        "keyhound.toml",
        "[allowlist]\npathz = [\"tests/**\"]\n",
    );
    let r = run(keyhound().current_dir(dir.path()).args(["dir", "."]));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("keyhound.toml"), "{}", r.stderr);
    assert!(r.stderr.contains("pathz"), "{}", r.stderr);
}

#[test]
fn missing_path_is_reported_and_the_scan_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let key = fake_stripe_key(40);
    write(dir.path(), "a/.env", format!("K={key}\n"));
    let r = run(keyhound()
        .arg("dir")
        .arg(dir.path().join("a"))
        .arg(dir.path().join("does-not-exist"))
        .args(["--format", "json"]));
    assert_eq!(r.code, 2, "errors win over findings in the exit code");
    assert_eq!(json_findings(&r).len(), 1, "findings are still reported");
    assert!(r.stderr.contains("does-not-exist"), "{}", r.stderr);
}

#[cfg(unix)]
#[test]
fn symlink_loops_invalid_utf8_and_odd_file_names_do_not_stop_the_scan() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::create_dir(root.join("loop")).unwrap();
    std::os::unix::fs::symlink("..", root.join("loop/up")).unwrap();
    std::os::unix::fs::symlink("/", root.join("outside")).unwrap();
    let key = fake_stripe_key(50);
    let mut content = b"\xfd\xfe\xff not utf-8 \xc3\x28\n".to_vec();
    content.extend_from_slice(format!("KEY={key}\n").as_bytes());
    fs::write(root.join(OsStr::from_bytes(b"odd-\xffname.txt")), &content).unwrap();
    let r = run(keyhound()
        .current_dir(root)
        .args(["dir", "."])
        .args(["--format", "json"]));
    assert_eq!(r.code, 1, "{}", r.stderr);
    let findings = json_findings(&r);
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0]["location"]["line"], 2);
    assert!(findings[0]["location"]["path"]
        .as_str()
        .unwrap()
        .starts_with("odd-"));
}

#[test]
fn stdin_is_scanned_under_its_name() {
    let key = fake_stripe_key(60);
    let r = run(keyhound()
        .args(["stdin", "--name", "pasted.txt", "--format", "jsonl"])
        .write_stdin(format!("Authorization ok\nkey: {key}\n")));
    assert_eq!(r.code, 1, "{}", r.stderr);
    let finding: Value = serde_json::from_str(r.stdout.lines().next().unwrap()).unwrap();
    assert_eq!(finding["location"]["path"], "pasted.txt");
    assert_eq!(finding["location"]["line"], 2);
    assert_no_raw(&r, &[&key]);

    let r = run(keyhound().arg("stdin").write_stdin("nothing here\n"));
    assert_eq!(r.code, 0);
}

#[test]
fn output_file_and_custom_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let key = fake_stripe_key(70);
    write(dir.path(), "x.env", format!("K={key}\n"));
    let out = dir.path().join("report.json");
    let r = run(keyhound()
        .arg("dir")
        .arg(dir.path().join("x.env"))
        .args(["--format", "json", "--exit-code", "3", "-o"])
        .arg(&out));
    assert_eq!(r.code, 3);
    assert!(r.stdout.is_empty());
    let report = fs::read_to_string(&out).unwrap();
    assert!(report.contains(&sha256_hex(&key)));
    assert!(!report.contains(&key));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&out).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}

/// keyhound passes its own scan, using its own allowlist for rules/, tests/ and fixtures/.
#[test]
fn keyhound_passes_its_own_scan() {
    let root = env!("CARGO_MANIFEST_DIR");
    let r = run(keyhound().args(["dir", root, "--format", "json"]));
    assert_eq!(r.code, 0, "self-scan found: {}", r.stdout);
}
