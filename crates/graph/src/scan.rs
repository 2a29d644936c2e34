//! Every event of the input with its attribution, a slice at a time: what the analyses read
//! instead of one frame of all events, so that their memory grows with sessions, not events.
//!
//! A `Scan` is built once per run. From a case (or a scratch case of log files too large to
//! hold) it reads the events a row group at a time: a first pass attributes every event against
//! the session graph (built from the issuances, as the streamed `attribute` does) and keeps each
//! event's attribution index in a temporary file; `for_each` then hands the analyses slice after
//! slice, with the columns they ask for and the attribution of each row. Log files small enough
//! to hold are loaded and attributed in memory, and `for_each` hands over one slice of them all.
//! The analyses are written once against slices; both paths give the same answers (the tests
//! compare them, forcing many small slices).
//!
//! Slices come in the order of the case's row groups, part by part. An analysis whose answer
//! depends on the order of the events uses `Slice::position`, which orders the rows the way the
//! in-memory frame does (`trailgraph_store::canonical_order`), never the order of the slices.

use crate::attribute::{
    attribute_chunked, cross_rows_filter, graph_and_context, single_chunk, AttributionState,
    Attributor, ATTRIBUTION_COLUMNS,
};
use crate::graph::{Attribution, SessionGraph};
use anyhow::Result;
use polars::prelude::*;
use rustc_hash::FxHashMap;
use std::path::{Path, PathBuf};
use trailgraph_log::table::event;
use trailgraph_store::spill::{ScratchDir, U32File};
use trailgraph_store::{self as store, CaseEvents, Frames, Manifest, RowGroup};

/// The attributed input, read a slice at a time.
pub struct Scan {
    /// The session graph, complete (orphan sessions of keys met in the events included).
    pub graph: SessionGraph,
    /// The distinct attributions (what `Slice::attribution` indexes).
    pub table: Vec<Attribution>,
    /// The issuance calls (denied ones too): a few percent of the events.
    pub issuances: DataFrame,
    events: Events,
    rows: u64,
}

enum Events {
    /// One frame of every event (single chunk), and each one's attribution.
    Memory {
        frame: DataFrame,
        per_event: Vec<u32>,
    },
    /// The events of a case, by row group.
    Case(Box<CaseScan>),
}

/// The events of a case, by row group.
struct CaseScan {
    dir: PathBuf,
    manifest: Manifest,
    groups: Vec<RowGroup>,
    /// Each row group's first row among all (in the order of `groups`).
    offsets: Vec<u64>,
    per_event: U32File,
    /// In a case of several parts: each source file's rank among all (see `Slice::position`).
    file_rank: Option<FxHashMap<String, u64>>,
    /// The scratch case `dir` is in, removed with the scan.
    _scratch: Option<ScratchDir>,
}

/// Part of the events, with their attribution.
pub struct Slice<'a> {
    /// The rows, with the columns asked for (one chunk per column).
    pub events: &'a DataFrame,
    per_event: &'a [u32],
    table: &'a [Attribution],
    /// The first row's number among all the rows scanned (in slice order).
    first: u64,
    /// `source_file` and `record_index` of the rows, in a case of several parts.
    position: Option<(
        &'a StringChunked,
        &'a UInt64Chunked,
        &'a FxHashMap<String, u64>,
    )>,
}

impl<'a> Slice<'a> {
    /// Rows in the slice.
    pub fn height(&self) -> usize {
        self.events.height()
    }

    /// The attribution of row `i`.
    pub fn of(&self, i: usize) -> &'a Attribution {
        &self.table[self.per_event[i] as usize]
    }

    /// Row `i`'s index into `Scan::table`.
    pub fn attribution(&self, i: usize) -> u32 {
        self.per_event[i]
    }

    /// Row `i`'s number among all the rows scanned (slice order: not an input order).
    pub fn row(&self, i: usize) -> u64 {
        self.first + i as u64
    }

    /// Where row `i` stands in the input's canonical order (files by path, records by
    /// position): comparing positions orders rows as the in-memory frame does, whatever slices
    /// they come in. Only for comparing; the values mean nothing else.
    pub fn position(&self, i: usize) -> (u64, u64) {
        match &self.position {
            None => (0, self.first + i as u64),
            Some((files, records, rank)) => (
                files
                    .get(i)
                    .and_then(|f| rank.get(f))
                    .copied()
                    .unwrap_or(u64::MAX),
                records.get(i).unwrap_or(0),
            ),
        }
    }
}

impl Scan {
    /// Attributes events held in memory (any number of chunks).
    pub fn memory(mut frames: Frames) -> Result<Scan> {
        frames.events.rechunk_mut_par();
        let at = attribute_chunked(&frames)?;
        let frame = single_chunk(&frames.events);
        Ok(Scan {
            rows: frame.height() as u64,
            graph: at.graph,
            table: at.table,
            issuances: frames.issuances,
            events: Events::Memory {
                frame,
                per_event: at.per_event,
            },
        })
    }

