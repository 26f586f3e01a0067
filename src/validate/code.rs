//! Validators written in code, for providers whose request must be signed: each has a name a
//! rule's `[rule.validate]` gives as `code = "…"`, a fixed host, a request builder and an
//! answer reader. This file is the one place they are wired in.
//!
//! Planned (their modules build the signed requests): `aws-sts` (AWS STS
//! GetCallerIdentity, SigV4, host sts.amazonaws.com; the secret access key with its access key
//! id as companion) and `google-service-account` (the OAuth token exchange with an RS256 JWT,
//! host oauth2.googleapis.com). To add one: its name to `NAMES`, an arm in each `match` below.

use std::time::SystemTime;

use super::request::{PreparedRequest, Verdict};

/// The code validators this build has.
pub const NAMES: &[&str] = &[];

/// The fixed host of code validator `name`.
pub fn host(name: &str) -> &'static str {
    let _ = name;
    ""
}

/// The signed request of code validator `name` for `secret` (with its companion).
pub fn prepare(
    name: &str,
    secret: &str,
    companion: Option<&str>,
    now: SystemTime,
) -> Result<PreparedRequest, String> {
    let _ = (secret, companion, now);
    Err(format!("no code validator `{name}` in this build"))
}

/// What code validator `name` makes of an answer.
pub fn verdict(name: &str, status: u16, body: &[u8]) -> Verdict {
    let _ = (status, body);
    Verdict::Unknown {
        reason: format!("no code validator `{name}` in this build"),
    }
}
