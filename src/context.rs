//! The context line a finding shows: the line around the secret, cut to a bounded width, with
//! every secret on it redacted — not only the finding's own, but every secret the engine
//! matched in the chunk (including matches that filters such as `--min-confidence` or an
//! allowlist dropped) and every further copy of one of those secrets that no rule matched
//! (`a = "S", b = "S"`). A context line is printed next to a redacted secret, so one raw secret
//! left in it would undo the redaction.

use std::collections::HashMap;
use std::ops::Range;

/// Longest context kept, in bytes before the match; twice this after it.
const CONTEXT_SIDE: usize = 80;

/// Copies of secrets shorter than this are not searched for: they carry too little entropy to
/// be secrets, and replacing every occurrence of a short string would garble the line.
const MIN_COPY_LEN: usize = 8;

/// A secret to hide: where the engine matched it, its raw bytes, and what to print instead.
pub struct Secret<'a> {
    pub span: Range<usize>,
    pub raw: &'a [u8],
    pub redacted: String,
}

/// Redacts context lines of one chunk. Built once per chunk; each line then costs time in
/// proportion to its width, not to the length of the line or the number of matches.
pub struct Redactor<'a> {
    bytes: &'a [u8],
    /// The matched spans: disjoint, sorted (so their ends are sorted too), each with its text.
    spans: Vec<(Range<usize>, String)>,
    /// Every distinct raw secret, to find copies of it that no rule matched.
    copies: Option<Copies>,
}

/// The distinct secrets, looked up by their bytes at each offset of a context window. A set,
/// not an automaton: a chunk of a hundred thousand generated tokens builds a map of that many
/// keys (a few megabytes) instead of an automaton of millions of states, and each context line
/// costs its width times the number of distinct secret lengths.
struct Copies {
    redacted: HashMap<Vec<u8>, String>,
    /// Distinct secret lengths, longest first (the longest copy at an offset wins).
    lengths: Vec<usize>,
}

impl<'a> Redactor<'a> {
    pub fn new(bytes: &'a [u8], secrets: Vec<Secret<'_>>) -> Redactor<'a> {
        let mut redacted = HashMap::new();
        for s in secrets.iter().filter(|s| s.raw.len() >= MIN_COPY_LEN) {
            redacted
                .entry(s.raw.to_vec())
                .or_insert_with(|| s.redacted.clone());
        }
        let copies = (!redacted.is_empty()).then(|| {
            let mut lengths: Vec<usize> = redacted.keys().map(Vec::len).collect();
            lengths.sort_unstable_by(|a, b| b.cmp(a));
            lengths.dedup();
            Copies { redacted, lengths }
        });
        let spans = union(secrets.into_iter().map(|s| (s.span, s.redacted)).collect());
        Redactor {
            bytes,
            spans,
            copies,
        }
    }

    /// The redacted line around `offset`.
    pub fn line(&self, offset: usize) -> String {
        let window = window(self.bytes, offset);
        let mut hide: Vec<(Range<usize>, String)> = Vec::new();
        let first = self.spans.partition_point(|(s, _)| s.end <= window.start);
        hide.extend(
            self.spans[first..]
                .iter()
                .take_while(|(s, _)| s.start < window.end)
                .cloned(),
        );
        if let Some(copies) = &self.copies {
            // Search a little before the window so a copy cut by its edge is still recognised.
            let from = window.start.saturating_sub(copies.lengths[0]);
            let mut at = from;
            while at < window.end {
                let found = copies.lengths.iter().find_map(|&len| {
                    let text = self.bytes.get(at..at + len)?;
                    copies.redacted.get(text).map(|r| (at..at + len, r))
                });
                match found {
                    Some((span, text)) => {
                        at = span.end;
                        if window.start < span.end {
                            hide.push((span, text.clone()));
                        }
                    }
                    None => at += 1,
                }
            }
        }
        render(self.bytes, window, union(hide))
    }
}

/// The unredacted line around `offset` (`--show-secrets`), cut like a redacted one.
pub fn plain_line(bytes: &[u8], offset: usize) -> String {
    render(bytes, window(bytes, offset), Vec::new())
}

