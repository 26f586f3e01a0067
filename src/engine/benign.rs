//! Benign shapes the generic detector must not report: identifiers, hashes, UUIDs, integrity
//! strings, paths and URLs, encoded images and fonts. Token rules do not need these checks:
//! their formats already say what they are.

use super::entropy;

/// Whether a value assigned to a secret-sounding name plausibly is a random secret.
pub fn plausible_generic_secret(value: &[u8]) -> bool {
    let len = value.len();
    if !(8..=512).contains(&len) || is_benign_shape(value) {
        return false;
    }
    let (mut lower, mut upper, mut digit, mut symbol) = (0usize, 0usize, 0usize, 0usize);
    for &b in value {
        match b {
            b'a'..=b'z' => lower += 1,
            b'A'..=b'Z' => upper += 1,
            b'0'..=b'9' => digit += 1,
            _ => symbol += 1,
        }
    }
    let classes = [lower, upper, digit, symbol]
        .iter()
        .filter(|&&n| n > 0)
        .count();
    // Words and identifiers use one or two classes; random keys mix at least two with digits.
    if classes < 2 || digit == 0 && symbol == 0 {
        return false;
    }
    let shannon = entropy::shannon(value);
    let bits = entropy::pool_bits(value);
    shannon >= shannon_floor(len) && bits >= 64.0 && !reads_like_words(value)
}

/// Expected Shannon entropy falls with length for short random strings; require most of it.
fn shannon_floor(len: usize) -> f64 {
    match len {
        0..=11 => 2.9,
        12..=19 => 3.2,
        20..=31 => 3.5,
        _ => 3.7,
    }
}

fn is_benign_shape(v: &[u8]) -> bool {
    is_uuid(v)
        || is_hex_digest(v)
        || starts_with_any(
            v,
            &[
                "sha1-", "sha256-", "sha384-", "sha512-", "md5-", "h1:", "data:", "http://",
                "https://", "file:", "/", "./", "../", "~/", "iVBORw0KGgo", "/9j/", "R0lGOD",
                "d09GR", "d09GMg", "AAEAAA", "PHN2Zy", "T1RUTw",
            ],
        )
        || v.contains(&b'(')
        || v.contains(&b' ')
        || v.iter().filter(|&&b| b == b'.').count() >= 2 && !v.contains(&b'=')
        || v.iter().filter(|&&b| b == b'/').count() >= 2 && !looks_base64(v)
}

fn starts_with_any(v: &[u8], prefixes: &[&str]) -> bool {
    prefixes.iter().any(|p| v.starts_with(p.as_bytes()))
}

fn is_uuid(v: &[u8]) -> bool {
    v.len() == 36
        && v.iter().enumerate().all(|(i, &b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// Git SHAs, MD5/SHA-1/SHA-256/SHA-512 digests written in hex.
fn is_hex_digest(v: &[u8]) -> bool {
    matches!(v.len(), 32 | 40 | 56 | 64 | 96 | 128)
        && v.iter().all(u8::is_ascii_hexdigit)
        && (v.iter().all(|b| !b.is_ascii_uppercase()) || v.iter().all(|b| !b.is_ascii_lowercase()))
}

fn looks_base64(v: &[u8]) -> bool {
    v.iter()
        .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
}

/// camelCase or snake_case identifiers made of dictionary-like chunks with few digits:
/// a chunk of five or more letters in a row is rare in a random string.
fn reads_like_words(v: &[u8]) -> bool {
    let mut longest = 0;
    let mut run = 0;
    for &b in v {
        run = if b.is_ascii_lowercase() { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let digits = v.iter().filter(|b| b.is_ascii_digit()).count();
    longest >= 6 && digits * 8 < v.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_values_pass() {
        for s in ["wS9fK2pL7xQ4mN8vR1tY6uH3", "Zk4#pQ9!mX2$vL7&", "a8F3kd92LmQ0zX7pW4"] {
            assert!(plausible_generic_secret(s.as_bytes()), "{s}");
        }
    }

    #[test]
    fn benign_values_fail() {
        for s in [
            "123e4567-e89b-12d3-a456-426614174000",
            "da39a3ee5e6b4b0d3255bfef95601890afd80709",
            "sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg==",
            "getAccessTokenFromRequest",
            "https://example.org/path",
            "hello",
            "thisisnotasecret",
            "process.env.TOKEN",
        ] {
            assert!(!plausible_generic_secret(s.as_bytes()), "{s}");
        }
    }
}
