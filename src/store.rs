//! The case store: ingest batches → polars frames, and the on-disk layout users outgrow into
//! DuckDB, Spark or Athena:
//!
//! ```text
//! case/manifest.json              inputs (path, size, mtime, counts), problems, schema, version
//! case/events/part-00000.parquet  one row per distinct event        (table::EventRow)
//! case/issuances/part-00000.parquet  one row per STS issuance call  (table::IssuanceRow)
//! ```
//! Each `ingest` into an existing case adds one part per table holding only new files' events.

use crate::ingest::{FileOutcome, Ingested, Problem, Stats};
use crate::table::{ColData, ColRef, EventBatch, IssuanceBatch, Kind};
use anyhow::{bail, Context, Result};
use polars::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::Path;

pub const CASE_FORMAT: &str = "trailgraph-case";
pub const CASE_VERSION: u32 = 1;

/// The tables of a case, in memory.
#[derive(Clone)]
pub struct Frames {
    pub events: DataFrame,
    pub issuances: DataFrame,
}

/// One input file as recorded in the manifest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ManifestInput {
    pub path: String,
    pub size: u64,
    pub mtime: i64,
    pub records_read: u64,
    pub events: u64,
    pub duplicates: u64,
    pub records_skipped: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_reason: Option<String>,
    pub part: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ManifestProblem {
    pub file: String,
    pub position: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ManifestColumn {
    pub name: String,
    #[serde(rename = "type")]
    pub dtype: String,
}

/// `manifest.json` of a case directory.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub format: String,
    pub version: u32,
    pub tool_version: String,
    pub parts: u32,
    pub totals: Stats,
    pub inputs: Vec<ManifestInput>,
    pub problems: Vec<ManifestProblem>,
    pub schema: std::collections::BTreeMap<String, Vec<ManifestColumn>>,
}

impl Manifest {
    pub fn new() -> Manifest {
        let mut schema = std::collections::BTreeMap::new();
        schema.insert("events".to_string(), schema_doc(EventBatch::SCHEMA));
        schema.insert("issuances".to_string(), schema_doc(IssuanceBatch::SCHEMA));
        Manifest {
            format: CASE_FORMAT.into(),
            version: CASE_VERSION,
            tool_version: env!("CARGO_PKG_VERSION").into(),
            parts: 0,
            totals: Stats::default(),
            inputs: Vec::new(),
            problems: Vec::new(),
            schema,
        }
    }

    pub fn stats(&self) -> Stats {
        self.totals.clone()
    }

    pub fn problems(&self) -> Vec<Problem> {
        self.problems
            .iter()
            .map(|p| Problem {
                file: p.file.clone(),
                position: p.position.clone(),
                reason: p.reason.clone(),
            })
            .collect()
    }

    /// Records one ingest run as part `part`.
    pub fn add_run(&mut self, ing: &Ingested, part: u32) {
        self.totals.add(&ing.stats);
        for f in &ing.files {
            self.inputs.push(ManifestInput {
                path: f.display.clone(),
                size: f.size,
                mtime: f.mtime,
                records_read: f.records_read,
                events: f.rows as u64 - f.duplicates,
                duplicates: f.duplicates,
                records_skipped: f.records_skipped(),
                skip_reason: f.skip.map(|r| r.as_str().to_string()),
                part,
            });
        }
        self.problems
            .extend(ing.problems.iter().map(|p| ManifestProblem {
                file: p.file.clone(),
                position: p.position.clone(),
                reason: p.reason.clone(),
            }));
        self.parts = self.parts.max(part + 1);
    }
}

impl Default for Manifest {
    fn default() -> Self {
        Self::new()
    }
}

fn schema_doc(schema: &[(&str, Kind)]) -> Vec<ManifestColumn> {
    schema
        .iter()
        .map(|(n, k)| ManifestColumn {
            name: n.to_string(),
            dtype: match k {
                Kind::Str => "string",
                Kind::Time => "timestamp[ms, UTC]",
                Kind::Int => "int64",
                Kind::Bool => "bool",
                Kind::U64 => "uint64",
            }
            .to_string(),
        })
        .collect()
}

