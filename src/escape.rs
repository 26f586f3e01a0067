//! Escaping of untrusted text, one function per output kind. File names, ref names, commit
//! authors, rule fields from a repository's config and scanned content all come from whoever
//! wrote the scanned tree; on their way out they must not drive a terminal (ANSI/OSC escapes,
//! bidi overrides), become a GitHub workflow command (a line whose first non-blank characters
//! are `::`, or holding the legacy `##[`), a Markdown link or HTML tag, or a SARIF URI that
//! climbs out of the source root.
//!
//! The visible escapes follow one convention, so a name stays identifiable and two names never
//! look the same: `\xHH` for a byte (an ASCII control, or a byte that is not UTF-8), `\u{HHHH}`
//! for a Unicode control or bidi character, and `\x3a` for the first `:` of a `::` that starts a
//! word. Names read from disk or git go through [`name_from_bytes`], which also doubles a
//! backslash that precedes `x`, `u` or `\`, so a literal `\xFF` in a name cannot pass for the
//! byte 0xFF. The functions here never touch backslashes again, so escaping twice changes
//! nothing.

use std::borrow::Cow;
use std::path::Path;

/// A file name as text, losslessly: invalid UTF-8 bytes become `\xHH`, and a backslash before
/// `x`, `u` or `\` is doubled, so different names always give different text. Controls are left
/// for the output escapes ([`text`]), which make them visible.
pub fn name_from_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    push_name(&mut out, bytes);
    out
}

/// Appends a name as [`name_from_bytes`] writes it; a history walk builds every path this way.
pub fn push_name(out: &mut String, bytes: &[u8]) {
    // The common case, a UTF-8 name without a backslash, is copied as it is.
    if let Ok(text) = std::str::from_utf8(bytes) {
        if !text.contains('\\') {
            out.push_str(text);
            return;
        }
    }
    for chunk in bytes.utf8_chunks() {
        let valid = chunk.valid();
        for (at, c) in valid.char_indices() {
            out.push(c);
            let next = valid[at + c.len_utf8()..].chars().next();
            let before_escape = match next {
                Some(n) => matches!(n, 'x' | 'u' | '\\'),
                // The next byte is invalid, so it will be written as `\xHH`.
                None => !chunk.invalid().is_empty(),
            };
            if c == '\\' && before_escape {
                out.push('\\');
            }
        }
        for byte in chunk.invalid() {
            out.push_str(&format!("\\x{byte:02X}"));
        }
    }
}

/// The bytes of a name [`name_from_bytes`] wrote: `\\` and `\xHH` decoded, the rest as it
/// is. Formats that can carry the real name (a SARIF URI, an annotation's `file=`) use it.
pub fn name_bytes(name: &str) -> Cow<'_, [u8]> {
    if !name.contains('\\') {
        return Cow::Borrowed(name.as_bytes());
    }
    let bytes = name.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    let hex = |i: usize| bytes.get(i).and_then(|&b| (b as char).to_digit(16));
    while at < bytes.len() {
        match (bytes[at], bytes.get(at + 1), hex(at + 2), hex(at + 3)) {
            (b'\\', Some(b'\\'), _, _) => {
                out.push(b'\\');
                at += 2;
            }
            (b'\\', Some(b'x'), Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                at += 4;
            }
            (b, ..) => {
                out.push(b);
                at += 1;
            }
        }
    }
    Cow::Owned(out)
}

/// The name [`name_from_bytes`] wrote, as the original text when its bytes are UTF-8 (`\\x`
/// back to `\x`), else as written.
pub fn name_original(name: &str) -> Cow<'_, str> {
    match name_bytes(name) {
        Cow::Borrowed(_) => Cow::Borrowed(name),
        Cow::Owned(bytes) => match String::from_utf8(bytes) {
            Ok(text) => Cow::Owned(text),
            Err(_) => Cow::Borrowed(name),
        },
    }
}

/// A path as text, losslessly on Unix (see [`name_from_bytes`]). Elsewhere paths are UTF-16
/// and one that is not valid Unicode is shown with U+FFFD.
pub fn name_from_path(path: &Path) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        name_from_bytes(path.as_os_str().as_bytes())
    }
    #[cfg(not(unix))]
    {
        path.to_string_lossy().into_owned()
    }
}

