//! A validator declaration (`[rule.validate]`), checked: the request goes to one fixed HTTPS
//! host written literally in the URL; the secret goes only into the URL's path or query
//! (percent-encoded), header values, Basic credentials or the body; the answer is read by
//! status codes and JSON pointers. A declaration that breaks any of this is refused when the
//! rule is loaded, so nothing downstream re-checks.

use base64::Engine as _;

use super::code;
use super::place::{self, Escape};
use super::request::{https_host, PreparedRequest};
use crate::rules::RawValidator;

/// A checked validator.
#[derive(Debug, Clone, PartialEq)]
pub struct Validator {
    /// The provider's API documentation the validator was written from.
    pub docs: String,
    /// The rule whose finding in the same file supplies `{companion}`.
    pub companion: Option<String>,
    pub how: How,
}

/// How the request is made.
#[derive(Debug, Clone, PartialEq)]
pub enum How {
    /// A request declared in the rule.
    Declared(Box<Declared>),
    /// A request written in code (signed): its name in `code::NAMES`.
    Code(&'static str),
}

/// A declared request and how to read its answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Declared {
    pub method: &'static str,
    pub url: String,
    /// The URL's host, the only one the request may go to.
    pub host: String,
    pub headers: Vec<(String, String)>,
    pub basic_auth: Option<(String, String)>,
    pub body: Option<String>,
    pub live: Vec<u16>,
    pub invalid: Vec<u16>,
    pub ok: Option<String>,
    pub error: Option<String>,
    pub invalid_errors: Vec<String>,
    pub identity: Vec<(String, Identity)>,
}

/// Where a piece of the identity is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// A JSON pointer into the answer's body.
    Json(String),
    /// A response header.
    Header(String),
}

impl Validator {
    /// Checks a declaration; the message names what is wrong.
    pub fn from_raw(raw: RawValidator) -> Result<Validator, String> {
        if !raw.docs.starts_with("https://") {
            return Err("`docs` must be the https:// URL of the provider's API documentation the request follows".into());
        }
        if let Some(name) = &raw.code {
            let declared_too = raw.url.is_some()
                || raw.method.is_some()
                || !raw.headers.is_empty()
                || !raw.basic_auth.is_empty()
                || raw.body.is_some()
                || !raw.identity.is_empty();
            if declared_too {
                return Err("a `code` validator builds its own request: give no url, method, headers, basic_auth, body or identity".into());
            }
            let name = code::NAMES
                .iter()
                .find(|n| **n == name.as_str())
                .ok_or_else(|| {
                    format!(
                        "`code = {name:?}`: no validator of that name (known: {})",
                        if code::NAMES.is_empty() {
                            "none in this build".to_string()
                        } else {
                            code::NAMES.join(", ")
                        }
                    )
                })?;
            return Ok(Validator {
                docs: raw.docs,
                companion: raw.companion,
                how: How::Code(name),
            });
        }
        let declared = declared(&raw)?;
        let everything = templates(&declared).collect::<Vec<_>>();
        if !everything.iter().any(|t| place::uses(t, "{secret}")) {
            return Err(
                "the request must carry `{secret}` somewhere (URL, header, basic_auth or body)"
                    .into(),
            );
        }
        let uses_companion = everything.iter().any(|t| place::uses(t, "{companion}"));
        if uses_companion != raw.companion.is_some() {
            return Err(
                "`{companion}` is used exactly when `companion` names the rule that supplies it"
                    .into(),
            );
        }
        Ok(Validator {
            docs: raw.docs,
            companion: raw.companion,
            how: How::Declared(Box::new(declared)),
        })
    }

    /// The request in one line: `GET https://api.github.com/user`, or the code validator and
    /// its host.
    pub fn describe(&self) -> String {
        match &self.how {
            How::Declared(d) => format!("{} {}", d.method, d.url),
            How::Code(name) => format!("{name} (signed in code) to {}", code::host(name)),
        }
    }

