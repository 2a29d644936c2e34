//! The case store: ingest batches → polars frames, and the on-disk layout users outgrow into
//! DuckDB, Spark or Athena:
//!
//! ```text
//! case/manifest.json              inputs (path, size, mtime, counts), problems, schema, version
//! case/events/part-00000.parquet  one row per distinct event        (table::EventRow)
//! case/issuances/part-00000.parquet  one row per STS issuance call  (table::IssuanceRow)
//! ```
//! Each `ingest` into an existing case adds one part per table holding only new files' events.

use anyhow::{bail, Context, Result};
use polars::prelude::*;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use std::path::Path;
use trailgraph_log::ingest::{FileOutcome, Ingested, Problem, Stats};
use trailgraph_log::table::{ColData, ColRef, EventBatch, IssuanceBatch, Kind};

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
                let c: &trailgraph_log::table::StrCol = c;
                c.iter()
                    .enumerate()
                    .filter(move |(i, _)| keep.is_none_or(|k| k[*i]))
                    .map(|(_, v)| v)
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

/// The rows of a per-event frame by event time, as indices (stable: ties keep the frame's
/// order, nulls last), without moving any data.
pub fn event_time_order(df: &DataFrame) -> Result<Vec<IdxSize>> {
    let idx = df.column("event_time")?.as_materialized_series().arg_sort(
        SortOptions::default()
            .with_nulls_last(true)
            .with_maintain_order(true),
    );
    Ok(idx.into_no_null_iter().collect())
}

/// Rows per Parquet row group, and per in-memory chunk while ingesting.
pub use trailgraph_log::ingest::ROW_GROUP;

/// Collects the owned columns of consecutive files (in file order) into chunks of about
/// `ROW_GROUP` rows. A chunk is turned into a frame (`RawChunk::build`) on a builder thread,
/// while later files are still being parsed, and the per-file arenas are freed (and their
/// memory reused) as ingest goes instead of all living until the end.
struct Chunker {
    schema: &'static [(&'static str, Kind)],
    only: Option<Vec<&'static str>>,
    cols: Vec<Vec<ColData>>,
    keep: Vec<Vec<bool>>,
    rows: usize,
    chunk_rows: usize,
}

/// The columns of consecutive files, with the masks of the rows to keep.
struct RawChunk {
    schema: &'static [(&'static str, Kind)],
    only: Option<Vec<&'static str>>,
    cols: Vec<Vec<ColData>>,
    keep: Vec<Vec<bool>>,
}

fn wanted(schema: &[(&'static str, Kind)], only: &Option<Vec<&'static str>>, i: usize) -> bool {
    only.as_ref().is_none_or(|o| o.contains(&schema[i].0))
}

impl Chunker {
    fn new(
        schema: &'static [(&'static str, Kind)],
        only: Option<&[&str]>,
        chunk_rows: usize,
    ) -> Chunker {
        Chunker {
            schema,
            only: only.map(|o| {
                schema
                    .iter()
                    .map(|(n, _)| *n)
                    .filter(|n| o.contains(n))
                    .collect()
            }),
            cols: (0..schema.len()).map(|_| Vec::new()).collect(),
            keep: Vec::new(),
            rows: 0,
            chunk_rows,
        }
    }

    /// Adds one file's columns; `keep` selects the rows to keep.
    fn push(&mut self, cols: Vec<ColData>, keep: Vec<bool>) {
        self.rows += keep.iter().filter(|k| **k).count();
        for (i, c) in cols.into_iter().enumerate() {
            if wanted(self.schema, &self.only, i) {
                self.cols[i].push(c);
            }
        }
        self.keep.push(keep);
    }

    fn full(&self) -> bool {
        self.rows >= self.chunk_rows
    }

    /// Everything pushed since the last call (None when no file was pushed).
    fn take(&mut self) -> Option<RawChunk> {
        if self.keep.is_empty() {
            return None;
        }
        let n = self.schema.len();
        self.rows = 0;
        Some(RawChunk {
            schema: self.schema,
            only: self.only.clone(),
            cols: std::mem::replace(&mut self.cols, (0..n).map(|_| Vec::new()).collect()),
            keep: std::mem::take(&mut self.keep),
        })
    }

    /// An empty frame with this chunker's columns.
    fn empty(&self) -> Result<DataFrame> {
        project(&frame_from(self.schema, &[])?, self.only.as_deref())
    }
}

impl RawChunk {
    /// The frame of the kept rows (one chunk per column), freeing each column's per-file data
    /// as soon as that column is built.
    fn build(self) -> Result<DataFrame> {
        use rayon::prelude::*;
        let mut raw = self;
        let columns = raw.wanted_columns();
        let keep: Vec<&[bool]> = raw.keep.iter().map(|k| &k[..]).collect();
        let schema = raw.schema;
        // Columns side by side on the encoding pool (not the global one: see `Builder`): the
        // last chunk of an ingest is built after parsing has ended, when only this work is left.
        let built: Vec<Column> = encode_pool().install(|| {
            columns
                .into_par_iter()
                .map(|(i, files)| chunk_column(schema[i], files, &keep))
                .collect()
        });
        Ok(DataFrame::new_infer_height(built)?)
    }

    /// Takes the columns to build, with their index in the schema (in schema order).
    fn wanted_columns(&mut self) -> Vec<(usize, Vec<ColData>)> {
        let (schema, only) = (self.schema, &self.only);
        std::mem::take(&mut self.cols)
            .into_iter()
            .enumerate()
            .filter(|(i, _)| wanted(schema, only, *i))
            .collect()
    }

    /// Rows kept in this chunk.
    fn rows(&self) -> usize {
        self.keep
            .iter()
            .map(|k| k.iter().filter(|x| **x).count())
            .sum()
    }

    /// The schema of the frame `build` would make. (Made here without `frame_from`, which uses
    /// the global pool: the builder thread must not, see `Builder`.)
    fn frame_schema(&self) -> Schema {
        self.schema
            .iter()
            .enumerate()
            .filter(|(i, _)| wanted(self.schema, &self.only, *i))
            .map(|(i, (n, k))| {
                let c = build_column(n, *k, &[], i);
                (c.name().clone(), c.dtype().clone())
            })
            .collect()
    }
}

