//! Benign shapes the generic detector must not report: identifiers, hashes, UUIDs, integrity
//! strings, paths and URLs, encoded images and fonts. Token rules do not need these checks:
//! their formats already say what they are.

use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder};
use base64::Engine as _;

use super::{entropy, Encoding};

/// Words in a variable name that say its value is not a live secret (or not secret at all).
const BENIGN_NAME_WORDS: &[&str] = &[
    "example",
    "sample",
    "dummy",
    "fake",
    "mock",
    "placeholder",
    "hardhat",
    "vector",
    "publishable",
    "public",
    "site_key",
    "sitekey",
    "site-key",
    "pub_key",
    "pubkey",
    "_hash",
    "checksum",
    "digest",
    "_sha",
    "integrity",
    "_id\"",
    "keyid",
    "key_id",
    "_url",
    "_uri",
    "_path",
    "_file",
    "_dir",
    "length",
    "_len",
    "_size",
    "_type",
    "_name",
    "author\"",
    "keysize",
    "keylen",
    "-objs",
];

/// Prepares a generic detector match: `None` when the name says the value is benign; else the
/// value to judge, decoded when it is base64 of text (Kubernetes Secret `data:` values).
pub fn generic_candidate(name: &[u8], value: &[u8]) -> Option<(Vec<u8>, Option<Encoding>)> {
    // Built once: this runs for every candidate, and a file can hold millions of them.
    static WORDS: OnceLock<AhoCorasick> = OnceLock::new();
    let words = WORDS.get_or_init(|| {
        AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .build(BENIGN_NAME_WORDS)
            .expect("fixed word list compiles")
    });
    // The closing quote lets `_id"` and `author"` match only at the end of the name.
    let suffixed = [name, b"\""].concat();
    if words.is_match(&suffixed) {
        return None;
    }
    Some(match decode_text_base64(value) {
        Some(decoded) => (decoded, Some(Encoding::Base64)),
        None => (value.to_vec(), None),
    })
}

/// Standard base64 (length a multiple of four) that decodes to printable, single-line text.
fn decode_text_base64(value: &[u8]) -> Option<Vec<u8>> {
    if value.len() < 12 || value.len() % 4 != 0 || !looks_base64(value) {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(value)
        .ok()?;
    decoded
        .iter()
        .all(|b| (0x20..0x7f).contains(b))
        .then_some(decoded)
}

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
    // Words and identifiers use one or two letter classes; random keys mix in digits or
    // symbols, or are long mixed-case strings.
    let mixed = digit > 0 || symbol > 0 || (len >= 20 && lower > 0 && upper > 0);
    if classes < 2 || !mixed {
        return false;
    }
    let pool = entropy::pool_size(value);
    entropy::shannon(value) >= SHANNON_SLACK * shannon_floor(pool, len)
        && entropy::pool_bits(value) >= 64.0
        && !reads_like_words(value)
        && !is_word_identifier(value)
}

/// Whether a value is an identifier made of words, numbers and abbreviations between
/// separators: `TABLE_ps_info`, `dvportgroup-17`, `RPM-GPG-KEY-CentOS7`,
/// `VALUE_SPECIFIED_IN_NO_LOG_PARAMETER`, `TEXT_OPTIONS:keyed-md5,keyed-sha1`. Each segment is
/// one case (`lower`, `UPPER` or `CamelCase`) with up to four trailing digits, or a number of up
/// to four digits; a word longer than three letters has vowels and no five consonants in a row.
/// Random tokens with separators mix cases and digits inside their segments. About one random
/// token in a thousand passes (tested): a miss the generic detector can afford. Unlike the
/// assignment grammar's `is_word_identifier` (names in code: `_` only, few digits, 70% of the
/// letters in words), this judges values segment by segment, so `account-ec256` is one and
/// `NEW-SAMBA4-OFY7QXXV`, a password someone typed, is not; the two were tried as one and each
/// broke the other's cases.
pub fn is_word_identifier(v: &[u8]) -> bool {
    let separator = |b: &u8| matches!(b, b'-' | b'_' | b'.' | b':' | b',' | b'/');
    if !v.iter().any(separator) {
        // Without separators, a camelCase name of three words or more: `longStringFromApi`.
        return v.iter().all(u8::is_ascii_alphabetic) && word_segment(v).is_some_and(|n| n >= 3);
    }
    let mut segments = v.split(separator).filter(|s| !s.is_empty()).peekable();
    segments.peek().is_some() && segments.all(|s| word_segment(s).is_some())
}