/// One batch's columns and the mask of rows to keep (None: all).
type Part<'a> = (Vec<(&'static str, ColRef<'a>)>, Option<&'a [bool]>);

/// Builds one column from the same column of several batches, keeping the rows `keep` selects.
fn build_column<'a>(name: &str, kind: Kind, parts: &[Part<'a>], idx: usize) -> Column {
    let name: PlSmallStr = name.into();
    match kind {
        Kind::Str => {
            let it = parts.iter().flat_map(move |(cols, keep)| {
                let ColRef::Str(c) = &cols[idx].1 else {
                    unreachable!("schema mismatch")
                };
                let c: &crate::table::StrCol = c;
                (0..c.len())
                    .filter(move |i| keep.is_none_or(|k| k[*i]))
                    .map(move |i| c.get(i))
            });
            StringChunked::from_iter_options(name, it).into_column()
        }
        Kind::Time | Kind::Int => {
            let it = parts.iter().flat_map(move |(cols, keep)| {
                let c: &[Option<i64>] = match &cols[idx].1 {
                    ColRef::Time(c) | ColRef::Int(c) => c,
                    _ => unreachable!("schema mismatch"),
                };
                c.iter()
                    .enumerate()
                    .filter(move |(i, _)| keep.is_none_or(|k| k[*i]))
                    .map(|(_, v)| *v)
            });
            let ca = Int64Chunked::from_iter_options(name, it);
            if kind == Kind::Time {
                ca.into_datetime(TimeUnit::Milliseconds, Some(TimeZone::UTC))
                    .into_column()
            } else {
                ca.into_column()
            }
        }
        Kind::Bool => {
            let it = parts.iter().flat_map(move |(cols, keep)| {
                let ColRef::Bool(c) = &cols[idx].1 else {
                    unreachable!("schema mismatch")
                };
                c.iter()
                    .enumerate()
                    .filter(move |(i, _)| keep.is_none_or(|k| k[*i]))
                    .map(|(_, v)| *v)
            });
            BooleanChunked::from_iter_options(name, it).into_column()
        }
        Kind::U64 => {
            let it = parts.iter().flat_map(move |(cols, keep)| {
                let ColRef::U64(c) = &cols[idx].1 else {
                    unreachable!("schema mismatch")
                };
                c.iter()
                    .enumerate()
                    .filter(move |(i, _)| keep.is_none_or(|k| k[*i]))
                    .map(|(_, v)| Some(*v))
            });
            UInt64Chunked::from_iter_options(name, it).into_column()
        }
    }
}

