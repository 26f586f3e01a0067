//! A validation request as sent on the wire, and what its answer meant.

/// One HTTPS request to a provider's fixed host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedRequest {
    pub method: &'static str,
    /// Full `https://` URL; its host is the validator's fixed host.
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
}

/// What a provider's answer says about a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The secret works; the identity it belongs to (account, login, scopes), never the secret.
    Live { identity: Option<String> },
    /// The provider refused it: revoked, expired or never valid.
    Invalid,
    /// Could not tell, and why (rate-limited, unexpected status, malformed answer, network).
    Unknown { reason: String },
}

/// The host of an `https://` URL (lower-cased, without port), or `None` for any other scheme
/// or a URL whose authority is not a plain `host[:port]`.
pub fn https_host(url: &str) -> Option<String> {
    let rest = url.strip_prefix("https://")?;
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    let plain = |c: char| c.is_ascii_alphanumeric() || c == '.' || c == '-';
    if host.is_empty()
        || !host.chars().all(plain)
        || port.is_some_and(|p| p.is_empty() || !p.chars().all(|c| c.is_ascii_digit()))
    {
        return None;
    }
    Some(host.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::https_host;

    #[test]
    fn only_plain_https_hosts() {
        assert_eq!(
            https_host("https://api.github.com/user").as_deref(),
            Some("api.github.com")
        );
        assert_eq!(
            https_host("https://Example.com:8443?x").as_deref(),
            Some("example.com")
        );
        for bad in [
            "http://api.github.com/",
            "https://user@evil.com/",
            "https://{secret}.evil.com/",
            "https:///path",
            "https://a.com:/",
            "https://a.com:x/",
        ] {
            assert_eq!(https_host(bad), None, "{bad}");
        }
    }
}