/// One column of a chunk from the same column of its files (`keep`: each file's rows to keep).
fn chunk_column(
    (name, kind): (&'static str, Kind),
    files: Vec<ColData>,
    keep: &[&[bool]],
) -> Column {
    if kind == Kind::Str {
        let strs = files
            .into_iter()
            .map(|c| match c {
                ColData::Str(c) => c,
                _ => unreachable!("schema mismatch"),
            })
            .collect();
        return string_column(name, strs, keep);
    }
    let parts: Vec<Part<'_>> = files
        .iter()
        .zip(keep)
        .map(|(c, k)| (vec![(name, c.as_ref())], Some(*k)))
        .collect();
    build_column(name, kind, &parts, 0)
}

/// A string column over the arenas of several files, without copying them: each arena becomes
/// one buffer of an arrow view array (polars' string layout) and each kept row a view into it
/// (strings up to 12 bytes live in the view itself).
fn string_column(
    name: &str,
    files: Vec<trailgraph_log::table::StrCol>,
    keep: &[&[bool]],
) -> Column {
    string_column_with(name, files, keep, u32::MAX as usize)
}

/// `string_column` with buffers of at most `max_buffer` bytes (offsets into a buffer are 32
/// bits): a larger arena (a column of one file over 4 GiB) is copied into several buffers.
fn string_column_with(
    name: &str,
    files: Vec<trailgraph_log::table::StrCol>,
    keep: &[&[bool]],
    max_buffer: usize,
) -> Column {
    use polars_arrow::array::View;
    use polars_arrow::bitmap::MutableBitmap;
    use polars_buffer::Buffer;
    let rows: usize = keep.iter().map(|k| k.iter().filter(|x| **x).count()).sum();
    let mut views: Vec<View> = Vec::with_capacity(rows);
    let mut validity = MutableBitmap::with_capacity(rows);
    let mut buffers: Vec<Buffer<u8>> = Vec::new();
    let (mut bytes_len, mut buffer_len) = (0usize, 0usize);
    for (c, k) in files.into_iter().zip(keep) {
        let (data, words) = c.into_parts();
        let spilled = data.len() > max_buffer;
        let idx = buffers.len() as u32;
        let mut referenced = false;
        let mut spill: Vec<u8> = Vec::new();
        if !spilled {
            // The common case, in one pass over the tags: a repeated value takes the view of
            // the value it repeats, without reading its bytes again.
            let bytes = data.as_bytes();
            let (mut start, mut last) = (0usize, View::default());
            for (&r, &kept) in words.iter().zip(k.iter()) {
                let (end, tag) = trailgraph_log::table::row(r);
                let at = std::mem::replace(&mut start, end);
                if tag == trailgraph_log::table::NEW {
                    last = View::new_from_bytes(&bytes[at..end], idx, at as u32);
                }
                if !kept {
                    continue;
                }
                if tag == trailgraph_log::table::NULL {
                    views.push(View::default());
                    validity.push(false);
                } else {
                    bytes_len += last.length as usize;
                    referenced |= last.length > View::MAX_INLINE_SIZE;
                    views.push(last);
                    validity.push(true);
                }
            }
        } else {
            // An arena over `max_buffer` (one file's column over 4 GiB): copied into buffers of at
            // most that size.
            for value in kept_values(data.as_bytes(), &words, k) {
                let Some(v) = value else {
                    views.push(View::default());
                    validity.push(false);
                    continue;
                };
                bytes_len += v.len();
                validity.push(true);
                if v.len() <= View::MAX_INLINE_SIZE as usize {
                    views.push(View::new_from_bytes(v, 0, 0));
                } else {
                    if !spill.is_empty() && spill.len() + v.len() > max_buffer {
                        buffer_len += spill.len();
                        buffers.push(Buffer::from(std::mem::take(&mut spill)));
                    }
                    let at = spill.len() as u32;
                    spill.extend_from_slice(v);
                    views.push(View::new_from_bytes(v, buffers.len() as u32, at));
                }
            }
        }
        if !spill.is_empty() {
            buffer_len += spill.len();
            buffers.push(Buffer::from(spill));
        }
        if referenced {
            let mut data = data.into_bytes();
            if data.capacity() > data.len() + data.len() / 4 {
                data.shrink_to_fit();
            }
            buffer_len += data.len();
            buffers.push(Buffer::from(data));
        }
    }
    let validity = (validity.unset_bits() > 0).then(|| validity.into());
    // SAFETY: every view was made by `View::new_from_bytes` from valid UTF-8 (a `String`) at
    // its offset in the buffer it names; inline views hold their bytes; null views are zero.
    unsafe { view_column(name, views, buffers, validity, bytes_len, buffer_len) }
}

/// The rows of one file's string column that `keep` selects: None for a null, else the value
/// (see `table::values`).
fn kept_values<'d>(
    data: &'d [u8],
    rows: &'d [u64],
    keep: &'d [bool],
) -> impl Iterator<Item = Option<&'d [u8]>> + 'd {
    trailgraph_log::table::values(data, rows)
        .zip(keep)
        .filter_map(|(v, k)| k.then_some(v.map(|(v, _)| v)))
}

/// A polars string column from arrow views over `buffers` (`bytes_len`: the total length of
/// the non-null values; `buffer_len`: the total size of the buffers).
///
/// # Safety
/// Every non-null view must have been made by `View::new_from_bytes` from valid UTF-8, stored
/// at the offset it names in the buffer it names (or inline, up to 12 bytes); null views are
/// zero.
pub unsafe fn view_column(
    name: &str,
    views: Vec<polars_arrow::array::View>,
    buffers: Vec<polars_buffer::Buffer<u8>>,
    validity: Option<polars_arrow::bitmap::Bitmap>,
    bytes_len: usize,
    buffer_len: usize,
) -> Column {
    use polars_arrow::array::Utf8ViewArray;
    use polars_arrow::datatypes::ArrowDataType;
    use polars_buffer::Buffer;
    // SAFETY: the caller's contract.
    let arr = unsafe {
        Utf8ViewArray::new_unchecked(
            ArrowDataType::Utf8View,
            Buffer::from(views),
            Buffer::from(buffers),
            validity,
            Some(bytes_len),
            buffer_len,
        )
    };
    StringChunked::with_chunk(name.into(), arr).into_column()
}

