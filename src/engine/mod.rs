//! The detection engine: bytes in, matches out. It never opens a file or a repository.
//!
//! One search for every rule's keywords (`keywords`) finds where rules can match; a rule's
//! regex is compiled on its first keyword hit and runs only on the lines around its hits. Most
//! input has no hit at all and costs one pass of the keyword search.

pub mod assignment;
pub mod benign;
pub mod checksum;
mod common_grams;
pub mod decode;
pub mod encoded;
pub mod entropy;
pub mod keywords;
pub mod placeholder;
mod verdict;

use std::collections::HashMap;
use std::ops::Range;
use std::sync::OnceLock;

use regex::bytes::Regex;

use self::keywords::{Keyword, Keywords};

use crate::key_material::KeyMaterial;
use crate::rules::{Rule, RuleKind, RulePack, SecretGroup};

pub use decode::Encoding;
use verdict::weak_in_configuration;
pub use verdict::{accepts, random_part};

/// Bytes kept on each side of a keyword hit when its line is longer (minified code).
const LINE_CONTEXT: usize = 1024;
/// How far past a keyword a multi-line rule (a PEM block) may reach.
const MULTILINE_REACH: usize = 64 * 1024;

/// A rule's match in scanned bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawMatch {
    /// Index of the rule in the engine's pack.
    pub rule: usize,
    /// Where to point: the secret's bytes, or the encoded span it was decoded from.
    pub span: Range<usize>,
    /// The raw secret (decoded when `encoding` is set).
    pub secret: Vec<u8>,
    /// The whole regex match around the secret, for allowlists that look at it; for a secret
    /// found by decoding, the encoded span as written.
    pub matched: Range<usize>,
    /// How the span was encoded, when the secret was found in decoded data.
    pub encoding: Option<Encoding>,
}

/// Compiled state shared by every scanning thread.
pub struct Engine {
    pack: RulePack,
    regexes: Vec<OnceLock<Option<CompiledRule>>>,
    /// Every rule's keywords and the decode triggers.
    keywords: Keywords,
    /// For each keyword: the rules it wakes, or `None` for a decode trigger or, from index
    /// `encoded_from` on, an encoded token prefix (`encoded`).
    keyword_rules: Vec<Option<Vec<usize>>>,
    encoded_from: usize,
    /// Rules without keywords, which run over the whole input.
    unfiltered: Vec<usize>,
    /// The rules that still apply in vendored code, worked out when a vendored file is met.
    key_material: OnceLock<KeyMaterial>,
    max_decode_depth: usize,
}

/// What the keyword search found in one input.
struct Candidates {
    /// Each woken rule's merged byte windows.
    windows: Vec<(usize, Range<usize>)>,
    /// Whether a decode trigger (`kind: Secret`, `base64`, …) occurred.
    decode_wanted: bool,
    /// Where encoded token prefixes start, in order.
    encoded_hits: Vec<usize>,
}

struct CompiledRule {
    regex: Regex,
    secret_group: Option<SecretGroup>,
}

