//! Offline checksums carried by some token formats (GitHub, npm): a token whose checksum fails
//! is a typo, a placeholder or a made-up example, not a live credential.

use crate::rules::Checksum;

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// CRC32 of `body` written as 6 base62 digits, left-padded with `0` (GitHub's token scheme).
pub fn base62_crc32(body: &[u8]) -> String {
    let mut n = crc32fast::hash(body) as u64;
    let mut digits = [b'0'; 6];
    for slot in digits.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    String::from_utf8(digits.to_vec()).expect("base62 digits are ASCII")
}

/// Whether `token` passes the offline check of its format: for GitHub and npm, `prefix_` + 30
/// + 6 check digits; for Basic credentials, a decoded `user:password` that names a secret.
pub fn verify(kind: Checksum, token: &[u8]) -> bool {
    let prefix: &[u8] = match kind {
        Checksum::GithubCrc32 => match token.iter().position(|&b| b == b'_') {
            Some(i) => &token[..=i],
            None => return false,
        },
        Checksum::NpmCrc32 => b"npm_",
        Checksum::BasicCredentials => return names_basic_credentials(token),
    };
    let Some(rest) = token.strip_prefix(prefix) else {
        return false;
    };
    if rest.len() != 36 {
        return false;
    }
    let (body, check) = rest.split_at(30);
    base62_crc32(body).as_bytes() == check
}

/// Whether base64 `value` decodes to `user:password` with a secret in it: a password, or, with
/// none, a user name that is not a plain name (APIs that take a key as the user name, as
/// Stripe's does). `openshift-challenging-client:` is a public client's name, not a secret.
fn names_basic_credentials(value: &[u8]) -> bool {
    use base64::Engine as _;
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(value) else {
        return false;
    };
    let Some(colon) = decoded.iter().position(|&b| b == b':') else {
        return false;
    };
    let (user, password) = (&decoded[..colon], &decoded[colon + 1..]);
    !password.is_empty() || (!user.is_empty() && !super::benign::is_word_identifier(user))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_name_a_secret() {
        use base64::Engine as _;
        let encode = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let check = |s: &str| verify(Checksum::BasicCredentials, encode(s).as_bytes());
        assert!(check("deploy:k9Fz2LpQ7x"));
        assert!(check("u7Gk2pQ9zX4mR1tVb3Nc:"));
        assert!(!check("openshift-challenging-client:"));
        assert!(!check("no colon here"));
        assert!(!verify(Checksum::BasicCredentials, b"not base64!"));
    }

    #[test]
    fn checksum_round_trips_and_detects_a_changed_character() {
        let body = "abcdefghijKLMNOPQRSTuvwxyz0123";
        let token = format!("ghp_{body}{}", base62_crc32(body.as_bytes()));
        assert!(verify(Checksum::GithubCrc32, token.as_bytes()));
        let mut tampered = token.into_bytes();
        tampered[10] = if tampered[10] == b'x' { b'y' } else { b'x' };
        assert!(!verify(Checksum::GithubCrc32, &tampered));
    }

    #[test]
    fn wrong_length_or_prefix_fails() {
        assert!(!verify(Checksum::NpmCrc32, b"npm_short"));
        assert!(!verify(
            Checksum::NpmCrc32,
            b"ghp_abcdefghijKLMNOPQRSTuvwxyz0123456789"
        ));
    }
}
