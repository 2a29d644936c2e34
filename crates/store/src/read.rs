use crate::chunk::append;
use crate::frames::{canonical_order, frame_from, project, Frames};
use crate::manifest::{check_version, old_case, safe_relative, Dropped, Manifest, TABLES};
use anyhow::{bail, Context, Result};
use polars::prelude::*;
use std::path::Path;
use trailgraph_log::table::{event, EventBatch, IssuanceBatch};

pub(crate) fn read_parquet(path: &Path, columns: Option<&[&str]>) -> Result<DataFrame> {
    let f =
        std::fs::File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    ParquetReader::new(f)
        .with_columns(columns.map(|c| c.iter().map(|s| s.to_string()).collect()))
        .finish()
        .map_err(|e| anyhow::anyhow!("{}: not a readable Parquet file: {e}", path.display()))
}

/// The name of the row number column a reader adds to drop a file's duplicate rows (never
/// among the columns it returns).
const ROW: &str = "__trailgraph_row";

/// The data files of `table` in case `dir`: each one's path and the rows to skip in it.
fn table_files(
    dir: &Path,
    manifest: &Manifest,
    table: &str,
) -> Vec<(std::path::PathBuf, Vec<u32>)> {
    manifest
        .files_of(table)
        .map(|f| (dir.join(&f.path), manifest.dropped_rows(&f.path).to_vec()))
        .collect()
}

/// A lazy scan of one data file without the rows `dropped` names.
fn scan_file(path: &Path, dropped: &[u32]) -> Result<LazyFrame> {
    let p = path.to_string_lossy().into_owned();
    // The partition directories are not columns here: the files hold the columns they name.
    let args = ScanArgsParquet {
        hive_options: HiveOptions::new_disabled(),
        ..Default::default()
    };
    let lf = LazyFrame::scan_parquet(PlRefPath::from(p.as_str()), args)
        .map_err(|e| anyhow::anyhow!("{}: cannot scan Parquet: {e}", path.display()))?;
    Ok(if dropped.is_empty() {
        lf
    } else {
        let rows = Series::new(
            ROW.into(),
            dropped.iter().map(|&r| r as IdxSize).collect::<Vec<_>>(),
        );
        lf.with_row_index(ROW, None)
            .filter(col(ROW).is_in(lit(rows).implode(true), false).not())
            .drop(cols([ROW]))
    })
}

/// `df` (rows `first..` of a file) without the rows of `dropped` (ascending) among them.
fn without(df: DataFrame, first: usize, dropped: &[u32]) -> Result<DataFrame> {
    let end = first + df.height();
    let lo = dropped.partition_point(|&r| (r as usize) < first);
    let hi = dropped.partition_point(|&r| (r as usize) < end);
    if lo == hi {
        return Ok(df);
    }
    let mut keep = vec![true; df.height()];
    for &r in &dropped[lo..hi] {
        keep[r as usize - first] = false;
    }
    Ok(df.filter(&BooleanChunked::from_slice("".into(), &keep))?)
}

/// The events table of a case, read a row group at a time (for analyses that stream through a
/// case instead of loading it).
pub struct CaseEvents {
    /// Each events file, its Parquet metadata, and its rows that de-duplication drops.
    parts: Vec<(
        std::path::PathBuf,
        polars::io::parquet::metadata::FileMetadataRef,
        Vec<u32>,
    )>,
    columns: Vec<String>,
}

/// One row group of a case's events: rows `first..first + stored` of events file `part`, of
/// which `rows` are read (the others are duplicates of rows of another run).
#[derive(Debug, Clone, Copy)]
pub struct RowGroup {
    pub part: usize,
    pub first: usize,
    pub rows: usize,
    pub stored: usize,
}

impl CaseEvents {
    /// The events of case `dir` (every events file the manifest names), with `columns`.
    pub fn open(dir: &Path, manifest: &Manifest, columns: &[&str]) -> Result<CaseEvents> {
        Self::open_paths(table_files(dir, manifest, "events"), columns)
    }

    /// The events of the scratch case in `dir`, with `columns`.
    pub fn open_part(dir: &Path, columns: &[&str]) -> Result<CaseEvents> {
        Self::open(dir, &Manifest::scratch(), columns)
    }

