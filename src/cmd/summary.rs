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
    let mut b = SummaryBuilder::default();
    let found = trailgraph_log::discover::discover(&a.input.inputs)?;
    let (s, code) = match super::one_case(&found)? {
        // A case is read a row group at a time, without attributing its events (the summary
        // needs no attribution).
        Some((dir, manifest)) => {
            let (stats, problems) = (manifest.stats(), manifest.problems());
            let code = a.input.report_problems(&problems);
            let events = trailgraph_store::CaseEvents::open(&dir, &manifest, SUMMARY_COLUMNS)?;
            for g in events.row_groups() {
                b.add(&events.slice(g)?)?;
            }
            let issuances = trailgraph_store::load_case_issuances(&dir, &manifest)?;
            (b.finish(&issuances, &stats, &problems)?, code)
        }
        None => {
            let opened = a.input.scan_found(found, &[])?;
            if opened.code == ExitCode::Fatal {
                return Ok(opened.code);
            }
            opened
                .scan
                .for_each(SUMMARY_COLUMNS, |sl| b.add(sl.events))?;
            let s = b.finish(&opened.scan.issuances, &opened.stats, &opened.problems)?;
            (s, opened.code)
        }
    };
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
