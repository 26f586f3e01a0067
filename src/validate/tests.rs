//! Every validator in the embedded pack, run against the local HTTPS mock server (test builds
//! only can route requests there) answering as its provider documents: live, invalid (by
//! status and by error field), rate-limited, malformed, failing, slow and redirecting. Table
//! driven from the pack, so a new validator is covered without a new test.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};

use super::http::Http;
use super::mock::{Mock, Received, Reply};
use super::request::Verdict;
use super::runner::{self, Job, Limits};
use super::spec::{Declared, How, Identity, Validator};
use crate::rules::RulePack;

const SCENARIOS: [&str; 8] = [
    "live",
    "invalid",
    "refused",
    "ratelimited",
    "malformed",
    "failing",
    "slow",
    "redirect",
];

/// The tests' request timeout: long enough that hundreds of TLS handshakes with the debug-built
/// mock on a busy two-core CI machine finish in time, and `SLOW` answers still time out.
const TIMEOUT: Duration = Duration::from_secs(4);
/// How long a "slow" answer takes: well past `TIMEOUT`.
const SLOW: Duration = Duration::from_secs(8);

/// The scenario and validator a request is for, read from the secret it carries (which may
/// be anywhere: URL, header, Basic credentials, body).
fn marker(request: &Received) -> Option<(String, usize)> {
    let mut text = format!(
        "{} {}",
        request.target,
        String::from_utf8_lossy(&request.body)
    );
    for (_, value) in &request.headers {
        text.push(' ');
        text.push_str(value);
        if let Some(basic) = value.strip_prefix("Basic ") {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(basic)
                .unwrap_or_default();
            text.push(' ');
            text.push_str(&String::from_utf8_lossy(&decoded));
        }
    }
    let at = text.find("zzq")?;
    let rest = &text[at + 3..];
    let (scenario, rest) = rest.split_once('9')?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some((scenario.to_string(), digits.parse().ok()?))
}

fn secret(scenario: &str, index: usize) -> String {
    format!("zzq{scenario}9{index:04}X")
}

/// Sets `leaf` at JSON pointer `pointer` in `value`, creating objects and arrays on the way.
fn set(value: &mut Value, pointer: &str, leaf: Value) {
    let mut at = value;
    for part in pointer.trim_start_matches('/').split('/') {
        let part = part.replace("~1", "/").replace("~0", "~");
        at = match part.parse::<usize>() {
            Ok(i) => {
                if !at.is_array() {
                    *at = json!([]);
                }
                let list = at.as_array_mut().unwrap();
                while list.len() <= i {
                    list.push(json!({}));
                }
                &mut list[i]
            }
            Err(_) => {
                if !at.is_object() {
                    *at = json!({});
                }
                at.as_object_mut().unwrap().entry(part).or_insert(json!({}))
            }
        };
    }
    *at = leaf;
}

/// The answer a provider documents for a working key, built from what the declaration reads.
fn live_reply(d: &Declared) -> Reply {
    let mut body = json!({});
    if let Some(ok) = &d.ok {
        set(&mut body, ok, json!(true));
    }
    let mut reply = Reply::new(d.live[0], "");
    for (label, source) in &d.identity {
        match source {
            Identity::Json(pointer) => set(&mut body, pointer, json!(format!("who-{label}"))),
            Identity::Header(name) => reply.headers.push((name.clone(), format!("who-{label}"))),
        }
    }
    reply.body = body.to_string();
    reply
}

