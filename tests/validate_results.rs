//! `--validate` through the real binary, its results: key pairs signed in code, the cache,
//! the playbook and summary a verdict changes, `ci --fail-on live` and `merge`. Requests go to
//! a recording proxy on localhost (see common_proxy), never to the internet.

mod common_hostile;
mod common_proxy;

use common_hostile::{findings, keyhound, run, write};
use common_proxy::{repo_with_token, scan, Proxy};
use keyhound::rules::templates::{expand, ExampleRng};

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
    assert!(reason.contains("not at hand"), "{reason}");
    assert_eq!(proxy.lines().len(), 3, "nothing to send");
}
