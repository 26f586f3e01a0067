//! Expands the `@{…}` templates in rule examples (see `rules/README.md`), so that examples of
//! live-looking or checksummed tokens are generated rather than committed.

use crate::engine::checksum::base62_crc32;

/// Deterministic generator (SplitMix64): the same example expands the same way on every run.
pub struct ExampleRng(u64);

impl ExampleRng {
    pub fn new(seed: u64) -> Self {
        ExampleRng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// `len` characters drawn uniformly from `alphabet`.
    pub fn string(&mut self, alphabet: &[u8], len: usize) -> String {
        (0..len)
            .map(|_| alphabet[(self.next() % alphabet.len() as u64) as usize] as char)
            .collect()
    }
}

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn alphabet(class: &str) -> Option<&'static [u8]> {
    Some(match class {
        "alnum" => BASE62,
        "lower" => b"abcdefghijklmnopqrstuvwxyz",
        "upper" => b"ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        "digits" => b"0123456789",
        "hex" => b"0123456789abcdef",
        "HEX" => b"0123456789ABCDEF",
        "lowernum" => b"abcdefghijklmnopqrstuvwxyz0123456789",
        "uppernum" => b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
        "base64" => b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
        "base64url" => b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
        _ => return None,
    })
}

/// A token in GitHub's checksummed format: `prefix_` + 30 base62 + 6-digit base62 CRC32.
pub fn checksummed_token(prefix: &str, rng: &mut ExampleRng) -> String {
    let body = rng.string(BASE62, 30);
    format!("{prefix}_{body}{}", base62_crc32(body.as_bytes()))
}

/// Longest generated run (`@{rand:CLASS:N}`): an example is a line, and a rule file given to
/// `keyhound rules check` must not be able to ask for gigabytes.
const MAX_RAND_LEN: usize = 4096;
/// Deepest nesting of templates (`@{b64:@{b64:…}}`): expansion recurses once per level.
const MAX_NESTING: usize = 8;

/// Expands every template in `text`; an unknown or malformed template is an error.
pub fn expand(text: &str, rng: &mut ExampleRng) -> Result<String, String> {
    expand_nested(text, rng, 0)
}

fn expand_nested(text: &str, rng: &mut ExampleRng, depth: usize) -> Result<String, String> {
    if depth > MAX_NESTING {
        return Err(format!("templates nested more than {MAX_NESTING} deep"));
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("@{") {
        out.push_str(&rest[..start]);
        let body_start = start + 2;
        let end = matching_brace(&rest[body_start..])
            .ok_or_else(|| format!("unclosed template in {text:?}"))?;
        let body = &rest[body_start..body_start + end];
        out.push_str(&expand_one(body, rng, depth)?);
        rest = &rest[body_start + end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Index of the `}` closing a template body, allowing nested `@{…}`.
fn matching_brace(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    let bytes = s.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'{' if i > 0 && bytes[i - 1] == b'@' => depth += 1,
            b'}' if depth == 0 => return Some(i),
            b'}' => depth -= 1,
            _ => {}
        }
    }
    None
}

fn expand_one(body: &str, rng: &mut ExampleRng, depth: usize) -> Result<String, String> {
    let (name, arg) = body.split_once(':').unwrap_or((body, ""));
    match name {
        "rand" => {
            let (class, len) = arg
                .split_once(':')
                .ok_or_else(|| format!("`@{{{body}}}`: expected rand:CLASS:N"))?;
            let alphabet =
                alphabet(class).ok_or_else(|| format!("`@{{{body}}}`: unknown class {class}"))?;
            let len: usize = len
                .parse()
                .ok()
                .filter(|&n| n <= MAX_RAND_LEN)
                .ok_or_else(|| format!("`@{{{body}}}`: length must be 0 to {MAX_RAND_LEN}"))?;
            Ok(rng.string(alphabet, len))
        }
        "github" => match arg {
            "ghp" | "gho" | "ghu" | "ghs" | "ghr" => Ok(checksummed_token(arg, rng)),
            _ => Err(format!("`@{{{body}}}`: unknown GitHub prefix")),
        },
        "npm" => Ok(checksummed_token("npm", rng)),
        "b64" => {
            use base64::Engine as _;
            let inner = expand_nested(arg, rng, depth + 1)?;
            Ok(base64::engine::general_purpose::STANDARD.encode(inner))
        }
        _ => Err(format!("unknown template `@{{{body}}}`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_nested_and_plain_text() {
        let mut rng = ExampleRng::new(1);
        let s = expand("a=@{rand:hex:8} b=@{b64:user:@{rand:digits:3}}", &mut rng).unwrap();
        assert!(s.starts_with("a="));
        let hex = &s[2..10];
        assert!(hex.bytes().all(|b| b.is_ascii_hexdigit()), "{s}");
        assert!(s.contains(" b="));
        assert!(!s.contains("@{"));
    }

    #[test]
    fn rejects_unknown_and_unclosed_templates() {
        let mut rng = ExampleRng::new(1);
        assert!(expand("@{nope}", &mut rng).is_err());
        assert!(expand("@{rand:alnum:4", &mut rng).is_err());
        assert!(expand("@{rand:weird:4}", &mut rng).is_err());
    }

    #[test]
    fn huge_template_length_is_refused_not_allocated() {
        let mut rng = ExampleRng::new(1);
        let err = expand("@{rand:alnum:99999999999999}", &mut rng).unwrap_err();
        assert!(err.contains("length must be"), "{err}");
        assert_eq!(expand("@{rand:hex:4096}", &mut rng).unwrap().len(), 4096);
    }

    #[test]
    fn deeply_nested_templates_are_refused_not_a_stack_overflow() {
        let mut rng = ExampleRng::new(1);
        let deep = format!("{}x{}", "@{b64:".repeat(100_000), "}".repeat(100_000));
        let err = expand(&deep, &mut rng).unwrap_err();
        assert!(err.contains("nested"), "{err}");
        let shallow = format!("{}x{}", "@{b64:".repeat(3), "}".repeat(3));
        assert!(expand(&shallow, &mut rng).is_ok());
    }

    #[test]
    fn generated_github_tokens_have_valid_checksums() {
        let mut rng = ExampleRng::new(7);
        let token = checksummed_token("ghp", &mut rng);
        assert_eq!(token.len(), 40);
        assert_eq!(base62_crc32(&token.as_bytes()[4..34]), &token[34..]);
    }
}