    pub(crate) fn open_paths(
        paths: Vec<(std::path::PathBuf, Vec<u32>)>,
        columns: &[&str],
    ) -> Result<CaseEvents> {
        let mut parts = Vec::new();
        for (path, dropped) in paths {
            let f = std::fs::File::open(&path)
                .with_context(|| format!("{}: cannot open", path.display()))?;
            let metadata = ParquetReader::new(f)
                .get_metadata()
                .map_err(|e| {
                    anyhow::anyhow!("{}: not a readable Parquet file: {e}", path.display())
                })?
                .clone();
            parts.push((path, metadata, dropped));
        }
        Ok(CaseEvents {
            parts,
            columns: columns.iter().map(|c| c.to_string()).collect(),
        })
    }

    /// Events files.
    pub fn parts(&self) -> usize {
        self.parts.len()
    }

    /// Every row group, file by file: slices that decode nothing twice.
    pub fn row_groups(&self) -> Vec<RowGroup> {
        let mut out = Vec::new();
        for (part, (_, m, dropped)) in self.parts.iter().enumerate() {
            let mut first = 0;
            for g in &m.row_groups {
                let stored = g.num_rows();
                let lo = dropped.partition_point(|&r| (r as usize) < first);
                let hi = dropped.partition_point(|&r| (r as usize) < first + stored);
                out.push(RowGroup {
                    part,
                    first,
                    rows: stored - (hi - lo),
                    stored,
                });
                first += stored;
            }
        }
        out
    }

    /// The rows of `g` (all of them but the duplicates, or an error), one chunk per column.
    pub fn slice(&self, g: RowGroup) -> Result<DataFrame> {
        let (path, metadata, dropped) = &self.parts[g.part];
        let f = std::fs::File::open(path)
            .with_context(|| format!("{}: cannot open", path.display()))?;
        let mut r = ParquetReader::new(f)
            .with_columns(Some(self.columns.clone()))
            .with_slice(Some((g.first, g.stored)));
        r.set_metadata(metadata.clone());
        let df = r
            .finish()
            .map_err(|e| anyhow::anyhow!("{}: not a readable Parquet file: {e}", path.display()))?;
        if df.height() != g.stored {
            bail!(
                "{}: row group at row {} gave {} of its {} rows",
                path.display(),
                g.first,
                df.height(),
                g.stored
            );
        }
        let mut df = without(df, g.first, dropped)?;
        df.rechunk_mut_par();
        Ok(df)
    }

    /// The rows where `predicate` holds, in canonical order (see `canonical_order`), one chunk
    /// per column.
    pub fn filtered(&self, predicate: Expr) -> Result<DataFrame> {
        let cols: Vec<Expr> = self.columns.iter().map(|c| col(c.as_str())).collect();
        let mut acc: Option<DataFrame> = None;
        for (path, _, dropped) in &self.parts {
            let df = scan_file(path, dropped)?
                .filter(predicate.clone())
                .select(cols.clone())
                .collect()
                .map_err(|e| anyhow::anyhow!("{}: cannot scan Parquet: {e}", path.display()))?;
            append(&mut acc, df)?;
        }
        let Some(mut df) = acc else {
            let names: Vec<&str> = self.columns.iter().map(|c| c.as_str()).collect();
            return project(&frame_from(EventBatch::SCHEMA, &[])?, Some(&names));
        };
        if self.parts.len() > 1 {
            df = canonical_order(&df)?;
        }
        df.rechunk_mut_par();
        Ok(df)
    }

    /// Every `source_file` of the events, sorted and distinct: a row's canonical position is
    /// (the rank of its file here, its record_index).
    pub fn source_files(&self) -> Result<Vec<String>> {
        let mut files = std::collections::BTreeSet::new();
        for g in self.row_groups() {
            let (path, metadata, _) = &self.parts[g.part];
            let f = std::fs::File::open(path)
                .with_context(|| format!("{}: cannot open", path.display()))?;
            let mut r = ParquetReader::new(f)
                .with_columns(Some(vec![event::source_file.to_string()]))
                .with_slice(Some((g.first, g.stored)));
            r.set_metadata(metadata.clone());
            let df = r.finish().map_err(|e| {
                anyhow::anyhow!("{}: not a readable Parquet file: {e}", path.display())
            })?;
            let c = df.column(event::source_file)?.str()?.unique()?;
            files.extend(c.iter().flatten().map(String::from));
        }
        Ok(files.into_iter().collect())
    }
}