    /// The host the request goes to.
    pub fn host(&self) -> String {
        match &self.how {
            How::Declared(d) => d.host.clone(),
            How::Code(name) => code::host(name).to_string(),
        }
    }
}

fn templates(d: &Declared) -> impl Iterator<Item = &str> {
    std::iter::once(d.url.as_str())
        .chain(d.headers.iter().map(|(_, v)| v.as_str()))
        .chain(
            d.basic_auth
                .iter()
                .flat_map(|(u, p)| [u.as_str(), p.as_str()]),
        )
        .chain(d.body.as_deref())
}

fn declared(raw: &RawValidator) -> Result<Declared, String> {
    let url = raw
        .url
        .clone()
        .ok_or("give `url` (or `code` for a validator written in code)")?;
    let host = https_host(&url).ok_or_else(|| {
        format!("`url = {url:?}`: must be https:// on a fixed host written literally (no placeholder, user or other scheme before the path)")
    })?;
    if url.contains('#') {
        return Err("`url`: no fragment".into());
    }
    place::check(&url).map_err(|m| format!("`url`: {m}"))?;
    let method = match raw.method.as_deref().unwrap_or("GET") {
        "GET" => "GET",
        "POST" => "POST",
        "HEAD" => "HEAD",
        other => {
            return Err(format!(
                "`method = {other:?}`: GET, POST or HEAD (a validator only reads)"
            ))
        }
    };
    let mut headers = Vec::new();
    for (name, value) in &raw.headers {
        let token = |c: char| c.is_ascii_alphanumeric() || "-_".contains(c);
        if name.is_empty() || !name.chars().all(token) {
            return Err(format!(
                "header name {name:?}: letters, digits, `-` and `_` only"
            ));
        }
        if ["host", "content-length", "transfer-encoding", "connection"]
            .contains(&name.to_ascii_lowercase().as_str())
        {
            return Err(format!(
                "header {name:?} is set by keyhound, not a validator"
            ));
        }
        place::check(value).map_err(|m| format!("header {name:?}: {m}"))?;
        headers.push((name.clone(), value.clone()));
    }
    let basic_auth = match raw.basic_auth.as_slice() {
        [] => None,
        [user, password] => {
            place::check(user).map_err(|m| format!("`basic_auth`: {m}"))?;
            place::check(password).map_err(|m| format!("`basic_auth`: {m}"))?;
            Some((user.clone(), password.clone()))
        }
        _ => return Err("`basic_auth` is [user, password]".into()),
    };
    if let Some(body) = &raw.body {
        place::check(body).map_err(|m| format!("`body`: {m}"))?;
        if method != "POST" {
            return Err("`body` needs `method = \"POST\"`".into());
        }
    }
    for pointer in [&raw.ok, &raw.error].into_iter().flatten() {
        check_pointer(pointer)?;
    }
    if raw.error.is_some() != raw.ok.is_some()
        || raw.invalid_errors.is_empty() != raw.error.is_none()
    {
        return Err("`ok`, `error` and `invalid_errors` go together".into());
    }
    let mut identity = Vec::new();
    for (label, source) in &raw.identity {
        let source = match source.strip_prefix("header:") {
            Some(name) => Identity::Header(name.to_string()),
            None => {
                check_pointer(source)?;
                Identity::Json(source.clone())
            }
        };
        identity.push((label.clone(), source));
    }
    let or = |codes: &[u16], default: u16| {
        if codes.is_empty() {
            vec![default]
        } else {
            codes.to_vec()
        }
    };
    let live = or(&raw.live, 200);
    let invalid = or(&raw.invalid, 401);
    if let Some(code) = live
        .iter()
        .chain(&invalid)
        .find(|c| !(200..600).contains(*c) || (300..400).contains(*c) || **c == 429)
    {
        return Err(format!(
            "status {code}: redirects and 429 are never a verdict"
        ));
    }
    if live.iter().any(|c| invalid.contains(c)) {
        return Err("a status cannot mean both live and invalid".into());
    }
    Ok(Declared {
        method,
        url,
        host,
        headers,
        basic_auth,
        body: raw.body.clone(),
        live,
        invalid,
        ok: raw.ok.clone(),
        error: raw.error.clone(),
        invalid_errors: raw.invalid_errors.clone(),
        identity,
    })
}

