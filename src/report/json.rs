//! JSON (one document) and JSON Lines (one finding per line) reports.

use std::io::{self, Write};

use serde::Serialize;

use super::ScanReport;
use crate::finding::Finding;
use crate::scan::Summary;

/// Version of the JSON report shape; bumped on incompatible changes.
pub const JSON_VERSION: u32 = 1;

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

const TOOL: Tool = Tool {
    name: "keyhound",
    version: env!("CARGO_PKG_VERSION"),
};

#[derive(Serialize)]
struct Document<'a> {
    version: u32,
    tool: Tool,
    findings: &'a [Finding],
    summary: Summary,
}

pub fn write(report: &ScanReport, out: &mut dyn Write) -> io::Result<()> {
    let doc = Document {
        version: JSON_VERSION,
        tool: TOOL,
        findings: report.findings,
        summary: report.summary,
    };
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}

pub fn write_lines(report: &ScanReport, out: &mut dyn Write) -> io::Result<()> {
    for finding in report.findings {
        serde_json::to_writer(&mut *out, finding)?;
        writeln!(out)?;
    }
    Ok(())
}
