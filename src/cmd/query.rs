//! `trailgraph query`: SQL over the case's tables, or one of the shipped queries.

use super::{fits_in_memory, ExitCode, Input, Output, ANALYSIS_IN_MEMORY_LIMIT};
use anyhow::{bail, Result};
use std::io::Write;
use std::path::PathBuf;
use trailgraph_analysis::query::{
    execute, execute_case, needs_attribution, referenced_tables, resolve_sql, write_list,
};
use trailgraph_graph::scan::Scan;
use trailgraph_log::ingest::Problem;
use trailgraph_store::spill::ScratchDir;
use trailgraph_store::Manifest;

pub struct Settings {
    pub input: Input,
    pub out: Output,
    /// SQL text.
    pub sql: Option<String>,
    /// A query file, or a shipped query's name.
    pub file: Option<PathBuf>,
    /// List the shipped queries and exit.
    pub list: bool,
}

pub fn run(a: Settings) -> Result<ExitCode> {
    if a.list {
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        write_list(&mut out)?;
        out.flush()?;
        return Ok(ExitCode::Clean);
    }
    let sql = resolve_sql(a.sql.as_deref(), a.file.as_deref())?;
    if sql.trim().is_empty() {
        bail!("query: the SQL is empty");
    }
    let tables = referenced_tables(&sql);
    if let Some(case) = on_disk(&a.input)? {
        let code = a.input.report_problems(&case.problems);
        if code == ExitCode::Fatal {
            return Ok(code);
        }
        // The scan attributes every event (a row group at a time): only when a table that
        // needs it is named.
        let scan = if needs_attribution(&tables) {
            let scan = Scan::case(&case.dir, case.manifest.clone(), None)?;
            a.input.note_loops(&scan.graph);
            Some(scan)
        } else {
            None
        };
        let df = execute_case(&case.dir, &case.manifest, scan.as_ref(), &sql)?;
        a.out.emit(&df)?;
        return Ok(code);
    }
    // Attribution is the expensive part: only when a table that needs it is named.
    let (loaded, at, code) = if needs_attribution(&tables) {
        let (loaded, at, code) = a.input.load_attributed_all()?;
        (loaded, Some(at), code)
    } else {
        let loaded = a.input.load()?;
        let code = a.input.report_problems(&loaded.problems);
        (loaded, None, code)
    };
    if code == ExitCode::Fatal {
        return Ok(code);
    }
    let df = execute(&loaded, at.as_ref(), &sql)?;
    a.out.emit(&df)?;
    Ok(code)
}

/// INPUT as one case on disk that the query scans instead of loading.
struct OnDisk {
    dir: PathBuf,
    manifest: Manifest,
    problems: Vec<Problem>,
    /// The scratch case `dir` is in, if any: removed when dropped.
    _scratch: Option<ScratchDir>,
}

/// INPUT as a case to scan: a single case with events; or log files estimated over the
/// in-memory limit (by default the analyses' one), ingested (every column: the `events` table shows them all) into a scratch
/// case, as `Input::scan` does. None for the rest (small log files, several inputs to combine,
/// a case without events), which are loaded into memory.
fn on_disk(input: &Input) -> Result<Option<OnDisk>> {
    let found = trailgraph_log::discover::discover(&input.inputs)?;
    match (&found.cases[..], found.files.is_empty()) {
        ([dir], true) => {
            let manifest = trailgraph_store::read_manifest(dir)?;
            if trailgraph_store::CaseEvents::open(dir, &manifest, &[])?.parts() == 0 {
                return Ok(None);
            }
            Ok(Some(OnDisk {
                dir: dir.clone(),
                problems: manifest.problems(),
                manifest,
                _scratch: None,
            }))
        }
        ([], false)
            if !fits_in_memory(
                &found.files,
                input.in_memory_limit,
                ANALYSIS_IN_MEMORY_LIMIT,
            ) =>
        {
            let scratch = ScratchDir::new()?;
            let dir = scratch.path().to_path_buf();
            let columns: Vec<&str> = trailgraph_log::table::EventBatch::SCHEMA
                .iter()
                .map(|(n, _)| *n)
                .collect();
            let ing = trailgraph_store::scratch_case(
                &dir,
                &found.files,
                &input.ingest_options(),
                &columns,
            )?;
            let manifest = Manifest::scratch();
            Ok(Some(OnDisk {
                dir,
                manifest,
                problems: ing.problems,
                _scratch: Some(scratch),
            }))
        }
        _ => Ok(None),
    }
}
