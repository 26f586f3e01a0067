//! Reading a provider's answer: the status codes and JSON fields a declaration names decide
//! live, invalid or unknown; a live answer's identity (login, account, scopes) is read from the
//! body or a header, bounded in length. Identity is the provider's text: reports escape it.

use super::request::Verdict;
use super::spec::{Declared, Identity};

/// Longest identity piece kept, in characters; the whole identity is bounded by the number of
/// pieces a validator declares.
const MAX_PIECE: usize = 80;

/// A provider's answer, as received.
#[derive(Debug, Clone, Default)]
pub struct Answer {
    pub status: u16,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A verdict every validator shares: redirects and rate limits say nothing about the secret.
pub fn common(answer: &Answer) -> Option<Verdict> {
    if (300..400).contains(&answer.status) {
        let to = answer
            .header("location")
            .map(location_host)
            .unwrap_or_else(|| "nowhere named".into());
        return Some(Verdict::Unknown {
            reason: format!(
                "the provider redirected ({}) to {to}; redirects are not followed",
                answer.status
            ),
        });
    }
    if answer.status == 429 {
        return Some(Verdict::Unknown {
            reason: "rate-limited by the provider (429)".into(),
        });
    }
    None
}

/// The host a `Location` header names (a relative one stays on the same host).
fn location_host(location: &str) -> String {
    let rest = location
        .split_once("://")
        .map_or(location, |(_, rest)| rest);
    if !location.contains("://") {
        return "the same host".into();
    }
    let host: String = rest
        .chars()
        .take_while(|c| !"/?#".contains(*c))
        .take(MAX_PIECE)
        .collect();
    host
}

/// What a declared validator makes of `answer`.
pub fn read(declared: &Declared, answer: &Answer) -> Verdict {
    if let Some(verdict) = common(answer) {
        return verdict;
    }
    if declared.invalid.contains(&answer.status) {
        return Verdict::Invalid;
    }
    if !declared.live.contains(&answer.status) {
        return Verdict::Unknown {
            reason: format!("unexpected status {} from the provider", answer.status),
        };
    }
    let reads_json = declared.ok.is_some()
        || declared
            .identity
            .iter()
            .any(|(_, s)| matches!(s, Identity::Json(_)));
    let json = if reads_json {
        match serde_json::from_slice::<serde_json::Value>(&answer.body) {
            Ok(json) => Some(json),
            Err(_) => {
                return Verdict::Unknown {
                    reason: format!(
                        "status {} but the answer is not the JSON the provider documents",
                        answer.status
                    ),
                }
            }
        }
    } else {
        None
    };
    if let (Some(ok), Some(json)) = (&declared.ok, &json) {
        match json.pointer(ok).and_then(serde_json::Value::as_bool) {
            Some(true) => {}
            Some(false) => {
                let error = declared
                    .error
                    .as_deref()
                    .and_then(|p| json.pointer(p))
                    .map(text)
                    .unwrap_or_default();
                if declared.invalid_errors.contains(&error) {
                    return Verdict::Invalid;
                }
                return Verdict::Unknown {
                    reason: format!("the provider answered error {}", bounded(&error)),
                };
            }
            None => {
                return Verdict::Unknown {
                    reason: format!("the answer has no boolean at {ok}"),
                }
            }
        }
    }
    Verdict::Live {
        identity: identity(declared, answer, json.as_ref()),
    }
}

/// `label value, label value` from the pieces the answer has.
fn identity(
    declared: &Declared,
    answer: &Answer,
    json: Option<&serde_json::Value>,
) -> Option<String> {
    let pieces: Vec<String> = declared
        .identity
        .iter()
        .filter_map(|(label, source)| {
            let value = match source {
                Identity::Json(pointer) => json?.pointer(pointer).map(text)?,
                Identity::Header(name) => answer.header(name)?.to_string(),
            };
            let value = value.trim();
            (!value.is_empty()).then(|| format!("{label} {}", bounded(value)))
        })
        .collect();
    (!pieces.is_empty()).then(|| pieces.join(", "))
}

/// A JSON value as text: a string's contents, anything else as JSON.
fn text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// At most `MAX_PIECE` characters, control characters dropped.
pub fn bounded(value: &str) -> String {
    let mut out: String = value
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_PIECE)
        .collect();
    if value.chars().filter(|c| !c.is_control()).count() > MAX_PIECE {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::RawValidator;
    use crate::validate::spec::{How, Validator};

    fn slack_like() -> Declared {
        let raw = RawValidator {
            docs: "https://docs.example.com".into(),
            url: Some("https://api.example.com/auth.test".into()),
            method: Some("POST".into()),
            headers: [("Authorization".to_string(), "Bearer {secret}".to_string())].into(),
            ok: Some("/ok".into()),
            error: Some("/error".into()),
            invalid_errors: vec!["invalid_auth".into()],
            identity: [("team".to_string(), "/team".to_string())].into(),
            ..Default::default()
        };
        match Validator::from_raw(raw).unwrap().how {
            How::Declared(d) => *d,
            How::Code(_) => unreachable!(),
        }
    }

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            status,
            headers: vec![("location".into(), "https://evil.example/x".into())],
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn json_fields_decide_on_a_200() {
        let d = slack_like();
        assert_eq!(
            read(&d, &answer(200, r#"{"ok":true,"team":"Acme\u001b[31m"}"#)),
            Verdict::Live {
                identity: Some("team Acme[31m".into())
            }
        );
        assert_eq!(
            read(&d, &answer(200, r#"{"ok":false,"error":"invalid_auth"}"#)),
            Verdict::Invalid
        );
        assert!(matches!(
            read(&d, &answer(200, r#"{"ok":false,"error":"ratelimited"}"#)),
            Verdict::Unknown { .. }
        ));
        assert!(matches!(
            read(&d, &answer(200, "<html>")),
            Verdict::Unknown { .. }
        ));
    }

    #[test]
    fn redirects_name_the_host_and_are_unknown() {
        let Verdict::Unknown { reason } = read(&slack_like(), &answer(302, "")) else {
            panic!()
        };
        assert!(reason.contains("evil.example"), "{reason}");
    }

    #[test]
    fn identity_is_bounded() {
        let long = "x".repeat(500);
        assert_eq!(bounded(&long).chars().count(), MAX_PIECE + 1);
    }
}
