//! The one way keyhound writes to stderr. Notes, problems and errors name files, refs and
//! config values from the scanned tree, so every line goes through [`escape::text`]: no
//! terminal escape, and no line the GitHub Actions runner would read as a workflow command.
//! A message may span lines (an error with its cause); each is escaped on its own.

use std::fmt::Display;

use crate::escape;

/// `keyhound: MESSAGE`.
pub fn say(message: impl Display) {
    eprintln!("{}", lines("keyhound: ", &message.to_string()));
}

/// `keyhound: note: MESSAGE`.
pub fn note(message: impl Display) {
    say(format_args!("note: {message}"));
}

/// `keyhound: error: MESSAGE`.
pub fn error(message: impl Display) {
    say(format_args!("error: {message}"));
}

/// A line as it is: the closing summary line, which carries its own `keyhound:` prefix.
pub fn line(message: impl Display) {
    eprintln!("{}", lines("", &message.to_string()));
}

/// `message` escaped line by line, the first line after `prefix`.
fn lines(prefix: &str, message: &str) -> String {
    let escaped: Vec<_> = message.lines().map(escape::text).collect();
    format!("{prefix}{}", escaped.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_is_escaped() {
        let text = lines("keyhound: ", "a.env\x1b[2J: bad\n::add-mask::x\n  ::y");
        assert_eq!(
            text,
            "keyhound: a.env\\x1b[2J: bad\n\\x3a:add-mask::x\n  \\x3a:y"
        );
    }
}