/// One segment of `is_word_identifier`, and the number of words in it.
fn word_segment(segment: &[u8]) -> Option<usize> {
    let letters_end = segment
        .iter()
        .position(u8::is_ascii_digit)
        .unwrap_or(segment.len());
    let (letters, digits) = segment.split_at(letters_end);
    if digits.len() > 4 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if letters.is_empty() {
        return (!digits.is_empty()).then_some(0);
    }
    let lower = letters.iter().all(u8::is_ascii_lowercase);
    let upper = letters.iter().all(u8::is_ascii_uppercase);
    // A lower- or upper-case run needs more vowels than a capitalised word (`String`), whose
    // case already reads as a word's.
    let vowel_share = if lower || upper { 4 } else { 6 };
    let words: Vec<&[u8]> = if lower || upper {
        vec![letters]
    } else {
        // CamelCase: capitalised words, perhaps ending in an abbreviation of up to two letters
        // (`CentOS`).
        let abbreviation = letters
            .iter()
            .rev()
            .take_while(|b| b.is_ascii_uppercase())
            .count()
            .min(2);
        let (words_part, _) = letters.split_at(letters.len() - abbreviation);
        let mut words: Vec<&[u8]> = Vec::new();
        let mut start = 0;
        for i in 1..=words_part.len() {
            if i == words_part.len() || words_part[i].is_ascii_uppercase() {
                words.push(&words_part[start..i]);
                start = i;
            }
        }
        // Capitalised words, the first perhaps in lower case (`camelCase`).
        let word = |(i, w): (usize, &&[u8])| {
            w.len() >= 3
                && (i == 0 || w[0].is_ascii_uppercase())
                && w[1..].iter().all(u8::is_ascii_lowercase)
        };
        if words.is_empty() || !words.iter().enumerate().all(word) {
            return None;
        }
        words
    };
    // A word longer than an abbreviation has a vowel in every `vowel_share` letters and no
    // five consonants in a row (`dvportgroup`, `parameter`; not `hitdmyyf`).
    let wordy = words.iter().all(|word| {
        let is_vowel = |b: &u8| b"aeiou".contains(&b.to_ascii_lowercase());
        let mut cluster = 0;
        let longest = word.iter().fold(0, |longest, b| {
            cluster = if is_vowel(b) { 0 } else { cluster + 1 };
            longest.max(cluster)
        });
        let vowels = word.iter().filter(|b| is_vowel(b)).count();
        word.len() <= 3 || (vowels * vowel_share >= word.len() && longest < 5)
    });
    wordy.then_some(words.len())
}

/// Whether a value under a password's name reads as a password someone chose, however weak:
/// 4 to 128 characters, not a benign shape (hash, UUID, path, URL), not a boolean or null
/// word (`_null_` too), not a command-line flag, and not a name that is itself about
/// passwords (`password_hash`).
pub fn plausible_password(value: &[u8]) -> bool {
    let bare = value.strip_prefix(b"_").unwrap_or(value);
    let bare = bare.strip_suffix(b"_").unwrap_or(bare);
    let lower = value.to_ascii_lowercase();
    let names_a_secret = ["pass", "secret", "token"]
        .iter()
        .any(|w| lower.windows(w.len()).any(|win| win == w.as_bytes()));
    const NOT_PASSWORDS: &[&str] = &[
        "true", "false", "null", "none", "nil", "yes", "no", "on", "off", "required", "optional",
        "string", "empty", "hidden", "masked", "redacted", "prompt", "random", "default",
        "disabled", "enabled", "unset",
    ];
    (4..=128).contains(&value.len())
        && !value.starts_with(b"-")
        && !value.starts_with(b"0x")
        && !names_a_secret
        && !is_benign_shape(value)
        && !NOT_PASSWORDS
            .iter()
            .any(|w| bare.eq_ignore_ascii_case(w.as_bytes()))
}

/// Whether a generic candidate at `start` in the file at `path` is an expression rather than a
/// literal: in program source, a secret is written as a string literal, while an unquoted value
/// (`.min_keysize = AES_MAX_KEY_SIZE`, `token = next_token(p)`) is code. Config files, shell
/// scripts and logs keep their unquoted values.
pub fn unquoted_in_source_code(path: &str, bytes: &[u8], start: usize) -> bool {
    const SOURCE: &[&str] = &[
        "c", "h", "cc", "cpp", "cxx", "hpp", "hh", "hxx", "m", "mm", "s", "go", "rs", "java", "kt",
        "kts", "scala", "groovy", "swift", "cs", "fs", "js", "mjs", "cjs", "jsx", "ts", "tsx",
        "vue", "svelte", "py", "pyi", "rb", "php", "pl", "pm", "lua", "dart", "ex", "exs", "erl",
        "hs", "ml", "clj", "r", "jl", "zig", "nim", "v", "sv", "vhd", "l", "y", "ps1", "psm1",
    ];
    let ext = path.rsplit_once('.').map_or("", |(_, ext)| ext);
    let in_source = !ext.contains('/') && SOURCE.iter().any(|e| e.eq_ignore_ascii_case(ext));
    let quoted = start
        .checked_sub(1)
        .and_then(|i| bytes.get(i))
        .is_some_and(|b| matches!(b, b'"' | b'\'' | b'`'));
    in_source && !quoted
}

