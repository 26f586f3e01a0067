//! AWS access key pairs: a signed STS `GetCallerIdentity` call, and what its answer means.
//!
//! `GetCallerIdentity` is the "who am I" call of AWS: it needs no permission (an explicit deny
//! does not stop it), changes nothing and answers with the account and ARN the key belongs to.
//! The request is signed here with Signature Version 4 (HMAC-SHA256), written from AWS's
//! documentation rather than taken from an SDK, so what is sent can be read in one file.
//!
//! Sources:
//! - Signature Version 4, "Create a signed AWS API request":
//!   <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html>
//!   and its test suite (the `get-vanilla`, `post-vanilla`, `post-x-www-form-urlencoded` and
//!   `post-sts-header-before` vectors pinned below), formerly
//!   <https://docs.aws.amazon.com/general/latest/gr/signature-v4-test-suite.html>.
//! - STS `GetCallerIdentity`, request and response:
//!   <https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html>.
//! - STS common errors (`InvalidClientTokenId` 403, `ExpiredToken`, `RequestExpired`,
//!   `ThrottlingException`, …): <https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html>.

use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::request::{PreparedRequest, Verdict};
use crate::git_date;

/// STS's global endpoint; its signing region is us-east-1.
const HOST: &str = "sts.amazonaws.com";
const REGION: &str = "us-east-1";
const SERVICE: &str = "sts";
const BODY: &str = "Action=GetCallerIdentity&Version=2011-06-15";
const CONTENT_TYPE: &str = "application/x-www-form-urlencoded; charset=utf-8";

/// Longest provider message quoted in a reason.
const MAX_MESSAGE: usize = 200;

/// The signed `GetCallerIdentity` request for a key pair (and the session token of temporary
/// credentials), dated `now`. AWS refuses a request dated more than 15 minutes off its clock.
///
/// `Host` is signed but not listed in `headers`: the HTTP client sends it from the URL, whose
/// host is the one signed.
pub fn request(
    access_key_id: &str,
    secret_key: &str,
    session_token: Option<&str>,
    now: SystemTime,
) -> PreparedRequest {
    let amz_date = amz_date(now);
    let mut signed = vec![
        ("content-type", CONTENT_TYPE),
        ("host", HOST),
        ("x-amz-date", amz_date.as_str()),
    ];
    if let Some(token) = session_token {
        signed.push(("x-amz-security-token", token));
    }
    let key = SigningKey {
        access_key_id,
        secret_key,
        region: REGION,
        service: SERVICE,
    };
    let authorization = key.authorization("POST", &signed, BODY.as_bytes(), &amz_date);
    let mut headers = vec![
        ("Content-Type".to_string(), CONTENT_TYPE.to_string()),
        ("X-Amz-Date".to_string(), amz_date.clone()),
    ];
    if let Some(token) = session_token {
        headers.push(("X-Amz-Security-Token".to_string(), token.to_string()));
    }
    headers.push(("Authorization".to_string(), authorization));
    PreparedRequest {
        method: "POST",
        url: format!("https://{HOST}/"),
        headers,
        body: Some(BODY.as_bytes().to_vec()),
    }
}

/// What STS's answer says about the key pair.
///
/// 200 names the caller: live. `InvalidClientTokenId` (no such key, or deactivated),
/// `SignatureDoesNotMatch` (the key ID exists but the secret is not its own) and
/// `ExpiredToken` (temporary credentials past their end) mean the pair does not work.
/// Throttling, a clock too far off (`RequestExpired`), a server error or anything else
/// leaves it unknown, with the reason.
pub fn verdict(status: u16, body: &[u8]) -> Verdict {
    let xml = String::from_utf8_lossy(body);
    if status == 200 {
        return match (tag(&xml, "Arn"), tag(&xml, "Account")) {
            (Some(arn), Some(account)) => Verdict::Live {
                identity: Some(format!("{arn} (account {account})")),
            },
            _ => unknown("STS answered 200 without an Arn and Account".to_string()),
        };
    }
    let code = tag(&xml, "Code").unwrap_or_default();
    let message = tag(&xml, "Message").unwrap_or_default();
    match code.as_str() {
        "InvalidClientTokenId" | "SignatureDoesNotMatch" | "ExpiredToken" => Verdict::Invalid,
        "Throttling" | "ThrottlingException" | "RequestLimitExceeded" => {
            unknown(format!("rate-limited by STS ({code})"))
        }
        _ if status == 429 => unknown("rate-limited by STS (HTTP 429)".to_string()),
        "RequestExpired" | "RequestTimeTooSkewed" => unknown(format!(
            "STS refused the request's date ({code}): is this machine's clock right?"
        )),
        "" => unknown(format!("STS answered HTTP {status} without an error code")),
        _ => {
            let message: String = message.chars().take(MAX_MESSAGE).collect();
            unknown(format!("STS answered HTTP {status} {code}: {message}"))
        }
    }
}

