//! Validators written in code, for providers whose request must be signed: each has a name a
//! rule's `[rule.validate]` gives as `code = "…"`, a fixed host, a request builder and an
//! answer reader. This file is the one place they are wired in.
//!
//! - `aws-sts`: an AWS secret access key, with its access key ID as companion, asks STS
//!   `GetCallerIdentity` (SigV4; see `aws`).
//! - `google-service-account`: a whole service-account key file (JSON) asks Google's OAuth
//!   token endpoint with an RS256 JWT (see `google`). The pack's own rule finds the private key
//!   alone, without the file's `client_email`, so only a rule whose secret is the whole file
//!   (one in a `--config`) can use it.

use std::time::SystemTime;

use super::request::{PreparedRequest, Verdict};
use super::{aws, google};

/// The code validators this build has.
pub const NAMES: &[&str] = &["aws-sts", "google-service-account"];

/// The fixed host of code validator `name`.
pub fn host(name: &str) -> &'static str {
    match name {
        "aws-sts" => "sts.amazonaws.com",
        "google-service-account" => "oauth2.googleapis.com",
        _ => "",
    }
}

/// The signed request of code validator `name` for `secret` (with its companion).
pub fn prepare(
    name: &str,
    secret: &str,
    companion: Option<&str>,
    now: SystemTime,
) -> Result<PreparedRequest, String> {
    match name {
        "aws-sts" => {
            let key_id = companion.ok_or("no access key ID to sign with")?;
            Ok(aws::request(key_id, secret, None, now))
        }
        "google-service-account" => google::request(secret, now),
        _ => Err(format!("no code validator `{name}` in this build")),
    }
}

/// What code validator `name` makes of an answer to the request it prepared for `secret`.
pub fn verdict(name: &str, status: u16, body: &[u8], secret: &str) -> Verdict {
    match name {
        "aws-sts" => aws::verdict(status, body),
        "google-service-account" => google::verdict(status, body, secret),
        _ => Verdict::Unknown {
            reason: format!("no code validator `{name}` in this build"),
        },
    }
}
