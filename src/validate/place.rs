//! Placing a secret (and its companion) into a request template: `{secret}` and `{companion}`
//! are the only placeholders, each escaped for where it lands, so a secret can never change the
//! shape of the request (a host, another header, another JSON field).

use std::fmt::Write as _;

/// The placeholders a template may hold.
pub const PLACEHOLDERS: [&str; 2] = ["{secret}", "{companion}"];

/// How a value is escaped where it is placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escape {
    /// Percent-encoded: a URL's path or query, or a form body.
    Percent,
    /// A JSON string's contents.
    Json,
    /// As is, refusing control characters (a header value, a raw body).
    Plain,
}

/// Checks that `template` uses no placeholder but `{secret}` and `{companion}`: a `{name}`
/// of any other name is refused, so a typo is not sent as text (other braces, a JSON body's,
/// are text).
pub fn check(template: &str) -> Result<(), String> {
    let mut rest = template;
    while let Some(at) = rest.find('{') {
        let tail = &rest[at + 1..];
        let name_len = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .unwrap_or(tail.len());
        let named = name_len > 0 && tail[name_len..].starts_with('}');
        if named && !PLACEHOLDERS.contains(&&rest[at..at + name_len + 2]) {
            return Err(format!(
                "`{{{}}}` is no placeholder: use {{secret}} or {{companion}}",
                &tail[..name_len]
            ));
        }
        rest = tail;
    }
    Ok(())
}

/// Whether `template` holds `placeholder`.
pub fn uses(template: &str, placeholder: &str) -> bool {
    template.contains(placeholder)
}

/// `template` with `{secret}` and `{companion}` replaced by their escaped values. A value that
/// `escape` cannot carry (a line break in a header) is refused with the reason.
pub fn fill(
    template: &str,
    secret: &str,
    companion: Option<&str>,
    escape: Escape,
) -> Result<String, String> {
    let mut out = String::with_capacity(template.len() + secret.len());
    let mut rest = template;
    while let Some(at) = rest.find('{') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let (value, len) = if tail.starts_with(PLACEHOLDERS[0]) {
            (secret, PLACEHOLDERS[0].len())
        } else if tail.starts_with(PLACEHOLDERS[1]) {
            let value = companion.ok_or("no companion to place")?;
            (value, PLACEHOLDERS[1].len())
        } else {
            out.push('{');
            rest = &tail[1..];
            continue;
        };
        out.push_str(&escaped(value, escape)?);
        rest = &tail[len..];
    }
    out.push_str(rest);
    Ok(out)
}

fn escaped(value: &str, escape: Escape) -> Result<String, String> {
    match escape {
        Escape::Percent => Ok(percent_encode(value)),
        Escape::Json => {
            let quoted = serde_json::to_string(value).map_err(|e| e.to_string())?;
            Ok(quoted[1..quoted.len() - 1].to_string())
        }
        Escape::Plain => {
            if value.chars().any(|c| c.is_control()) {
                Err("the secret holds a control character, which a header cannot carry".into())
            } else {
                Ok(value.to_string())
            }
        }
    }
}

/// Percent-encodes every byte but RFC 3986's unreserved characters and `:` (a path or query
/// character that delimits nothing after the host; Telegram's bot tokens hold one).
pub fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~:".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_escaped_where_they_land() {
        let url = fill("https://h/x?key={secret}", "a/b&c=d", None, Escape::Percent).unwrap();
        assert_eq!(url, "https://h/x?key=a%2Fb%26c%3Dd");
        let json = fill(r#"{"k":"{secret}"}"#, "a\"b", None, Escape::Json).unwrap();
        assert_eq!(json, r#"{"k":"a\"b"}"#);
        assert!(fill("Bearer {secret}", "a\r\nX-Evil: 1", None, Escape::Plain).is_err());
        assert_eq!(
            fill("{companion}:{secret}", "s", Some("c"), Escape::Plain).unwrap(),
            "c:s"
        );
        assert!(fill("{companion}", "s", None, Escape::Plain).is_err());
    }

    #[test]
    fn unknown_placeholders_are_refused() {
        assert!(check("Bearer {secret}").is_ok());
        assert!(check("{\"a\": \"{secret}\"}").is_ok());
        assert!(check("{token}").is_err());
        assert!(check("{secrets}").is_err());
    }
}