/// The part of the line holding `offset` that a context shows: at most `CONTEXT_SIDE` bytes
/// before it and twice that after. Newlines are looked for only that far, so a line of many
/// megabytes (minified code) costs no more than a short one.
fn window(bytes: &[u8], offset: usize) -> Range<usize> {
    let offset = offset.min(bytes.len());
    let low = offset.saturating_sub(CONTEXT_SIDE);
    let start = memchr::memrchr(b'\n', &bytes[low..offset]).map_or(low, |i| low + i + 1);
    let high = (offset + CONTEXT_SIDE * 2).min(bytes.len());
    let end = memchr::memchr(b'\n', &bytes[offset..high]).map_or(high, |i| offset + i);
    start..end
}

/// Sorts spans and merges overlapping ones, keeping the first one's replacement text.
fn union(mut spans: Vec<(Range<usize>, String)>) -> Vec<(Range<usize>, String)> {
    spans.sort_by_key(|(s, _)| (s.start, std::cmp::Reverse(s.end)));
    let mut merged: Vec<(Range<usize>, String)> = Vec::with_capacity(spans.len());
    for (span, text) in spans {
        match merged.last_mut() {
            Some((last, _)) if span.start < last.end => last.end = last.end.max(span.end),
            _ => merged.push((span, text)),
        }
    }
    merged
}

/// `window` of `bytes` with each of `hide` (disjoint, sorted) replaced by its text.
fn render(bytes: &[u8], window: Range<usize>, hide: Vec<(Range<usize>, String)>) -> String {
    let mut out = Vec::with_capacity(window.len());
    let mut at = window.start;
    for (span, text) in hide {
        let start = span.start.clamp(at, window.end);
        out.extend_from_slice(&bytes[at..start]);
        out.extend_from_slice(text.as_bytes());
        at = span.end.clamp(start, window.end);
    }
    out.extend_from_slice(&bytes[at..window.end]);
    String::from_utf8_lossy(&out).trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret<'a>(text: &'a [u8], raw: &'a str) -> Secret<'a> {
        let at = memchr::memmem::find(text, raw.as_bytes()).unwrap();
        Secret {
            span: at..at + raw.len(),
            raw: raw.as_bytes(),
            redacted: format!("{}\u{2026}", &raw[..3]),
        }
    }

    #[test]
    fn context_redacts_every_secret_on_the_line() {
        let text = b"a=SECRETONE b=SECRETTWO\nnext";
        let r = Redactor::new(
            text,
            vec![secret(text, "SECRETONE"), secret(text, "SECRETTWO")],
        );
        assert_eq!(r.line(2), "a=SEC\u{2026} b=SEC\u{2026}");
    }

    #[test]
    fn copies_no_rule_matched_are_redacted_too() {
        let text = b"key = \"SECRETONE\", copy = \"SECRETONE\"";
        let r = Redactor::new(text, vec![secret(text, "SECRETONE")]);
        let line = r.line(7);
        assert!(!line.contains("SECRETONE"), "{line}");
        assert_eq!(line, "key = \"SEC\u{2026}\", copy = \"SEC\u{2026}\"");
    }

    #[test]
    fn a_secret_cut_by_the_window_edge_is_still_hidden() {
        let mut text = b"early=SECRETONE ".to_vec();
        text.extend(vec![b'x'; CONTEXT_SIDE - 9]);
        text.extend_from_slice(b" k=SECRETTWO");
        let r = Redactor::new(
            &text,
            vec![secret(&text, "SECRETONE"), secret(&text, "SECRETTWO")],
        );
        let at = memchr::memmem::find(&text, b"SECRETTWO").unwrap();
        let line = r.line(at);
        assert!(!line.contains("ETONE"), "{line}");
        assert!(line.ends_with("k=SEC\u{2026}"), "{line}");
    }

    #[test]
    fn a_multi_line_secret_is_cut_at_the_line_end() {
        let text = b"pem = BEGINSECRET\nMORESECRET\nEND\n";
        let span = 6..28;
        let r = Redactor::new(
            text,
            vec![Secret {
                span,
                raw: &text[6..28],
                redacted: "BEG\u{2026}".into(),
            }],
        );
        assert_eq!(r.line(6), "pem = BEG\u{2026}");
    }

    #[test]
    fn window_of_a_huge_line_is_bounded() {
        let mut text = vec![b'a'; 10_000];
        text.extend_from_slice(b"KEY");
        text.extend(vec![b'b'; 10_000]);
        let line = plain_line(&text, 10_000);
        assert_eq!(line.len(), CONTEXT_SIDE * 3);
        assert!(line.contains("KEY"));
    }
}
