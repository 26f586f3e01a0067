//! The verdict on one candidate: whether the secret a rule's regex captured is one to report
//! (placeholders, entropy, checksums, the generic detector's shapes, a weak password's place).
//! Scans and `keyhound keycheck` judge with the same functions.

use std::ops::Range;

use super::{assignment, benign, checksum, entropy, placeholder};
use crate::rules::{Rule, RuleKind};

/// Whether a rule's candidate secret passes its filters: placeholders, entropy, checksum, and
/// for the generic detector the benign-shape and randomness checks.
pub fn accepts(rule: &Rule, secret: &[u8]) -> bool {
    let stand_in = match rule.kind {
        // An audit of weak passwords wants `admin` and `letmein` too.
        RuleKind::Weak => placeholder::is_stand_in(secret),
        RuleKind::Token | RuleKind::Generic => placeholder::is_placeholder(secret),
    };
    if secret.is_empty() || stand_in {
        return false;
    }
    let body = random_part(rule, secret);
    if rule
        .min_entropy_bits
        .is_some_and(|min| entropy::pool_bits(body) < min)
        || rule
            .min_shannon
            .is_some_and(|min| entropy::shannon(body) < min)
    {
        return false;
    }
    if let Some(kind) = rule.checksum {
        if !checksum::verify(kind, secret) {
            return false;
        }
    }
    match rule.kind {
        RuleKind::Token => true,
        RuleKind::Generic => benign::plausible_generic_secret(secret),
        RuleKind::Weak => benign::plausible_password(secret),
    }
}

/// Whether a weak-password candidate at `span` reads as configuration, since without an
/// entropy bar there is nothing else to lean on: not on a comment line or in a trailing
/// comment (commented examples), and, when `name` says it is assigned, a name whose last word
/// is a password word (not `MinimumPasswordAge`), not a ternary's branch (`ok ? "pass" :
/// "fail"`), and the whole value: a quoted one closes right after it (`'ALTER USER …'` is a
/// statement), an unquoted one ends its line but for a comment (`passwd: files winbind` is
/// prose).
pub(super) fn weak_in_configuration(
    hay: &[u8],
    span: &Range<usize>,
    name: Option<&Range<usize>>,
) -> bool {
    const COMMENTS: [&[u8]; 7] = [b"#", b"//", b"/*", b"*", b"--", b";", b"<!--"];
    let line_start = memchr::memrchr(b'\n', &hay[..span.start]).map_or(0, |i| i + 1);
    let line_end = memchr::memchr(b'\n', &hay[span.end..]).map_or(hay.len(), |i| span.end + i);
    let lead = hay[line_start..span.start].trim_ascii_start();
    let trailing_comment = [b" # " as &[u8], b" // "]
        .iter()
        .any(|c| lead.windows(c.len()).any(|w| w == *c));
    if trailing_comment || COMMENTS.iter().any(|c| lead.starts_with(c)) {
        return false;
    }
    let Some(name) = name else {
        return true;
    };
    let before_name = hay[line_start..name.start].trim_ascii_end();
    let before_name = before_name
        .strip_suffix(b"\"")
        .or_else(|| before_name.strip_suffix(b"'"))
        .unwrap_or(before_name)
        .trim_ascii_end();
    if before_name.ends_with(b"?") || !assignment::names_a_password(&hay[name.clone()]) {
        return false;
    }
    match span.start.checked_sub(1).map(|i| hay[i]) {
        Some(quote @ (b'"' | b'\'' | b'`')) => hay.get(span.end) == Some(&quote),
        _ => {
            let rest = hay[span.end..line_end].trim_ascii();
            rest.is_empty()
                || [b"#" as &[u8], b"//", b";"]
                    .iter()
                    .any(|c| rest.starts_with(c))
        }
    }
}

/// The secret without a leading keyword (a fixed prefix such as `sk_live_` carries no entropy).
pub fn random_part<'a>(rule: &Rule, secret: &'a [u8]) -> &'a [u8] {
    rule.keywords
        .iter()
        .filter(|k| secret.len() > k.len() && secret[..k.len()].eq_ignore_ascii_case(k.as_bytes()))
        .map(|k| &secret[k.len()..])
        .min_by_key(|rest| rest.len())
        .unwrap_or(secret)
}
