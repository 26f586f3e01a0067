//! Reading the files that steer a scan — config, ignore and baseline files — safely, because
//! the scanned tree is untrusted (a fork's pull request, a fresh clone, an audited repository).
//!
//! A file keyhound finds in the tree by name must be a regular file reached without following
//! a symlink: a committed `keyhound.toml -> /proc/self/environ` must not be read, and its
//! contents must not surface in an error. Such a file is ignored with a note instead, so the
//! scan goes on under the defaults (which can only report more). Files the user named on the
//! command line are trusted to be followed through links. Every file is size-capped and opened
//! without blocking, so a FIFO or a device cannot hang a scan or exhaust its memory. Errors
//! about a file's contents quote at most a short, redacted excerpt (`redact_quotes`).

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use thiserror::Error;

/// Largest config, ignore or baseline file read (a baseline of 20,000 findings fits).
pub const MAX_POLICY_FILE: u64 = 4 << 20;

/// Where a file's name came from, which decides whether a symlink may lead to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Found by name in the scanned tree: untrusted, never followed through a symlink.
    Tree,
    /// Named by the user on the command line: followed as given.
    CommandLine,
}

#[derive(Debug, Error)]
pub enum PolicyFileError {
    // Not a `source`: the message already ends with the OS error, and an error chain would
    // print it twice.
    #[error("cannot read {path}: {error}")]
    Read { path: PathBuf, error: io::Error },
    #[error("{path} is larger than {MAX_POLICY_FILE} bytes")]
    TooLarge { path: PathBuf },
    #[error("{path} is not a regular file")]
    NotRegular { path: PathBuf },
    #[error("{path} is not UTF-8 text")]
    NotText { path: PathBuf },
}

/// What was found at a path.
#[derive(Debug)]
pub enum PolicyText {
    /// The file's text.
    Text(String),
    /// Nothing is there.
    Absent,
    /// Something is there that a tree file may not be (a symlink, a FIFO, a device): the note
    /// says what, and the caller goes on without it.
    Refused(String),
}

/// Reads the policy file at `path`. For `Origin::Tree`, a symlink or a non-regular file is
/// `Refused`; for `Origin::CommandLine` a missing or non-regular file is an error.
pub fn read(path: &Path, origin: Origin) -> Result<PolicyText, PolicyFileError> {
    let read_error = |error: io::Error| PolicyFileError::Read {
        path: path.to_path_buf(),
        error,
    };
    if origin == Origin::Tree {
        match path.symlink_metadata() {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(PolicyText::Absent),
            Err(e) => return Err(read_error(e)),
            Ok(meta) if meta.file_type().is_symlink() => {
                return Ok(PolicyText::Refused(format!(
                    "{} is a symbolic link: config and ignore files in the scanned tree are read \
                     only as regular files, so it is ignored (replace the link with the file, or \
                     name a config with --config FILE)",
                    path.display()
                )))
            }
            Ok(_) => {}
        }
    }
    let file = open(path, origin).map_err(read_error)?;
    let meta = file.metadata().map_err(read_error)?;
    if !meta.is_file() {
        return match origin {
            Origin::Tree => Ok(PolicyText::Refused(format!(
                "{} is not a regular file, so it is ignored",
                path.display()
            ))),
            Origin::CommandLine => Err(PolicyFileError::NotRegular {
                path: path.to_path_buf(),
            }),
        };
    }
    let mut bytes = Vec::with_capacity(meta.len().min(MAX_POLICY_FILE) as usize);
    file.take(MAX_POLICY_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > MAX_POLICY_FILE {
        return Err(PolicyFileError::TooLarge {
            path: path.to_path_buf(),
        });
    }
    String::from_utf8(bytes)
        .map(PolicyText::Text)
        .map_err(|_| PolicyFileError::NotText {
            path: path.to_path_buf(),
        })
}

/// Reads a file the user named: its text, or an error (missing, not a regular file, too
/// large, not text).
pub fn read_named(path: &Path) -> Result<String, PolicyFileError> {
    match read(path, Origin::CommandLine)? {
        PolicyText::Text(text) => Ok(text),
        // A named file is never refused: `read` turns what a tree file would be refused for
        // into errors, and a missing one is a `Read` error from the open.
        PolicyText::Absent | PolicyText::Refused(_) => Err(PolicyFileError::NotRegular {
            path: path.to_path_buf(),
        }),
    }
}

/// Opens without blocking (a FIFO would otherwise wait for a writer forever) and, for a tree
/// file, without following a symlink swapped in after the check above.
fn open(path: &Path, origin: Origin) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let nofollow = match origin {
            Origin::Tree => libc::O_NOFOLLOW,
            Origin::CommandLine => 0,
        };
        options.custom_flags(libc::O_NONBLOCK | nofollow);
    }
    #[cfg(not(unix))]
    let _ = origin;
    options.open(path)
}

/// Longest quoted text an error keeps whole, when it reads as a name (letters, `_`, `-`,
/// `.`): field and rule names stay readable, values do not.
const NAME_KEPT: usize = 40;
/// Characters of any other quoted text an error keeps before `…`.
const EXCERPT_KEPT: usize = 4;

