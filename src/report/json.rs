//! JSON (one document) and JSON Lines (one finding per line) reports. serde_json escapes C0
//! controls; `escape::json` does the rest (DEL, C1, bidi, `##[`), so no name from the scanned
//! tree can drive a terminal or the Actions runner, and every value still decodes unchanged.

use std::io::{self, Write};

use serde::Serialize;

use super::ScanReport;
use crate::escape;
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
    let text = serde_json::to_string_pretty(&doc)?;
    writeln!(out, "{}", escape::json(&text))
}

pub fn write_lines(report: &ScanReport, out: &mut dyn Write) -> io::Result<()> {
    for finding in report.findings {
        let line = serde_json::to_string(finding)?;
        writeln!(out, "{}", escape::json(&line))?;
    }
    Ok(())
}
