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
