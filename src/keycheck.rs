//! `keyhound keycheck`: judge one key read from standard input. Which rules recognise it (on
//! its own, or assigned to a name as in `API_KEY=…`, so keyword-driven rules get their
//! chance), how much entropy it carries, and whether it clears the 128-bit floor.
//!
//! The key is read from stdin only, never from argv, where it would land in shell history and
//! in every process listing; it is never echoed back, only its redacted prefix and SHA-256.
//!
//! The floor is judged on the character-pool estimate L × log2(R) of the key's random part (the
//! key minus a rule's fixed prefix such as `sk_live_`). Because a pool estimate credits
//! `aaaa…` as fully as a random string, the key must also look random: not a placeholder, and a
//! Shannon entropy per character of at least three quarters of what its length and pool allow.

use std::io::{self, BufRead, IsTerminal, Read, Write};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use serde::Serialize;

use crate::app;
use crate::cli::{CommonArgs, FormatArg};
use crate::engine::entropy::{self, KEY_FLOOR_BITS};
use crate::engine::{placeholder, random_part, Engine};
use crate::finding::{fingerprint, redact};
use crate::output_file;
use crate::rules::{RuleKind, Severity};

/// Longest input accepted: far beyond any key, short of reading a whole file by mistake.
const MAX_INPUT: u64 = 64 * 1024;

/// Share of the attainable Shannon entropy per character a random key reaches in practice;
/// below it, the characters repeat too much for the key to be random.
const SHANNON_SHARE: f64 = 0.75;

/// What keycheck found out about a key.
#[derive(Debug, Serialize)]
pub struct KeyCheck {
    /// A short prefix and `…`.
    pub redacted: String,
    /// Hex SHA-256 of the key: compare it with a report's fingerprints.
    pub sha256: String,
    /// Length in characters.
    pub length: usize,
    /// Rules that recognise the key.
    pub rules: Vec<RuleMatch>,
    /// A rule's fixed prefix left out of the entropy measures (empty when none).
    pub prefix: String,
    /// Characters measured: the key without `prefix`.
    pub measured_length: usize,
    pub pool: Pool,
    pub shannon_bits_per_char: f64,
    /// Shannon bits per character × measured length.
    pub shannon_bits: f64,
    /// Character-pool estimate: measured length × log2(pool size).
    pub pool_bits: f64,
    pub floor_bits: f64,
    pub clears_floor: bool,
    /// Why the key does or does not clear the floor, in words.
    pub verdict: String,
    /// Whether `dir`, `git` and the other scans report this value, judged by the same rules
    /// and filters they apply (`engine::accepts`): alone, or assigned as in `API_KEY=…`.
    pub reported_by_scans: bool,
    /// Why scans report it or not, and why that differs from the floor when it does.
    pub scans: String,
}

/// A rule that matched the key.
#[derive(Debug, Serialize)]
pub struct RuleMatch {
    pub id: String,
    pub name: String,
    pub severity: Severity,
    /// `alone` (the key by itself) or `assigned` (as in `API_KEY=<key>`).
    pub context: &'static str,
    /// Whether the match is the whole key rather than a part of it.
    pub whole_key: bool,
}

/// The character pool a key is drawn from.
#[derive(Debug, Serialize)]
pub struct Pool {
    pub name: String,
    pub size: u32,
}