/// Terminal and plain text (stderr lines, the human report, `rules list`): every control
/// character (C0, DEL, C1, line breaks and tabs too) and every bidi control becomes a visible
/// escape, and a `::` or `##[` that could start a workflow command is broken. The result is one
/// line.
pub fn text(text: &str) -> Cow<'_, str> {
    if text.chars().all(|c| !needs_escape(c)) && !has_command_marker(text) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if needs_escape(c) {
            push_visible(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(break_command_markers(&out))
}

/// Scanned content shown for context (the human report's redacted line): it only has to be
/// recognisable, not exact, so tabs become spaces and other controls and bidi characters
/// U+FFFD; workflow-command markers are broken as in [`text`].
pub fn content(text: &str) -> String {
    let replaced: String = text
        .chars()
        .map(|c| match c {
            '\t' => ' ',
            c if needs_escape(c) => '\u{FFFD}',
            c => c,
        })
        .collect();
    break_command_markers(&replaced)
}

/// A workflow command's message (`::error …::DATA`): GitHub's own escapes for `%`, CR and LF,
/// and every other control or bidi character percent-encoded (shown as is: GitHub decodes only
/// its own three), so the runner never prints an escape sequence from it; the `[` of a legacy
/// `##[` command too.
pub fn workflow_data(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c == '%' || needs_escape(c) {
            let mut buf = [0; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    out.replace("##[", "##%5B")
}

/// A workflow command property value (`file=VALUE`): the message escapes plus `:` and `,`,
/// which would otherwise end the value.
pub fn workflow_property(text: &str) -> String {
    workflow_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// Which links Markdown text may keep live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Links<'a> {
    /// Text keyhound wrote or embedded (its own rule pack): bare URLs and code spans render.
    Any,
    /// Text from a custom rule: only `https://` URLs on this host stay live; others are shown
    /// as code. `None` keeps no URL live.
    OnlyTo(Option<&'a str>),
}

/// Text made inert in Markdown (job summary, SARIF `help.markdown`). Outside code spans, HTML
/// and entities are escaped (a name must not become a tag), backslashes, brackets and table
/// pipes too (no `[link](…)`, `![image](…)` or cell break), and bare URLs, which GitHub links by
/// itself, become code spans unless `links` allows them. Code spans (`` `…` ``), inside which
/// nothing renders, are kept. Line breaks and tabs are flattened, other controls escaped as in
/// [`text`].
pub fn markdown(text: &str, links: Links) -> String {
    let flat: String = text
        .chars()
        .map(|c| {
            if matches!(c, '\r' | '\n' | '\t') {
                ' '
            } else {
                c
            }
        })
        .collect();
    let plain = self::text(&flat);
    let mut out = String::with_capacity(plain.len() + 16);
    let mut rest: &str = &plain;
    while !rest.is_empty() {
        let prose = rest.find('`').unwrap_or(rest.len());
        markdown_prose(&rest[..prose], links, &mut out);
        rest = &rest[prose..];
        let run = rest.bytes().take_while(|&b| b == b'`').count();
        if run == 0 {
            break;
        }
        match closing_backticks(&rest[run..], run) {
            Some(end) => {
                // A code span, as CommonMark will read it: kept, but for table pipes.
                out.push_str(&rest[..run + end].replace('|', "\\|"));
                rest = &rest[run + end..];
            }
            None => {
                out.push_str(&"\\`".repeat(run));
                rest = &rest[run..];
            }
        }
    }
    out
}

/// Markdown outside code spans, escaped word by word.
fn markdown_prose(prose: &str, links: Links, out: &mut String) {
    for (i, word) in prose.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        if looks_like_link(word) && !link_allowed(word, links) {
            out.push_str(&markdown_code(word));
            continue;
        }
        for c in word.chars() {
            match c {
                '&' => out.push_str("&amp;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '\\' | '[' | ']' | '|' => {
                    out.push('\\');
                    out.push(c);
                }
                _ => out.push(c),
            }
        }
    }
}

/// The end (byte offset in `text`) of the first run of exactly `n` backticks, which closes a
/// code span opened by a run of `n`.
fn closing_backticks(text: &str, n: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] != b'`' {
            at += 1;
            continue;
        }
        let run = bytes[at..].iter().take_while(|&&b| b == b'`').count();
        if run == n {
            return Some(at + run);
        }
        at += run;
    }
    None
}

/// A Markdown code span for `text` (nothing inside it renders), with a fence longer than any
/// backtick run inside it, and pipes escaped (GitHub applies the table-pipe escape inside
/// code spans too).
pub fn markdown_code(text: &str) -> String {
    let flat = self::text(text);
    let longest = flat.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if flat.starts_with('`') || flat.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{}{pad}{fence}", flat.replace('|', "\\|"))
}

/// SARIF plain text (a result's `message.text`; a custom rule's `help.text` and descriptions):
/// SARIF reads `[text](target)` in a message as a link, so brackets get the backslash escape
/// the format defines.
pub fn sarif_text(text: &str) -> String {
    text.replace('[', "\\[").replace(']', "\\]")
}

/// Serialized JSON (a report, one JSON Lines record) made safe to print: DEL, C1 and bidi
/// characters become `\u` escapes and `##[` is broken, which leaves the decoded values the same.
/// Those characters can only occur inside JSON strings, where `\u` escapes are valid.
pub fn json(serialized: &str) -> Cow<'_, str> {
    if serialized.chars().all(|c| !needs_json_escape(c)) && !serialized.contains("##[") {
        return Cow::Borrowed(serialized);
    }
    let mut out = String::with_capacity(serialized.len() + 16);
    for c in serialized.chars() {
        if needs_json_escape(c) {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out.replace("##[", "##\\u005b"))
}

/// What [`json`] escapes: serde_json already escapes C0 controls inside strings, so a raw one
/// is the document's own layout (line breaks, indentation).
fn needs_json_escape(c: char) -> bool {
    needs_escape(c) && !matches!(c, '\n' | '\r' | '\t')
}

/// Characters that must never reach an output raw: controls (C0, DEL, C1) and the bidi
/// embeddings, overrides and isolates that reorder what a reader sees (Trojan Source), plus
/// the line and paragraph separators that some viewers break lines at.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200E}' | '\u{200F}' | '\u{2028}' | '\u{2029}' | '\u{202A}'
                ..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

/// `\xHH` for an ASCII control, `\u{HHHH}` for the rest.
fn push_visible(out: &mut String, c: char) {
    if c.is_ascii() {
        out.push_str(&format!("\\x{:02x}", c as u32));
    } else {
        out.push_str(&format!("\\u{{{:04x}}}", c as u32));
    }
}

fn has_command_marker(text: &str) -> bool {
    text.contains("::") || text.contains("##[")
}

/// Breaks the markers the Actions runner reads as a command: `::` where a line could start
/// with it (at the start, or after whitespace, which the runner trims and a word wrap may
/// break at), and the legacy `##[` anywhere in a line.
fn break_command_markers(text: &str) -> String {
    if !has_command_marker(text) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut word_start = true;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if word_start && rest.starts_with("::") {
            out.push_str("\\x3a");
        } else if rest.starts_with("##[") {
            out.push_str("##\\x5b");
            rest = &rest[3..];
            word_start = false;
            continue;
        } else {
            out.push(c);
        }
        word_start = c.is_whitespace();
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// A word GitHub's Markdown could turn into a link: a URL, a `www.` host or an e-mail address.
fn looks_like_link(word: &str) -> bool {
    let lower = word.to_ascii_lowercase();
    lower.contains("://") || lower.contains("www.") || lower.contains('@')
}

/// Whether `word` is a plain `https://` URL on the host `links` allows.
fn link_allowed(word: &str, links: Links) -> bool {
    let host = match links {
        Links::Any => return true,
        Links::OnlyTo(None) => return false,
        Links::OnlyTo(Some(host)) => host,
    };
    let Some(rest) = word.strip_prefix("https://") else {
        return false;
    };
    let end = rest.find('/').unwrap_or(rest.len());
    rest[..end].eq_ignore_ascii_case(host)
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~/?#=&%+:;,!*'$".contains(&b))
}

/// The host of an `https://` URL with a plain host name (letters, digits, `-`, `.`), the only
/// host a custom rule's text may link to.
pub fn https_host(url: &str) -> Option<&str> {
    let rest = url.trim().strip_prefix("https://")?;
    let host = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    (!host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.'))
    .then_some(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_bytes_are_lossless() {
        assert_eq!(name_from_bytes(b"a\xffb.env"), "a\\xFFb.env");
        assert_eq!(name_from_bytes(b"a\\xFFb.env"), "a\\\\xFFb.env");
        assert_eq!(name_from_bytes(b"dir\\sub"), "dir\\sub");
        assert_eq!(name_from_bytes(b"x\\\xff"), "x\\\\\\xFF");
        assert_ne!(name_from_bytes(b"\\\xff"), name_from_bytes(b"\\xFF"));
        assert_eq!(name_from_bytes("é.env".as_bytes()), "é.env");
        for raw in [
            &b"a\xffb"[..],
            b"a\\xFF",
            b"x\\\xff",
            b"\\\\x",
            b"\\u{41}\\",
            br"..\..\x.env",
        ] {
            assert_eq!(&*name_bytes(&name_from_bytes(raw)), raw, "{raw:?}");
        }
    }

    #[test]
    fn text_makes_controls_visible_and_breaks_commands() {
        assert_eq!(text("plain/name.env"), "plain/name.env");
        assert_eq!(text("a\x1b]52;c;eA==\x07b"), "a\\x1b]52;c;eA==\\x07b");
        assert_eq!(text("x\n::stop-commands::t"), "x\\x0a::stop-commands::t");
        assert_eq!(text("::add-mask::x"), "\\x3a:add-mask::x");
        assert_eq!(text("a ::b"), "a \\x3a:b");
        assert_eq!(text("rule::id"), "rule::id");
        assert_eq!(text("a##[add-mask]b"), "a##\\x5badd-mask]b");
        assert_eq!(text("\u{9b}2J \u{202e}cba"), "\\u{009b}2J \\u{202e}cba");
        let once = text("::x\x1b");
        assert_eq!(text(&once), once, "escaping twice changes nothing");
    }

    #[test]
    fn content_stays_recognisable() {
        assert_eq!(content("K=\x1b[2J\tsk_…"), "K=\u{FFFD}[2J sk_…");
        assert_eq!(content("::set-output x"), "\\x3a:set-output x");
    }

    #[test]
    fn workflow_escapes_follow_githubs_rules_and_hide_controls() {
        assert_eq!(workflow_data("50% a\r\nb"), "50%25 a%0D%0Ab");
        assert_eq!(workflow_property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
        assert_eq!(workflow_data("a:b,c"), "a:b,c");
        assert_eq!(workflow_property("\x1b[2J\u{9b}"), "%1B[2J%C2%9B");
        assert_eq!(workflow_data("a##[add-mask]b"), "a##%5Badd-mask]b");
    }

    #[test]
    fn markdown_is_inert() {
        let md = markdown(
            "<img src=x> a|b [click](https://evil.example) \\",
            Links::Any,
        );
        assert_eq!(
            md,
            "&lt;img src=x&gt; a\\|b \\[click\\](https://evil.example) \\\\"
        );
        assert_eq!(
            markdown("run `vault revoke <token>` or <b>", Links::OnlyTo(None)),
            "run `vault revoke <token>` or &lt;b&gt;"
        );
        assert_eq!(markdown("a ` b", Links::Any), "a \\` b");
        let custom = markdown(
            "see https://evil.example/x and https://keys.example/rotate",
            Links::OnlyTo(Some("keys.example")),
        );
        assert_eq!(
            custom,
            "see `https://evil.example/x` and https://keys.example/rotate"
        );
        assert_eq!(
            markdown(
                "https://keys.example@evil.example",
                Links::OnlyTo(Some("keys.example"))
            ),
            "`https://keys.example@evil.example`"
        );
        assert_eq!(
            markdown("www.evil.example", Links::OnlyTo(None)),
            "`www.evil.example`"
        );
        assert_eq!(markdown_code("a`b"), "``a`b``");
        assert_eq!(markdown_code("`x"), "`` `x ``");
        assert_eq!(markdown_code("p|q\n"), "`p\\|q\\x0a`");
    }

    #[test]
    fn json_keeps_values_and_hides_controls() {
        let raw = serde_json::to_string("a\u{9b}b\u{202e}##[x]\x1b").unwrap();
        let safe = json(&raw);
        assert!(!safe.contains('\u{9b}') && !safe.contains("##["));
        let back: String = serde_json::from_str(&safe).unwrap();
        assert_eq!(back, "a\u{9b}b\u{202e}##[x]\x1b");
    }

    #[test]
    fn sarif_text_has_no_links() {
        assert_eq!(sarif_text("[x](https://e)"), "\\[x\\](https://e)");
    }

    #[test]
    fn https_hosts() {
        assert_eq!(https_host("https://Keys.example/x"), Some("Keys.example"));
        assert_eq!(https_host("http://keys.example/x"), None);
        assert_eq!(https_host("https://a@b.example/"), None);
    }
}