fn check_pointer(pointer: &str) -> Result<(), String> {
    if pointer.starts_with('/') {
        Ok(())
    } else {
        Err(format!(
            "{pointer:?}: a JSON pointer starts with `/` (`/login`), a header with `header:`"
        ))
    }
}

impl Declared {
    /// The request for `secret` (and its companion).
    pub fn prepare(
        &self,
        secret: &str,
        companion: Option<&str>,
    ) -> Result<PreparedRequest, String> {
        let url = place::fill(&self.url, secret, companion, Escape::Percent)?;
        let mut headers = Vec::with_capacity(self.headers.len() + 1);
        for (name, value) in &self.headers {
            headers.push((
                name.clone(),
                place::fill(value, secret, companion, Escape::Plain)?,
            ));
        }
        if let Some((user, password)) = &self.basic_auth {
            let user = place::fill(user, secret, companion, Escape::Plain)?;
            let password = place::fill(password, secret, companion, Escape::Plain)?;
            let token =
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            headers.push(("Authorization".into(), format!("Basic {token}")));
        }
        let body = match &self.body {
            Some(body) => {
                let content_type = self
                    .headers
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
                    .map(|(_, v)| v.to_ascii_lowercase())
                    .unwrap_or_default();
                let escape = if content_type.contains("json") {
                    Escape::Json
                } else if content_type.contains("x-www-form-urlencoded") {
                    Escape::Percent
                } else {
                    Escape::Plain
                };
                Some(place::fill(body, secret, companion, escape)?.into_bytes())
            }
            None => None,
        };
        Ok(PreparedRequest {
            method: self.method,
            url,
            headers,
            body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(url: &str) -> RawValidator {
        RawValidator {
            docs: "https://docs.example.com/api".into(),
            url: Some(url.into()),
            headers: [("Authorization".to_string(), "Bearer {secret}".to_string())].into(),
            ..Default::default()
        }
    }

    #[test]
    fn the_host_is_fixed_and_https() {
        assert!(Validator::from_raw(raw("https://api.example.com/me")).is_ok());
        for bad in [
            "http://api.example.com/me",
            "https://{secret}.example.com/me",
            "https://api.example.com:{secret}/me",
            "https://evil.com@api.example.com/me",
            "https://api.example.com/me#{secret}",
            "https://api.example.com/{token}",
        ] {
            assert!(Validator::from_raw(raw(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_secret_must_be_sent_and_a_companion_declared() {
        let mut r = raw("https://api.example.com/me");
        r.headers.clear();
        assert!(Validator::from_raw(r.clone()).is_err());
        r.basic_auth = vec!["{companion}".into(), "{secret}".into()];
        assert!(Validator::from_raw(r.clone()).is_err());
        r.companion = Some("example-id".into());
        let v = Validator::from_raw(r).unwrap();
        let How::Declared(d) = v.how else { panic!() };
        let req = d.prepare("s3cret", Some("id")).unwrap();
        assert_eq!(
            req.headers,
            [("Authorization".into(), "Basic aWQ6czNjcmV0".into())]
        );
    }

    #[test]
    fn only_reading_methods_and_no_redirect_verdicts() {
        let mut r = raw("https://api.example.com/me");
        r.method = Some("DELETE".into());
        assert!(Validator::from_raw(r).is_err());
        let mut r = raw("https://api.example.com/me");
        r.live = vec![302];
        assert!(Validator::from_raw(r).is_err());
    }
}