/// A hint to fetch the cache line at `p` (never dereferenced: any address is fine).
#[inline(always)]
pub fn prefetch(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch does not access memory architecturally; it cannot fault.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p as *const i8)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Rows `idx` of a string column (in that order), as a column whose views point into the
/// column's own buffers: 16 bytes copied a row and none of the strings (polars' gather copies
/// every value longer than 12 bytes into new buffers).
pub fn gather_strings(c: &StringChunked, idx: &[IdxSize]) -> Column {
    use polars_arrow::array::{Array, Utf8ViewArray, View};
    use polars_arrow::bitmap::MutableBitmap;
    let arrs: Vec<&Utf8ViewArray> = c.downcast_iter().collect();
    // The first row of each chunk, and where its buffers start among all.
    let (mut starts, mut base) = (Vec::with_capacity(arrs.len()), Vec::new());
    let mut buffers = Vec::new();
    let (mut rows, mut buffer_len) = (0usize, 0usize);
    for a in &arrs {
        starts.push(rows);
        rows += a.len();
        base.push(buffers.len() as u32);
        for b in a.data_buffers().iter() {
            buffer_len += b.len();
            buffers.push(b.clone());
        }
    }
    // Chunk and row of each gathered row: the last chunk starting at or before it holds it (an
    // empty chunk shares its start with the next one).
    let at: Vec<(u32, u32)> = idx
        .iter()
        .map(|&g| {
            let g = g as usize;
            let k = starts.partition_point(|&s| s <= g) - 1;
            (k as u32, (g - starts[k]) as u32)
        })
        .collect();
    let mut views = Vec::with_capacity(idx.len());
    let mut validity = MutableBitmap::with_capacity(idx.len());
    let mut bytes_len = 0;
    for (j, &(k, i)) in at.iter().enumerate() {
        // The rows are scattered: fetch the view of a row a few ahead while this one is read.
        if let Some(&(k, i)) = at.get(j + 8) {
            prefetch(arrs[k as usize].views().as_ptr().wrapping_add(i as usize) as *const u8);
        }
        let (k, i) = (k as usize, i as usize);
        let a = arrs[k];
        if a.is_valid(i) {
            let mut v = a.views()[i];
            bytes_len += v.length as usize;
            if v.length > View::MAX_INLINE_SIZE {
                v.buffer_idx += base[k];
            }
            views.push(v);
            validity.push(true);
        } else {
            views.push(View::default());
            validity.push(false);
        }
    }
    let validity = (validity.unset_bits() > 0).then(|| validity.into());
    // SAFETY: every non-null view is a valid view of its chunk, with its buffer index moved to
    // where that chunk's buffers are in `buffers`; null views are zero.
    unsafe { view_column(c.name(), views, buffers, validity, bytes_len, buffer_len) }
}

/// A thread that hands the chunks it is sent to `f` (in order), which builds them into frames
/// or writes them.
/// It must not use the global rayon pool, whose workers may be blocked handing files over.
struct Builder<S> {
    tx: Option<std::sync::mpsc::SyncSender<RawChunk>>,
    handle: std::thread::JoinHandle<Result<S>>,
}

impl<S: Send + 'static> Builder<S> {
    fn spawn(mut state: S, f: fn(&mut S, RawChunk) -> Result<()>) -> Builder<S> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<RawChunk>(1);
        let handle = std::thread::Builder::new()
            .name("trailgraph-build".into())
            .spawn(move || {
                for raw in rx {
                    f(&mut state, raw)?;
                }
                Ok(state)
            })
            .expect("cannot spawn a thread");
        Builder {
            tx: Some(tx),
            handle,
        }
    }

    fn send(&self, raw: RawChunk) -> Result<()> {
        let tx = self.tx.as_ref().expect("send before finish");
        // A closed channel means the builder failed; `finish` returns its error.
        tx.send(raw)
            .map_err(|_| anyhow::anyhow!("the chunk builder stopped"))
    }

    /// Waits for the builder; its error, if it had one, wins over `run`'s.
    fn finish<T>(mut self, run: Result<T>) -> Result<(T, S)> {
        self.tx = None;
        let state = match self.handle.join() {
            Ok(r) => r,
            Err(p) => std::panic::resume_unwind(p),
        }?;
        Ok((run?, state))
    }
}

/// What a file contributes to the chunkers: its event and issuance columns.
type Taken = (Vec<ColData>, Vec<ColData>);

fn take_columns(o: &mut FileOutcome) -> Taken {
    (o.events.take_columns(), o.issuances.take_columns())
}

/// Hands one de-duplicated file to the two chunkers.
fn push_file(o: &mut FileOutcome, (evs, isss): Taken, ev: &mut Chunker, iss: &mut Chunker) {
    let iss_keep = o.issuance_event_row.iter().map(|&r| o.keep[r]).collect();
    o.issuance_event_row = Vec::new();
    ev.push(evs, std::mem::take(&mut o.keep));
    iss.push(isss, iss_keep);
}

/// Appends `df` to `acc` as new chunks.
fn append(acc: &mut Option<DataFrame>, df: DataFrame) -> Result<()> {
    match acc {
        None => *acc = Some(df),
        Some(a) => {
            a.vstack_mut_owned(df)?;
        }
    }
    Ok(())
}

/// Streams `files` in order: the event columns go to `builder` a chunk at a time (whenever `ev`
/// is full, and the rest at the end); the issuances, few, are built at the end. Returns the
/// ingest result, the builder's state, the (emptied) event chunker and the issuances frame.
fn stream<S: Send + 'static>(
    files: &[trailgraph_log::discover::InputFile],
    opts: &trailgraph_log::ingest::IngestOptions,
    seen: &mut trailgraph_log::ingest::SeenKeys,
    mut ev: Chunker,
    builder: Builder<S>,
    on_issuances: impl FnOnce(&DataFrame) -> Result<()>,
) -> Result<(Ingested, S, Chunker, DataFrame)> {
    let mut iss = Chunker::new(IssuanceBatch::SCHEMA, None, usize::MAX);
    let run = trailgraph_log::ingest::ingest_each(files, opts, seen, &take_columns, &mut |o, t| {
        push_file(o, t, &mut ev, &mut iss);
        if ev.full() {
            builder.send(ev.take().expect("rows"))?;
        }
        Ok(())
    })
    .and_then(|ing| {
        if let Some(raw) = ev.take() {
            builder.send(raw)?;
        }
        Ok(ing)
    });
    // The issuances (a small table) are built and handed on while the builder thread finishes
    // the last events chunk.
    let issuances = run.as_ref().ok().map(|_| match iss.take() {
        Some(raw) => raw.build(),
        None => iss.empty(),
    });
    let hooked = match &issuances {
        Some(Ok(df)) => on_issuances(df),
        _ => Ok(()),
    };
    let (ing, state) = builder.finish(run)?;
    hooked?;
    let issuances = issuances.expect("the run succeeded")?;
    Ok((ing, state, ev, issuances))
}