/// Redacts what a parser's message quotes from the file (`` `…` ``, `"…"`, `'…'`): a name is
/// kept, anything else is cut to a few characters and `…`, so a config file that is really a
/// credentials file cannot be printed through its parse errors.
pub fn redact_quotes(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(open) = rest.find(['`', '"', '\'']) {
        let quote = rest[open..].chars().next().unwrap_or('"');
        let inner_start = open + 1;
        let Some(len) = closing_quote(&rest[inner_start..], quote) else {
            break;
        };
        out.push_str(&rest[..inner_start]);
        out.push_str(&excerpt(&rest[inner_start..inner_start + len]));
        out.push(quote);
        rest = &rest[inner_start + len + 1..];
    }
    // An unclosed quote: what follows it is quoted text too.
    match rest.find(['`', '"', '\'']) {
        Some(open) => {
            out.push_str(&rest[..=open]);
            out.push_str(&excerpt(&rest[open + 1..]));
        }
        None => out.push_str(rest),
    }
    out
}

/// Byte length of quoted text up to its closing `quote`, skipping backslash escapes.
fn closing_quote(text: &str, quote: char) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quote != '`' => escaped = true,
            c if c == quote => return Some(i),
            _ => {}
        }
    }
    None
}

/// `text` itself when it reads as a short name, else its first characters and `…`.
pub fn excerpt(text: &str) -> String {
    let is_name = text.chars().count() <= NAME_KEPT
        && text
            .chars()
            .all(|c| c.is_ascii_alphabetic() || matches!(c, '_' | '-' | '.' | ' ' | ','));
    if is_name || text.chars().count() <= EXCERPT_KEPT {
        text.to_string()
    } else {
        let kept: String = text.chars().take(EXCERPT_KEPT).collect();
        format!("{kept}…")
    }
}

/// A parse error at byte `offset` of `text` as `line L, column C: message`, with what the
/// message quotes redacted: parsers' own renderings print the offending line of the file.
pub fn located_error(text: &str, offset: Option<usize>, message: &str) -> String {
    let message = redact_quotes(message.trim());
    match offset {
        Some(offset) => {
            // An error at the end of the text belongs to its last line, not the empty one
            // after the final newline.
            let offset = if offset >= text.len() {
                text.len().saturating_sub(1)
            } else {
                offset
            };
            let before = &text.as_bytes()[..offset];
            let line = 1 + memchr::memchr_iter(b'\n', before).count();
            let line_start = memchr::memrchr(b'\n', before).map_or(0, |i| i + 1);
            let column = 1 + String::from_utf8_lossy(&before[line_start..])
                .chars()
                .count();
            format!("line {line}, column {column}: {message}")
        }
        None => message,
    }
}

/// A TOML parse error in `text`, located and redacted (see `located_error`).
pub fn toml_error(text: &str, error: &toml::de::Error) -> String {
    located_error(text, error.span().map(|s| s.start), error.message())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_values_are_cut_and_names_kept() {
        let message = r#"invalid type: string "Passw0rd-from-a-file", expected a boolean"#;
        assert_eq!(
            redact_quotes(message),
            r#"invalid type: string "Pass…", expected a boolean"#
        );
        let message = "unknown field `use_defalt`, expected `use_default` or `disable`";
        assert_eq!(redact_quotes(message), message);
        assert_eq!(redact_quotes("unclosed `hunter2hunter2"), "unclosed `hunt…");
        assert_eq!(
            redact_quotes(r#"escaped "a\"b secret-ish 123" end"#),
            r#"escaped "a\"b…" end"#
        );
    }

    #[test]
    fn toml_errors_do_not_quote_the_offending_line() {
        let text = "DB_PASSWORD=not-a-real-password-0\x00OTHER=1";
        let err = toml::from_str::<toml::Table>(text).unwrap_err();
        assert!(err.to_string().contains("not-a-real"), "toml quotes it");
        let shown = toml_error(text, &err);
        assert!(!shown.contains("not-a-real"), "{shown}");
        assert!(shown.starts_with("line 1, column "), "{shown}");
    }

    #[cfg(unix)]
    #[test]
    fn a_tree_file_behind_a_symlink_or_a_fifo_is_refused_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("credentials");
        std::fs::write(&target, "secret").unwrap();
        let link = dir.path().join("keyhound.toml");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(matches!(
            read(&link, Origin::Tree).unwrap(),
            PolicyText::Refused(_)
        ));
        assert!(matches!(
            read(&link, Origin::CommandLine).unwrap(),
            PolicyText::Text(t) if t == "secret"
        ));
        let fifo = dir.path().join(".keyhoundignore");
        let c_path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
        assert!(matches!(
            read(&fifo, Origin::Tree).unwrap(),
            PolicyText::Refused(_)
        ));
        assert!(read_named(&fifo).is_err());
        assert!(matches!(
            read(&dir.path().join("absent"), Origin::Tree).unwrap(),
            PolicyText::Absent
        ));
    }

    #[test]
    fn an_endless_file_is_cut_at_the_cap() {
        if Path::new("/dev/zero").exists() {
            assert!(read_named(Path::new("/dev/zero")).is_err());
        }
    }
}