impl Engine {
    /// Builds the prefilter over `pack`; regexes are compiled later, on demand.
    pub fn new(pack: RulePack, max_decode_depth: usize) -> Engine {
        let mut keywords: Vec<Keyword> = Vec::new();
        let mut keyword_rules: Vec<Option<Vec<usize>>> = Vec::new();
        let mut keyword_at: HashMap<Keyword, usize> = HashMap::new();
        for (index, rule) in pack.rules().iter().enumerate() {
            for keyword in &rule.keywords {
                // Smart case, as in ripgrep: a keyword written with an uppercase letter is a
                // case-sensitive token prefix (`SK`, `ATTA`), which spares a rule the windows
                // that `task` or `attach` would open; an all-lowercase one matches any case.
                let case_sensitive = keyword.bytes().any(|b| b.is_ascii_uppercase());
                let keyword = Keyword {
                    bytes: keyword.as_bytes().into(),
                    case_sensitive,
                };
                match keyword_at.get(&keyword) {
                    Some(&at) => {
                        let rules = keyword_rules[at].get_or_insert_with(Vec::new);
                        if !rules.contains(&index) {
                            rules.push(index);
                        }
                    }
                    None => {
                        keyword_at.insert(keyword.clone(), keywords.len());
                        keywords.push(keyword);
                        keyword_rules.push(Some(vec![index]));
                    }
                }
            }
        }
        for trigger in decode::TRIGGERS {
            keywords.push(Keyword {
                bytes: trigger.as_bytes().into(),
                case_sensitive: false,
            });
            keyword_rules.push(None);
        }
        let encoded_from = keywords.len();
        for prefix in encoded::prefix_keywords() {
            keywords.push(Keyword {
                bytes: prefix.into(),
                case_sensitive: true,
            });
            keyword_rules.push(None);
        }
        let regexes = pack.rules().iter().map(|_| OnceLock::new()).collect();
        let unfiltered = (0..pack.len())
            .filter(|&i| pack.rules()[i].keywords.is_empty())
            .collect();
        Engine {
            pack,
            regexes,
            keywords: Keywords::new(keywords),
            keyword_rules,
            encoded_from,
            unfiltered,
            key_material: OnceLock::new(),
            max_decode_depth,
        }
    }

    /// Which rules find private keys, the only ones that apply in vendored code.
    pub fn key_material(&self) -> &KeyMaterial {
        self.key_material
            .get_or_init(|| KeyMaterial::of(&self.pack))
    }

    pub fn pack(&self) -> &RulePack {
        &self.pack
    }

    pub fn rule(&self, index: usize) -> &Rule {
        &self.pack.rules()[index]
    }

    /// Every rule match in `hay`, including secrets hidden in encoded spans, ordered by position.
    pub fn scan(&self, hay: &[u8]) -> Vec<RawMatch> {
        let mut budget = DECODE_BUDGET_FACTOR * hay.len() + DECODE_BUDGET_MIN;
        self.scan_at_depth(hay, 0, 0, &mut budget)
    }

    /// Scans `hay`, whose first `label` bytes are the label of a decoded value (0 at the top).
    fn scan_at_depth(
        &self,
        hay: &[u8],
        label: usize,
        depth: usize,
        budget: &mut usize,
    ) -> Vec<RawMatch> {
        let mut matches = Vec::new();
        let mut owned = Vec::new();
        let Candidates {
            windows,
            decode_wanted,
            encoded_hits,
        } = self.candidate_windows(hay);
        for (rule, window) in windows {
            self.match_rule(rule, hay, window, &mut matches, &mut owned);
        }
        if !owned.is_empty() {
            // A minified file can hold many thousands of both: a sorted union keeps this
            // filter at O(n log n) instead of comparing every pair.
            let owned = disjoint_union(owned);
            // (A weak-password match stays: the provider rule's entropy bar is what it is for.)
            matches.retain(|m| {
                self.rule(m.rule).kind != RuleKind::Generic || !overlaps_any(&owned, &m.span)
            });
        }
        // A weak-password match is for values no other rule reports: one that clears the
        // generic detector's bar is its finding, reported once.
        let strong: Vec<Range<usize>> = matches
            .iter()
            .filter(|m| self.rule(m.rule).kind != RuleKind::Weak)
            .map(|m| m.span.clone())
            .collect();
        if strong.len() < matches.len() {
            let strong = disjoint_union(strong);
            matches.retain(|m| {
                self.rule(m.rule).kind != RuleKind::Weak || !overlaps_any(&strong, &m.span)
            });
        }
        // Decoded text is the value of a field whose name or document asked for decoding: a
        // second layer (base64 of base64) carries no trigger word of its own.
        if (decode_wanted || depth > 0) && depth < self.max_decode_depth {
            for run in decode::candidates(&hay[label..]) {
                let run = label + run.start..label + run.end;
                self.scan_run(hay, run, depth, budget, &mut matches);
            }
        } else if depth < self.max_decode_depth {
            // A value that starts as an encoded token prefix: decode that run alone.
            for start in encoded_hits.into_iter().filter(|&s| s >= label) {
                if let Some(run) = encoded::run_at(&hay[label..], start - label) {
                    let run = label + run.start..label + run.end;
                    self.scan_run(hay, run, depth, budget, &mut matches);
                }
            }
        }
        matches.sort_by_key(|m| (m.span.start, m.rule));
        matches.dedup_by(|a, b| a.rule == b.rule && a.span == b.span && a.secret == b.secret);
        matches
    }

