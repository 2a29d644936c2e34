//! Resolves INPUT... (log files, directories, case directories) into in-memory frames, with the
//! ingest statistics and problems that explain them.

use crate::{self as store, Frames};
use anyhow::Result;
use std::path::PathBuf;
use trailgraph_log::discover::discover;
use trailgraph_log::ingest::{IngestOptions, Problem, Stats};

/// Frames plus the accounting of how they were obtained.
pub struct Loaded {
    pub frames: Frames,
    pub stats: Stats,
    pub problems: Vec<Problem>,
}

/// Loads INPUT...: case directories are read from Parquet; log files are ingested in memory.
/// Events present in several inputs are kept once.
pub fn load(inputs: &[PathBuf], opts: &IngestOptions) -> Result<Loaded> {
    load_columns(inputs, opts, None)
}

/// Like `load`, keeping only `events_columns` of the events table (case stores read only those
/// columns from Parquet, which is what makes `who` on a large case fast).
pub fn load_columns(
    inputs: &[PathBuf],
    opts: &IngestOptions,
    events_columns: Option<&[&str]>,
) -> Result<Loaded> {
    let mut loaded = load_chunked(inputs, opts, events_columns)?;
    // One contiguous chunk per column: every later stage reads rows by index.
    let t0 = std::time::Instant::now();
    loaded.frames.events.rechunk_mut_par();
    loaded.frames.issuances.rechunk_mut_par();
    trailgraph_log::ingest::profile("rechunk", t0);
    Ok(loaded)
}

/// `load_columns` without the final rechunk: the events frame may have several chunks (about
/// one per 16k rows from log files), for a caller that works a chunk at a time.
pub fn load_chunked(
    inputs: &[PathBuf],
    opts: &IngestOptions,
    events_columns: Option<&[&str]>,
) -> Result<Loaded> {
    let found = discover(inputs)?;
    let mut frames = Vec::new();
    let mut stats = Stats::default();
    let mut problems = Vec::new();
    let mut seen = rustc_hash::FxHashSet::default();
    // De-duplication keys are needed only when more than one source is combined.
    let several = found.cases.len() + usize::from(!found.files.is_empty()) > 1;
    for case in &found.cases {
        let (f, m) = store::load_case_columns(case, events_columns)?;
        stats.add(&m.stats());
        problems.extend(m.problems());
        if several {
            seen.extend(store::event_keys(&f.events)?);
        }
        frames.push(f);
    }
    if !found.files.is_empty() || frames.is_empty() {
        let (ing, f) = crate::chunk::ingest_frames(&found.files, opts, &seen, events_columns)?;
        stats.add(&ing.stats);
        problems.extend(ing.problems.iter().cloned());
        frames.push(store::Frames {
            events: crate::frames::project(&f.events, events_columns)?,
            issuances: f.issuances,
        });
    }
    let frames = store::concat(frames)?;
    Ok(Loaded {
        frames,
        stats,
        problems,
    })
}