fn reply(d: &Declared, scenario: &str) -> Reply {
    match scenario {
        "live" => live_reply(d),
        "invalid" => Reply::new(d.invalid[0], r#"{"message":"Bad credentials"}"#),
        "refused" => match (&d.ok, &d.error) {
            (Some(ok), Some(error)) => {
                let mut body = json!({});
                set(&mut body, ok, json!(false));
                set(&mut body, error, json!(d.invalid_errors[0]));
                Reply::new(d.live[0], &body.to_string())
            }
            _ => Reply::new(d.invalid[0], ""),
        },
        "ratelimited" => {
            let mut r = Reply::new(429, r#"{"error":"slow down"}"#);
            r.headers.push(("Retry-After".into(), "0".into()));
            r
        }
        "malformed" => Reply::new(d.live[0], "<html>maintenance</html>"),
        "failing" => Reply::new(503, ""),
        "slow" => {
            let mut r = live_reply(d);
            r.delay = SLOW;
            r
        }
        "redirect" => {
            let mut r = Reply::new(302, "");
            r.headers
                .push(("Location".into(), "https://collector.evil.example/x".into()));
            r
        }
        _ => unreachable!(),
    }
}

fn declared_validators() -> Vec<(String, Validator, Declared)> {
    let pack = RulePack::embedded().unwrap();
    pack.rules()
        .iter()
        .filter_map(|r| {
            let v = r.validate.clone()?;
            match &v.how {
                How::Declared(d) => Some((r.id.clone(), v.clone(), (**d).clone())),
                How::Code(_) => None,
            }
        })
        .collect()
}

#[test]
fn every_declared_validator_reads_every_documented_answer() {
    let validators = declared_validators();
    assert!(validators.len() >= 4, "the pack declares validators");
    let table: Vec<Declared> = validators.iter().map(|(_, _, d)| d.clone()).collect();
    let mock = Mock::start(move |request| match marker(request) {
        Some((scenario, i)) => reply(&table[i], &scenario),
        None => Reply::new(400, "no marker"),
    });
    let http = Http::to_mock(TIMEOUT, mock.route.clone());
    let mut jobs = Vec::new();
    for (i, (_, validator, _)) in validators.iter().enumerate() {
        for scenario in SCENARIOS {
            jobs.push(Job {
                key: secret(scenario, i),
                validator,
                secret: secret(scenario, i),
                companion: validator
                    .companion
                    .as_ref()
                    .map(|_| format!("companion{i}")),
            });
        }
    }
    let limits = Limits {
        concurrency: 64,
        backoff: Duration::ZERO,
    };
    let verdicts: HashMap<String, Verdict> = runner::run(jobs, &http, None, &limits);
    let received = mock.received();
    for (i, (id, _, d)) in validators.iter().enumerate() {
        let verdict = |scenario: &str| verdicts[&secret(scenario, i)].clone();
        let reason = |scenario: &str| match verdict(scenario) {
            Verdict::Unknown { reason } => reason,
            other => panic!("{id} {scenario}: {other:?}"),
        };
        match verdict("live") {
            Verdict::Live { identity } => {
                let identity = identity.unwrap_or_default();
                for (label, _) in &d.identity {
                    assert!(
                        identity.contains(&format!("{label} who-{label}")),
                        "{id}: {identity}"
                    );
                }
            }
            other => panic!("{id} live: {other:?}"),
        }
        assert_eq!(verdict("invalid"), Verdict::Invalid, "{id}");
        assert_eq!(verdict("refused"), Verdict::Invalid, "{id}");
        assert!(reason("ratelimited").contains("rate-limited"), "{id}");
        let tries = received
            .iter()
            .filter(|r| marker(r) == Some(("ratelimited".into(), i)))
            .count();
        assert_eq!(tries, 3, "{id}: a 429 is retried twice, then reported");
        let reads_json = d.ok.is_some()
            || d.identity
                .iter()
                .any(|(_, s)| matches!(s, Identity::Json(_)));
        match verdict("malformed") {
            Verdict::Unknown { .. } => assert!(reads_json, "{id}"),
            Verdict::Live { .. } => assert!(!reads_json, "{id}"),
            Verdict::Invalid => panic!("{id}: malformed is not invalid"),
        }
        assert!(reason("failing").contains("503"), "{id}");
        assert!(
            reason("slow").contains("timed out"),
            "{id}: {}",
            reason("slow")
        );
        assert!(
            reason("redirect").contains("collector.evil.example"),
            "{id}"
        );
        // What was sent: the declared method, path and headers, the secret placed as declared.
        let sent = received
            .iter()
            .find(|r| marker(r) == Some(("live".into(), i)))
            .unwrap_or_else(|| panic!("{id}: no request"));
        let expected = d
            .prepare(&secret("live", i), Some(&format!("companion{i}")))
            .unwrap();
        assert_eq!(sent.method, expected.method, "{id}");
        let path = &expected.url["https://".len() + d.host.len()..];
        let path = if path.is_empty() { "/" } else { path };
        assert_eq!(sent.target, path, "{id}");
        for (name, value) in &expected.headers {
            assert_eq!(
                sent.header(&name.to_ascii_lowercase()),
                Some(value.as_str()),
                "{id}"
            );
        }
        assert_eq!(sent.body, expected.body.unwrap_or_default(), "{id}");
        assert_eq!(
            received
                .iter()
                .filter(|r| marker(r) == Some(("redirect".into(), i)))
                .count(),
            1,
            "{id}: a redirect is not followed"
        );
    }
}

#[test]
fn a_hundred_live_secrets_finish_within_the_timeout_budget() {
    let (_, validator, _) = declared_validators().remove(0);
    let mock = Mock::start(|_| {
        let mut r = Reply::new(200, r#"{"ok":true,"login":"octocat"}"#);
        r.delay = Duration::from_millis(200);
        r
    });
    let http = Http::to_mock(super::TIMEOUT, mock.route.clone());
    let jobs: Vec<Job> = (0..100)
        .map(|i| Job {
            key: format!("k{i}"),
            validator: &validator,
            secret: format!("s{i}"),
            companion: validator.companion.as_ref().map(|_| "c".to_string()),
        })
        .collect();
    let started = Instant::now();
    let limits = Limits {
        concurrency: super::CONCURRENCY,
        backoff: Duration::ZERO,
    };
    let verdicts = runner::run(jobs, &http, None, &limits);
    let elapsed = started.elapsed();
    assert_eq!(verdicts.len(), 100);
    assert!(verdicts.values().all(|v| matches!(v, Verdict::Live { .. })));
    // 100 × 200 ms one at a time would be 20 s; eight at a time, about 2.5 s.
    assert!(elapsed < super::TIMEOUT, "{elapsed:?}");
    assert_eq!(mock.received().len(), 100);
}

#[test]
fn one_request_per_distinct_secret() {
    let (_, validator, _) = declared_validators().remove(0);
    let mock = Mock::start(|_| Reply::new(401, "{}"));
    let http = Http::to_mock(Duration::from_secs(5), mock.route.clone());
    let jobs: Vec<Job> = (0..10)
        .map(|i| Job {
            key: format!("k{}", i % 2),
            validator: &validator,
            secret: format!("s{}", i % 2),
            companion: validator.companion.as_ref().map(|_| "c".to_string()),
        })
        .collect();
    let limits = Limits {
        concurrency: 4,
        backoff: Duration::ZERO,
    };
    let verdicts = runner::run(jobs, &http, None, &limits);
    assert_eq!(verdicts.len(), 2);
    assert_eq!(mock.received().len(), 2);
}

/// STS's documented answers (GetCallerIdentity; CommonErrors' InvalidClientTokenId).
fn sts_reply(scenario: &str) -> Reply {
    let xml = |status, body: &str| {
        let mut r = Reply::new(status, body);
        r.headers = vec![("Content-Type".into(), "text/xml".into())];
        r
    };
    match scenario {
        "live" => xml(
            200,
            "<GetCallerIdentityResponse><GetCallerIdentityResult>\
             <Arn>arn:aws:iam::123456789012:user/who</Arn><UserId>AIDAEXAMPLE</UserId>\
             <Account>123456789012</Account></GetCallerIdentityResult></GetCallerIdentityResponse>",
        ),
        "invalid" => xml(
            403,
            "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code>\
             <Message>The security token included in the request is invalid.</Message>\
             </Error></ErrorResponse>",
        ),
        "ratelimited" => {
            let mut r = xml(429, "");
            r.headers.push(("Retry-After".into(), "0".into()));
            r
        }
        "slow" => {
            let mut r = sts_reply("live");
            r.delay = SLOW;
            r
        }
        "redirect" => {
            let mut r = xml(301, "");
            r.headers
                .push(("Location".into(), "https://collector.evil.example/".into()));
            r
        }
        _ => unreachable!(),
    }
}

#[test]
fn the_aws_pair_validator_signs_for_sts_and_reads_its_answers() {
    let pack = RulePack::embedded().unwrap();
    let rule = pack.get("aws-secret-access-key").unwrap();
    let validator = rule.validate.clone().unwrap();
    assert_eq!(validator.how, How::Code("aws-sts"));
    assert_eq!(validator.host(), "sts.amazonaws.com");
    let mock = Mock::start(|request| match marker(request) {
        Some((scenario, _)) => sts_reply(&scenario),
        None => Reply::new(400, ""),
    });
    let http = Http::to_mock(TIMEOUT, mock.route.clone());
    let scenarios = ["live", "invalid", "ratelimited", "slow", "redirect"];
    let jobs = scenarios
        .iter()
        .map(|s| Job {
            key: s.to_string(),
            validator: &validator,
            secret: "x".repeat(40),
            // The access key ID travels in the Authorization header's credential scope.
            companion: Some(secret(s, 0)),
        })
        .collect();
    let limits = Limits {
        concurrency: 8,
        backoff: Duration::ZERO,
    };
    let verdicts = runner::run(jobs, &http, None, &limits);
    match &verdicts["live"] {
        Verdict::Live { identity } => {
            assert!(identity
                .as_deref()
                .unwrap()
                .contains("arn:aws:iam::123456789012:user/who"))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(verdicts["invalid"], Verdict::Invalid);
    for (scenario, expected) in [
        ("ratelimited", "rate-limited"),
        ("slow", "timed out"),
        ("redirect", "collector.evil.example"),
    ] {
        match &verdicts[scenario] {
            Verdict::Unknown { reason } => assert!(reason.contains(expected), "{reason}"),
            other => panic!("{scenario}: {other:?}"),
        }
    }
    let sent = mock
        .received()
        .into_iter()
        .find(|r| marker(r) == Some(("live".into(), 0)))
        .unwrap();
    assert_eq!((sent.method.as_str(), sent.target.as_str()), ("POST", "/"));
    let auth = sent.header("authorization").unwrap();
    assert!(
        auth.starts_with("AWS4-HMAC-SHA256 Credential=zzqlive90000X/"),
        "{auth}"
    );
    assert!(
        !auth.contains("wJalrXUtnFEMIK7MDENG"),
        "the secret is never sent"
    );
    assert_eq!(sent.body, b"Action=GetCallerIdentity&Version=2011-06-15");
}