    /// Decodes one base64 run piece by piece and scans what it hides. Consecutive pieces
    /// overlap; each reports the secrets that start in its share of the overlaps (up to the
    /// middle), so a secret there is reported once, whole.
    fn scan_run(
        &self,
        hay: &[u8],
        run: Range<usize>,
        depth: usize,
        budget: &mut usize,
        out: &mut Vec<RawMatch>,
    ) {
        // The name the value is stored under (`DISCORD_BOT_TOKEN: <base64>`) is what wakes
        // keyword-anchored rules: scan the decoded value behind it.
        let label = label_before(hay, run.start);
        let pieces: Vec<Range<usize>> = decode::pieces(run.clone(), alignment(hay, &run)).collect();
        let shared = decode::DECODED_OVERLAP / 2;
        for (k, piece) in pieces.iter().enumerate() {
            let Some((decoded, encoding)) = decode::decode(&hay[piece.clone()]) else {
                continue;
            };
            let Some(left) = budget.checked_sub(decoded.len()) else {
                return;
            };
            *budget = left;
            let own_from = label.len() + if k == 0 { 0 } else { shared };
            let own_to = if k + 1 == pieces.len() {
                usize::MAX
            } else {
                (label.len() + decoded.len()).saturating_sub(shared)
            };
            let mut text = Vec::with_capacity(label.len() + decoded.len());
            text.extend_from_slice(label);
            text.extend_from_slice(&decoded);
            for inner in self.scan_at_depth(&text, label.len(), depth + 1, budget) {
                if inner.span.end <= label.len() {
                    continue; // found in the label, which the plain scan covers
                }
                if !(own_from..own_to).contains(&inner.span.start.max(label.len())) {
                    continue; // the neighbouring piece reports it
                }
                out.push(RawMatch {
                    span: piece.clone(),
                    matched: piece.clone(),
                    encoding: Some(inner.encoding.unwrap_or(encoding)),
                    ..inner
                });
            }
        }
    }

    /// Runs the prefilter: merged byte windows per woken rule, whether to try decoding, and
    /// where encoded token prefixes start.
    fn candidate_windows(&self, hay: &[u8]) -> Candidates {
        let mut windows: Vec<(usize, Range<usize>)> = Vec::new();
        let mut last: Vec<Option<Range<usize>>> = Vec::new();
        let mut decode_wanted = false;
        let mut encoded_hits = Vec::new();
        self.keywords.for_each_hit(hay, |hit| {
            let Some(rules) = &self.keyword_rules[hit.keyword] else {
                if hit.keyword >= self.encoded_from {
                    encoded_hits.push(hit.range.start);
                } else {
                    decode_wanted = true;
                }
                return;
            };
            if last.is_empty() {
                last = vec![None; self.pack.len()];
            }
            for &rule in rules {
                let multiline = self.rule(rule).multiline;
                // A hit well inside the current window adds nothing, and skipping it keeps a
                // line of millions of hits cheap. A hit near either end of the window still
                // extends it: the window may stop short of the secret next to that keyword
                // (hits come roughly in order, so one can land near the start).
                let reach = if multiline {
                    MULTILINE_REACH
                } else {
                    LINE_CONTEXT
                };
                if last[rule].as_ref().is_some_and(|w| {
                    w.start <= hit.range.start.saturating_sub(LINE_CONTEXT / 2)
                        && hit.range.end.saturating_add(reach / 2) <= w.end
                }) {
                    continue;
                }
                let spec = self.rule(rule);
                let window = if spec.whole_input {
                    0..hay.len()
                } else {
                    window_around(hay, hit.range.clone(), multiline)
                };
                match &mut last[rule] {
                    Some(prev) if window.start <= prev.end && prev.start <= window.end => {
                        prev.start = prev.start.min(window.start);
                        prev.end = prev.end.max(window.end);
                    }
                    slot => {
                        if let Some(prev) = slot.take() {
                            windows.push((rule, prev));
                        }
                        *slot = Some(window);
                    }
                }
            }
        });
        windows.extend(
            last.into_iter()
                .enumerate()
                .filter_map(|(rule, w)| w.map(|w| (rule, w))),
        );
        // Hits come roughly in order, so a rule's windows may still overlap here.
        windows.sort_unstable_by_key(|(rule, w)| (*rule, w.start));
        windows.dedup_by(|(rule, next), (prev_rule, prev)| {
            let overlap = rule == prev_rule && next.start <= prev.end;
            if overlap {
                prev.end = prev.end.max(next.end);
            }
            overlap
        });
        windows.extend(self.unfiltered.iter().map(|&rule| (rule, 0..hay.len())));
        encoded_hits.sort_unstable();
        Candidates {
            windows,
            decode_wanted,
            encoded_hits,
        }
    }