/// Runs the command: read the key, check it, print the result, exit 0 if it clears the floor.
pub fn run(common: &CommonArgs) -> Result<ExitCode> {
    let json = match common.format.unwrap_or(FormatArg::Human) {
        FormatArg::Human => false,
        FormatArg::Json | FormatArg::Jsonl => true,
        FormatArg::Sarif | FormatArg::Github | FormatArg::Gitlab => {
            bail!("--format: `keyhound keycheck` writes human, json or jsonl")
        }
    };
    let key = read_key()?;
    let root = std::env::current_dir()?;
    let policy = app::load_policy(common, &root)?;
    // Judged as default scans judge: without the weak-password rules.
    let engine = app::engine(common, policy.pack, false);
    let check = check(&engine, &key);
    let text = if json {
        let mut text = if common.format == Some(FormatArg::Jsonl) {
            serde_json::to_string(&check)?
        } else {
            serde_json::to_string_pretty(&check)?
        };
        text.push('\n');
        // Rule names may come from a repository's config.
        crate::escape::json(&text).into_owned()
    } else {
        human(&check)
    };
    match &common.output {
        Some(path) => output_file::write_report(path, |out| out.write_all(text.as_bytes()))?,
        None if common.quiet => {}
        None => io::stdout().lock().write_all(text.as_bytes())?,
    }
    Ok(if check.clears_floor {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// One key from stdin without its trailing line break. From a terminal, one line is read (with
/// a warning that the terminal echoes it); from a pipe or file, everything up to `MAX_INPUT`.
fn read_key() -> Result<Vec<u8>> {
    let stdin = io::stdin();
    let mut input = Vec::new();
    if stdin.is_terminal() {
        eprintln!(
            "keyhound: paste the key and press Enter (the terminal shows it; a pipe does not: `keyhound keycheck < file`)"
        );
        stdin
            .lock()
            .take(MAX_INPUT + 1)
            .read_until(b'\n', &mut input)
            .context("cannot read the key from standard input")?;
    } else {
        stdin
            .lock()
            .take(MAX_INPUT + 1)
            .read_to_end(&mut input)
            .context("cannot read the key from standard input")?;
    }
    if input.len() as u64 > MAX_INPUT {
        bail!("standard input is over {MAX_INPUT} bytes: keycheck reads one key");
    }
    while matches!(input.last(), Some(b'\n' | b'\r')) {
        input.pop();
    }
    if input.is_empty() {
        bail!("no key on standard input");
    }
    if input.contains(&b'\n') || input.contains(&b'\r') {
        bail!("keycheck reads one key on one line; standard input has several lines");
    }
    Ok(input)
}

/// Checks `key` against `engine`'s rules and the entropy floor.
pub fn check(engine: &Engine, key: &[u8]) -> KeyCheck {
    let rules = matching_rules(engine, key);
    // The fixed prefix of a token rule that recognises the whole key carries no entropy.
    let measured = rules
        .iter()
        .filter(|m| m.whole_key)
        .filter_map(|m| engine.pack().get(&m.id))
        .filter(|rule| rule.kind == RuleKind::Token)
        .map(|rule| random_part(rule, key))
        .min_by_key(|part| part.len())
        .unwrap_or(key);
    let prefix_len = key.len() - measured.len();
    let chars = String::from_utf8_lossy(measured).chars().count();
    let pool_bits = entropy::pool_bits(measured);
    let per_char = entropy::shannon(measured);
    let pool = pool(measured);
    let attainable = (pool.size as f64).log2().min((chars.max(1) as f64).log2());
    let (clears_floor, verdict) = if placeholder::is_placeholder(key) {
        (
            false,
            "looks like a placeholder or example value, not a key".to_string(),
        )
    } else if pool_bits < KEY_FLOOR_BITS {
        (
            false,
            format!("{pool_bits:.1} bits is below the {KEY_FLOOR_BITS:.0}-bit floor"),
        )
    } else if per_char < SHANNON_SHARE * attainable {
        (
            false,
            format!(
                "characters repeat too much for a random key ({per_char:.2} bits/char where {attainable:.2} is attainable)"
            ),
        )
    } else {
        (true, format!("clears the {KEY_FLOOR_BITS:.0}-bit floor"))
    };
    let scans = scans_verdict(&rules, clears_floor, pool_bits);
    KeyCheck {
        reported_by_scans: rules.iter().any(|m| m.whole_key),
        scans,
        redacted: redact(key, prefix_len),
        sha256: fingerprint(key),
        length: String::from_utf8_lossy(key).chars().count(),
        rules,
        prefix: String::from_utf8_lossy(&key[..prefix_len]).into_owned(),
        measured_length: chars,
        pool,
        shannon_bits_per_char: round(per_char, 100.0),
        shannon_bits: round(per_char * chars as f64, 10.0),
        pool_bits: round(pool_bits, 10.0),
        floor_bits: KEY_FLOOR_BITS,
        clears_floor,
        verdict,
    }
}

/// What the scans make of the key, in words: they report a value that a rule accepts whole
/// (`engine::accepts`: format, placeholder, entropy and shape filters), which is not always
/// the same judgement as the floor: a provider's format is evidence of its own, and a value
/// under a secret's name is a leak even when it is weaker than a key should be.
fn scans_verdict(rules: &[RuleMatch], clears_floor: bool, pool_bits: f64) -> String {
    let Some(rule) = rules.iter().find(|m| m.whole_key) else {
        return if clears_floor {
            "not reported: no rule recognises its format, and assigned to a \
             secret's name it still reads as a word, path or identifier"
                .to_string()
        } else {
            "not reported either".to_string()
        };
    };
    let how = if rule.context == "alone" {
        "on its own"
    } else {
        "assigned to a secret's name (API_KEY=…)"
    };
    let id = crate::escape::text(&rule.id);
    if clears_floor {
        format!("reported: rule {id} accepts it {how}")
    } else if rule.id.starts_with("generic") {
        format!(
            "still reported {how} (rule {id}): a value under a secret's name is a leak \
             whatever its strength, and at {pool_bits:.0} bits a weak one"
        )
    } else {
        format!(
            "still reported (rule {id}, {how}): its provider's format is evidence of its \
             own, whatever the floor"
        )
    }
}

/// Rules matching the key alone, then assigned to a name; one entry per rule, the best kind.
fn matching_rules(engine: &Engine, key: &[u8]) -> Vec<RuleMatch> {
    let mut assigned = b"API_KEY=".to_vec();
    assigned.extend_from_slice(key);
    assigned.push(b'\n');
    let mut found: Vec<RuleMatch> = Vec::new();
    for (context, text) in [("alone", key), ("assigned", assigned.as_slice())] {
        for m in engine.scan(text) {
            let rule = engine.rule(m.rule);
            let whole_key = m.secret == key;
            match found.iter_mut().find(|f| f.id == rule.id) {
                Some(f) => f.whole_key |= whole_key,
                None => found.push(RuleMatch {
                    id: rule.id.clone(),
                    name: rule.name.clone(),
                    severity: rule.severity,
                    context,
                    whole_key,
                }),
            }
        }
    }
    found
}

/// The pool `s` is drawn from, named by the character classes it uses.
fn pool(s: &[u8]) -> Pool {
    let size = entropy::pool_size(s);
    let has = |pred: fn(&u8) -> bool| s.iter().any(pred);
    let digits = has(u8::is_ascii_digit);
    let lower = has(u8::is_ascii_lowercase);
    let upper = has(u8::is_ascii_uppercase);
    let b64 = has(|b| matches!(b, b'+' | b'/'));
    let url = has(|b| matches!(b, b'-' | b'_'));
    let other = has(|b| !b.is_ascii_alphanumeric() && !b"+/-_=".contains(b));
    let name = match (size, digits, lower, upper, b64, url, other) {
        (10, ..) => "digits".to_string(),
        (16, ..) => "hexadecimal".to_string(),
        (62, true, true, true, false, false, false) => "base62 (digits and letters)".to_string(),
        (64, _, _, _, true, false, false) => "base64".to_string(),
        (64, _, _, _, false, true, false) => "base64url".to_string(),
        _ => {
            let parts: Vec<&str> = [
                (digits, "digits"),
                (lower, "lowercase letters"),
                (upper, "uppercase letters"),
                (b64, "`+/`"),
                (url, "`-_`"),
                (other, "other symbols"),
            ]
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, name)| *name)
            .collect();
            match parts.split_last() {
                None => "none".to_string(),
                Some((last, [])) => last.to_string(),
                Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
            }
        }
    };
    Pool { name, size }
}

/// Rounds to `1 / scale`; adding 0.0 turns a rounded -0.0 into 0.0.
fn round(x: f64, scale: f64) -> f64 {
    (x * scale).round() / scale + 0.0
}

/// The human report: one labelled line per measure.
pub fn human(c: &KeyCheck) -> String {
    let mut out = format!("key        {} (sha256 {})\n", c.redacted, c.sha256);
    if c.prefix.is_empty() {
        out.push_str(&format!("length     {} characters\n", c.length));
    } else {
        out.push_str(&format!(
            "length     {} characters: prefix {} + {} measured\n",
            c.length, c.prefix, c.measured_length
        ));
    }
    if c.rules.is_empty() {
        out.push_str("rules      none match\n");
    }
    for (i, m) in c.rules.iter().enumerate() {
        let how = match (m.context, m.whole_key) {
            ("alone", true) => "matches the key on its own",
            (_, true) => "matches when assigned to a name (API_KEY=…)",
            _ => "matches part of the key",
        };
        out.push_str(&format!(
            "{}{} ({}, {}): {how}\n",
            if i == 0 { "rules      " } else { "           " },
            crate::escape::text(&m.id),
            crate::escape::text(&m.name),
            m.severity
        ));
    }
    out.push_str(&format!(
        "pool       {}: {} symbols\n",
        c.pool.name, c.pool.size
    ));
    out.push_str(&format!(
        "shannon    {:.2} bits/char, {:.1} bits in all\n",
        c.shannon_bits_per_char, c.shannon_bits
    ));
    out.push_str(&format!(
        "pool bits  {:.1} bits ({} × log2 {})\n",
        c.pool_bits, c.measured_length, c.pool.size
    ));
    out.push_str(&format!(
        "verdict    {}{}\n",
        if c.clears_floor {
            ""
        } else {
            "does not clear the floor: "
        },
        c.verdict
    ));
    out.push_str(&format!("scans      {}\n", c.scans));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pools_are_named() {
        assert_eq!(pool(b"0123456789").name, "digits");
        assert_eq!(pool(b"deadbeef").name, "hexadecimal");
        assert_eq!(pool(b"aZ09").name, "base62 (digits and letters)");
        assert_eq!(pool(b"aZ0+").name, "base64");
        assert_eq!(pool(b"aZ0_").name, "base64url");
        assert_eq!(pool(b"abc123xyz").name, "digits and lowercase letters");
        assert_eq!(pool(b"ab!").name, "lowercase letters and other symbols");
    }
}
