//! `trailgraph attribute`: one row per event, with who is behind it. A single case, or logs
//! too large to hold, stream (`trailgraph_output::attribution`); smaller logs are attributed in
//! memory.

use super::{fits_in_memory, ExitCode, Input, Output};
use anyhow::{bail, Result};
use trailgraph_log::table::event;
use trailgraph_output::attribution::{write_streamed, StreamOut};
use trailgraph_output::render::Format;
use trailgraph_store::{self as store, Manifest};

pub struct Settings {
    pub input: Input,
    pub out: Output,
}

pub fn run(a: Settings) -> Result<ExitCode> {
    // Only the columns attribution and its output need: less to build and hold.
    let columns: Vec<&str> = trailgraph_graph::attribute::ATTRIBUTION_COLUMNS
        .iter()
        .chain(&[
            event::event_name,
            event::event_source,
            event::aws_region,
            event::source_ip,
        ])
        .copied()
        .collect();
    if a.out.format == Format::Parquet && a.out.path.is_none() {
        bail!("--format parquet needs -o FILE");
    }
    {
        if let Some(code) = attribute_streaming(&a, &columns)? {
            return Ok(code);
        }
    }
    let loaded = trailgraph_store::load::load_chunked(
        &a.input.inputs,
        &a.input.ingest_options(),
        Some(&columns),
    )?;
    let code = a.input.report_problems(&loaded.problems);
    if code == ExitCode::Fatal {
        return Ok(code);
    }
    // Rows by event time (stable: ties keep the canonical order), sorted while the events are
    // attributed (mostly serial work).
    let (at, order) = rayon::join(
        || trailgraph_graph::attribute::attribute_chunked(&loaded.frames),
        || store::event_time_order(&loaded.frames.events),
    );
    let (at, order) = (at?, order?);
    a.input.note_loops(&at.graph);
    let t0 = std::time::Instant::now();
    let df =
        trailgraph_graph::attribute::attribution_frame_ordered(&loaded.frames, &at, Some(&order))?;
    trailgraph_log::ingest::profile("attribution frame", t0);
    let t0 = std::time::Instant::now();
    a.out.emit(&df)?;
    trailgraph_log::ingest::profile("write output", t0);
    // The process ends after the command: its memory goes back to the system at once, instead
    // of millions of frees (a tenth of a second on the bench) first.
    std::mem::forget((df, at, loaded));
    Ok(code)
}

/// `attribute` of a single case (any output format), in bounded memory: the
/// events are read a slice at a time and attributed against one session graph (built from the
/// issuances, plus the few rows attribution looks up across slices: see
/// `Attributor::context`); each slice's output rows, sorted by time, are spilled as a run, and a
/// merge of the runs writes the output. Same bytes as the in-memory path. Log files over
/// `--in-memory-limit` go through a scratch case. None when INPUT is something else (the
/// in-memory path handles it).
fn attribute_streaming(a: &Settings, columns: &[&str]) -> Result<Option<ExitCode>> {
    let found = trailgraph_log::discover::discover(&a.input.inputs)?;
    // Log files go through a scratch case first: all must be read before the first event can
    // be attributed (a use may precede its issuance), and held in memory they would make
    // memory grow with events.
    let scratch: trailgraph_store::spill::ScratchDir;
    let (dir, manifest, events, code) = match (&found.cases[..], found.files.is_empty()) {
        ([dir], true) => {
            let manifest = store::read_manifest(dir)?;
            let events = store::CaseEvents::open(dir, &manifest, columns)?;
            if events.parts() == 0 {
                return Ok(None); // no events file at all: the in-memory path says what it has
            }
            let code = a.input.report_problems(&manifest.problems());
            (dir.clone(), manifest, events, code)
        }
        ([], false)
            if !fits_in_memory(
                &found.files,
                a.input.in_memory_limit,
                super::ATTRIBUTE_IN_MEMORY_LIMIT,
            ) =>
        {
            scratch = trailgraph_store::spill::ScratchDir::new()?;
            let dir = scratch.path().to_path_buf();
            let t0 = std::time::Instant::now();
            let ing = store::scratch_case(&dir, &found.files, &a.input.ingest_options(), columns)?;
            trailgraph_log::ingest::profile("read logs into a scratch case", t0);
            let code = a.input.report_problems(&ing.problems);
            let manifest = Manifest::scratch();
            let events = store::CaseEvents::open_part(&dir, columns)?;
            (dir, manifest, events, code)
        }
        _ => return Ok(None),
    };
    if code == ExitCode::Fatal {
        return Ok(Some(code));
    }
    let out = StreamOut {
        format: a.out.format,
        path: a.out.path(),
        row_group_rows: a.input.row_group_rows,
    };
    write_streamed(&dir, &manifest, events, &out, |g| a.input.note_loops(g))?;
    Ok(Some(code))
}
