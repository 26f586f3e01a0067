//! Differential fuzzing of the keyword search: arbitrary keywords (the input up to the first
//! NUL, split on `\n`; a keyword starting with `!` is case-sensitive) over an arbitrary
//! haystack (the rest) must hit exactly where a brute-force comparison at every offset does.

#![no_main]

use keyhound::engine::keywords::{Keyword, Keywords};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(split) = data.iter().position(|&b| b == 0) else {
        return;
    };
    let (spec, hay) = (&data[..split], &data[split + 1..]);
    let keywords: Vec<Keyword> = spec
        .split(|&b| b == b'\n')
        .take(64)
        .map(|k| match k.strip_prefix(b"!") {
            Some(exact) => Keyword {
                bytes: exact.into(),
                case_sensitive: true,
            },
            None => Keyword {
                bytes: k.into(),
                case_sensitive: false,
            },
        })
        .collect();
    let set = Keywords::new(keywords.clone());
    let mut found = Vec::new();
    set.for_each_hit(hay, |hit| {
        assert_eq!(hit.range.len(), keywords[hit.keyword].bytes.len());
        found.push((hit.keyword, hit.range.start));
    });
    found.sort_unstable();
    let mut expected = Vec::new();
    for (k, keyword) in keywords.iter().enumerate() {
        let len = keyword.bytes.len();
        if len == 0 {
            continue;
        }
        for start in 0..(hay.len() + 1).saturating_sub(len) {
            let at = &hay[start..start + len];
            if at == &keyword.bytes[..]
                || !keyword.case_sensitive && at.eq_ignore_ascii_case(&keyword.bytes)
            {
                expected.push((k, start));
            }
        }
    }
    assert_eq!(found, expected);
});
