//! Google service-account keys: the OAuth 2.0 JWT-bearer token exchange, and what its answer
//! means.
//!
//! A service-account key file (JSON) holds an RSA private key. Proving it works means asking
//! Google's token endpoint for an access token with a JWT signed by that key (RS256): the
//! exchange changes nothing on the account, and the token asked for is read-only and short-lived
//! (an hour at most; keyhound never uses it, and the runner drops the answer once read).
//!
//! Sources:
//! - "Using OAuth 2.0 for Server to Server Applications", HTTP/REST: the JWT header, claim set
//!   (`iss`, `scope`, `aud`, `exp` at most an hour after `iat`), the token request and answer:
//!   <https://developers.google.com/identity/protocols/oauth2/service-account#httprest>.
//! - RFC 7523 (JWT bearer grant) and RFC 6749 §5.2 (error answers: `invalid_grant`,
//!   `invalid_client`, `invalid_scope`, `unauthorized_client`, …).
//! - The scope: <https://developers.google.com/identity/protocols/oauth2/scopes>.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::rand_core::OsRng;
use rsa::signature::{RandomizedSigner, SignatureEncoding};
use rsa::RsaPrivateKey;
use serde_json::{json, Value};
use sha2::Sha256;

use super::request::{PreparedRequest, Verdict};

/// Google's token endpoint, also the JWT's audience. Fixed on purpose: a key file's own
/// `token_uri` is never used, because the file is whatever the scanned repository holds and
/// an attacker who writes `token_uri` would otherwise receive a signed assertion for the key.
const TOKEN_URL: &str = "https://oauth2.googleapis.com/token";
/// Read-only: the token asked for can change nothing, even if it leaked.
const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform.read-only";
/// `urn:ietf:params:oauth:grant-type:jwt-bearer`, form-encoded.
const GRANT_TYPE: &str = "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer";
/// How long the assertion is valid: well under Google's one-hour limit, enough for one request.
const ASSERTION_LIFETIME_SECS: u64 = 600;
/// Longest provider message quoted in a reason.
const MAX_MESSAGE: usize = 200;

/// The token request for a service-account key file, its JWT dated `now`.
///
/// Refused (with why, never quoting the key) when the JSON is not a service-account key:
/// not JSON, another `type`, no `client_email`, or a `private_key` that is not PKCS#8 RSA.
pub fn request(service_account_json: &str, now: SystemTime) -> Result<PreparedRequest, String> {
    let account: Value = serde_json::from_str(service_account_json).map_err(|error| {
        format!(
            "the service-account key is not JSON (line {}, column {})",
            error.line(),
            error.column()
        )
    })?;
    let field = |name: &str| account.get(name).and_then(Value::as_str);
    if field("type").is_some_and(|kind| kind != "service_account") {
        return Err("the key file's type is not service_account".to_string());
    }
    let client_email = field("client_email")
        .filter(|email| !email.is_empty())
        .ok_or("the service-account key has no client_email")?;
    let private_key = field("private_key").ok_or("the service-account key has no private_key")?;
    let key = RsaPrivateKey::from_pkcs8_pem(private_key)
        .map_err(|error| format!("the service-account private_key is not PKCS#8 RSA: {error}"))?;
    let assertion = assertion(&key, client_email, now);
    Ok(PreparedRequest {
        method: "POST",
        url: TOKEN_URL.to_string(),
        headers: vec![(
            "Content-Type".to_string(),
            "application/x-www-form-urlencoded".to_string(),
        )],
        body: Some(format!("grant_type={GRANT_TYPE}&assertion={assertion}").into_bytes()),
    })
}

/// What Google's token endpoint answered about the key file that `request` was built from
/// (passed again for the identity: the answer itself names no account).
///
/// 200 with an access token: live, shown as `client_email (project project_id)`.
/// `invalid_grant` (the key was deleted, or its account deleted or disabled: "Invalid JWT
/// Signature.", "account not found") and `invalid_client`/`deleted_client`: invalid, except
/// the `invalid_grant` that says the JWT's times are off, which is this machine's clock.
/// Rate limits, server errors and anything else: unknown, with the reason.
pub fn verdict(status: u16, body: &[u8], service_account_json: &str) -> Verdict {
    let answer: Option<Value> = serde_json::from_slice(body).ok();
    let text = |name: &str| {
        answer
            .as_ref()
            .and_then(|answer| answer.get(name))
            .and_then(Value::as_str)
            .unwrap_or_default()
    };
    if status == 200 {
        return if text("access_token").is_empty() {
            unknown("Google answered 200 without an access_token".to_string())
        } else {
            Verdict::Live {
                identity: identity(service_account_json),
            }
        };
    }
    if status == 429 {
        return unknown("rate-limited by Google (HTTP 429)".to_string());
    }
    let code = text("error");
    let description: String = text("error_description")
        .chars()
        .take(MAX_MESSAGE)
        .collect();
    match code {
        "invalid_grant" if description.contains("timeframe") => unknown(format!(
            "Google refused the JWT's times ({description}): is this machine's clock right?"
        )),
        "invalid_grant" | "invalid_client" | "deleted_client" => Verdict::Invalid,
        "" => unknown(format!(
            "Google answered HTTP {status} without an error code"
        )),
        _ => unknown(format!(
            "Google answered HTTP {status} {code}: {description}"
        )),
    }
}

