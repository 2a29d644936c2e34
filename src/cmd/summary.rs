//! `trailgraph summary`: what the input holds, and what is missing from it.

use super::{ExitCode, Input};
use anyhow::Result;
use std::io::Write;
use std::path::PathBuf;
use trailgraph_analysis::summary::{SummaryBuilder, SUMMARY_COLUMNS};
use trailgraph_output::render::open_output;

pub struct Settings {
    pub input: Input,
    /// JSON instead of the text table.
    pub json: bool,
    pub output: Option<PathBuf>,
}

pub fn run(a: Settings) -> Result<ExitCode> {
    let opened = a.input.scan()?;
    let code = opened.code;
    if code == ExitCode::Fatal {
        return Ok(code);
    }
    let mut b = SummaryBuilder::default();
    opened
        .scan
        .for_each(SUMMARY_COLUMNS, |sl| b.add(sl.events))?;
    let s = b.finish(&opened.scan.issuances, &opened.stats, &opened.problems)?;
    let mut out = open_output(a.output.as_deref())?;
    match a.json {
        false => trailgraph_output::text::write_summary(&s, &mut out)?,
        true => {
            serde_json::to_writer_pretty(&mut out, &s.to_json())?;
            writeln!(out)?;
        }
    }
    out.flush()?;
    Ok(code)
}