/// Ingests `files` and returns the kept rows as frames in canonical order (files by path,
/// records by position). Files stream through in order; every `ROW_GROUP` rows their columns
/// become one chunk of the result and are freed, so about one copy of the data is alive at any
/// time. The frames have one chunk per `ROW_GROUP` rows (callers rechunk when they need to).
pub fn ingest_frames(
    files: &[trailgraph_log::discover::InputFile],
    opts: &trailgraph_log::ingest::IngestOptions,
    seen: &mut trailgraph_log::ingest::SeenKeys,
    events_columns: Option<&[&str]>,
) -> Result<(Ingested, Frames)> {
    let ev = Chunker::new(EventBatch::SCHEMA, events_columns, opts.chunk_rows);
    let opts = with_event_columns(opts, events_columns);
    let (ing, events, ev, issuances) = stream(
        files,
        &opts,
        seen,
        ev,
        Builder::spawn(None, |acc, raw| append(acc, raw.build()?)),
        |_| Ok(()),
    )?;
    let events = match events {
        Some(mut df) => {
            if let Some(c) = events_columns {
                df = df.select(c.iter().copied())?;
            }
            df
        }
        None => ev.empty()?,
    };
    Ok((ing, Frames { events, issuances }))
}

/// A Parquet file written a row group at a time, under a temporary name until `finish`.
struct PartFile {
    path: std::path::PathBuf,
    tmp: std::path::PathBuf,
    writer: Option<PqWriter>,
    /// Written to be read once, by this process (see `PqWriter::new`).
    scratch: bool,
}

impl PartFile {
    fn new(path: std::path::PathBuf, scratch: bool) -> PartFile {
        PartFile {
            tmp: path.with_extension("parquet.tmp"),
            path,
            writer: None,
            scratch,
        }
    }

    fn writer(&mut self, schema: &Schema) -> Result<&mut PqWriter> {
        if self.writer.is_none() {
            let f = std::fs::File::create(&self.tmp)
                .with_context(|| format!("{}: cannot create", self.tmp.display()))?;
            self.writer = Some(PqWriter::new(f, schema, self.scratch).map_err(|e| {
                anyhow::anyhow!("{}: cannot write Parquet: {e}", self.path.display())
            })?);
        }
        Ok(self.writer.as_mut().expect("just set"))
    }

    fn write(&mut self, df: &DataFrame) -> Result<()> {
        let path = self.path.clone();
        self.writer(df.schema())?
            .write(df)
            .map_err(|e| anyhow::anyhow!("{}: cannot write Parquet: {e}", path.display()))
    }

    /// Writes a chunk as one row group, each column encoded as soon as it is built (see
    /// `PqWriter::write_chunk`).
    fn write_chunk(&mut self, raw: RawChunk) -> Result<()> {
        let path = self.path.clone();
        self.writer(&raw.frame_schema())?
            .write_chunk(raw)
            .map_err(|e| anyhow::anyhow!("{}: cannot write Parquet: {e}", path.display()))
    }

    fn finish(mut self) -> Result<()> {
        let w = self.writer.take().expect("finish after a write");
        w.finish()
            .map_err(|e| anyhow::anyhow!("{}: cannot write Parquet: {e}", self.path.display()))?;
        std::fs::rename(&self.tmp, &self.path)
            .with_context(|| format!("{}: cannot rename", self.path.display()))
    }
}

impl Drop for PartFile {
    /// An unfinished part (an error stopped the run) leaves no temporary file behind.
    fn drop(&mut self) {
        if self.writer.take().is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// The threads that encode Parquet columns, as many as the global pool has.
fn encode_pool() -> &'static rayon::ThreadPool {
    static POOL: std::sync::OnceLock<rayon::ThreadPool> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(rayon::current_num_threads())
            .thread_name(|i| format!("trailgraph-encode-{i}"))
            .build()
            .expect("cannot start the Parquet encoding threads")
    })
}

/// Columns whose values are (nearly) all distinct: written plainly, without polars' attempt at
/// a dictionary (a cardinality estimate and a hash of every value, for nothing). Every other
/// column gets polars' usual choice (a dictionary when it pays).
const PLAIN_COLUMNS: &[&str] = &[
    "event_id",
    "request_id",
    "shared_event_id",
    "request_parameters",
];

/// Columns of random identifiers (UUIDs as text), written without compression: Snappy makes
/// them only a tenth smaller, and compressing them was a tenth of the writer's work.
const UNCOMPRESSED_COLUMNS: &[&str] = &["event_id", "request_id", "shared_event_id"];

/// Columns written without min/max statistics (their null counts are kept): random
/// identifiers, whose range in any row group is nearly the whole range, so no reader can skip a
/// row group by them, and raw request parameters, whose min and max would be whole JSON
/// documents in the file's footer.
const NO_MIN_MAX_COLUMNS: &[&str] = &[
    "event_id",
    "request_id",
    "shared_event_id",
    "request_parameters",
];