fn unknown(reason: String) -> Verdict {
    Verdict::Unknown { reason }
}

/// `client_email (project project_id)`, from the key file.
fn identity(service_account_json: &str) -> Option<String> {
    let account: Value = serde_json::from_str(service_account_json).ok()?;
    let email = account.get("client_email")?.as_str()?;
    Some(match account.get("project_id").and_then(Value::as_str) {
        Some(project) => format!("{email} (project {project})"),
        None => email.to_string(),
    })
}

/// The signed JWT: `header.claims.signature`, each part base64url without padding.
fn assertion(key: &RsaPrivateKey, client_email: &str, now: SystemTime) -> String {
    let issued = now
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    let header = json!({ "alg": "RS256", "typ": "JWT" });
    let claims = json!({
        "iss": client_email,
        "scope": SCOPE,
        "aud": TOKEN_URL,
        "iat": issued,
        "exp": issued + ASSERTION_LIFETIME_SECS,
    });
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    // Randomized: RSA blinding, so the signing time does not depend on the key.
    let signature = SigningKey::<Sha256>::new(key.clone())
        .sign_with_rng(&mut OsRng, signing_input.as_bytes())
        .to_bytes();
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;
    use std::time::Duration;

    use rsa::pkcs1v15::{Signature, VerifyingKey};
    use rsa::pkcs8::{EncodePrivateKey, LineEnding};
    use rsa::signature::Verifier;

    use super::*;

    /// A fresh 2048-bit key, generated once per test run: no key is ever written in the source.
    fn test_key() -> &'static RsaPrivateKey {
        static KEY: OnceLock<RsaPrivateKey> = OnceLock::new();
        KEY.get_or_init(|| RsaPrivateKey::new(&mut OsRng, 2048).expect("RSA key generation"))
    }

    /// A service-account key file shaped like the ones the Cloud console downloads, whose
    /// `token_uri` points elsewhere, as an attacker's would.
    fn key_file() -> String {
        let pem = test_key().to_pkcs8_pem(LineEnding::LF).unwrap();
        json!({
            "type": "service_account",
            "project_id": "keyhound-test",
            "private_key_id": "0123456789abcdef",
            "private_key": pem.as_str(),
            "client_email": "scanner@keyhound-test.iam.gserviceaccount.com",
            "client_id": "100000000000000000000",
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": "https://attacker.example/token",
        })
        .to_string()
    }

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds)
    }

    fn decode_json(part: &str) -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    #[test]
    fn the_token_request_goes_to_googles_fixed_endpoint_never_the_files_token_uri() {
        let request = request(&key_file(), at(1_700_000_000)).unwrap();
        assert_eq!(request.method, "POST");
        assert_eq!(request.url, "https://oauth2.googleapis.com/token");
        assert_eq!(
            request.headers,
            vec![(
                "Content-Type".to_string(),
                "application/x-www-form-urlencoded".to_string()
            )]
        );
        let body = String::from_utf8(request.body.unwrap()).unwrap();
        assert!(!body.contains("attacker"));
        assert!(body.starts_with(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion="
        ));
    }

    #[test]
    fn the_jwt_decodes_to_the_documented_header_and_claims_and_verifies() {
        let request = request(&key_file(), at(1_700_000_000)).unwrap();
        let body = String::from_utf8(request.body.unwrap()).unwrap();
        let jwt = body.split_once("&assertion=").unwrap().1;
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(
            decode_json(parts[0]),
            json!({ "alg": "RS256", "typ": "JWT" })
        );
        assert_eq!(
            decode_json(parts[1]),
            json!({
                "iss": "scanner@keyhound-test.iam.gserviceaccount.com",
                "scope": "https://www.googleapis.com/auth/cloud-platform.read-only",
                "aud": "https://oauth2.googleapis.com/token",
                "iat": 1_700_000_000,
                "exp": 1_700_000_600,
            })
        );
        let verifying = VerifyingKey::<Sha256>::new(test_key().to_public_key());
        let signature =
            Signature::try_from(URL_SAFE_NO_PAD.decode(parts[2]).unwrap().as_slice()).unwrap();
        let signed = format!("{}.{}", parts[0], parts[1]);
        verifying.verify(signed.as_bytes(), &signature).unwrap();
        // Tampered claims no longer verify.
        let tampered = format!("{}.{}x", parts[0], parts[1]);
        assert!(verifying.verify(tampered.as_bytes(), &signature).is_err());
    }

    #[test]
    fn an_odd_email_is_escaped_inside_the_claims_not_spliced() {
        let file = key_file().replace(
            "scanner@keyhound-test.iam.gserviceaccount.com",
            r#"a\",\"aud\":\"https://attacker.example"#,
        );
        let request = request(&file, at(0)).unwrap();
        let body = String::from_utf8(request.body.unwrap()).unwrap();
        let claims = decode_json(body.split('.').nth(1).unwrap());
        assert_eq!(claims["aud"], "https://oauth2.googleapis.com/token");
        assert_eq!(claims["iss"], r#"a","aud":"https://attacker.example"#);
    }

    #[test]
    fn files_that_are_not_service_account_keys_are_refused_without_quoting_the_key() {
        let file = key_file();
        let mut account: Value = serde_json::from_str(&file).unwrap();
        let pem = account["private_key"].as_str().unwrap().to_string();
        let body_line = pem.lines().nth(1).unwrap().to_string();

        let mut other_type = account.clone();
        other_type["type"] = json!("authorized_user");
        let mut no_email = account.clone();
        no_email.as_object_mut().unwrap().remove("client_email");
        let mut no_key = account.clone();
        no_key.as_object_mut().unwrap().remove("private_key");
        account["private_key"] = json!(pem.replace(&body_line, &body_line[..20]));

        let cases = [
            ("{\"type\": \"service_account\",".to_string(), "not JSON"),
            (other_type.to_string(), "type"),
            (no_email.to_string(), "client_email"),
            (no_key.to_string(), "no private_key"),
            (account.to_string(), "not PKCS#8 RSA"),
        ];
        for (json, expected) in cases {
            let error = request(&json, at(0)).unwrap_err();
            assert!(error.contains(expected), "{error}");
            assert!(!error.contains(&body_line[..20]), "{error}");
        }
    }

    /// The token endpoint's success answer, as documented (token shortened).
    const TOKEN: &[u8] =
        br#"{"access_token":"ya29.c.test-token","token_type":"Bearer","expires_in":3599}"#;

    #[test]
    fn an_access_token_is_live_with_the_account_and_project_from_the_key_file() {
        assert_eq!(
            verdict(200, TOKEN, &key_file()),
            Verdict::Live {
                identity: Some(
                    "scanner@keyhound-test.iam.gserviceaccount.com (project keyhound-test)".into()
                )
            }
        );
        assert_eq!(
            verdict(
                200,
                TOKEN,
                r#"{"client_email":"a@b.iam.gserviceaccount.com"}"#
            ),
            Verdict::Live {
                identity: Some("a@b.iam.gserviceaccount.com".into())
            }
        );
    }

    #[test]
    fn deleted_keys_and_accounts_are_invalid() {
        let cases: [(u16, &[u8]); 4] = [
            (400, br#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#),
            (400, br#"{"error":"invalid_grant","error_description":"Invalid grant: account not found"}"#),
            (401, br#"{"error":"invalid_client","error_description":"The OAuth client was not found."}"#),
            (401, br#"{"error":"deleted_client","error_description":"The OAuth client was deleted."}"#),
        ];
        for (status, body) in cases {
            assert_eq!(verdict(status, body, &key_file()), Verdict::Invalid);
        }
    }

    #[test]
    fn a_jwt_refused_for_its_times_is_unknown_not_invalid() {
        let body = br#"{"error":"invalid_grant","error_description":"Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim."}"#;
        match verdict(400, body, &key_file()) {
            Verdict::Unknown { reason } => assert!(reason.contains("clock"), "{reason}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rate_limits_server_errors_and_odd_answers_are_unknown_with_the_reason() {
        let file = key_file();
        let unknown = |status, body: &[u8]| match verdict(status, body, &file) {
            Verdict::Unknown { reason } => reason,
            other => panic!("{status}: {other:?}"),
        };
        assert!(unknown(429, b"").contains("rate-limited"));
        assert_eq!(
            unknown(
                400,
                br#"{"error":"invalid_scope","error_description":"Invalid OAuth scope."}"#
            ),
            "Google answered HTTP 400 invalid_scope: Invalid OAuth scope."
        );
        assert_eq!(
            unknown(503, b"<html>Service Unavailable</html>"),
            "Google answered HTTP 503 without an error code"
        );
        assert_eq!(
            unknown(200, br#"{"token_type":"Bearer"}"#),
            "Google answered 200 without an access_token"
        );
        let long = format!(
            r#"{{"error":"access_denied","error_description":"{}"}}"#,
            "x".repeat(5000)
        );
        assert!(unknown(403, long.as_bytes()).len() < 300);
    }
}
