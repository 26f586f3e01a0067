//! The two entropy measures every finding reports: Shannon entropy of the characters seen, and
//! the character-pool estimate H = L × log2(R) for length L over a pool of R symbols.

/// Shannon entropy in bits per character of the byte distribution in `s`.
pub fn shannon(s: &[u8]) -> f64 {
    if s.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in s {
        counts[b as usize] += 1;
    }
    let len = s.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / len;
            -p * p.log2()
        })
        .sum()
}

/// Size of the smallest usual character pool `s` is drawn from: 10 digits, 16 hex, 26 per
/// letter case, 2 for base64's `+/` or base64url's `-_`, 32 for other printable symbols.
pub fn pool_size(s: &[u8]) -> u32 {
    let (mut digit, mut lower, mut upper, mut hex_lower, mut hex_upper) =
        (false, false, false, true, true);
    let (mut b64_sym, mut url_sym, mut other) = (false, false, false);
    for &b in s {
        match b {
            b'0'..=b'9' => digit = true,
            b'a'..=b'z' => {
                lower = true;
                hex_lower &= b <= b'f';
            }
            b'A'..=b'Z' => {
                upper = true;
                hex_upper &= b <= b'F';
            }
            b'+' | b'/' => b64_sym = true,
            b'-' | b'_' => url_sym = true,
            b'=' => {}
            _ => other = true,
        }
    }
    if !(b64_sym || url_sym || other) {
        if (lower && !upper && hex_lower) || (upper && !lower && hex_upper) {
            return 16;
        }
        if !lower && !upper {
            return 10;
        }
    }
    let mut pool = 0;
    pool += if digit { 10 } else { 0 };
    pool += if lower { 26 } else { 0 };
    pool += if upper { 26 } else { 0 };
    pool += if b64_sym { 2 } else { 0 };
    pool += if url_sym { 2 } else { 0 };
    pool += if other { 32 } else { 0 };
    pool.max(2)
}

/// Character-pool entropy estimate in bits: length × log2(pool size).
pub fn pool_bits(s: &[u8]) -> f64 {
    s.len() as f64 * (pool_size(s) as f64).log2()
}

/// The 128-bit floor below which a key is guessable in principle.
pub const KEY_FLOOR_BITS: f64 = 128.0;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pools_of_common_alphabets() {
        assert_eq!(pool_size(b"0123456789"), 10);
        assert_eq!(pool_size(b"deadbeef01"), 16);
        assert_eq!(pool_size(b"DEADBEEF01"), 16);
        assert_eq!(pool_size(b"abcxyz0123"), 36);
        assert_eq!(pool_size(b"abcXYZ0123"), 62);
        assert_eq!(pool_size(b"abcXYZ01+/=="), 64);
        assert_eq!(pool_size(b"abcXYZ01-_"), 64);
        assert_eq!(pool_size(b"abcXYZ01!#"), 94);
    }

    #[test]
    fn pool_bits_of_a_32_char_hex_key_is_128() {
        let key = b"0123456789abcdef0123456789abcdef";
        assert!((pool_bits(key) - 128.0).abs() < 1e-9);
    }

    #[test]
    fn shannon_of_uniform_and_constant_strings() {
        assert_eq!(shannon(b"aaaaaaa"), 0.0);
        assert!((shannon(b"abcd") - 2.0).abs() < 1e-9);
        assert_eq!(shannon(b""), 0.0);
    }
}
