//! Finds every occurrence of a set of keywords in bytes, overlapping occurrences included.
//!
//! The keyword search is the one pass every scanned byte goes through, so it is built for
//! throughput. Each keyword is fingerprinted by four of its bytes, folded to lowercase: the
//! rarest four, by a rough model of source text (never one of the 2,048 windows most common in
//! it, `common_grams`, when another will do), so that `TEST-` waits for `est-` rather than for
//! every `test`, and `portainer` for `rtai` rather than every `port`. The fingerprint at every position of the input is hashed and looked up
//! in a bitmap of 128 KiB, which stays in the L2 cache: with some 1,200 keywords (and 256
//! entries for each three-byte one) a 32 KiB bitmap let one position in thirty through to the
//! check below, and the check cost more than the misses save; on x86-64 with AVX2, 32
//! positions are hashed and looked up at once. Only the few positions whose fingerprint is in
//! the bitmap are checked against the keywords filed under it. An Aho-Corasick DFA over the
//! same few hundred keywords follows a dependent chain of loads through a table of megabytes,
//! one per byte: on the engine benchmark it ran at a third of this search's speed.
//!
//! Three-byte keywords are fingerprinted with every fourth byte that can follow them. Keywords
//! of one or two bytes are found with `memchr::memmem`, once per way of writing their case.

use std::ops::Range;

use memchr::memmem;

use super::common_grams::is_common;

/// log2 of the fingerprint bitmap's size in bits.
const FILTER_BITS: u32 = 20;
/// The bitmap's size in 32-bit words.
const FILTER_WORDS: usize = 1 << (FILTER_BITS - 5);
/// Positions looked up per step, and the bytes a step reads.
const BLOCK: usize = 32;
const BLOCK_BYTES: usize = BLOCK + WIDTH - 1;
/// log2 of the number of buckets the fingerprints are filed under for the exact check.
const BUCKET_BITS: u32 = 12;
/// Bytes in a fingerprint.
const WIDTH: usize = 4;
/// Keywords shorter than this are searched with `memmem`.
const FINGERPRINTED: usize = 3;
/// Folds ASCII letters to lowercase in four bytes at once. Other bytes change too (`@` meets
/// `` ` ``), which only adds candidates: every candidate gets an exact check.
const FOLD: u32 = 0x2020_2020;
/// Multiplies by the golden ratio: the top bits of the product are a fingerprint's hash.
const HASH: u32 = 0x9E37_79B1;

/// One keyword to search for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Keyword {
    pub bytes: Box<[u8]>,
    /// Whether the keyword matches only as written, or in any ASCII case.
    pub case_sensitive: bool,
}

/// One keyword occurrence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// Index of the keyword in the list the set was built from.
    pub keyword: usize,
    pub range: Range<usize>,
}

/// A fingerprint of a keyword, and where in the keyword it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    fingerprint: u32,
    keyword: u32,
    offset: u32,
}

