//! Resolves INPUT... (log files, directories, case directories) into in-memory frames, with the
//! ingest statistics and problems that explain them.

use crate::discover::discover;
use crate::ingest::{ingest, IngestOptions, Problem, Stats};
use crate::store::{self, Frames};
use anyhow::Result;
use std::path::PathBuf;

/// Frames plus the accounting of how they were obtained.
pub struct Loaded {
    pub frames: Frames,
    pub stats: Stats,
    pub problems: Vec<Problem>,
}

/// Loads INPUT...: case directories are read from Parquet; log files are ingested in memory.
/// Events present in several inputs are kept once.
pub fn load(inputs: &[PathBuf], opts: &IngestOptions) -> Result<Loaded> {
    let found = discover(inputs)?;
    let mut frames = Vec::new();
    let mut stats = Stats::default();
    let mut problems = Vec::new();
    let mut seen = rustc_hash::FxHashSet::default();
    for case in &found.cases {
        let (f, m) = store::load_case(case)?;
        stats.add(&m.stats());
        problems.extend(m.problems());
        seen.extend(store::event_keys(&f.events)?);
        frames.push(f);
    }
    if !found.files.is_empty() || frames.is_empty() {
        let ing = ingest(&found.files, opts, &mut seen);
        stats.add(&ing.stats);
        problems.extend(ing.problems.iter().cloned());
        frames.push(store::frames_from(&ing.files)?);
    }
    Ok(Loaded {
        frames: store::concat(frames)?,
        stats,
        problems,
    })
}