/// Whether the candidate ending at `end` runs on into escaped bytes (`"a09f…\x00\x1b"`): a
/// binary test vector written as a string literal, not a token.
pub fn continues_as_escaped_bytes(bytes: &[u8], end: usize) -> bool {
    match bytes.get(end..end + 2) {
        Some([b'\\', next]) => matches!(next, b'x' | b'0'..=b'7'),
        _ => false,
    }
}

/// Real tokens carry fixed parts (prefixes, separators, checksums) that lower their entropy
/// below that of a uniformly random string; keep this share of the random floor.
const SHANNON_SLACK: f64 = 0.85;

/// Lengths at which `SHANNON_FLOORS` was measured.
const FLOOR_LENGTHS: [usize; 8] = [8, 12, 16, 20, 24, 32, 40, 64];

/// The 1st percentile of Shannon entropy (bits/char) of uniformly random strings, by pool size
/// and length (simulated, 2,000 strings each): short random strings score well below
/// log2(pool), so a fixed threshold would either miss short keys or pass long words.
const SHANNON_FLOORS: [(u32, [f64; 8]); 4] = [
    (16, [1.91, 2.36, 2.70, 2.90, 3.07, 3.29, 3.39, 3.62]),
    (36, [2.16, 2.79, 3.15, 3.38, 3.64, 3.91, 4.14, 4.45]),
    (62, [2.41, 2.92, 3.33, 3.65, 3.89, 4.20, 4.43, 4.91]),
    (94, [2.50, 3.08, 3.45, 3.78, 4.02, 4.36, 4.67, 5.17]),
];

fn shannon_floor(pool: u32, len: usize) -> f64 {
    let row = SHANNON_FLOORS
        .iter()
        .rev()
        .find(|(size, _)| *size <= pool)
        .unwrap_or(&SHANNON_FLOORS[0])
        .1;
    let i = FLOOR_LENGTHS.partition_point(|&l| l <= len);
    if i == 0 {
        return row[0];
    }
    if i == FLOOR_LENGTHS.len() {
        return row[i - 1];
    }
    let (l0, l1) = (FLOOR_LENGTHS[i - 1] as f64, FLOOR_LENGTHS[i] as f64);
    let t = (len as f64 - l0) / (l1 - l0);
    row[i - 1] + t * (row[i] - row[i - 1])
}