/// A string array as a dictionary array for Parquet's dictionary encoding: the distinct values
/// in order of first appearance (as polars' cast to a dictionary makes them), or None when more
/// than three quarters of the values are distinct (polars' rule: plain is then smaller). A row
/// whose view is the same as the row before it (ingest stores a repeated value once, so rows
/// of one value share a view) takes its key without a hash lookup.
fn dictionary_of(
    a: &polars_arrow::array::Utf8ViewArray,
) -> Option<polars_arrow::array::DictionaryArray<u32>> {
    use polars_arrow::array::{Array, DictionaryArray, MutableBinaryViewArray, PrimitiveArray};
    let n = a.len();
    let most = if n > 128 { n * 3 / 4 } else { n };
    let buffers = a.data_buffers();
    let mut map: FxHashMap<&[u8], u32> = FxHashMap::default();
    // Inline values (up to 12 bytes: account ids, regions, types) by their whole view, which
    // holds the length and the bytes: a 16-byte key, no byte hashing or comparison.
    let mut inline: FxHashMap<u128, u32> = FxHashMap::default();
    let mut values = MutableBinaryViewArray::<str>::new();
    let mut keys: Vec<u32> = Vec::with_capacity(n);
    let mut prev: Option<(polars_arrow::array::View, u32)> = None;
    for (i, v) in a.views().iter().enumerate() {
        if !a.is_valid(i) {
            keys.push(0);
            continue;
        }
        if let Some((pv, k)) = prev {
            if pv.as_u128() == v.as_u128() {
                keys.push(k);
                continue;
            }
        }
        let short = v.length <= polars_arrow::array::View::MAX_INLINE_SIZE;
        if short {
            if let Some(&k) = inline.get(&v.as_u128()) {
                keys.push(k);
                prev = Some((*v, k));
                continue;
            }
        }
        // SAFETY: a valid view of `a` names bytes inline or in `a`'s own buffers.
        let bytes = unsafe { v.get_slice_unchecked(buffers) };
        let next = map.len() as u32;
        let k = *map.entry(bytes).or_insert_with(|| {
            // SAFETY: the bytes of a valid value of a UTF-8 view array.
            values.push_value(unsafe { std::str::from_utf8_unchecked(bytes) });
            next
        });
        if short {
            inline.insert(v.as_u128(), k);
        }
        if map.len() > most {
            return None;
        }
        keys.push(k);
        prev = Some((*v, k));
    }
    let keys = PrimitiveArray::new(
        polars_arrow::datatypes::ArrowDataType::UInt32,
        keys.into(),
        a.validity().cloned(),
    );
    DictionaryArray::try_from_keys(keys, values.freeze().boxed(), false).ok()
}

/// How one column of the case store is written: its Parquet type, its encoding (see
/// `PLAIN_COLUMNS`), its compression (Snappy, or none for `UNCOMPRESSED_COLUMNS`) and the
/// writer's options with that column's statistics (`NO_MIN_MAX_COLUMNS`).
struct ColumnPlan {
    ty: polars_parquet::write::ParquetType,
    encoding: polars_parquet::write::Encoding,
    codec: polars_parquet::write::CompressionOptions,
    options: polars_parquet::write::WriteOptions,
}

impl ColumnPlan {
    /// The column's pages, encoded and compressed (a string column to be dictionary-encoded
    /// gets its dictionary from `dictionary_of`, not polars' estimate-then-cast, and is written
    /// plainly when that says no).
    fn encode(
        &self,
        array: &dyn polars_arrow::array::Array,
    ) -> PolarsResult<Vec<polars_parquet::write::CompressedPage>> {
        use polars_parquet::write as pq;
        let mut out = Vec::new();
        let dict;
        let (array, enc): (&dyn polars_arrow::array::Array, _) = match (
            self.encoding,
            array
                .as_any()
                .downcast_ref::<polars_arrow::array::Utf8ViewArray>(),
        ) {
            (pq::Encoding::RleDictionary, Some(a)) => match dictionary_of(a) {
                Some(d) => {
                    dict = d;
                    (&dict, self.encoding)
                }
                None => (a, pq::Encoding::Plain),
            },
            _ => (array, self.encoding),
        };
        for pages in pq::array_to_columns(array, self.ty.clone(), self.options, &[enc])? {
            for page in pages {
                out.push(pq::compress(page?, Vec::new(), self.codec)?);
            }
        }
        Ok(out)
    }
}

/// The Parquet writer of the case store: polars' own encoder (`polars-parquet`), driven
/// directly so that each column gets its encoding (see `PLAIN_COLUMNS`; strings are
/// dictionary-encoded by `dictionary_of`) and its compression (Snappy but for
/// `UNCOMPRESSED_COLUMNS`), one row group per chunk of the frames written, min/max/null
/// statistics (null counts only for `NO_MIN_MAX_COLUMNS`; none in a `scratch` file, read back
/// once by this process). All plain and
/// uncompressed would be cheaper to make but 5× larger: writing and mapping that back costs
/// more than it saves.
struct PqWriter {
    writer: polars_parquet::write::FileWriter<std::io::BufWriter<std::fs::File>>,
    /// One per column, in schema order.
    columns: Vec<ColumnPlan>,
}

impl PqWriter {
    fn new(f: std::fs::File, schema: &Schema, scratch: bool) -> PolarsResult<PqWriter> {
        use polars_parquet::write as pq;
        let arrow = schema.to_arrow(CompatLevel::newest());
        let parquet = pq::to_parquet_schema(&arrow)?;
        let options = pq::WriteOptions {
            statistics: if scratch {
                pq::StatisticsOptions::empty()
            } else {
                pq::StatisticsOptions::default()
            },
            version: pq::Version::V1,
            compression: pq::CompressionOptions::Snappy,
            data_page_size: None,
        };
        let mut columns = Vec::with_capacity(arrow.len());
        for ((name, field), ty) in arrow.iter().zip(parquet.fields()) {
            let name = name.as_str();
            let mut options = options;
            if NO_MIN_MAX_COLUMNS.contains(&name) {
                options.statistics.min_value = false;
                options.statistics.max_value = false;
            }
            let enc = pq::get_dtype_encoding(&field.dtype);
            polars_ensure!(enc.len() == 1, ComputeError: "nested column {name}");
            columns.push(ColumnPlan {
                ty: ty.clone(),
                encoding: if PLAIN_COLUMNS.contains(&name) {
                    pq::Encoding::Plain
                } else {
                    enc[0]
                },
                codec: if UNCOMPRESSED_COLUMNS.contains(&name) {
                    pq::CompressionOptions::Uncompressed
                } else {
                    pq::CompressionOptions::Snappy
                },
                options,
            });
        }
        let writer = pq::FileWriter::new_with_parquet_schema(
            std::io::BufWriter::with_capacity(1 << 20, f),
            arrow,
            parquet,
            options,
        );
        Ok(PqWriter { writer, columns })
    }

