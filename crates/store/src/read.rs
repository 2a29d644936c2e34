use crate::chunk::append;
use crate::frames::{canonical_order, frame_from, project, Frames};
use crate::manifest::{part_name, read_manifest, Manifest};
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

/// The events table of a case, read a row group at a time (for analyses that stream through a
/// case instead of loading it).
pub struct CaseEvents {
    /// Each part's events file and its Parquet metadata.
    parts: Vec<(
        std::path::PathBuf,
        polars::io::parquet::metadata::FileMetadataRef,
    )>,
    columns: Vec<String>,
}

/// One row group of a case's events: rows `first..first + rows` of part `part`.
#[derive(Debug, Clone, Copy)]
pub struct RowGroup {
    pub part: usize,
    pub first: usize,
    pub rows: usize,
}

impl CaseEvents {
    /// The events of case `dir` (every part), with `columns`.
    pub fn open(dir: &Path, manifest: &Manifest, columns: &[&str]) -> Result<CaseEvents> {
        let paths = (0..manifest.parts)
            .map(|p| dir.join("events").join(part_name(p)))
            .filter(|p| p.exists())
            .collect();
        Self::open_paths(paths, columns)
    }

    /// The events of part 0 of the case (or scratch case) in `dir`, with `columns`.
    pub fn open_part(dir: &Path, columns: &[&str]) -> Result<CaseEvents> {
        Self::open_paths(vec![dir.join("events").join(part_name(0))], columns)
    }

    pub(crate) fn open_paths(
        paths: Vec<std::path::PathBuf>,
        columns: &[&str],
    ) -> Result<CaseEvents> {
        let mut parts = Vec::new();
        for path in paths {
            let f = std::fs::File::open(&path)
                .with_context(|| format!("{}: cannot open", path.display()))?;
            let metadata = ParquetReader::new(f)
                .get_metadata()
                .map_err(|e| {
                    anyhow::anyhow!("{}: not a readable Parquet file: {e}", path.display())
                })?
                .clone();
            parts.push((path, metadata));
        }
        Ok(CaseEvents {
            parts,
            columns: columns.iter().map(|c| c.to_string()).collect(),
        })
    }

    /// Parts with an events file.
    pub fn parts(&self) -> usize {
        self.parts.len()
    }

    /// Every row group, part by part: slices that decode nothing twice.
    pub fn row_groups(&self) -> Vec<RowGroup> {
        let mut out = Vec::new();
        for (part, (_, m)) in self.parts.iter().enumerate() {
            let mut first = 0;
            for g in &m.row_groups {
                out.push(RowGroup {
                    part,
                    first,
                    rows: g.num_rows(),
                });
                first += g.num_rows();
            }
        }
        out
    }

    /// The rows of `g` (all of them, or an error), one chunk per column.
    pub fn slice(&self, g: RowGroup) -> Result<DataFrame> {
        let (path, metadata) = &self.parts[g.part];
        let f = std::fs::File::open(path)
            .with_context(|| format!("{}: cannot open", path.display()))?;
        let mut r = ParquetReader::new(f)
            .with_columns(Some(self.columns.clone()))
            .with_slice(Some((g.first, g.rows)));
        r.set_metadata(metadata.clone());
        let mut df = r
            .finish()
            .map_err(|e| anyhow::anyhow!("{}: not a readable Parquet file: {e}", path.display()))?;
        if df.height() != g.rows {
            bail!(
                "{}: row group at row {} gave {} of its {} rows",
                path.display(),
                g.first,
                df.height(),
                g.rows
            );
        }
        df.rechunk_mut_par();
        Ok(df)
    }

    /// The rows where `predicate` holds, in canonical order (see `canonical_order`), one chunk
    /// per column.
    pub fn filtered(&self, predicate: Expr) -> Result<DataFrame> {
        let cols: Vec<Expr> = self.columns.iter().map(|c| col(c.as_str())).collect();
        let mut acc: Option<DataFrame> = None;
        for (path, _) in &self.parts {
            let p = path.to_string_lossy().to_string();
            let df =
                LazyFrame::scan_parquet(PlRefPath::from(p.as_str()), ScanArgsParquet::default())
                    .and_then(|lf| lf.filter(predicate.clone()).select(cols.clone()).collect())
                    .map_err(|e| anyhow::anyhow!("{}: cannot scan Parquet: {e}", path.display()))?;
            append(&mut acc, df)?;
        }
        let Some(mut df) = acc else {
            bail!("a case without events files");
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
            let (path, metadata) = &self.parts[g.part];
            let f = std::fs::File::open(path)
                .with_context(|| format!("{}: cannot open", path.display()))?;
            let mut r = ParquetReader::new(f)
                .with_columns(Some(vec![event::source_file.to_string()]))
                .with_slice(Some((g.first, g.rows)));
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

/// The events table of a case (every column, all parts) as a lazy Parquet scan, in the order
/// `load_case_columns` gives: part 0's rows as stored, or, with several parts, the canonical
/// order (a stable sort by (source_file, record_index), which holds the rows that reach it).
/// None when the case has no events file. A query over it reads only the columns it names and
/// the row groups its filters keep (statistics permitting).
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
    for part in 0..manifest.parts {
        let p = dir.join(table).join(part_name(part));
        if !p.exists() {
            continue;
        }
        let path = p.to_string_lossy().into_owned();
        scans.push(
            LazyFrame::scan_parquet(PlRefPath::from(path.as_str()), ScanArgsParquet::default())
                .map_err(|e| anyhow::anyhow!("{}: cannot scan Parquet: {e}", p.display()))?,
        );
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
