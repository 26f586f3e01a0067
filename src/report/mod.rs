//! Reports turn findings into text for people or machines. A report never recomputes anything:
//! it formats what the scan produced.

pub mod human;
pub mod json;

use std::io::{self, Write};
use std::time::Duration;

use crate::finding::Finding;
use crate::scan::Summary;

/// Everything a report needs.
pub struct ScanReport<'a> {
    pub findings: &'a [Finding],
    pub summary: Summary,
    pub elapsed: Duration,
    /// What was scanned, in words (`directory corpus`, `standard input`).
    pub target: &'a str,
}

/// Machine and human formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Human { color: bool },
    Json,
    Jsonl,
}

/// Writes `report` in `format` to `out`.
pub fn write(format: Format, report: &ScanReport, out: &mut dyn Write) -> io::Result<()> {
    match format {
        Format::Human { color } => human::write(report, color, out),
        Format::Json => json::write(report, out),
        Format::Jsonl => json::write_lines(report, out),
    }
}