    /// Writes each chunk of `df` as one row group, its columns encoded and compressed in
    /// parallel (on `encode_pool`: the writer runs on the ingest's builder thread, which must not
    /// wait on the global pool).
    fn write(&mut self, df: &DataFrame) -> PolarsResult<()> {
        use polars_parquet::write as pq;
        use rayon::prelude::*;
        for batch in df.iter_chunks(CompatLevel::newest(), false) {
            let rows = batch.len();
            if rows == 0 {
                continue;
            }
            let plans = &self.columns;
            let columns: Vec<Vec<pq::CompressedPage>> = encode_pool().install(|| {
                batch
                    .columns()
                    .par_iter()
                    .zip(plans)
                    .map(|(array, plan)| plan.encode(array.as_ref()))
                    .collect::<PolarsResult<_>>()
            })?;
            self.write_group(rows, &columns)?;
        }
        Ok(())
    }

    /// Writes a chunk as one row group. Each column is built and encoded in one step, its
    /// files' data freed as soon as it is encoded: the chunk's columns are never all built at
    /// once (about half the memory of `build` then `write`), and each column's arrow array is
    /// still in cache when it is encoded. Same bytes as `write` of the built frame.
    fn write_chunk(&mut self, mut raw: RawChunk) -> PolarsResult<()> {
        use rayon::prelude::*;
        let rows = raw.rows();
        if rows == 0 {
            // Every row of these files was a duplicate: no row group.
            return Ok(());
        }
        let wanted = raw.wanted_columns();
        let keep: Vec<&[bool]> = raw.keep.iter().map(|k| &k[..]).collect();
        let schema = raw.schema;
        polars_ensure!(wanted.len() == self.columns.len(), ComputeError: "chunk of {} columns for a writer of {}", wanted.len(), self.columns.len());
        let plans = &self.columns;
        let columns: Vec<Vec<polars_parquet::write::CompressedPage>> =
            encode_pool().install(|| {
                wanted
                    .into_par_iter()
                    .zip(plans)
                    .map(|((i, files), plan)| {
                        let column = chunk_column(schema[i], files, &keep);
                        let array = column
                            .as_materialized_series()
                            .to_arrow(0, CompatLevel::newest());
                        drop(column);
                        plan.encode(array.as_ref())
                    })
                    .collect::<PolarsResult<_>>()
            })?;
        self.write_group(rows, &columns)
    }

    fn write_group(
        &mut self,
        rows: usize,
        columns: &[Vec<polars_parquet::write::CompressedPage>],
    ) -> PolarsResult<()> {
        use polars_parquet::write as pq;
        let group = columns.iter().map(|pages| {
            Ok(pq::DynStreamingIterator::new(
                pq::fallible_streaming_iterator::convert(pages.iter().map(PolarsResult::Ok)),
            ))
        });
        self.writer.write(rows as u64, pq::DynIter::new(group))?;
        Ok(())
    }

    fn finish(mut self) -> PolarsResult<()> {
        use std::io::Write;
        self.writer.end(None)?;
        self.writer.into_inner().flush()?;
        Ok(())
    }
}

/// Ingests `files` into part `part` of the case in `dir`, writing the events table one row
/// group at a time while later files are still being parsed: memory holds the files in flight
/// and one row group, not the whole input. Returns the ingest result and the number of
/// issuance rows written. The manifest is not touched (see `write_manifest`).
pub fn ingest_part(
    dir: &Path,
    part: u32,
    files: &[trailgraph_log::discover::InputFile],
    opts: &trailgraph_log::ingest::IngestOptions,
    seen: &mut trailgraph_log::ingest::SeenKeys,
) -> Result<(Ingested, usize)> {
    write_part(dir, part, files, opts, seen, None)
}

/// Like `ingest_part` (part 0), as a scratch case in `dir` for one analysis: only
/// `events_columns` of the events table, without statistics (see `PqWriter::new`).
pub fn scratch_case(
    dir: &Path,
    files: &[trailgraph_log::discover::InputFile],
    opts: &trailgraph_log::ingest::IngestOptions,
    events_columns: &[&str],
) -> Result<Ingested> {
    let mut seen = trailgraph_log::ingest::SeenKeys::default();
    Ok(write_part(dir, 0, files, opts, &mut seen, Some(events_columns))?.0)
}

fn write_part(
    dir: &Path,
    part: u32,
    files: &[trailgraph_log::discover::InputFile],
    opts: &trailgraph_log::ingest::IngestOptions,
    seen: &mut trailgraph_log::ingest::SeenKeys,
    events_columns: Option<&[&str]>,
) -> Result<(Ingested, usize)> {
    for table in ["events", "issuances"] {
        let d = dir.join(table);
        std::fs::create_dir_all(&d).with_context(|| format!("{}: cannot create", d.display()))?;
    }
    let scratch = events_columns.is_some();
    let ev = Chunker::new(EventBatch::SCHEMA, events_columns, opts.chunk_rows);
    let opts = &with_event_columns(opts, events_columns);
    let ev_file = PartFile::new(dir.join("events").join(part_name(part)), scratch);
    let builder = Builder::spawn(ev_file, PartFile::write_chunk);
    // The issuances part is written while the last events are (see `stream`); if the events
    // part then fails, it is removed again: a part is both tables or neither.
    let iss_path = dir.join("issuances").join(part_name(part));
    let mut iss_file = PartFile::new(iss_path.clone(), scratch);
    let events = || -> Result<_> {
        let (ing, mut ev_file, ev, issuances) = stream(files, opts, seen, ev, builder, |df| {
            iss_file.write(df)?;
            iss_file.finish()
        })?;
        let t0 = std::time::Instant::now();
        if ev_file.writer.is_none() {
            ev_file.write(&ev.empty()?)?;
        }
        ev_file.finish()?;
        trailgraph_log::ingest::profile("finish Parquet", t0);
        Ok((ing, issuances.height()))
    };
    events().inspect_err(|_| {
        let _ = std::fs::remove_file(&iss_path);
    })
}

