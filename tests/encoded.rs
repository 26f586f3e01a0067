//! Tokens wrapped in base64 on their own (src/engine/encoded.rs), end to end: the real binary
//! over files that never mention base64, reporting the encoded span and saying it was decoded.

use std::path::Path;

use base64::Engine as _;
use keyhound::rules::templates::{expand, ExampleRng};
use serde_json::Value;

mod common_hostile;
use common_hostile::{assert_no_raw, findings, keyhound, run, scan_json, write, Run};

fn fake(template: &str, seed: u64) -> String {
    expand(template, &mut ExampleRng::new(seed)).unwrap()
}

fn b64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// A JWT-shaped token from fixed seeds: `eyJ` header and claims, 43-character signature.
fn fake_jwt(seed: u64) -> String {
    fake(
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ@{rand:base64url:80}.@{rand:base64url:43}",
        seed,
    )
}

fn rules_found(run: &Run) -> Vec<(String, Value)> {
    findings(run)
        .into_iter()
        .map(|f| (f["rule"].as_str().unwrap().to_string(), f))
        .collect()
}

#[test]
fn a_base64_wrapped_jwt_is_found_where_nothing_mentions_base64() {
    let dir = tempfile::tempdir().unwrap();
    let jwt = fake_jwt(3);
    let encoded = b64(&jwt);
    assert!(encoded.starts_with("ZXlK"));
    write(
        dir.path(),
        "deploy/values.yaml",
        format!("service:\n  name: orders\n  session: {encoded}\n"),
    );
    let out = scan_json(dir.path());
    assert_eq!(out.code, 1, "{}", out.stderr);
    let found = rules_found(&out);
    assert_eq!(found.len(), 1, "{found:?}");
    let (rule, f) = &found[0];
    assert_eq!(rule, "jwt");
    assert_eq!(f["decoded"], "base64");
    // The location is the encoded value as written in the file.
    assert_eq!(f["location"]["line"], 3);
    assert_eq!(f["location"]["column"], 12);
    assert_eq!(
        f["location"]["end_column"].as_u64().unwrap(),
        12 + encoded.len() as u64
    );
    assert_no_raw(&out, &[&jwt, &encoded]);
}

#[test]
fn a_base64_wrapped_provider_token_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let token = fake("@{github:ghp}", 5);
    let encoded = b64(&token);
    write(dir.path(), ".env", format!("GH={encoded}\n"));
    let out = scan_json(dir.path());
    let found = rules_found(&out);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].0.starts_with("github"), "{found:?}");
    assert_eq!(found[0].1["decoded"], "base64");
    assert_no_raw(&out, &[&token, &encoded]);
}

#[test]
fn an_encoded_prefix_inside_a_longer_run_is_not_decoded() {
    let dir = tempfile::tempdir().unwrap();
    // The JWT's encoding follows other base64 text in one run: what was encoded is not a token
    // standing alone, and decoding from the middle of a run would misalign every quantum.
    let run_text = format!("QUJD{}", b64(&fake_jwt(7)));
    write(dir.path(), "blob.txt", format!("data={run_text}\n"));
    assert_eq!(rules_found(&scan_json(dir.path())), vec![]);
}

#[test]
fn max_decode_depth_zero_turns_it_off() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "values.yaml",
        format!("session: {}\n", b64(&fake_jwt(9))),
    );
    let on = scan_json(dir.path());
    assert_eq!(rules_found(&on).len(), 1);
    let off = run(keyhound().arg("dir").arg(dir.path()).args([
        "--format",
        "json",
        "--max-decode-depth",
        "0",
    ]));
    assert_eq!(rules_found(&off), vec![], "{}", off.stderr);
}

#[test]
fn encoded_json_that_is_not_a_token_is_not_reported() {
    let dir = tempfile::tempdir().unwrap();
    // base64 of base64 JSON starts as an encoded JWT does (`ZXlK`), but decodes to no token.
    let json =
        b64("{\"name\": \"orders\", \"replicas\": 3, \"image\": \"registry.test/orders:1.4\"}");
    let text = b64(&json);
    assert!(text.starts_with("ZXlK"));
    write(
        Path::new(dir.path()),
        "config.txt",
        format!("CONFIG={text}\n"),
    );
    assert_eq!(rules_found(&scan_json(dir.path())), vec![]);
}