/// A compiled keyword set.
pub struct Keywords {
    keywords: Vec<Keyword>,
    /// Bit `slot(f)` is set for every keyword fingerprint `f`.
    filter: Box<[u32; FILTER_WORDS]>,
    /// The entries of bucket `b` are `entries[buckets[b]..buckets[b + 1]]`.
    buckets: Box<[u32]>,
    entries: Box<[Entry]>,
    /// Three-byte keywords, checked directly where no fourth byte follows.
    three_byte: Vec<usize>,
    /// Keywords of one or two bytes: a finder per way of writing each.
    short: Vec<(usize, memmem::Finder<'static>)>,
    /// Whether the CPU has AVX2.
    #[cfg(target_arch = "x86_64")]
    avx2: bool,
}

impl Keywords {
    /// Compiles `keywords`. An empty keyword never matches.
    pub fn new(keywords: Vec<Keyword>) -> Keywords {
        let mut entries = Vec::new();
        let mut three_byte = Vec::new();
        let mut short = Vec::new();
        for (index, keyword) in keywords.iter().enumerate() {
            let bytes = &keyword.bytes[..];
            let entry = |fingerprint: u32, offset: usize| Entry {
                fingerprint: fingerprint | FOLD,
                keyword: index as u32,
                offset: offset as u32,
            };
            if bytes.is_empty() {
                continue;
            } else if bytes.len() < FINGERPRINTED {
                for spelling in spellings(keyword) {
                    short.push((index, memmem::Finder::new(&spelling).into_owned()));
                }
            } else if bytes.len() < WIDTH {
                three_byte.push(index);
                let known = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], 0]);
                entries.extend((0..=255u8).map(|next| entry(known | u32::from(next) << 24, 0)));
            } else {
                let offset = rarest_window(bytes);
                let window = &bytes[offset..offset + WIDTH];
                let fingerprint = u32::from_le_bytes([window[0], window[1], window[2], window[3]]);
                entries.push(entry(fingerprint, offset));
            }
        }
        entries.sort_unstable_by_key(|e| (bucket(e.fingerprint), e.fingerprint, e.keyword));
        entries.dedup();
        let mut filter = Box::new([0u32; FILTER_WORDS]);
        let mut buckets = vec![0u32; (1 << BUCKET_BITS) + 1];
        for e in &entries {
            let slot = slot(e.fingerprint);
            filter[slot / 32] |= 1 << (slot % 32);
            buckets[bucket(e.fingerprint) + 1] += 1;
        }
        for b in 1..buckets.len() {
            buckets[b] += buckets[b - 1];
        }
        Keywords {
            keywords,
            filter,
            buckets: buckets.into(),
            entries: entries.into(),
            three_byte,
            short,
            #[cfg(target_arch = "x86_64")]
            avx2: std::arch::is_x86_feature_detected!("avx2"),
        }
    }

    /// The keyword at `index`.
    #[cfg(test)]
    fn keyword(&self, index: usize) -> &Keyword {
        &self.keywords[index]
    }

    /// Calls `found` for every occurrence of every keyword in `hay`. Hits come roughly in order
    /// of position, but no order is promised.
    pub fn for_each_hit(&self, hay: &[u8], mut found: impl FnMut(Hit)) {
        let mut check = |at: usize| {
            let fingerprint = fingerprint_at(hay, at);
            let b = bucket(fingerprint);
            let filed = &self.entries[self.buckets[b] as usize..self.buckets[b + 1] as usize];
            for e in filed.iter().filter(|e| e.fingerprint == fingerprint) {
                let hit = at
                    .checked_sub(e.offset as usize)
                    .and_then(|start| self.hit_at(hay, e.keyword as usize, start));
                if let Some(hit) = hit {
                    found(hit);
                }
            }
        };
        let vectorised = self.for_each_candidate_vectorised(hay, &mut check);
        self.for_each_candidate(hay, vectorised, &mut check);
        // A three-byte keyword at the very end has no fourth byte to be fingerprinted with.
        if let Some(at) = hay.len().checked_sub(FINGERPRINTED) {
            for &k in &self.three_byte {
                if let Some(hit) = self.hit_at(hay, k, at) {
                    found(hit);
                }
            }
        }
        for (keyword, finder) in &self.short {
            let len = finder.needle().len();
            // `find_iter` skips overlapping occurrences (`__` twice in `___`).
            let mut from = 0;
            while let Some(at) = hay.get(from..).and_then(|rest| finder.find(rest)) {
                found(Hit {
                    keyword: *keyword,
                    range: from + at..from + at + len,
                });
                from += at + 1;
            }
        }
    }

    /// Calls `check` at the candidate positions of every whole block, with SIMD where the CPU
    /// has it; returns the first position not looked at.
    fn for_each_candidate_vectorised(&self, hay: &[u8], check: &mut dyn FnMut(usize)) -> usize {
        #[cfg(target_arch = "x86_64")]
        if self.avx2 {
            // SAFETY: the CPU supports AVX2, checked when the set was built.
            return unsafe { avx2::for_each_candidate(&self.filter, hay, check) };
        }
        let _unused_without_simd = (hay, check);
        0
    }

    /// Calls `check` at each position from `from` on whose fingerprint is in the filter, in
    /// ascending order. Positions are looked up a block at a time, without a branch per
    /// position.
    fn for_each_candidate(&self, hay: &[u8], from: usize, check: &mut dyn FnMut(usize)) {
        let mut at = from;
        while let Some(block) = hay.get(at..at + BLOCK_BYTES) {
            let block: &[u8; BLOCK_BYTES] = block.try_into().expect("block length");
            let mut mask = 0u32;
            for k in 0..BLOCK {
                let bytes = [block[k], block[k + 1], block[k + 2], block[k + 3]];
                mask |= u32::from(self.has(u32::from_le_bytes(bytes) | FOLD)) << k;
            }
            report(at, mask, check);
            at += BLOCK;
        }
        for at in at..hay.len().saturating_sub(WIDTH - 1) {
            if self.has(fingerprint_at(hay, at)) {
                check(at);
            }
        }
    }

    #[inline(always)]
    fn has(&self, fingerprint: u32) -> bool {
        let slot = slot(fingerprint);
        self.filter[slot / 32] & (1 << (slot % 32)) != 0
    }

    /// Whether keyword `k` occurs at `at`.
    fn hit_at(&self, hay: &[u8], k: usize, at: usize) -> Option<Hit> {
        let keyword = &self.keywords[k];
        let range = at..at + keyword.bytes.len();
        let found = hay.get(range.clone())?;
        let equal = if keyword.case_sensitive {
            found == &keyword.bytes[..]
        } else {
            found.eq_ignore_ascii_case(&keyword.bytes)
        };
        equal.then_some(Hit { keyword: k, range })
    }
}