/// `opts` filling only `columns` of the events table (and the de-duplication key, always
/// needed); all of them when None.
fn with_event_columns(
    opts: &trailgraph_log::ingest::IngestOptions,
    columns: Option<&[&str]>,
) -> trailgraph_log::ingest::IngestOptions {
    let mut opts = opts.clone();
    if let Some(c) = columns {
        opts.event_columns = Some(
            EventBatch::SCHEMA
                .iter()
                .map(|(n, _)| c.contains(n) || matches!(*n, "event_id" | "recipient_account"))
                .collect(),
        );
    }
    opts
}

/// Removes part `part` (written by `ingest_part` but not to be recorded), and the case's
/// directories when they are left empty.
pub fn discard_part(dir: &Path, part: u32) {
    for table in ["events", "issuances"] {
        let _ = std::fs::remove_file(dir.join(table).join(part_name(part)));
        let _ = std::fs::remove_dir(dir.join(table)); // only when empty
    }
    let _ = std::fs::remove_dir(dir); // only when empty
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
    let p = dir.join(trailgraph_log::discover::CASE_MANIFEST);
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

/// Writes the manifest of `dir` (atomically replaced).
pub fn write_manifest(dir: &Path, manifest: &Manifest) -> Result<()> {
    let p = dir.join(trailgraph_log::discover::CASE_MANIFEST);
    let tmp = dir.join("manifest.json.tmp");
    std::fs::write(&tmp, serde_json::to_string_pretty(manifest)? + "\n")
        .with_context(|| format!("{}: cannot write", tmp.display()))?;
    std::fs::rename(&tmp, &p).with_context(|| format!("{}: cannot write", p.display()))?;
    Ok(())
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

    fn open_paths(paths: Vec<std::path::PathBuf>, columns: &[&str]) -> Result<CaseEvents> {
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
                .with_columns(Some(vec!["source_file".to_string()]))
                .with_slice(Some((g.first, g.rows)));
            r.set_metadata(metadata.clone());
            let df = r.finish().map_err(|e| {
                anyhow::anyhow!("{}: not a readable Parquet file: {e}", path.display())
            })?;
            let c = df.column("source_file")?.str()?.unique()?;
            files.extend(c.iter().flatten().map(String::from));
        }
        Ok(files.into_iter().collect())
    }
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
pub fn event_keys(events: &DataFrame) -> Result<trailgraph_log::ingest::SeenKeys> {
    let ids = events.column("event_id")?.str()?;
    let accts = events.column("recipient_account")?.str()?;
    Ok(ids
        .iter()
        .zip(accts.iter())
        .filter_map(|(id, a)| trailgraph_log::ingest::dedup_key(a, id))
        .collect())
}

/// True for the first row of each (recipient_account, event_id); rows without an eventID are kept.
fn first_occurrence(df: &DataFrame) -> Result<BooleanChunked> {
    let ids = df.column("event_id")?.str()?;
    let accts = df.column("recipient_account")?.str()?;
    let mut seen = trailgraph_log::ingest::SeenKeys::default();
    Ok(ids
        .iter()
        .zip(accts.iter())
        .map(|(id, a)| {
            Some(trailgraph_log::ingest::dedup_key(a, id).is_none_or(|k| seen.insert(k)))
        })
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

#[cfg(test)]
mod tests {
    use super::*;
    use trailgraph_log::table::StrCol;

    fn col(values: &[Option<&str>]) -> StrCol {
        let mut c = StrCol::default();
        for v in values {
            c.push(*v);
        }
        c
    }

    /// `dictionary_of` keeps every value (nulls as nulls), numbers the distinct values in
    /// order of first appearance, and gives up on mostly distinct columns.
    #[test]
    fn dictionary_of_values_and_keys() {
        use polars_arrow::array::{Array, Utf8ViewArray};
        let long = "arn:aws:iam::111122223333:role/a-role-name-long-enough";
        let rows = [
            Some(long),
            Some(long),
            None,
            Some("b"),
            Some(long),
            Some("b"),
            None,
        ];
        // Through ingest's columns, where rows repeating a value share one view.
        let c = string_column("c", vec![col(&rows)], &[&[true; 7]]);
        let a = c.str().unwrap().downcast_iter().next().unwrap();
        assert_eq!(a.views()[0], a.views()[1]);
        let d = dictionary_of(a).expect("few distinct values");
        let values = d.values().as_any().downcast_ref::<Utf8ViewArray>().unwrap();
        assert_eq!(values.values_iter().collect::<Vec<_>>(), [long, "b"]);
        let back: Vec<Option<&str>> = (0..d.len())
            .map(|i| {
                d.is_valid(i)
                    .then(|| values.value(d.keys().value(i) as usize))
            })
            .collect();
        assert_eq!(back, rows);
        let distinct: Vec<String> = (0..200).map(|i| format!("value number {i}")).collect();
        let a = Utf8ViewArray::from_slice(
            distinct
                .iter()
                .map(|s| Some(s.as_str()))
                .collect::<Vec<_>>(),
        );
        assert!(dictionary_of(&a).is_none());
    }

    /// The case writer compresses every column with Snappy but the UUID columns, keeps
    /// min/max statistics but for `NO_MIN_MAX_COLUMNS` (null counts for all), and its own
    /// dictionary encoding reads back as the values written.
    #[test]
    fn writer_codecs_per_column() {
        use polars_parquet::parquet::compression::Compression;
        use polars_parquet::parquet::statistics::Statistics;
        let df = df!(
            "event_id" => ["3f1c9a2e-0b7d-4e51-9c3a-1d2e3f4a5b6c"; 300],
            "event_name" => ["AssumeRole"; 300],
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        let mut w =
            PqWriter::new(std::fs::File::create(&path).unwrap(), df.schema(), false).unwrap();
        w.write(&df).unwrap();
        w.finish().unwrap();
        let meta =
            polars_parquet::read::read_metadata(&mut std::fs::File::open(&path).unwrap()).unwrap();
        let codecs: Vec<(String, Compression)> = meta.row_groups[0]
            .parquet_columns()
            .iter()
            .map(|c| {
                (
                    c.descriptor().path_in_schema[0].to_string(),
                    c.compression(),
                )
            })
            .collect();
        assert_eq!(
            codecs,
            [
                ("event_id".to_string(), Compression::Uncompressed),
                ("event_name".to_string(), Compression::Snappy),
            ]
        );
        let stats: Vec<(bool, bool, Option<i64>)> = meta.row_groups[0]
            .parquet_columns()
            .iter()
            .map(|c| {
                let Statistics::Binary(b) = c.statistics(&meta.footer_buf).unwrap().unwrap() else {
                    panic!("string statistics")
                };
                (b.min_value.is_some(), b.max_value.is_some(), b.null_count)
            })
            .collect();
        assert_eq!(stats, [(false, false, Some(0)), (true, true, Some(0))]);
        let back = ParquetReader::new(std::fs::File::open(&path).unwrap())
            .finish()
            .unwrap();
        assert!(back.equals(&df));
    }

    /// A chunk of three files' event columns (some rows dropped, one file dropped whole; all
    /// rows with `drop_all`).
    fn event_chunk(only: Option<&[&str]>, drop_all: bool) -> RawChunk {
        use trailgraph_log::table::{EventBatch, EventRow};
        let mut chunker = Chunker::new(EventBatch::SCHEMA, only, usize::MAX);
        for f in 0..3u64 {
            let mut b = EventBatch::default();
            let mut keep = Vec::new();
            for r in 0..200u64 {
                let row = EventRow {
                    event_id: Some(format!("{f:08x}-{r:04x}-4e51-9c3a-1d2e3f4a5b6c").into()),
                    event_time: Some(1_700_000_000_000 + (r * 997) as i64),
                    event_name: Some(
                        ["AssumeRole", "GetObject", "ListBuckets"][r as usize % 3].into(),
                    ),
                    user_agent: (r % 7 != 0).then(|| format!("agent/{}", r / 10).into()),
                    read_only: (r % 5 != 0).then_some(r % 2 == 0),
                    source_file: Some(
                        format!("AWSLogs/111122223333/CloudTrail/f{f}.json.gz").into(),
                    ),
                    record_index: r,
                    ..Default::default()
                };
                b.push(&row);
                keep.push(!drop_all && f != 1 && r % 11 != 3);
            }
            chunker.push(b.take_columns(), keep);
        }
        chunker.take().expect("three files")
    }

    /// Writing a chunk column by column (`write_chunk`, what ingest does) gives the same bytes
    /// as building its frame and writing that, with all columns or a projection of them, and
    /// no row group when every row was dropped.
    #[test]
    fn write_chunk_same_bytes_as_build_then_write() {
        let dir = tempfile::tempdir().unwrap();
        let some = Some(&["event_name", "event_id", "record_index"][..]);
        for (only, drop_all) in [(None, false), (some, false), (None, true)] {
            let built = event_chunk(only, drop_all).build().unwrap();
            let rows = if drop_all { 0 } else { 2 * (200 - 18) };
            assert_eq!(built.height(), rows);
            let (a, b) = (dir.path().join("a.parquet"), dir.path().join("b.parquet"));
            let mut w =
                PqWriter::new(std::fs::File::create(&a).unwrap(), built.schema(), false).unwrap();
            w.write(&built).unwrap();
            w.finish().unwrap();
            let raw = event_chunk(only, drop_all);
            assert_eq!(raw.frame_schema(), **built.schema());
            let mut w = PqWriter::new(
                std::fs::File::create(&b).unwrap(),
                &raw.frame_schema(),
                false,
            )
            .unwrap();
            w.write_chunk(raw).unwrap();
            w.finish().unwrap();
            assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
            let back = ParquetReader::new(std::fs::File::open(&b).unwrap())
                .finish()
                .unwrap();
            assert!(back.equals_missing(&built));
            assert_eq!(back.height(), rows);
        }
    }

    /// Gathering a multi-chunk string column by views gives what polars' own gather gives.
    #[test]
    fn gather_strings_matches_take() {
        let mut c = StringChunked::from_iter_options(
            "c".into(),
            [Some("a value longer than twelve"), None, Some("short")].into_iter(),
        );
        c.append(&StringChunked::from_iter_options(
            "c".into(),
            std::iter::empty::<Option<&str>>(),
        ))
        .unwrap();
        c.append(&StringChunked::from_iter_options(
            "c".into(),
            [Some("second chunk, long enough too"), Some("x"), None].into_iter(),
        ))
        .unwrap();
        assert!(c.chunks().len() >= 2);
        let idx: Vec<IdxSize> = vec![3, 0, 5, 1, 4, 2, 3, 0];
        let got = gather_strings(&c, &idx);
        let want = c.take(&IdxCa::from_vec("".into(), idx.clone())).unwrap();
        assert_eq!(
            got.str().unwrap().iter().collect::<Vec<_>>(),
            want.iter().collect::<Vec<_>>()
        );
        assert_eq!(got.null_count(), 2);
    }

    /// The views over the arenas give back exactly the kept values, also when an arena is
    /// over the buffer limit and is copied into several buffers.
    #[test]
    fn string_column_views_and_spill() {
        let long = "a string well over twelve bytes long";
        let a: Vec<Option<&str>> = vec![
            Some("short"),
            None,
            Some(long),
            Some(long),
            None,
            Some(long),
            Some(""),
            Some(""),
            Some("dropped row value"),
        ];
        let b: Vec<Option<&str>> = vec![
            Some("another long value, also over 12"),
            Some("x"),
            None,
            Some("a third value that is long enough"),
        ];
        let keep_a = [true, true, false, true, true, true, true, true, false];
        let keep_b = [true, true, true, true];
        let expect: Vec<Option<&str>> = a
            .iter()
            .zip(keep_a)
            .filter_map(|(v, k)| k.then_some(*v))
            .chain(b.iter().copied())
            .collect();
        // A value equal to the one before it (nulls between) is stored once, and every way of
        // reading the column gives it back.
        let ca = col(&a);
        assert_eq!(
            ca.bytes(),
            "short".len() + long.len() + "dropped row value".len()
        );
        assert_eq!(ca.iter().collect::<Vec<_>>(), a);
        assert_eq!((0..a.len()).map(|i| ca.get(i)).collect::<Vec<_>>(), a);
        for max in [u32::MAX as usize, 40, 8] {
            let c = string_column_with("c", vec![col(&a), col(&b)], &[&keep_a, &keep_b], max);
            let got: Vec<Option<&str>> = c.str().unwrap().iter().collect();
            assert_eq!(got, expect, "max_buffer {max}");
            assert_eq!(c.null_count(), 3);
        }
    }
}
