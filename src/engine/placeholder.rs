//! Values that look like secrets but are not: placeholders, masked values, template and
//! environment references, sequential or repetitive filler, and documented example keys.
//! Applied to every rule's secret.

use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder};

/// Words that mark a value as a stand-in (matched ASCII case-insensitively inside the value).
const PLACEHOLDER_WORDS: &[&str] = &[
    "xxxx",
    "****",
    "....",
    "####",
    "example",
    "your_",
    "your-",
    "yourkey",
    "yourtoken",
    "yoursecret",
    "yourpass",
    "_here",
    "-here",
    "placeholder",
    "changeme",
    "change_me",
    "change-me",
    "dummy",
    "redacted",
    "sample",
    "notreal",
    "not_real",
    "not-real",
    "not-a-real",
    "not_a_real",
    "will-not-work",
    "do-not-use",
    "do_not_use",
    "fake_",
    "_fake",
    "insert_",
    "replace_",
    "replace-",
    "process.env",
    "os.environ",
    "getenv",
    "secretkeyref",
    "valuefrom",
    // The ellipsis keyhound ends a redacted secret with: its own reports are not secrets.
    "\u{2026}",
];

/// Template and reference syntax: `${X}`, `{{ x }}`, `<token>`, `%(x)s`, `#{x}`.
const TEMPLATE_MARKERS: &[&str] = &["${", "{{", "}}", "<", ">", "%(", "#{", "$("];

/// Documented example credentials published by providers and standards (not secrets).
const DOCUMENTED_EXAMPLES: &[&str] = &[
    // Azurite / Azure Storage emulator well-known account key.
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==",
    // jwt.io's sample HS256 signature.
    "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
    // Stripe's documentation test keys.
    "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
    "sk_test_BQokikJOvBiI2HlWgH4olfQ2",
    "pk_test_TYooMQauvdEDq54NiTphI7jx",
    // GitHub's documentation OAuth token.
    "gho_16C7e42F292c6912E7710c838347Ae178B4a",
    // RFC 7515 (JWS) appendix A.1 HMAC key.
    "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow",
    // Hardhat / Anvil default development account keys (published in their docs).
    "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    // AES test keys from FIPS-197 / NIST SP 800-38A and RFC 7539 (ChaCha20).
    "2b7e151628aed2a6abf7158809cf4f3c",
    "8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b",
    "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4",
    "000102030405060708090a0b0c0d0e0f",
    // web3.js documentation private key.
    "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318",
];

/// Whole values that name a thing rather than hold one: stand-ins in every mode.
const DUMMY_VALUES: &[&str] = &[
    "password",
    "secret",
    "pass",
    "test",
    "testing",
    "user",
    "default",
    "token",
    "apikey",
    "api_key",
    "none",
    "null",
    "undefined",
    "true",
    "false",
];

/// Whole values that are stock passwords: in docs and samples they are dummies, so the
/// default report leaves them out; in a weak-password audit (`--include-weak`) a stock
/// password in a config is the weakest password of all, and is reported.
const STOCK_PASSWORDS: &[&str] = &[
    "passw0rd",
    "p@ssw0rd",
    "p@ssword",
    "admin",
    "root",
    "guest",
    "letmein",
    "qwerty",
    "secret123",
    "password123",
    "password1",
    "changeit",
];

/// True when `value` is a stock password (`admin`, `letmein`, `changeit`, …).
pub fn is_stock_password(value: &[u8]) -> bool {
    STOCK_PASSWORDS
        .iter()
        .any(|d| value.eq_ignore_ascii_case(d.as_bytes()))
}

/// The word lists as automata, built once: this runs on every candidate, and a file can hold
/// millions of them, so one pass per list beats one substring search per word.
struct Needles {
    words: AhoCorasick,
    markers: AhoCorasick,
    documented: AhoCorasick,
}

fn needles() -> &'static Needles {
    static NEEDLES: OnceLock<Needles> = OnceLock::new();
    NEEDLES.get_or_init(|| {
        let build = |patterns: &[&str], fold_case: bool| {
            AhoCorasickBuilder::new()
                .ascii_case_insensitive(fold_case)
                .build(patterns)
                .expect("fixed word lists compile")
        };
        Needles {
            words: build(PLACEHOLDER_WORDS, true),
            markers: build(TEMPLATE_MARKERS, false),
            documented: build(DOCUMENTED_EXAMPLES, false),
        }
    })
}

/// Length beyond which a value is judged as structured data rather than a typed token.
const LONG_VALUE: usize = 64;

/// True when `value` is a placeholder or other stand-in rather than a secret.
pub fn is_placeholder(value: &[u8]) -> bool {
    is_stock_password(value) || is_stand_in(value)
}

/// True when `value` is a placeholder other than a stock password: a template, a reference,
/// masked or sequential filler, a documented example, a word that names a thing.
pub fn is_stand_in(value: &[u8]) -> bool {
    if DUMMY_VALUES
        .iter()
        .any(|d| value.eq_ignore_ascii_case(d.as_bytes()))
    {
        return true;
    }
    let needles = needles();
    if needles.words.is_match(value)
        || needles.markers.is_match(value)
        || needles.documented.is_match(value)
    {
        return true;
    }
    if let Some(rest) = value.strip_prefix(b"$") {
        // `$VAR`, `$var`, `$env:VAR`, `${VAR}`, `$(cmd)`: a shell, Perl, PHP or PowerShell
        // variable or substitution.
        if rest
            .first()
            .is_some_and(|b| b.is_ascii_alphabetic() || matches!(b, b'_' | b'{' | b'('))
        {
            return true;
        }
    }
    if names_a_secret_variable(value) {
        return true;
    }
    if value.len() > 2 && value.starts_with(b"%") && value.ends_with(b"%") {
        // `%VAR%`: a Windows environment reference.
        return true;
    }
    // Long values are structured (an OpenSSH key's base64 holds runs of `A` for zero bytes,
    // an AWS session token runs of `/`): only a run that no encoding makes is suspicious.
    let run = if value.len() > LONG_VALUE { 24 } else { 5 };
    has_run(value, run)
        || has_sequence(value, 6)
        || has_variable(value)
        || is_repetitive(value)
        || mostly_sequential(value)
}

