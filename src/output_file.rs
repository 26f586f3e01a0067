//! Report files (`--output`, `--sarif-file`, `keycheck -o`), written so that the scanned tree
//! cannot redirect them. A checkout may commit `keyhound.sarif -> ~/.bashrc`: opening that path
//! for writing would follow the link and overwrite whatever it names with text the attacker
//! chose (the report quotes their file names). So a symlink or any non-regular file at the path
//! is refused, and the report is written to a fresh private file created beside it (exclusive
//! create, never through a link) and renamed over the path once complete. A rename replaces the
//! directory entry itself, so a link swapped in after the check is replaced, never followed; and
//! readers never see a half-written report.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use thiserror::Error;

#[derive(Debug, Error)]
pub enum OutputError {
    #[error("refusing to write {path}: it is a symbolic link (a report never follows one)")]
    Symlink { path: PathBuf },
    #[error("refusing to write {path}: it is not a regular file")]
    NotRegular { path: PathBuf },
    #[error("cannot write {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

/// A report being written: a private temporary file beside `target`, renamed over it by
/// `commit`; removed if dropped uncommitted (an error or an early return).
#[derive(Debug)]
pub struct OutputFile {
    file: Option<File>,
    temp: PathBuf,
    target: PathBuf,
}

impl OutputFile {
    /// Checks `target` and creates the temporary file beside it, readable by its owner only
    /// (reports name secrets).
    pub fn create(target: &Path) -> Result<OutputFile, OutputError> {
        check_target(target)?;
        let temp = temp_path(target);
        let file = create_new_private(&temp).map_err(|source| OutputError::Io {
            path: target.to_path_buf(),
            source,
        })?;
        Ok(OutputFile {
            file: Some(file),
            temp,
            target: target.to_path_buf(),
        })
    }

    /// Flushes the report to disk and moves it to its path.
    pub fn commit(mut self) -> Result<(), OutputError> {
        let io_error = |source| OutputError::Io {
            path: self.target.clone(),
            source,
        };
        if let Some(file) = self.file.take() {
            file.sync_all().map_err(io_error)?;
        }
        fs::rename(&self.temp, &self.target).map_err(io_error)
    }

    fn file(&mut self) -> io::Result<&mut File> {
        self.file
            .as_mut()
            .ok_or_else(|| io::Error::other("report file already committed"))
    }
}

impl Write for OutputFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file()?.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file()?.flush()
    }
}

impl Drop for OutputFile {
    fn drop(&mut self) {
        if self.file.is_some() {
            let _ = fs::remove_file(&self.temp);
        }
    }
}

/// Refuses a report path that holds a symlink or anything but a regular file. Checked before a
/// scan starts, so a long audit does not fail at its end; `OutputFile::create` checks again.
pub fn check_target(target: &Path) -> Result<(), OutputError> {
    match fs::symlink_metadata(target) {
        Ok(meta) if meta.file_type().is_symlink() => Err(OutputError::Symlink {
            path: target.to_path_buf(),
        }),
        Ok(meta) if !meta.is_file() => Err(OutputError::NotRegular {
            path: target.to_path_buf(),
        }),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(OutputError::Io {
            path: target.to_path_buf(),
            source,
        }),
    }
}

/// Writes a whole report to `target` through `write`: created privately beside it, renamed over
/// it only once complete.
pub fn write_report(
    target: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), OutputError> {
    let mut out = io::BufWriter::new(OutputFile::create(target)?);
    let io_error = |source| OutputError::Io {
        path: target.to_path_buf(),
        source,
    };
    write(&mut out).map_err(io_error)?;
    out.into_inner()
        .map_err(|e| io_error(e.into_error()))?
        .commit()
}

/// A name beside `target` no other run uses: `.NAME.keyhound-PID-N.tmp`.
fn temp_path(target: &Path) -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let name = target
        .file_name()
        .map_or_else(|| "report".into(), |n| n.to_string_lossy());
    let unique = format!(
        ".{name}.keyhound-{}-{}.tmp",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    target.with_file_name(unique)
}

/// Creates `path`, failing if anything (a link included) is already there; mode 0600 on Unix.
fn create_new_private(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600).custom_flags(libc::O_NOFOLLOW);
    }
    options.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_replaces_the_file_and_leaves_no_temporary_behind() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("report.json");
        fs::write(&target, "old").unwrap();
        let mut out = OutputFile::create(&target).unwrap();
        out.write_all(b"new").unwrap();
        out.commit().unwrap();
        assert_eq!(fs::read_to_string(&target).unwrap(), "new");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&target).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn an_uncommitted_report_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("report.json");
        let mut out = OutputFile::create(&target).unwrap();
        out.write_all(b"partial").unwrap();
        drop(out);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_or_directory_at_the_path_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("bashrc");
        fs::write(&victim, "mine").unwrap();
        let link = dir.path().join("keyhound.sarif");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        let err = OutputFile::create(&link).unwrap_err();
        assert!(matches!(err, OutputError::Symlink { .. }), "{err}");
        assert_eq!(fs::read_to_string(&victim).unwrap(), "mine");
        let err = OutputFile::create(dir.path()).unwrap_err();
        assert!(matches!(err, OutputError::NotRegular { .. }), "{err}");
    }
}