/// The offset of the four bytes of `keyword` least likely to occur in text: the keyword's
/// fingerprint. A window among the most common in source code (`port`, `conf`, `_dev`: see
/// `common_grams`) is taken only when every window is; among the rest, a rough rank of how
/// common each byte is decides.
fn rarest_window(keyword: &[u8]) -> usize {
    fn commonness(b: u8) -> u32 {
        match b.to_ascii_lowercase() {
            b' ' | b'\n' | b'\t' | b'e' | b't' | b'a' | b'o' | b'i' | b'n' | b's' | b'r' => 4,
            b'h' | b'l' | b'd' | b'c' | b'u' | b'm' | b'p' | b'f' | b'_' | b'.' | b'(' | b')'
            | b'=' | b',' | b'"' | b'\'' => 3,
            b'a'..=b'z' | b'0'..=b'9' | b'/' | b':' | b'-' => 2,
            _ => 1,
        }
    }
    (0..=keyword.len() - WIDTH)
        .min_by_key(|&at| {
            let window = &keyword[at..at + WIDTH];
            let folded = u32::from_le_bytes([window[0], window[1], window[2], window[3]]) | FOLD;
            let bytes = window.iter().map(|&b| commonness(b)).sum::<u32>();
            (is_common(folded.to_le_bytes()), bytes)
        })
        .unwrap_or(0)
}

/// The folded fingerprint of the four bytes at `at`.
#[inline(always)]
fn fingerprint_at(hay: &[u8], at: usize) -> u32 {
    let bytes = [hay[at], hay[at + 1], hay[at + 2], hay[at + 3]];
    u32::from_le_bytes(bytes) | FOLD
}

/// Calls `check` at `at` plus each set bit of `mask`, lowest first.
#[inline(always)]
fn report(at: usize, mut mask: u32, check: &mut dyn FnMut(usize)) {
    while mask != 0 {
        check(at + mask.trailing_zeros() as usize);
        mask &= mask - 1;
    }
}

/// The fingerprint's bit in the filter.
#[inline(always)]
fn slot(fingerprint: u32) -> usize {
    (fingerprint.wrapping_mul(HASH) >> (32 - FILTER_BITS)) as usize
}

/// The bucket the fingerprint is filed under.
fn bucket(fingerprint: u32) -> usize {
    (fingerprint.wrapping_mul(HASH) >> (32 - BUCKET_BITS)) as usize
}