    fn compiled(&self, rule: usize) -> Option<&CompiledRule> {
        self.regexes[rule]
            .get_or_init(|| {
                let regex = self.rule(rule).compile().ok()?;
                let secret_group = regex
                    .capture_names()
                    .position(|name| name == Some("secret"))
                    .map(SecretGroup::Index)
                    .or(self.rule(rule).secret_group);
                Some(CompiledRule {
                    regex,
                    secret_group,
                })
            })
            .as_ref()
    }

    /// Runs one rule's regex over one window. Token rules record every span their regex
    /// matched in `owned`, accepted or not: a value in a provider's format is the provider
    /// rule's to judge, so the generic detector does not second-guess it.
    fn match_rule(
        &self,
        rule: usize,
        hay: &[u8],
        window: Range<usize>,
        out: &mut Vec<RawMatch>,
        owned: &mut Vec<Range<usize>>,
    ) {
        let Some(compiled) = self.compiled(rule) else {
            return;
        };
        let spec = self.rule(rule);
        let text = &hay[window.clone()];
        for caps in compiled.regex.captures_iter(text) {
            let secret = match compiled.secret_group {
                None => caps.get(0),
                Some(SecretGroup::Index(g)) => caps.get(g),
                Some(SecretGroup::FirstMatched) => caps
                    .iter()
                    .skip(1)
                    .flatten()
                    .find(|g| !g.is_empty())
                    .or(caps.get(0)),
            };
            let (Some(whole), Some(m)) = (caps.get(0), secret) else {
                continue;
            };
            let span = window.start + m.start()..window.start + m.end();
            let matched = window.start + whole.start()..window.start + whole.end();
            if matches!(spec.kind, RuleKind::Generic | RuleKind::Weak) {
                if benign::continues_as_escaped_bytes(hay, span.end) {
                    continue;
                }
                let name = caps.name("name").map_or(&b""[..], |n| n.as_bytes());
                // A rule without a `name` group (a provider's own assignment rule) names the
                // setting in the text its match holds before the value.
                let assigned = assignment::Candidate {
                    hay,
                    name: caps.name("name").map_or(matched.start..span.start, |n| {
                        window.start + n.start()..window.start + n.end()
                    }),
                    value: span.clone(),
                };
                // A weak-password rule without a name (a URL's password) is no assignment.
                let assignment = spec.kind == RuleKind::Generic || caps.name("name").is_some();
                if assignment && assignment::rejected_by(&assigned).is_some() {
                    continue;
                }
                if spec.kind == RuleKind::Weak {
                    let name = caps
                        .name("name")
                        .map(|n| window.start + n.start()..window.start + n.end());
                    if !weak_in_configuration(hay, &span, name.as_ref()) {
                        continue;
                    }
                }
                if let Some((secret, encoding)) = benign::generic_candidate(name, m.as_bytes()) {
                    if accepts(spec, &secret) {
                        out.push(RawMatch {
                            rule,
                            span,
                            secret,
                            matched,
                            encoding,
                        });
                    }
                }
                continue;
            }
            owned.push(span.clone());
            if accepts(spec, m.as_bytes()) {
                out.push(RawMatch {
                    rule,
                    span,
                    secret: m.as_bytes().to_vec(),
                    matched,
                    encoding: None,
                });
            }
        }
    }
}