fn unknown(reason: String) -> Verdict {
    Verdict::Unknown { reason }
}

/// `20150830T123600Z`: the ISO 8601 basic form SigV4 signs.
fn amz_date(now: SystemTime) -> String {
    let seconds = now.duration_since(UNIX_EPOCH).map_or(0, |elapsed| {
        i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
    });
    // `2015-08-30T12:36:00+00:00` → `20150830T123600Z`.
    let extended = git_date::rfc3339(seconds, 0);
    let mut basic: String = extended[..19]
        .chars()
        .filter(|c| !matches!(c, '-' | ':'))
        .collect();
    basic.push('Z');
    basic
}

/// A secret key bound to the region and service it signs for.
struct SigningKey<'a> {
    access_key_id: &'a str,
    secret_key: &'a str,
    region: &'a str,
    service: &'a str,
}

impl SigningKey<'_> {
    /// The `Authorization` header value for a request to `/` with no query string.
    /// `headers` are the signed ones, names in lowercase.
    fn authorization(
        &self,
        method: &str,
        headers: &[(&str, &str)],
        payload: &[u8],
        amz_date: &str,
    ) -> String {
        let canonical = canonical_request(method, headers, payload);
        let scope = self.scope(amz_date);
        let to_sign = string_to_sign(amz_date, &scope, &canonical.text);
        let signature = hex(&self.sign(amz_date, &to_sign));
        format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={}, Signature={signature}",
            self.access_key_id, canonical.signed_headers
        )
    }

    /// `20150830/us-east-1/service/aws4_request`.
    fn scope(&self, amz_date: &str) -> String {
        format!(
            "{}/{}/{}/aws4_request",
            &amz_date[..8],
            self.region,
            self.service
        )
    }

    /// HMAC of the string to sign under the key derived for this day, region and service.
    fn sign(&self, amz_date: &str, to_sign: &str) -> [u8; 32] {
        let secret = format!("AWS4{}", self.secret_key);
        let day = hmac(secret.as_bytes(), &amz_date.as_bytes()[..8]);
        let region = hmac(&day, self.region.as_bytes());
        let service = hmac(&region, self.service.as_bytes());
        let signing = hmac(&service, b"aws4_request");
        hmac(&signing, to_sign.as_bytes())
    }
}

/// A canonical request and the list of header names it signs.
struct CanonicalRequest {
    text: String,
    signed_headers: String,
}