fn is_benign_shape(v: &[u8]) -> bool {
    is_uuid(v)
        || starts_with_any(
            v,
            &[
                "sha1-",
                "sha256-",
                "sha384-",
                "sha512-",
                "md5-",
                "h1:",
                "data:",
                "http://",
                "https://",
                "file:",
                "/",
                "./",
                "../",
                "~/",
                "iVBORw0KGgo",
                "/9j/",
                "R0lGOD",
                "d09GR",
                "d09GMg",
                "AAEAAA",
                "PHN2Zy",
                "T1RUTw",
            ],
        )
        || v.contains(&b'(')
        || memchr::memmem::find(v, b"::").is_some()
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

fn looks_base64(v: &[u8]) -> bool {
    v.iter()
        .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
}

/// camelCase or snake_case identifiers made of dictionary-like chunks with few digits:
/// a chunk of five or more letters in a row is rare in a random string.
fn reads_like_words(v: &[u8]) -> bool {
    let digits = v.iter().filter(|b| b.is_ascii_digit()).count();
    // A run of six lowercase letters turns up in one random 40-character base62 key out of
    // six; one that is also pronounceable (vowels, short consonant clusters) is a word.
    let worded = v
        .split(|b| !b.is_ascii_lowercase())
        .any(|run| run.len() >= 6 && pronounceable(run));
    if worded && digits * 8 < v.len() {
        return true;
    }
    // Dash- or underscore-separated words: `not-a-real-token-this-will-not-work`.
    let wordy = v
        .split(|b| !b.is_ascii_alphanumeric())
        .filter(|seg| seg.len() >= 3 && seg.iter().all(u8::is_ascii_lowercase))
        .count();
    wordy >= 3
}

/// Whether lowercase letters read like a word: a quarter or more vowels and no more than three
/// consonants in a row.
fn pronounceable(run: &[u8]) -> bool {
    let is_vowel = |b: &u8| b"aeiouy".contains(b);
    let vowels = run.iter().filter(|b| is_vowel(b)).count();
    let mut cluster = 0;
    let mut longest_cluster = 0;
    for b in run {
        cluster = if is_vowel(b) { 0 } else { cluster + 1 };
        longest_cluster = longest_cluster.max(cluster);
    }
    vowels * 4 >= run.len() && longest_cluster <= 3
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Identifiers made of words are told from random tokens that hold separators.
    #[test]
    fn word_identifiers_are_told_from_random_tokens() {
        for identifier in [
            "TABLE_ps_info",
            "account-ec256",
            "dvportgroup-17",
            "RPM-GPG-KEY-CentOS7",
            "TEXT_OPTIONS:keyed-md5,keyed-sha1,",
            "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER",
            "some-token-123",
            "longStringFromLinodeApi",
        ] {
            assert!(is_word_identifier(identifier.as_bytes()), "{identifier}");
        }
        for token in [
            "E1K0-O8b1-c8M9-c6D5",
            "pure1:apikey:asdf123XYZ",
            "Secret@123",
            "k9Fz2LpQ",
        ] {
            assert!(!is_word_identifier(token.as_bytes()), "{token}");
        }
        use crate::rules::templates::{expand, ExampleRng};
        let mut rng = ExampleRng::new(7);
        let mut flagged = Vec::new();
        let mut total = 0;
        for template in [
            "@{rand:base64url:16}",
            "@{rand:base64url:24}",
            "@{rand:base64url:32}",
            "@{rand:base64url:48}",
            "@{rand:alnum:4}-@{rand:alnum:4}-@{rand:alnum:4}-@{rand:alnum:4}",
            "@{rand:lowernum:8}_@{rand:lowernum:8}",
            "@{rand:alnum:20}",
        ] {
            for _ in 0..2000 {
                let value = expand(template, &mut rng).unwrap();
                total += 1;
                if is_word_identifier(value.as_bytes()) {
                    flagged.push(value);
                }
            }
        }
        // About one in a thousand random tokens reads as words: a miss the generic detector
        // can afford, for the identifiers it no longer reports.
        assert!(
            flagged.len() * 500 <= total,
            "{} of {total}: {flagged:?}",
            flagged.len()
        );
    }

    #[test]
    fn unquoted_values_in_source_code_are_expressions() {
        let line = b".min_keysize = AES_MAX_KEY_SIZE, key = \"k9Fz2LpQ\"";
        assert!(unquoted_in_source_code("crypto/aes.c", line, 15));
        assert!(!unquoted_in_source_code("crypto/aes.c", line, 40), "quoted");
        assert!(!unquoted_in_source_code("deploy/.env", line, 15), "config");
        assert!(
            !unquoted_in_source_code("scripts/run.sh", line, 15),
            "shell"
        );
        assert!(
            !unquoted_in_source_code("v1.2/Makefile", line, 15),
            "no extension"
        );
        let vector = br#".key = "a09f3c2e\x00\x01""#;
        assert!(continues_as_escaped_bytes(vector, 16));
        assert!(!continues_as_escaped_bytes(b"key = \"a09f3c2e\"", 16));
    }

    /// Names that only describe the value are benign at their end, not inside a longer word.
    #[test]
    fn benign_name_words_match_where_they_mean_it() {
        let value = b"wS9fK2pL7xQ4mN8vR1tY6uH3";
        for benign in ["user_id", "package_author", "keysize", "token_url"] {
            assert!(
                generic_candidate(benign.as_bytes(), value).is_none(),
                "{benign}"
            );
        }
        for secret in [
            "AUTHORIZATION_TOKEN",
            "authorizedKey",
            "oauth_authority_secret",
        ] {
            assert!(
                generic_candidate(secret.as_bytes(), value).is_some(),
                "{secret}"
            );
        }
    }

    #[test]
    fn random_values_pass() {
        for s in [
            "wS9fK2pL7xQ4mN8vR1tY6uH3",
            "Zk4#pQ9!mX2$vL7&",
            "a8F3kd92LmQ0zX7pW4",
            // A six-letter lowercase run, but not a word.
            "cPHvSIPUjM5gKYerrnvkFABXRqHBaDsuvFXKgs34",
        ] {
            assert!(plausible_generic_secret(s.as_bytes()), "{s}");
        }
    }

    #[test]
    fn benign_values_fail() {
        for s in [
            "123e4567-e89b-12d3-a456-426614174000",
            "sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg==",
            "getAccessTokenFromRequest",
            "https://example.org/path",
            "hello",
            "thisisnotasecret",
            "process.env.TOKEN",
            "RuleKind::Token",
        ] {
            assert!(!plausible_generic_secret(s.as_bytes()), "{s}");
        }
    }
}