/// Longest label kept in front of a decoded value.
const LABEL_MAX: usize = 80;

/// Bytes one scan may decode, across every layer, per byte scanned, plus a floor. Disjoint runs
/// decode to at most 3/4 of their text, and each layer to 3/4 of the one above, so honest
/// input stays under 4 bytes per byte; the budget enforces that bound against shapes nobody
/// foresaw, keeping decoding linear in time and memory.
const DECODE_BUDGET_FACTOR: usize = 4;
const DECODE_BUDGET_MIN: usize = 1024 * 1024;

/// Where base64 quanta start in `run`: at its first byte, unless the run starts at the very
/// beginning of `hay`, which may be a window cut into a longer run: then at the first offset
/// (0 to 3) whose first piece decodes to text.
fn alignment(hay: &[u8], run: &Range<usize>) -> usize {
    if run.start > 0 {
        return 0;
    }
    (0..4)
        .find(|&align| {
            decode::pieces(run.clone(), align)
                .next()
                .is_some_and(|piece| decode::decode(&hay[piece]).is_some())
        })
        .unwrap_or(0)
}

/// What precedes offset `at` on its line, up to `LABEL_MAX` bytes: the key of a `key: value`.
fn label_before(hay: &[u8], at: usize) -> &[u8] {
    let line_start = memchr::memrchr(b'\n', &hay[..at]).map_or(0, |i| i + 1);
    &hay[line_start.max(at.saturating_sub(LABEL_MAX))..at]
}

/// The lines around a keyword hit, clipped to `LINE_CONTEXT` bytes each side on very long lines
/// (at a delimiter, so a token is never cut in two), or reaching forward for multi-line rules.
fn window_around(hay: &[u8], hit: Range<usize>, multiline: bool) -> Range<usize> {
    let low = hit.start.saturating_sub(LINE_CONTEXT);
    let start = match memchr::memrchr(b'\n', &hay[low..hit.start]) {
        Some(i) => low + i + 1,
        None if low == 0 => 0,
        None => {
            low + hay[low..hit.start]
                .iter()
                .position(|&b| is_delimiter(b))
                .map_or(0, |i| i + 1)
        }
    };
    let reach = if multiline {
        MULTILINE_REACH
    } else {
        LINE_CONTEXT
    };
    let high = (hit.end + reach).min(hay.len());
    let end = if multiline {
        high
    } else {
        match memchr::memchr(b'\n', &hay[hit.end..high]) {
            Some(i) => hit.end + i,
            None if high == hay.len() => high,
            None => hay[hit.end..high]
                .iter()
                .rposition(|&b| is_delimiter(b))
                .map_or(high, |i| hit.end + i),
        }
    };
    start..end
}

/// Sorts `spans` and merges the overlapping ones: disjoint spans in order, ends ascending too.
fn disjoint_union(mut spans: Vec<Range<usize>>) -> Vec<Range<usize>> {
    spans.sort_unstable_by_key(|s| s.start);
    let mut union: Vec<Range<usize>> = Vec::with_capacity(spans.len());
    for span in spans {
        match union.last_mut() {
            Some(last) if span.start < last.end => last.end = last.end.max(span.end),
            _ => union.push(span),
        }
    }
    union
}

/// Whether `span` overlaps a span of `union` (as built by `disjoint_union`).
fn overlaps_any(union: &[Range<usize>], span: &Range<usize>) -> bool {
    let first_ending_after = union.partition_point(|o| o.end <= span.start);
    union
        .get(first_ending_after)
        .is_some_and(|o| o.start < span.end)
}