fn frame_from(schema: &[(&'static str, Kind)], parts: &[Part<'_>]) -> Result<DataFrame> {
    use rayon::prelude::*;
    let cols: Vec<Column> = schema
        .par_iter()
        .enumerate()
        .map(|(i, (n, k))| build_column(n, *k, parts, i))
        .collect();
    Ok(DataFrame::new_infer_height(cols)?)
}

/// Puts rows in the canonical order, (source_file, record_index): the order a single ingest of
/// the same files produces (files by path, records by position), whatever the thread count, the
/// number of case parts or the order inputs were given in.
pub fn canonical_order(df: &DataFrame) -> Result<DataFrame> {
    Ok(df.sort(
        ["source_file", "record_index"],
        SortMultipleOptions::default().with_maintain_order(true),
    )?)
}

/// Sorts a per-event output frame by event time (stable: ties keep the canonical order).
pub fn by_event_time(df: &DataFrame) -> Result<DataFrame> {
    Ok(df.sort(
        ["event_time"],
        SortMultipleOptions::default()
            .with_nulls_last(true)
            .with_maintain_order(true),
    )?)
}

/// Ingests `files` and returns the kept rows as frames in canonical order (files by path,
/// records by position). Each final column is built by moving that column out of every file's
/// batch and freeing it right after, so about one copy of the data is alive at any time, and
/// every column comes out as one contiguous chunk.
pub fn ingest_frames(
    files: &[crate::discover::InputFile],
    opts: &crate::ingest::IngestOptions,
    seen: &mut crate::ingest::SeenKeys,
    events_columns: Option<&[&str]>,
) -> Result<(Ingested, Frames)> {
    type Taken = (Vec<ColData>, Vec<ColData>);
    let take =
        |o: &mut FileOutcome| -> Taken { (o.events.take_columns(), o.issuances.take_columns()) };
    let (ing, per_file) = crate::ingest::ingest_with(files, opts, seen, &take);
    let t0 = std::time::Instant::now();
    let iss_keep: Vec<Vec<bool>> = ing
        .files
        .iter()
        .map(|f| f.issuance_event_row.iter().map(|&r| f.keep[r]).collect())
        .collect();
    // Transpose to [column][file] (moves, no copies).
    let n_ev = EventBatch::SCHEMA.len();
    let n_iss = IssuanceBatch::SCHEMA.len();
    let mut ev_cols: Vec<Vec<ColData>> = (0..n_ev)
        .map(|_| Vec::with_capacity(per_file.len()))
        .collect();
    let mut iss_cols: Vec<Vec<ColData>> = (0..n_iss)
        .map(|_| Vec::with_capacity(per_file.len()))
        .collect();
    for (evs, isss) in per_file {
        for (i, c) in evs.into_iter().enumerate() {
            ev_cols[i].push(c);
        }
        for (i, c) in isss.into_iter().enumerate() {
            iss_cols[i].push(c);
        }
    }
    let ev_keep: Vec<&[bool]> = ing.files.iter().map(|f| &f.keep[..]).collect();
    let iss_keep: Vec<&[bool]> = iss_keep.iter().map(|k| &k[..]).collect();
    let mut events = build_owned(EventBatch::SCHEMA, ev_cols, &ev_keep, events_columns)?;
    if let Some(c) = events_columns {
        events = events.select(c.iter().copied())?;
    }
    let issuances = build_owned(IssuanceBatch::SCHEMA, iss_cols, &iss_keep, None)?;
    crate::ingest::profile("build columns", t0);
    Ok((ing, Frames { events, issuances }))
}

/// Builds a frame from owned per-file columns, consuming (and so freeing) each as it goes.
/// Columns not in `only` are freed without being built.
fn build_owned(
    schema: &[(&'static str, Kind)],
    cols: Vec<Vec<ColData>>,
    keep: &[&[bool]],
    only: Option<&[&str]>,
) -> Result<DataFrame> {
    use rayon::prelude::*;
    let built: Vec<Column> = cols
        .into_par_iter()
        .enumerate()
        .filter(|(i, _)| only.is_none_or(|o| o.contains(&schema[*i].0)))
        .map(|(i, files)| {
            let parts: Vec<Part<'_>> = files
                .iter()
                .zip(keep)
                .map(|(c, k)| (vec![(schema[i].0, c.as_ref())], Some(*k)))
                .collect();
            let col = build_column(schema[i].0, schema[i].1, &parts, 0);
            drop(parts);
            drop(files);
            col
        })
        .collect();
    Ok(DataFrame::new_infer_height(built)?)
}

fn write_parquet(path: &Path, df: &mut DataFrame) -> Result<()> {
    let tmp = path.with_extension("parquet.tmp");
    let f =
        std::fs::File::create(&tmp).with_context(|| format!("{}: cannot create", tmp.display()))?;
    ParquetWriter::new(f)
        .with_compression(ParquetCompression::Snappy)
        .finish(df)
        .map_err(|e| anyhow::anyhow!("{}: cannot write Parquet: {e}", path.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("{}: cannot rename", path.display()))?;
    Ok(())
}

fn read_parquet(path: &Path, columns: Option<&[&str]>) -> Result<DataFrame> {
    let f =
        std::fs::File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    ParquetReader::new(f)
        .with_columns(columns.map(|c| c.iter().map(|s| s.to_string()).collect()))
        .finish()
        .map_err(|e| anyhow::anyhow!("{}: not a readable Parquet file: {e}", path.display()))
}

fn part_name(part: u32) -> String {
    format!("part-{part:05}.parquet")
}

/// Reads `manifest.json` of a case directory.
pub fn read_manifest(dir: &Path) -> Result<Manifest> {
    let p = dir.join(crate::discover::CASE_MANIFEST);
    let text =
        std::fs::read_to_string(&p).with_context(|| format!("{}: cannot read", p.display()))?;
    let m: Manifest = serde_json::from_str(&text)
        .with_context(|| format!("{}: not a trailgraph case manifest", p.display()))?;
    if m.format != CASE_FORMAT {
        bail!("{}: not a trailgraph case manifest", p.display());
    }
    if m.version > CASE_VERSION {
        bail!(
            "{}: case format version {} is newer than this trailgraph understands ({})",
            p.display(),
            m.version,
            CASE_VERSION
        );
    }
    Ok(m)
}

/// Writes a new part into `dir` and the updated manifest (atomically replaced).
pub fn write_part(dir: &Path, manifest: &Manifest, part: u32, frames: &mut Frames) -> Result<()> {
    let t0 = std::time::Instant::now();
    let r = write_part_inner(dir, manifest, part, frames);
    crate::ingest::profile("write Parquet", t0);
    r
}

fn write_part_inner(dir: &Path, manifest: &Manifest, part: u32, frames: &mut Frames) -> Result<()> {
    for table in ["events", "issuances"] {
        let d = dir.join(table);
        std::fs::create_dir_all(&d).with_context(|| format!("{}: cannot create", d.display()))?;
    }
    let (a, b) = rayon::join(
        || {
            write_parquet(
                &dir.join("events").join(part_name(part)),
                &mut frames.events,
            )
        },
        || {
            write_parquet(
                &dir.join("issuances").join(part_name(part)),
                &mut frames.issuances,
            )
        },
    );
    a?;
    b?;
    let p = dir.join(crate::discover::CASE_MANIFEST);
    let tmp = dir.join("manifest.json.tmp");
    std::fs::write(&tmp, serde_json::to_string_pretty(manifest)? + "\n")
        .with_context(|| format!("{}: cannot write", tmp.display()))?;
    std::fs::rename(&tmp, &p).with_context(|| format!("{}: cannot write", p.display()))?;
    Ok(())
}

/// Loads every part of a case directory.
pub fn load_case(dir: &Path) -> Result<(Frames, Manifest)> {
    load_case_columns(dir, None)
}

/// Loads every part of a case directory, reading only `events_columns` of the events table.
pub fn load_case_columns(
    dir: &Path,
    events_columns: Option<&[&str]>,
) -> Result<(Frames, Manifest)> {
    let manifest = read_manifest(dir)?;
    let mut tables = Vec::new();
    for table in ["events", "issuances"] {
        let mut acc: Option<DataFrame> = None;
        for part in 0..manifest.parts {
            let p = dir.join(table).join(part_name(part));
            if !p.exists() {
                continue;
            }
            let df = read_parquet(
                &p,
                if table == "events" {
                    events_columns
                } else {
                    None
                },
            )?;
            match &mut acc {
                None => acc = Some(df),
                Some(a) => {
                    a.vstack_mut_owned(df).map_err(|e| {
                        anyhow::anyhow!("{}: schema differs from earlier parts: {e}", p.display())
                    })?;
                }
            }
        }
        let schema = if table == "events" {
            EventBatch::SCHEMA
        } else {
            IssuanceBatch::SCHEMA
        };
        let df = match acc {
            Some(df) => df,
            None => project(
                &frame_from(schema, &[])?,
                if table == "events" {
                    events_columns
                } else {
                    None
                },
            )?,
        };
        tables.push(df);
    }
    let issuances = tables.pop().expect("two tables");
    let events = tables.pop().expect("two tables");
    let (events, issuances) = if manifest.parts > 1 {
        (canonical_order(&events)?, canonical_order(&issuances)?)
    } else {
        (events, issuances)
    };
    Ok((Frames { events, issuances }, manifest))
}

/// Events of a case (all parts) that satisfy `predicate`, with only `columns`. The lazy
/// Parquet scan decodes the other columns only for matching rows, so a lookup by id reads
/// little more than the columns the predicate names.
pub fn scan_case_events(
    dir: &Path,
    manifest: &Manifest,
    columns: &[&str],
    predicate: Expr,
) -> Result<DataFrame> {
    let mut acc: Option<DataFrame> = None;
    for part in 0..manifest.parts {
        let p = dir.join("events").join(part_name(part));
        if !p.exists() {
            continue;
        }
        let path = p.to_string_lossy().into_owned();
        let df =
            LazyFrame::scan_parquet(PlRefPath::from(path.as_str()), ScanArgsParquet::default())
                .and_then(|lf| {
                    lf.filter(predicate.clone())
                        .select(columns.iter().map(|c| col(*c)).collect::<Vec<_>>())
                        .collect()
                })
                .map_err(|e| anyhow::anyhow!("{}: cannot scan Parquet: {e}", p.display()))?;
        match &mut acc {
            None => acc = Some(df),
            Some(a) => {
                a.vstack_mut_owned(df)?;
            }
        }
    }
    match acc {
        Some(df) => Ok(df),
        None => project(&frame_from(EventBatch::SCHEMA, &[])?, Some(columns)),
    }
}

/// The issuances table of a case (all parts).
pub fn load_case_issuances(dir: &Path, manifest: &Manifest) -> Result<DataFrame> {
    let mut acc: Option<DataFrame> = None;
    for part in 0..manifest.parts {
        let p = dir.join("issuances").join(part_name(part));
        if !p.exists() {
            continue;
        }
        let df = read_parquet(&p, None)?;
        match &mut acc {
            None => acc = Some(df),
            Some(a) => {
                a.vstack_mut_owned(df)?;
            }
        }
    }
    match acc {
        Some(df) => canonical_order(&df),
        None => frame_from(IssuanceBatch::SCHEMA, &[]),
    }
}

/// Keeps only `columns` (in that order), or everything when None.
pub fn project(df: &DataFrame, columns: Option<&[&str]>) -> Result<DataFrame> {
    Ok(match columns {
        Some(c) => df.select(c.iter().copied())?,
        None => df.clone(),
    })
}

/// The de-duplication keys of a frame's events (for incremental ingest).
pub fn event_keys(events: &DataFrame) -> Result<crate::ingest::SeenKeys> {
    let ids = events.column("event_id")?.str()?;
    let accts = events.column("recipient_account")?.str()?;
    Ok(ids
        .iter()
        .zip(accts.iter())
        .filter_map(|(id, a)| crate::ingest::dedup_key(a, id))
        .collect())
}

/// True for the first row of each (recipient_account, event_id); rows without an eventID are kept.
fn first_occurrence(df: &DataFrame) -> Result<BooleanChunked> {
    let ids = df.column("event_id")?.str()?;
    let accts = df.column("recipient_account")?.str()?;
    let mut seen = crate::ingest::SeenKeys::default();
    Ok(ids
        .iter()
        .zip(accts.iter())
        .map(|(id, a)| Some(crate::ingest::dedup_key(a, id).is_none_or(|k| seen.insert(k))))
        .collect())
}

/// Concatenates frames (same schemas) and de-duplicates events across them, keeping the first.
pub fn concat(mut all: Vec<Frames>) -> Result<Frames> {
    if all.len() == 1 {
        return Ok(all.pop().expect("one"));
    }
    let mut it = all.into_iter();
    let mut acc = it.next().expect("at least one frame set");
    for f in it {
        acc.events.vstack_mut_owned(f.events)?;
        acc.issuances.vstack_mut_owned(f.issuances)?;
    }
    // Drop duplicate events (same recipient + eventID) that several cases or inputs share.
    acc.events = canonical_order(&acc.events.filter(&first_occurrence(&acc.events)?)?)?;
    acc.issuances = canonical_order(&acc.issuances.filter(&first_occurrence(&acc.issuances)?)?)?;
    Ok(acc)
}
