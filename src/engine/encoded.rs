//! Tokens wrapped in base64 on their own: a value such as `ZXlKaGJHY2lPaUpJVXpJMU5pSjku…` is a
//! JWT (`eyJhbGciOi…`) encoded once more, in a file that says nothing about base64. The value
//! starts with the encoding of a token's fixed prefix, so the base64 of a few well-known
//! prefixes joins the keyword search; a run of base64 that starts with one is decoded and
//! rescanned with the whole rule pack, and what it hides is reported at the encoded span.
//!
//! Files that ask for decoding (`kind: Secret`, `base64`, Docker auth: see `decode::TRIGGERS`)
//! have every base64 run decoded already; this covers the rest at the cost of a few keywords.

use std::ops::Range;

use base64::Engine as _;

/// Token prefixes whose base64 encoding marks an encoded token: a JWT or JSON object (`eyJ`),
/// GitHub, GitLab, Slack, Stripe, OpenAI, Anthropic, AWS, Google, npm and Hugging Face
/// tokens. Each is at least three bytes, so its encoding is at least four characters.
const PLAIN_PREFIXES: &[&str] = &[
    "eyJ",
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "glpat-",
    "xoxb-",
    "xoxp-",
    "xapp-",
    "sk_live_",
    "rk_live_",
    "sk-proj-",
    "sk-ant-",
    "AKIA",
    "ASIA",
    "AIza",
    "npm_",
    "hf_",
];

/// Shortest encoded run worth decoding: shorter ones cannot hold a token any rule reports.
const MIN_RUN: usize = 24;

/// The keywords that wake this decoder: the standard base64 encoding of each prefix in
/// `PLAIN_PREFIXES`, cut to the characters its bytes alone decide (4 per 3 bytes, plus one
/// for a partial group). They match case-sensitively: base64 is.
pub fn prefix_keywords() -> Vec<Vec<u8>> {
    PLAIN_PREFIXES
        .iter()
        .map(|plain| {
            let encoded = base64::engine::general_purpose::STANDARD_NO_PAD.encode(plain);
            let decided = plain.len() * 8 / 6;
            encoded.as_bytes()[..decided].to_vec()
        })
        .collect()
}

/// The base64 run that starts at `start` (where a prefix keyword was hit), or `None` when the
/// hit is inside a longer run (the token is not what was encoded) or the run is too short.
pub fn run_at(hay: &[u8], start: usize) -> Option<Range<usize>> {
    if start > 0 && is_b64(hay[start - 1]) {
        return None;
    }
    let mut end = start;
    while end < hay.len() && is_b64(hay[end]) {
        end += 1;
    }
    while end < hay.len() && hay[end] == b'=' {
        end += 1;
    }
    (end - start >= MIN_RUN).then_some(start..end)
}

fn is_b64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'+' || b == b'/'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_are_the_encoded_prefixes() {
        let keywords = prefix_keywords();
        assert_eq!(keywords[0], b"ZXlK");
        assert_eq!(keywords[1], b"Z2hwX");
        for (plain, keyword) in PLAIN_PREFIXES.iter().zip(&keywords) {
            assert!(keyword.len() >= 4, "{plain}");
            let whole = base64::engine::general_purpose::STANDARD.encode(format!("{plain}x"));
            assert!(whole.as_bytes().starts_with(keyword), "{plain}");
        }
    }

    #[test]
    fn runs_start_at_the_hit_and_stand_alone() {
        let hay = b"note ZXlKaGJHY2lPaUpJVXpJMU5pSjk= rest";
        assert_eq!(run_at(hay, 5), Some(5..33));
        let inside = b"note QUJDZXlKaGJHY2lPaUpJVXpJMU5pSjk=";
        assert_eq!(run_at(inside, 9), None);
        assert_eq!(run_at(b"ZXlKaGJH", 0), None, "too short");
    }
}