/// Many neighbouring characters one step apart (`xoxb-123-456-abc`): typed, not random. In a
/// random base62 string about one pair in 31 is.
fn mostly_sequential(s: &[u8]) -> bool {
    if s.len() < 8 {
        return false;
    }
    let steps = s
        .windows(2)
        .filter(|w| w[0].is_ascii_alphanumeric() && w[1] == w[0].wrapping_add(1))
        .count();
    steps * 5 > s.len() - 1
}

/// A shell-style variable inside the value: `$` and three or more of `A-Z_` (`pre$API_KEY`).
fn has_variable(s: &[u8]) -> bool {
    memchr::memchr_iter(b'$', s).any(|i| {
        let rest = &s[i + 1..];
        rest.len() >= 3
            && rest[..3]
                .iter()
                .all(|b| b.is_ascii_uppercase() || *b == b'_')
    })
}

/// A snake or kebab name of the secret it stands for, in one case: `KEYSTONE_DBPASS`,
/// `DOCKER_PASSWORD`, `RAILS_MASTER_KEY`, `oplog_reader_password`, `fake-token-123` (install
/// guides, templates and tests write these where the secret goes).
fn names_a_secret_variable(s: &[u8]) -> bool {
    const SECRET_ENDINGS: &[&[u8]] = &[
        b"pass",
        b"password",
        b"passwd",
        b"pwd",
        b"token",
        b"secret",
        b"key",
    ];
    // Upper case joins with `_` only: `NEW-SAMBA4-SECRET` is a password someone typed.
    let separator = |b: &u8| matches!(b, b'_' | b'-');
    let one_case = s
        .iter()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'_')
        || s.iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || separator(b));
    // Each part a word, perhaps numbered (`reader`, `db1`), never a random run: `key-3ax6…`
    // (Mailgun) and `AGE-SECRET-KEY-1QQ…` are keys.
    let wordlike = |part: &[u8]| {
        let letters = part.iter().take_while(|b| b.is_ascii_alphabetic()).count();
        part.len() <= 16 && part[letters..].iter().all(u8::is_ascii_digit)
    };
    s.first().is_some_and(u8::is_ascii_alphabetic)
        && s.iter().any(separator)
        && one_case
        && s.split(separator).all(wordlike)
        && s.split(separator).any(|part| {
            let part = part.to_ascii_lowercase();
            SECRET_ENDINGS.iter().any(|e| part.ends_with(e))
        })
}

/// A run of `n` or more identical characters (`aaaaa`, `00000`).
fn has_run(s: &[u8], n: usize) -> bool {
    let mut run = 1;
    for w in s.windows(2) {
        run = if w[0] == w[1] { run + 1 } else { 1 };
        if run >= n {
            return true;
        }
    }
    false
}

/// An ascending or descending run of `n` consecutive characters (`123456`, `abcdef`, `98765`).
fn has_sequence(s: &[u8], n: usize) -> bool {
    for step in [1i16, -1] {
        let mut run = 1;
        for w in s.windows(2) {
            let consecutive = w[1].is_ascii_alphanumeric() && (w[1] as i16 - w[0] as i16) == step;
            run = if consecutive { run + 1 } else { 1 };
            if run >= n {
                return true;
            }
        }
    }
    false
}

/// Few distinct characters for the length: `abababab…`, `0101…`.
fn is_repetitive(s: &[u8]) -> bool {
    if s.len() < 12 {
        return false;
    }
    let mut seen = [false; 256];
    let distinct = s
        .iter()
        .filter(|&&b| !std::mem::replace(&mut seen[b as usize], true))
        .count();
    distinct <= 4 || distinct * 6 < s.len().min(60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::templates::{expand, ExampleRng};

    #[test]
    fn placeholders_are_recognised() {
        for p in [
            "sk_live_XXXXXXXXXXXXXXXXXXXXXXXX",
            "your_api_key_here",
            "${STRIPE_KEY}",
            "{{ .Values.token }}",
            "<your-token>",
            "AKIAIOSFODNN7EXAMPLE",
            "abcdef1234567890abcdef1234567890",
            "$API_KEY",
            "$chain_id",
            "password",
            "abababababababab",
            "sk-proj-********************",
            "xoxb-123-456-abc",
            "%SENDGRID_API_KEY%",
            "KEYSTONE_DBPASS",
            "DOCKER_PASSWORD",
            "oplog_reader_password",
            "fake-token-123",
            "AUTHENTICATION_PASSWORD",
            "==$DETECT_SECRETS_VERSION",
            "-----BEGIN KEY-----XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
        ] {
            assert!(is_placeholder(p.as_bytes()), "{p}");
        }
    }

    #[test]
    fn random_values_are_not_placeholders() {
        let mut rng = ExampleRng::new(3);
        for template in [
            "sk_live_@{rand:alnum:24}",
            "@{rand:alnum:24}",
            "@{rand:hex:32}",
            "key-@{rand:lowernum:32}",
            "AGE-SECRET-KEY-1@{rand:uppernum:58}",
            // An OpenSSH key body: zero bytes encode as runs of `A`.
            "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW@{rand:base64:200}",
        ] {
            for _ in 0..50 {
                let s = expand(template, &mut rng).unwrap();
                assert!(!is_placeholder(s.as_bytes()), "{s}");
            }
        }
    }
}
