//! Values that look like secrets but are not: placeholders, masked values, template and
//! environment references, sequential or repetitive filler, and documented example keys.
//! Applied to every rule's secret.

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
];

/// Whole values that are stock dummy passwords.
const DUMMY_VALUES: &[&str] = &[
    "password", "passw0rd", "p@ssw0rd", "p@ssword", "secret", "admin", "root", "pass", "test",
    "testing", "guest", "user", "letmein", "qwerty", "default", "token", "apikey", "api_key",
    "secret123", "password123", "password1", "changeit", "none", "null", "undefined", "true",
    "false",
];

/// True when `value` is a placeholder or other stand-in rather than a secret.
pub fn is_placeholder(value: &[u8]) -> bool {
    let lower = value.to_ascii_lowercase();
    if DUMMY_VALUES.iter().any(|d| lower == d.as_bytes()) {
        return true;
    }
    if contains_any(&lower, PLACEHOLDER_WORDS) || contains_any(value, TEMPLATE_MARKERS) {
        return true;
    }
    if DOCUMENTED_EXAMPLES
        .iter()
        .any(|e| memchr::memmem::find(value, e.as_bytes()).is_some())
    {
        return true;
    }
    if let Some(rest) = value.strip_prefix(b"$") {
        // `$VAR`, `$env:VAR`: a shell or PowerShell variable.
        if rest
            .first()
            .is_some_and(|b| b.is_ascii_uppercase() || *b == b'_' || *b == b'{' || *b == b'e')
        {
            return true;
        }
    }
    has_run(value, 5) || has_sequence(value, 6) || is_repetitive(value)
}

fn contains_any(hay: &[u8], needles: &[&str]) -> bool {
    needles
        .iter()
        .any(|n| memchr::memmem::find(hay, n.as_bytes()).is_some())
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
            "password",
            "abababababababab",
            "sk-proj-********************",
        ] {
            assert!(is_placeholder(p.as_bytes()), "{p}");
        }
    }

    #[test]
    fn random_values_are_not_placeholders() {
        for s in [
            "sk_live_4Jq8ZtR2mWc9LpVx7HnB3kDf",
            "wS9fK2pL7xQ4mN8vR1tY6uH3",
            "9f86d081884c7d659a2feaa0c55ad015",
        ] {
            assert!(!is_placeholder(s.as_bytes()), "{s}");
        }
    }
}