    /// Attributes the events of the case in `dir` a row group at a time. `scratch` is the
    /// scratch directory the case is in, if any (kept until the scan is dropped).
    pub fn case(dir: &Path, manifest: Manifest, scratch: Option<ScratchDir>) -> Result<Scan> {
        let issuances = store::load_case_issuances(dir, &manifest)?;
        let mut columns: Vec<&str> = ATTRIBUTION_COLUMNS.to_vec();
        columns.sort_unstable();
        columns.dedup();
        let events = CaseEvents::open(dir, &manifest, &columns)?;
        let (graph, cross) =
            graph_and_context(&issuances, || events.filtered(cross_rows_filter()))?;
        let mut state = Some(AttributionState::new(graph));
        let groups = events.row_groups();
        let mut per_event = U32File::new()?;
        let mut offsets = Vec::with_capacity(groups.len());
        prefetched(
            &groups,
            |g| events.slice(*g),
            |_, df| {
                offsets.push(per_event.len());
                let mut at = Attributor::with_state(&df, state_take(&mut state), Some(&cross))?
                    .with_signatures();
                let rows: Vec<u32> = (0..df.height()).map(|i| at.row(i)).collect();
                state = Some(at.into_state());
                per_event.extend(&rows)
            },
        )?;
        per_event.finish()?;
        let file_rank = if events.parts() > 1 {
            Some(events.source_files()?.into_iter().zip(0..).collect())
        } else {
            None
        };
        let rows = per_event.len();
        let at = state.expect("state is put back").finish(Vec::new());
        Ok(Scan {
            graph: at.graph,
            table: at.table,
            issuances,
            rows,
            events: Events::Case(Box::new(CaseScan {
                dir: dir.to_path_buf(),
                manifest,
                groups,
                offsets,
                per_event,
                file_rank,
                _scratch: scratch,
            })),
        })
    }

    /// Ends the scan at the end of a command: its temporary files and scratch case are removed
    /// now, but its memory (the session graph, the attributions, the issuances: millions of
    /// allocations on a large input, a tenth of a second to free) is left to the process's
    /// exit, as `attribute` does with its frames.
    pub fn end(self) {
        let Scan {
            graph,
            table,
            issuances,
            events,
            rows: _,
        } = self;
        std::mem::forget((graph, table, issuances));
        match events {
            Events::Memory { frame, per_event } => std::mem::forget((frame, per_event)),
            Events::Case(c) => {
                let CaseScan {
                    dir,
                    manifest,
                    groups,
                    offsets,
                    per_event,
                    file_rank,
                    _scratch,
                } = *c;
                drop((per_event, _scratch));
                std::mem::forget((dir, manifest, groups, offsets, file_rank));
            }
        }
    }

    /// Events scanned.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Hands `visit` every event, a slice at a time, with (at least) `columns`.
    pub fn for_each(
        &self,
        columns: &[&str],
        mut visit: impl FnMut(&Slice<'_>) -> Result<()> + Send,
    ) -> Result<()> {
        match &self.events {
            Events::Memory { frame, per_event } => visit(&Slice {
                events: frame,
                per_event,
                table: &self.table,
                first: 0,
                position: None,
            }),
            Events::Case(c) => {
                let CaseScan {
                    dir,
                    manifest,
                    groups,
                    offsets,
                    per_event,
                    file_rank,
                    ..
                } = &**c;
                let mut cols: Vec<&str> = columns.to_vec();
                if file_rank.is_some() {
                    cols.extend([event::source_file, event::record_index]);
                }
                cols.sort_unstable();
                cols.dedup();
                let events = CaseEvents::open(dir, manifest, &cols)?;
                let numbered: Vec<(usize, RowGroup)> = groups.iter().copied().enumerate().collect();
                prefetched(
                    &numbered,
                    |(k, g)| Ok((events.slice(*g)?, per_event.read(offsets[*k], g.rows)?)),
                    |(k, _), (df, pe)| {
                        let position = match file_rank {
                            None => None,
                            Some(rank) => Some((
                                df.column(event::source_file)?.str()?,
                                df.column(event::record_index)?.u64()?,
                                rank,
                            )),
                        };
                        visit(&Slice {
                            events: &df,
                            per_event: &pe,
                            table: &self.table,
                            first: offsets[*k],
                            position,
                        })
                    },
                )
            }
        }
    }
}

fn state_take(s: &mut Option<AttributionState>) -> AttributionState {
    s.take().expect("state is put back after each slice")
}

/// Runs `work` on `read(item)` for each item in order, reading the next item while the current
/// one is worked on.
fn prefetched<I: Sync, T: Send>(
    items: &[I],
    read: impl Fn(&I) -> Result<T> + Sync,
    mut work: impl FnMut(&I, T) -> Result<()> + Send,
) -> Result<()> {
    let Some(first) = items.first() else {
        return Ok(());
    };
    let mut current = read(first)?;
    for (k, item) in items.iter().enumerate() {
        let next = items.get(k + 1);
        let (done, fetched) = rayon::join(|| work(item, current), || next.map(&read).transpose());
        done?;
        match fetched? {
            Some(t) => current = t,
            None => break,
        }
    }
    Ok(())
}