/// Every way `keyword` can be written in the input it should match.
fn spellings(keyword: &Keyword) -> Vec<Vec<u8>> {
    let mut spellings = vec![Vec::new()];
    for &b in keyword.bytes.iter() {
        let cases = if keyword.case_sensitive || !b.is_ascii_alphabetic() {
            vec![b]
        } else {
            vec![b.to_ascii_lowercase(), b.to_ascii_uppercase()]
        };
        spellings = spellings
            .into_iter()
            .flat_map(|s| {
                cases.iter().map(move |&c| {
                    let mut s = s.clone();
                    s.push(c);
                    s
                })
            })
            .collect();
    }
    spellings
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use super::{report, BLOCK, BLOCK_BYTES, FILTER_BITS, FILTER_WORDS, FOLD, HASH};

    // A step is four loads, each shifted by one byte, of eight four-byte lanes.
    const _: () = assert!(BLOCK == 32);

    /// For each 8-bit lane mask, the same bits spread to every fourth bit.
    const SPREAD: [u32; 256] = {
        let mut table = [0u32; 256];
        let mut mask = 0;
        while mask < 256 {
            let mut lane = 0;
            while lane < 8 {
                if mask & (1 << lane) != 0 {
                    table[mask] |= 1 << (4 * lane);
                }
                lane += 1;
            }
            mask += 1;
        }
        table
    };

    /// Calls `check` at each position whose fingerprint is in `filter`, 32 positions per step,
    /// in ascending order. Returns the first position it did not look at.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    pub unsafe fn for_each_candidate(
        filter: &[u32; FILTER_WORDS],
        hay: &[u8],
        check: &mut dyn FnMut(usize),
    ) -> usize {
        let fold = _mm256_set1_epi32(FOLD as i32);
        let hash = _mm256_set1_epi32(HASH as i32);
        let low5 = _mm256_set1_epi32(31);
        let mut at = 0;
        // Each step reads the fingerprints of positions at..at + BLOCK.
        while at + BLOCK_BYTES <= hay.len() {
            let mut mask = 0u32;
            for shift in 0..4 {
                // SAFETY: at + shift + 32 <= hay.len(), checked by the loop condition.
                let bytes = _mm256_loadu_si256(hay.as_ptr().add(at + shift).cast());
                // Lane j holds the fingerprint of position at + shift + 4j.
                let fingerprints = _mm256_or_si256(bytes, fold);
                let slots = _mm256_srli_epi32::<{ 32 - FILTER_BITS as i32 }>(_mm256_mullo_epi32(
                    fingerprints,
                    hash,
                ));
                let words = _mm256_srli_epi32::<5>(slots);
                // SAFETY: a slot has FILTER_BITS bits, so its word is within `filter`.
                let gathered = _mm256_i32gather_epi32::<4>(filter.as_ptr().cast(), words);
                let bits = _mm256_srlv_epi32(gathered, _mm256_and_si256(slots, low5));
                let lanes = _mm256_movemask_ps(_mm256_castsi256_ps(_mm256_slli_epi32::<31>(bits)));
                mask |= SPREAD[lanes as usize] << shift;
            }
            report(at, mask, check);
            at += BLOCK;
        }
        at
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::templates::ExampleRng;

    fn brute_force(keywords: &[Keyword], hay: &[u8]) -> Vec<(usize, usize)> {
        let mut hits = Vec::new();
        for (k, keyword) in keywords.iter().enumerate() {
            let len = keyword.bytes.len();
            for start in 0..(hay.len() + 1).saturating_sub(len.max(1)) {
                let at = &hay[start..start + len];
                if at == &keyword.bytes[..]
                    || !keyword.case_sensitive && at.eq_ignore_ascii_case(&keyword.bytes)
                {
                    hits.push((k, start));
                }
            }
        }
        hits.sort_unstable();
        hits
    }

    fn hits(set: &Keywords, hay: &[u8]) -> Vec<(usize, usize)> {
        let mut hits = Vec::new();
        set.for_each_hit(hay, |h| {
            assert_eq!(h.range.len(), set.keyword(h.keyword).bytes.len());
            hits.push((h.keyword, h.range.start));
        });
        hits.sort_unstable();
        hits
    }

    /// Random keywords of one to nine bytes, in random case and case sensitivity, over random
    /// text of their letters: the hits are exactly the brute-force ones, with and without AVX2,
    /// at the very start and end of the input and across the 32-byte blocks.
    #[test]
    fn hits_are_every_overlapping_occurrence() {
        let mut rng = ExampleRng::new(11);
        for round in 0..200 {
            let keywords: Vec<Keyword> = (0..1 + round % 12)
                .map(|i| {
                    let len = 1 + (i * 7 + round) % 9;
                    Keyword {
                        bytes: rng.string(b"abAB-_", len).into_bytes().into(),
                        case_sensitive: (i + round) % 3 == 0,
                    }
                })
                .collect();
            let hay = rng.string(b"abAB-_\n", round % 150);
            let expected = brute_force(&keywords, hay.as_bytes());
            let set = Keywords::new(keywords.clone());
            assert_eq!(
                hits(&set, hay.as_bytes()),
                expected,
                "{keywords:?} in {hay:?}"
            );
            #[cfg(target_arch = "x86_64")]
            {
                let scalar = Keywords {
                    avx2: false,
                    ..Keywords::new(keywords.clone())
                };
                assert_eq!(
                    hits(&scalar, hay.as_bytes()),
                    expected,
                    "{keywords:?} in {hay:?}"
                );
            }
        }
    }

    /// The fingerprint filter does not confuse bytes that fold alike (`@` and `` ` ``) or
    /// bytes beyond ASCII.
    #[test]
    fn folding_only_adds_candidates() {
        let keywords = vec![
            Keyword {
                bytes: b"a@b`".as_slice().into(),
                case_sensitive: false,
            },
            Keyword {
                bytes: b"\xc3\xa9t\xc3\xa9".as_slice().into(),
                case_sensitive: false,
            },
        ];
        let set = Keywords::new(keywords.clone());
        let hay = "a`b@ A@B` \u{e9}t\u{e9} \u{c9}t\u{c9}".repeat(5);
        assert_eq!(
            hits(&set, hay.as_bytes()),
            brute_force(&keywords, hay.as_bytes())
        );
        assert_eq!(hits(&set, hay.as_bytes()).len(), 10);
    }

    /// A keyword is fingerprinted by its rarest bytes: `TEST-` waits for `est-`, not `test`.
    #[test]
    fn fingerprints_are_the_rarest_bytes() {
        assert_eq!(rarest_window(b"test-"), 1);
        assert_eq!(rarest_window(b"github_pat_"), 3);
        assert_eq!(rarest_window(b"base"), 0);
        // Windows common in source code are passed over: `port`, `conf`.
        assert!(is_common(*b"port") && is_common(*b"conf"));
        assert_ne!(rarest_window(b"portainer"), 0);
        assert_ne!(rarest_window(b"iconfinder"), 1);
    }
}