fn is_delimiter(b: u8) -> bool {
    matches!(
        b,
        b' ' | b'\t' | b'\r' | b'"' | b'\'' | b'`' | b',' | b';' | b'<' | b'>'
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::parse_rule_file;
    use crate::rules::templates::{expand, ExampleRng};

    fn engine(toml: &str) -> Engine {
        let mut pack = RulePack::default();
        pack.extend(parse_rule_file(toml, "test.toml").unwrap(), "test.toml")
            .unwrap();
        Engine::new(pack, 2)
    }

    /// A low-severity test rule: `keywords` is the TOML list's inside, `regex` a literal string.
    fn rule_toml(id: &str, keywords: &str, regex: &str) -> String {
        format!(
            "[[rule]]\nid = \"{id}\"\nname = \"n\"\nprovider = \"p\"\ndescription = \"d\"\n\
             keywords = [{keywords}]\nregex = '{regex}'\nseverity = \"low\"\n\
             confidence = \"low\"\nrevoke_url = \"https://example.invalid\"\n"
        )
    }

    /// Smart-case keywords: with an uppercase letter exactly as written, else in any case.
    #[test]
    fn keywords_with_uppercase_match_case_sensitively() {
        let e = engine(
            &(rule_toml("exact", "\"Qexact_\"", r"(?i)\bqexact_[0-9]{6}")
                + &rule_toml("any", "\"qany_\"", r"(?i)\bqany_[0-9]{6}")),
        );
        let found = |text: &str| {
            e.scan(text.as_bytes())
                .iter()
                .map(|m| e.rule(m.rule).id.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(found("Qexact_804317"), ["exact"]);
        assert!(found("QEXACT_804317 qexact_804317").is_empty());
        assert_eq!(found("QANY_804317"), ["any"]);
        assert_eq!(found("qany_804317"), ["any"]);
    }

    /// The engine hands every rule's keywords to the keyword search with smart case: the
    /// hits are exactly what a brute-force search for each keyword at every offset finds.
    #[test]
    fn keyword_hits_are_every_overlapping_occurrence() {
        let keywords = [
            "ab", "bc", "abc", "cab", "b", "key-", "-key", "aaa", "KEY", "Ab",
        ];
        let list = keywords
            .iter()
            .map(|k| format!("{k:?}"))
            .collect::<Vec<_>>()
            .join(", ");
        let e = engine(&rule_toml("k", &list, "x"));
        let mut rng = ExampleRng::new(7);
        for _ in 0..300 {
            let text = rng.string(b"abcABkeyKEY-x", 40);
            let hay = text.as_bytes();
            let mut found = Vec::new();
            e.keywords
                .for_each_hit(hay, |h| found.push((h.range.start, h.range.end, h.keyword)));
            found.sort_unstable();
            let mut expected = Vec::new();
            for (k, keyword) in keywords.iter().chain(decode::TRIGGERS).enumerate() {
                let exact = keyword.bytes().any(|b| b.is_ascii_uppercase());
                for start in 0..hay.len() {
                    let Some(at) = hay.get(start..start + keyword.len()) else {
                        continue;
                    };
                    if at == keyword.as_bytes()
                        || !exact && at.eq_ignore_ascii_case(keyword.as_bytes())
                    {
                        expected.push((start, start + keyword.len(), k));
                    }
                }
            }
            expected.sort_unstable();
            assert_eq!(found, expected, "{text}");
        }
    }

    /// A rule's regex runs only on the lines of its keyword hits, whatever order the hits
    /// come in: a short keyword's hits, found last, do not join the windows between them.
    #[test]
    fn windows_stay_on_the_keyword_lines_when_hits_come_out_of_order() {
        let e = engine(&rule_toml("w", "\"qz\", \"zzword\"", r"tok=[0-9]{6}"));
        let found = |text: &str| e.scan(text.as_bytes()).len();
        let filler = "plain line\n".repeat(50);
        assert_eq!(
            found(&format!("qz\n{filler}tok=804317\n{filler}zzword\n")),
            0
        );
        assert_eq!(found(&format!("qz\n{filler}tok=804317 zzword\n")), 1);
    }

    const RULE: &str = r#"
[[rule]]
id = "demo-token"
name = "Demo token"
provider = "Demo"
description = "test"
keywords = ["demo_"]
regex = '\b(?P<secret>demo_[0-9A-Za-z]{20})\b'
min_entropy_bits = 80
severity = "high"
confidence = "high"
revoke_url = "https://example.invalid"
"#;

    /// A fake demo token, generated so that no literal token sits in the source.
    fn demo_token() -> String {
        expand("demo_@{rand:alnum:20}", &mut ExampleRng::new(9)).unwrap()
    }

    #[test]
    fn finds_a_token_and_reports_the_secret_span() {
        let e = engine(RULE);
        let token = demo_token();
        let hay = format!("line one\nTOKEN={token}\n");
        let m = e.scan(hay.as_bytes());
        assert_eq!(m.len(), 1);
        assert_eq!(&hay.as_bytes()[m[0].span.clone()], token.as_bytes());
    }

    #[test]
    fn no_keyword_no_match_and_placeholders_rejected() {
        let e = engine(RULE);
        assert!(e.scan(b"nothing to see here").is_empty());
        assert!(e.scan(b"demo_XXXXXXXXXXXXXXXXXXXX").is_empty());
    }

    #[test]
    fn long_lines_are_clipped_without_losing_the_token() {
        let e = engine(RULE);
        let mut hay = vec![b'a'; 50_000];
        hay.extend_from_slice(format!(";x=\"{}\";", demo_token()).as_bytes());
        hay.extend(vec![b'b'; 50_000]);
        assert_eq!(e.scan(&hay).len(), 1);
    }

    #[test]
    fn dense_hits_keep_the_last_secret_in_the_window() {
        // Found by tests/adversarial.rs: with a keyword every few bytes, an earlier hit's
        // window ended at the quote before the last token, and the last keyword, inside that
        // window, was skipped, so the token after it was never searched.
        let e = engine(&RULE.replace(
            r#"'\b(?P<secret>demo_[0-9A-Za-z]{20})\b'"#,
            r#"'demo_key="(?P<secret>[0-9A-Za-z]{20})"'"#,
        ));
        let mut rng = ExampleRng::new(11);
        let tokens: Vec<String> = (0..80)
            .map(|_| expand("@{rand:alnum:20}", &mut rng).unwrap())
            .collect();
        // Every padding and count, so that the window edge falls on every part of the last
        // assignment.
        for pad in 0..16 {
            for count in 1..=tokens.len() {
                let hay: String = tokens[..count]
                    .iter()
                    .map(|t| format!(";demo_key=\"{t}\"{}", " ".repeat(pad)))
                    .collect();
                let found = e.scan(hay.as_bytes());
                assert_eq!(found.len(), count, "pad {pad}");
                assert_eq!(found[count - 1].secret, tokens[count - 1].as_bytes());
            }
        }
    }

    #[test]
    fn generic_matches_inside_token_spans_are_dropped_in_linear_time() {
        let union = disjoint_union(vec![10..20, 0..5, 15..30, 40..40]);
        assert_eq!(union, vec![0..5, 10..30, 40..40]);
        assert!(overlaps_any(&union, &(29..35)));
        assert!(overlaps_any(&union, &(3..4)));
        assert!(!overlaps_any(&union, &(5..10)));
        assert!(!overlaps_any(&union, &(30..40)));
    }

    #[test]
    fn finds_tokens_inside_base64() {
        use base64::Engine as _;
        let e = engine(RULE);
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("TOKEN={}", demo_token()));
        let hay = format!("kind: Secret\ndata:\n  token: {encoded}\n");
        let m = e.scan(hay.as_bytes());
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].encoding, Some(Encoding::Base64));
        assert_eq!(&hay.as_bytes()[m[0].span.clone()], encoded.as_bytes());
    }
}
