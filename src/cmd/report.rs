//! `trailgraph report`: the HTML and Markdown report, with its CSV and JSON tables.

use super::{ExitCode, Input};
use anyhow::Result;
use std::path::PathBuf;

pub struct Settings {
    pub input: Input,
    /// The directory to write into.
    pub output: PathBuf,
}

pub fn run(a: Settings) -> Result<ExitCode> {
    let opened = a.input.scan()?;
    let code = opened.code;
    if code == ExitCode::Fatal {
        return Ok(code);
    }
    let findings = trailgraph_analysis::anomalies::detect(
        &opened.scan,
        &trailgraph_analysis::anomalies::load_config(None)?,
    )?;
    trailgraph_output::report::write_report(
        &opened.scan,
        &opened.stats,
        &opened.problems,
        findings,
        &a.input.inputs,
        &a.output,
    )?;
    if !a.input.quiet {
        eprintln!(
            "trailgraph: report written to {} (report.html, report.md and tables)",
            a.output.display()
        );
    }
    Ok(code)
}