/// Loads every file of a case directory, reading only `events_columns` of the events table.
pub fn load_case_columns(
    dir: &Path,
    events_columns: Option<&[&str]>,
) -> Result<(Frames, Manifest)> {
    let manifest = read_manifest(dir)?;
    let mut tables = Vec::new();
    let mut several = false;
    for table in TABLES {
        let mut acc: Option<DataFrame> = None;
        let files = table_files(dir, &manifest, table);
        several |= files.len() > 1;
        for (p, dropped) in files {
            let df = read_parquet(
                &p,
                if table == "events" {
                    events_columns
                } else {
                    None
                },
            )?;
            let df = without(df, 0, &dropped)?;
            match &mut acc {
                None => acc = Some(df),
                Some(a) => {
                    a.vstack_mut_owned(df).map_err(|e| {
                        anyhow::anyhow!("{}: schema differs from earlier files: {e}", p.display())
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
    let (events, issuances) = if several {
        (canonical_order(&events)?, canonical_order(&issuances)?)
    } else {
        (events, issuances)
    };
    Ok((Frames { events, issuances }, manifest))
}

/// Events of a case (every file) that satisfy `predicate`, with only `columns`. The lazy
/// Parquet scan decodes the other columns only for matching rows, so a lookup by id reads
/// little more than the columns the predicate names.
pub fn scan_case_events(
    dir: &Path,
    manifest: &Manifest,
    columns: &[&str],
    predicate: Expr,
) -> Result<DataFrame> {
    let mut acc: Option<DataFrame> = None;
    for (p, dropped) in table_files(dir, manifest, "events") {
        let df = scan_file(&p, &dropped)?
            .filter(predicate.clone())
            .select(columns.iter().map(|c| col(*c)).collect::<Vec<_>>())
            .collect()
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

/// The events table of a case (every column, every file) as a lazy Parquet scan, in the order
/// `load_case_columns` gives: the one file's rows as stored, or, with several files, the
/// canonical order (a stable sort by (source_file, record_index), which holds the rows that
/// reach it). None when the case has no events file. A query over it reads only the columns it
/// names and the row groups its filters keep (statistics permitting).
pub fn lazy_case_events(dir: &Path, manifest: &Manifest) -> Result<Option<LazyFrame>> {
    lazy_case_table(dir, manifest, "events")
}

/// The issuances table of a case as a lazy Parquet scan, in the order `load_case_columns`
/// gives (see `lazy_case_events`).
pub fn lazy_case_issuances(dir: &Path, manifest: &Manifest) -> Result<Option<LazyFrame>> {
    lazy_case_table(dir, manifest, "issuances")
}

fn lazy_case_table(dir: &Path, manifest: &Manifest, table: &str) -> Result<Option<LazyFrame>> {
    let mut scans = Vec::new();
    for (p, dropped) in table_files(dir, manifest, table) {
        scans.push(scan_file(&p, &dropped)?);
    }
    Ok(match scans.len() {
        0 => None,
        1 => scans.pop(),
        _ => Some(concat(scans, UnionArgs::default())?.sort(
            [event::source_file, event::record_index],
            SortMultipleOptions::default().with_maintain_order(true),
        )),
    })
}

/// The issuances table of a case (every file).
pub fn load_case_issuances(dir: &Path, manifest: &Manifest) -> Result<DataFrame> {
    let mut acc: Option<DataFrame> = None;
    for (p, dropped) in table_files(dir, manifest, "issuances") {
        let df = without(read_parquet(&p, None)?, 0, &dropped)?;
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

/// Reads the manifests of a case directory (`manifests/*.json`, one per finished ingest run)
/// and merges them into one view (see `merge`). A case of an older format (its
/// `manifest.json`) is refused with what to do.
pub fn read_manifest(dir: &Path) -> Result<Manifest> {
    read_runs(dir, true)
}

/// The runs' manifests merged as `read_manifest` does, without reading any data file (no
/// de-duplication across runs: the inputs, files and totals as the runs wrote them), for
/// `ingest`, which needs only to know which inputs the case has.
pub fn read_manifest_inputs(dir: &Path) -> Result<Manifest> {
    read_runs(dir, false)
}

fn read_runs(dir: &Path, dedup: bool) -> Result<Manifest> {
    let runs_dir = dir.join(trailgraph_log::discover::CASE_RUNS);
    if !runs_dir.is_dir() {
        return Err(old_case(dir));
    }
    let mut names: Vec<String> = Vec::new();
    for e in std::fs::read_dir(&runs_dir)
        .with_context(|| format!("{}: cannot list", runs_dir.display()))?
    {
        let e = e.with_context(|| format!("{}: cannot list", runs_dir.display()))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(run) = name.strip_suffix(".json") {
            names.push(run.to_string());
        }
    }
    names.sort();
    let mut runs = Vec::with_capacity(names.len());
    for run in &names {
        let p = runs_dir.join(format!("{run}.json"));
        let text =
            std::fs::read_to_string(&p).with_context(|| format!("{}: cannot read", p.display()))?;
        let m: Manifest = serde_json::from_str(&text)
            .map_err(|e| anyhow::anyhow!("{}: not a trailgraph case manifest: {e}", p.display()))?;
        check_version(&p, &m.format, m.version)?;
        for f in &m.files {
            if !safe_relative(&f.path) {
                bail!("{}: names a file outside the case: {}", p.display(), f.path);
            }
        }
        runs.push((run.clone(), m));
    }
    merge(dir, runs, dedup)
}

/// Merges the manifests of a case's runs (in run order) into one view: files, inputs and
/// problems one run after the other, totals summed, the IAM files of every run (a later copy of
/// the same name wins), and, when more than one run wrote data, the rows de-duplication across
/// runs drops: among rows with the same (`recipient_account`, `event_id`) (a null `event_id` is
/// never a duplicate), the one with the smallest (`source_file`, `record_index`) in byte order
/// is kept (the earlier run's on a tie: the same file ingested twice), as one run over all the
/// inputs would have kept it; each dropped event is counted as a duplicate of its file.
pub(crate) fn merge(dir: &Path, runs: Vec<(String, Manifest)>, dedup: bool) -> Result<Manifest> {
    let mut m = Manifest::new();
    // The run of each input and of each file of the merged view.
    let (mut input_run, mut file_run) = (Vec::new(), Vec::new());
    for (k, (run, r)) in runs.into_iter().enumerate() {
        m.totals.add(&r.totals);
        input_run.extend(std::iter::repeat_n(k, r.inputs.len()));
        file_run.extend(std::iter::repeat_n(k, r.files.len()));
        m.inputs.extend(r.inputs);
        m.problems.extend(r.problems);
        m.files.extend(r.files);
        for i in r.iam {
            m.iam.retain(|x| x.stored != i.stored);
            m.iam.push(i);
        }
        m.partition = r.partition;
        m.run = run.clone();
        m.runs.push(run);
    }
    m.iam.sort_by(|x, y| x.stored.cmp(&y.stored));
    // Inputs and problems in path order, as one run over every input lists them (a file in
    // several runs: run after run).
    let mut inputs: Vec<_> = std::mem::take(&mut m.inputs)
        .into_iter()
        .zip(input_run)
        .collect();
    inputs.sort_by(|a, b| a.0.path.cmp(&b.0.path));
    let (sorted, input_run): (Vec<_>, Vec<_>) = inputs.into_iter().unzip();
    m.inputs = sorted;
    m.problems.sort_by(|a, b| a.file.cmp(&b.file));
    let mut data_runs: Vec<usize> = file_run
        .iter()
        .zip(&m.files)
        .filter(|(_, f)| f.rows > 0)
        .map(|(r, _)| *r)
        .collect();
    data_runs.dedup();
    if dedup && data_runs.len() > 1 {
        let dropped = duplicates_across_runs(dir, &mut m, &file_run, &input_run)?;
        m.dropped = std::sync::Arc::new(dropped);
    }
    Ok(m)
}

/// The rows of `m`'s files that are duplicates of rows of another run (see `merge`), and the
/// accounting of the dropped events moved from events to duplicates.
///
/// In bounded memory (`TRAILGRAPH_DEDUP_MEMORY`, as ingest's): when a table's rows would take
/// more than that in one map, each row's key and position go to one of several buckets by a
/// hash of the key (`Buckets`, spilled to a temporary file), and the buckets are resolved one at
/// a time. Every row of one key is in one bucket, in the order read, so the rows kept and
/// dropped are those of one map over all the rows.
fn duplicates_across_runs(
    dir: &Path,
    m: &mut Manifest,
    file_run: &[usize],
    input_run: &[usize],
) -> Result<Dropped> {
    use rustc_hash::FxHashMap;
    let limit = trailgraph_log::dedup::memory_limit()?;
    let key_columns = [
        event::recipient_account,
        event::event_id,
        event::source_file,
        event::record_index,
    ];
    // (run, source file) → input, for the accounting.
    let inputs: FxHashMap<(usize, &str), usize> = m
        .inputs
        .iter()
        .enumerate()
        .map(|(i, f)| ((input_run[i], f.path.as_str()), i))
        .collect();
    // The rows dropped, per data file of the merged view.
    let mut drops: Vec<Vec<u32>> = vec![Vec::new(); m.files.len()];
    // Events moved to duplicates, per input of the merged view, and in all.
    let mut moved: Vec<u64> = vec![0; m.inputs.len()];
    let mut moved_total = 0u64;
    for table in TABLES {
        let files: Vec<(usize, &crate::manifest::ManifestFile)> = m
            .files
            .iter()
            .enumerate()
            .filter(|(_, f)| f.path.starts_with(table) && f.path[table.len()..].starts_with('/'))
            .collect();
        let rows: u64 = files.iter().map(|(_, f)| f.rows).sum();
        let mut r = Resolver {
            names: Vec::new(),
            name_of: FxHashMap::default(),
            kept: FxHashMap::default(),
            drops: &mut drops,
        };
        let mut account = |names: &[String], lost: Option<(u32, u32)>| {
            if let (Some((src, lost_file)), "events") = (lost, table) {
                let run = file_run[lost_file as usize];
                moved_total += 1;
                if let Some(&i) = inputs.get(&(run, names[src as usize].as_str())) {
                    moved[i] += 1;
                }
            }
        };
        // Bytes a row takes when its bucket is resolved (the record read back, and its entry in
        // `Resolver::kept` with the hash table's slack).
        const MAP_ROW_BYTES: u64 = 112;
        let n_buckets = (rows * MAP_ROW_BYTES).div_ceil(limit.max(1) as u64).max(1) as usize;
        let mut buckets = (n_buckets > 1).then(|| Buckets::new(n_buckets, limit));
        for &(fi, f) in &files {
            let p = dir.join(&f.path);
            let df = read_parquet(&p, Some(&key_columns))?;
            let accts = df.column(event::recipient_account)?.str()?;
            let ids = df.column(event::event_id)?.str()?;
            let srcs = df.column(event::source_file)?.str()?;
            let recs = df.column(event::record_index)?.u64()?;
            for (row, (((a, id), src), rec)) in accts
                .iter()
                .zip(ids.iter())
                .zip(srcs.iter())
                .zip(recs.iter())
                .enumerate()
            {
                let Some(key) = trailgraph_log::ingest::dedup_key(a, id) else {
                    continue;
                };
                let here = (
                    r.name(src.unwrap_or("")),
                    rec.unwrap_or(0),
                    fi as u32,
                    row as u32,
                );
                match &mut buckets {
                    None => {
                        let lost = r.see(key, here);
                        account(&r.names, lost);
                    }
                    Some(b) => b.push(key, here)?,
                }
            }
        }
        if let Some(mut b) = buckets {
            for k in 0..n_buckets {
                r.kept.clear();
                for (key, here) in b.bucket(k)? {
                    let lost = r.see(key, here);
                    account(&r.names, lost);
                }
            }
        }
    }
    let mut dropped: std::collections::BTreeMap<String, Vec<u32>> = Default::default();
    for (fi, rows) in drops.into_iter().enumerate() {
        if !rows.is_empty() {
            dropped
                .entry(m.files[fi].path.clone())
                .or_default()
                .extend(rows);
        }
    }
    for rows in dropped.values_mut() {
        rows.sort_unstable();
    }
    m.totals.events = m.totals.events.saturating_sub(moved_total);
    m.totals.duplicates += moved_total;
    for (i, n) in moved.into_iter().enumerate() {
        if n > 0 {
            let f = &mut m.inputs[i];
            f.events = f.events.saturating_sub(n);
            f.duplicates += n;
        }
    }
    Ok(Dropped(dropped))
}

/// A row's position: (source file, record index, data file, row in it); rows of one key are
/// ordered by (source file's name in byte order, record index), then as met.
type Here = (u32, u64, u32, u32);

/// The rows kept so far per key, of one table (or of one bucket of it).
struct Resolver<'a> {
    /// Source files interned: a row's position is (its file's name, its record index).
    names: Vec<String>,
    name_of: rustc_hash::FxHashMap<String, u32>,
    /// dedup key → position of the row kept so far.
    kept: rustc_hash::FxHashMap<u128, Here>,
    /// The rows dropped, per data file.
    drops: &'a mut Vec<Vec<u32>>,
}

impl Resolver<'_> {
    fn name(&mut self, src: &str) -> u32 {
        match self.name_of.get(src) {
            Some(&s) => s,
            None => {
                self.names.push(src.to_string());
                self.name_of
                    .insert(src.to_string(), self.names.len() as u32 - 1);
                self.names.len() as u32 - 1
            }
        }
    }

    /// A row of `key` at `here` (rows in the order read): the (source file, data file) of the
    /// row it makes a duplicate, if any, which is dropped.
    fn see(&mut self, key: u128, here: Here) -> Option<(u32, u32)> {
        match self.kept.entry(key) {
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(here);
                None
            }
            std::collections::hash_map::Entry::Occupied(mut o) => {
                let old = *o.get();
                let smaller = (self.names[here.0 as usize].as_bytes(), here.1)
                    < (self.names[old.0 as usize].as_bytes(), old.1);
                let lost = if smaller {
                    o.insert(here);
                    old
                } else {
                    here
                };
                self.drops[lost.2 as usize].push(lost.3);
                Some((lost.0, lost.2))
            }
        }
    }
}

/// Rows (key and position) spread over buckets by a hash of the key, each bucket's rows kept
/// in the order pushed: in memory up to a buffer per bucket, then as segments of one temporary
/// file.
struct Buckets {
    bufs: Vec<Vec<u8>>,
    buf_bytes: usize,
    file: Option<std::fs::File>,
    len: u64,
    /// Each bucket's segments in the file: (offset, bytes).
    segments: Vec<Vec<(u64, usize)>>,
}

impl Buckets {
    const RECORD: usize = 36;

    fn new(n: usize, limit: usize) -> Buckets {
        Buckets {
            bufs: vec![Vec::new(); n],
            buf_bytes: (limit / 4 / n).clamp(4096, 1 << 16),
            file: None,
            len: 0,
            segments: vec![Vec::new(); n],
        }
    }

    fn of(&self, key: u128) -> usize {
        let h = ((key >> 64) as u64 ^ key as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        ((h >> 32) % self.bufs.len() as u64) as usize
    }

    fn push(&mut self, key: u128, here: Here) -> Result<()> {
        let b = self.of(key);
        let buf = &mut self.bufs[b];
        buf.extend_from_slice(&key.to_le_bytes());
        buf.extend_from_slice(&here.0.to_le_bytes());
        buf.extend_from_slice(&here.1.to_le_bytes());
        buf.extend_from_slice(&here.2.to_le_bytes());
        buf.extend_from_slice(&here.3.to_le_bytes());
        if buf.len() >= self.buf_bytes {
            use std::io::{Seek, Write};
            let file = match &mut self.file {
                Some(f) => f,
                None => self.file.insert(tempfile::tempfile()?),
            };
            file.seek(std::io::SeekFrom::Start(self.len))?;
            file.write_all(buf)?;
            self.segments[b].push((self.len, buf.len()));
            self.len += buf.len() as u64;
            buf.clear();
        }
        Ok(())
    }

    /// The rows of bucket `b`, in the order pushed (its buffer is freed).
    fn bucket(&mut self, b: usize) -> Result<Vec<(u128, Here)>> {
        use std::io::{Read, Seek};
        let mut out = Vec::new();
        let mut decode = |bytes: &[u8]| {
            for r in bytes.chunks_exact(Self::RECORD) {
                let u32_at = |a: usize| u32::from_le_bytes(r[a..a + 4].try_into().expect("4"));
                out.push((
                    u128::from_le_bytes(r[..16].try_into().expect("16")),
                    (
                        u32_at(16),
                        u64::from_le_bytes(r[20..28].try_into().expect("8")),
                        u32_at(28),
                        u32_at(32),
                    ),
                ));
            }
        };
        let mut bytes = Vec::new();
        for &(offset, len) in &self.segments[b] {
            let file = self.file.as_mut().expect("segments are in the file");
            file.seek(std::io::SeekFrom::Start(offset))?;
            bytes.resize(len, 0);
            file.read_exact(&mut bytes)?;
            decode(&bytes);
        }
        decode(&std::mem::take(&mut self.bufs[b]));
        Ok(out)
    }
}