/// The canonical form of a request to `/` with no query string (all this module sends):
/// method, path, empty query, sorted headers with trimmed values, their names, payload hash.
fn canonical_request(method: &str, headers: &[(&str, &str)], payload: &[u8]) -> CanonicalRequest {
    let mut sorted: Vec<(String, String)> = headers
        .iter()
        .map(|(name, value)| {
            let value = value.split_whitespace().collect::<Vec<_>>().join(" ");
            (name.to_ascii_lowercase(), value)
        })
        .collect();
    sorted.sort();
    let lines: String = sorted
        .iter()
        .map(|(name, value)| format!("{name}:{value}\n"))
        .collect();
    let signed_headers = sorted
        .iter()
        .map(|(name, _)| name.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let text = format!(
        "{method}\n/\n\n{lines}\n{signed_headers}\n{}",
        hex(&Sha256::digest(payload))
    );
    CanonicalRequest {
        text,
        signed_headers,
    }
}

fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &str) -> String {
    let hash = hex(&Sha256::digest(canonical_request.as_bytes()));
    format!("AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{hash}")
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The text of the first `<name>…</name>` element, entities decoded: STS answers are small,
/// flat and machine-written, so this is all the XML reading they need.
fn tag(xml: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&format!("</{name}>"))?;
    Some(
        xml[start..end]
            .trim()
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&"),
    )
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    // The example credentials of AWS's Signature Version 4 test suite: public test values.
    const SUITE_KEY: SigningKey<'static> = SigningKey {
        access_key_id: "AKIDEXAMPLE",
        secret_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        region: "us-east-1",
        service: "service",
    };
    const SUITE_DATE: &str = "20150830T123600Z";
    const SUITE_HOST: &str = "example.amazonaws.com";
    const SUITE_CREDENTIAL: &str =
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request";
    /// The test suite's session token (`post-sts-token`).
    const SUITE_TOKEN: &str = "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==";

    /// 2015-08-30T12:36:00Z, the test suite's date.
    fn suite_time() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_440_938_160)
    }

    #[test]
    fn get_vanilla_canonical_request_string_to_sign_and_signature() {
        let headers = [("host", SUITE_HOST), ("x-amz-date", SUITE_DATE)];
        let canonical = canonical_request("GET", &headers, b"");
        assert_eq!(
            canonical.text,
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n\
             host;x-amz-date\n\
             e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let to_sign = string_to_sign(SUITE_DATE, &SUITE_KEY.scope(SUITE_DATE), &canonical.text);
        assert_eq!(
            to_sign,
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n\
             bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63"
        );
        assert_eq!(
            hex(&SUITE_KEY.sign(SUITE_DATE, &to_sign)),
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
        assert_eq!(
            SUITE_KEY.authorization("GET", &headers, b"", SUITE_DATE),
            format!(
                "{SUITE_CREDENTIAL}, SignedHeaders=host;x-amz-date, \
                 Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
            )
        );
    }

    #[test]
    fn post_vanilla_string_to_sign_and_signature() {
        let headers = [("host", SUITE_HOST), ("x-amz-date", SUITE_DATE)];
        let canonical = canonical_request("POST", &headers, b"");
        let to_sign = string_to_sign(SUITE_DATE, &SUITE_KEY.scope(SUITE_DATE), &canonical.text);
        assert!(
            to_sign.ends_with("\n553f88c9e4d10fc9e109e2aeb65f030801b70c2f6468faca261d401ae622fc87")
        );
        assert_eq!(
            SUITE_KEY.authorization("POST", &headers, b"", SUITE_DATE),
            format!(
                "{SUITE_CREDENTIAL}, SignedHeaders=host;x-amz-date, \
                 Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"
            )
        );
    }

    #[test]
    fn post_x_www_form_urlencoded_signs_the_body_and_content_type() {
        // Given in request order, not sorted: the canonical request sorts them.
        let headers = [
            ("x-amz-date", SUITE_DATE),
            ("host", SUITE_HOST),
            ("content-type", "application/x-www-form-urlencoded"),
        ];
        let canonical = canonical_request("POST", &headers, b"Param1=value1");
        assert!(canonical.text.ends_with(
            "\ncontent-type;host;x-amz-date\n\
             9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e"
        ));
        assert_eq!(
            SUITE_KEY.authorization("POST", &headers, b"Param1=value1", SUITE_DATE),
            format!(
                "{SUITE_CREDENTIAL}, SignedHeaders=content-type;host;x-amz-date, \
                 Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"
            )
        );
    }

    #[test]
    fn post_sts_header_before_signs_the_session_token() {
        let headers = [
            ("host", SUITE_HOST),
            ("x-amz-date", SUITE_DATE),
            ("x-amz-security-token", SUITE_TOKEN),
        ];
        let canonical = canonical_request("POST", &headers, b"");
        let to_sign = string_to_sign(SUITE_DATE, &SUITE_KEY.scope(SUITE_DATE), &canonical.text);
        assert!(
            to_sign.ends_with("\nc237e1b440d4c63c32ca95b5b99481081cb7b13c7e40434868e71567c1a882f6")
        );
        assert_eq!(
            SUITE_KEY.authorization("POST", &headers, b"", SUITE_DATE),
            format!(
                "{SUITE_CREDENTIAL}, SignedHeaders=host;x-amz-date;x-amz-security-token, \
                 Signature=85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead"
            )
        );
    }

    #[test]
    fn header_values_are_trimmed_and_inner_spaces_collapsed() {
        let canonical = canonical_request("GET", &[("My-Header1", "  a   b  c ")], b"");
        assert!(canonical.text.contains("\nmy-header1:a b c\n"));
        assert_eq!(canonical.signed_headers, "my-header1");
    }

    #[test]
    fn amz_date_is_the_basic_utc_form() {
        assert_eq!(amz_date(suite_time()), SUITE_DATE);
        assert_eq!(amz_date(UNIX_EPOCH), "19700101T000000Z");
    }

    #[test]
    fn get_caller_identity_is_a_signed_form_post_to_the_global_sts_host() {
        let request = request(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            None,
            suite_time(),
        );
        assert_eq!(request.method, "POST");
        assert_eq!(request.url, "https://sts.amazonaws.com/");
        assert_eq!(
            request.body.as_deref(),
            Some(&b"Action=GetCallerIdentity&Version=2011-06-15"[..])
        );
        // Signature computed independently (Python's hmac and hashlib) for this exact request.
        let authorization = "AWS4-HMAC-SHA256 \
            Credential=AKIDEXAMPLE/20150830/us-east-1/sts/aws4_request, \
            SignedHeaders=content-type;host;x-amz-date, \
            Signature=6fb20d31f734d876c5682fdd2678d194cf68b862755f83b7ba1373c0874be25c";
        let expected: Vec<(String, String)> = [
            ("Content-Type", CONTENT_TYPE),
            ("X-Amz-Date", SUITE_DATE),
            ("Authorization", authorization),
        ]
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect();
        assert_eq!(request.headers, expected);
    }

    #[test]
    fn temporary_credentials_send_and_sign_their_session_token() {
        let request = request("ASIAEXAMPLE", "secret", Some(SUITE_TOKEN), suite_time());
        let header = |name: &str| {
            request
                .headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(header("X-Amz-Security-Token").as_deref(), Some(SUITE_TOKEN));
        let authorization = header("Authorization").unwrap();
        assert!(authorization
            .contains("SignedHeaders=content-type;host;x-amz-date;x-amz-security-token,"));
        // The secret key never travels; only its signature does.
        assert!(request
            .headers
            .iter()
            .all(|(_, value)| !value.contains("secret")));
    }

    /// The response example of the `GetCallerIdentity` API reference (an IAM user), its `UserId`
    /// replaced by one that looks like no key.
    const CALLER_IDENTITY: &str = r#"<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <GetCallerIdentityResult>
   <Arn>arn:aws:iam::123456789012:user/Alice</Arn>
    <UserId>AIDAEXAMPLEUSERID</UserId>
    <Account>123456789012</Account>
  </GetCallerIdentityResult>
  <ResponseMetadata>
    <RequestId>01234567-89ab-cdef-0123-456789abcdef</RequestId>
  </ResponseMetadata>
</GetCallerIdentityResponse>"#;

    /// An STS query-API error document.
    fn error(code: &str, message: &str) -> Vec<u8> {
        format!(
            r#"<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error>
    <Type>Sender</Type>
    <Code>{code}</Code>
    <Message>{message}</Message>
  </Error>
  <RequestId>01234567-89ab-cdef-0123-456789abcdef</RequestId>
</ErrorResponse>"#
        )
        .into_bytes()
    }

    #[test]
    fn a_named_caller_is_live_with_its_arn_and_account() {
        assert_eq!(
            verdict(200, CALLER_IDENTITY.as_bytes()),
            Verdict::Live {
                identity: Some(
                    "arn:aws:iam::123456789012:user/Alice (account 123456789012)".into()
                )
            }
        );
    }

    #[test]
    fn unknown_keys_wrong_secrets_and_expired_tokens_are_invalid() {
        let cases = [
            (
                403,
                "InvalidClientTokenId",
                "The security token included in the request is invalid.",
            ),
            (
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
            ),
            (
                400,
                "ExpiredToken",
                "The security token included in the request is expired",
            ),
            (
                403,
                "ExpiredToken",
                "The security token included in the request is expired",
            ),
        ];
        for (status, code, message) in cases {
            assert_eq!(
                verdict(status, &error(code, message)),
                Verdict::Invalid,
                "{code}"
            );
        }
    }

    #[test]
    fn throttling_is_unknown_and_says_rate_limited() {
        for (status, body) in [
            (400, error("Throttling", "Rate exceeded")),
            (400, error("ThrottlingException", "Rate exceeded")),
            (429, Vec::new()),
        ] {
            match verdict(status, &body) {
                Verdict::Unknown { reason } => assert!(reason.contains("rate-limited"), "{reason}"),
                other => panic!("{status}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_skewed_clock_is_unknown_not_invalid() {
        let body = error(
            "RequestExpired",
            "Request has expired. Timestamp date is 20150830T123600Z",
        );
        match verdict(400, &body) {
            Verdict::Unknown { reason } => assert!(reason.contains("clock"), "{reason}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn other_answers_are_unknown_with_the_status_and_code() {
        let body = error(
            "ServiceUnavailable",
            "Service is unable to handle request &amp; retry.",
        );
        assert_eq!(
            verdict(503, &body),
            Verdict::Unknown {
                reason: "STS answered HTTP 503 ServiceUnavailable: Service is unable to handle \
                         request & retry."
                    .into()
            }
        );
        assert_eq!(
            verdict(502, b"<html>Bad Gateway</html>"),
            Verdict::Unknown {
                reason: "STS answered HTTP 502 without an error code".into()
            }
        );
        assert!(matches!(
            verdict(200, b"<GetCallerIdentityResponse/>"),
            Verdict::Unknown { .. }
        ));
    }

    #[test]
    fn long_provider_messages_are_cut() {
        let body = error("AccessDenied", &"x".repeat(5000));
        match verdict(403, &body) {
            Verdict::Unknown { reason } => assert!(reason.len() < 300, "{}", reason.len()),
            other => panic!("{other:?}"),
        }
    }
}
