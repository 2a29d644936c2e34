use crate::chunk::{stream, with_event_columns, Builder, Chunker, RawChunk};
use crate::manifest::{part_name, ManifestFile};
use crate::pinned::{encode_pool, gather_strings, PqWriter};
use anyhow::{bail, Context, Result};
use polars::prelude::*;
use rustc_hash::FxHashMap;
use std::path::{Path, PathBuf};
use trailgraph_log::ingest::Ingested;
use trailgraph_log::table::{event, ColData, EventBatch};

/// A Parquet file written a row group at a time, under a temporary name until `finish`.
pub(crate) struct PartFile {
    path: std::path::PathBuf,
    tmp: std::path::PathBuf,
    writer: Option<PqWriter>,
    /// Written to be read once, by this process (see `PqWriter::new`).
    scratch: bool,
    /// Rows written.
    rows: u64,
}

impl PartFile {
    pub(crate) fn new(path: std::path::PathBuf, scratch: bool) -> PartFile {
        PartFile {
            tmp: path.with_extension("parquet.tmp"),
            path,
            writer: None,
            scratch,
            rows: 0,
        }
    }

    pub(crate) fn writer(&mut self, schema: &Schema) -> Result<&mut PqWriter> {
        if self.writer.is_none() {
            let f = std::fs::File::create(&self.tmp)
                .with_context(|| format!("{}: cannot create", self.tmp.display()))?;
            self.writer = Some(PqWriter::new(f, schema, self.scratch).map_err(|e| {
                anyhow::anyhow!("{}: cannot write Parquet: {e}", self.path.display())
            })?);
        }
        Ok(self.writer.as_mut().expect("just set"))
    }

    pub(crate) fn write(&mut self, df: &DataFrame) -> Result<()> {
        self.rows += df.height() as u64;
        let path = self.path.clone();
        self.writer(df.schema())?
            .write(df)
            .map_err(|e| anyhow::anyhow!("{}: cannot write Parquet: {e}", path.display()))
    }

    /// Writes a chunk as one row group, each column encoded as soon as it is built (see
    /// `RawChunk::write_to`).
    pub(crate) fn write_chunk(&mut self, raw: RawChunk) -> Result<()> {
        self.rows += raw.rows() as u64;
        let path = self.path.clone();
        let schema = raw.frame_schema();
        raw.write_to(self.writer(&schema)?)
            .map_err(|e| anyhow::anyhow!("{}: cannot write Parquet: {e}", path.display()))
    }

    pub(crate) fn finish(mut self) -> Result<()> {
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

/// A column the events files of a case can be partitioned by (Hive-style directories
/// `events/account=…/region=…/date=…/`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PartitionKey {
    /// `recipient_account`.
    Account,
    /// `aws_region`.
    Region,
    /// The UTC date (`YYYY-MM-DD`) of `event_time`.
    Date,
}

impl PartitionKey {
    /// The partition column's name (the directory level's `name=`).
    pub fn name(self) -> &'static str {
        match self {
            PartitionKey::Account => "account",
            PartitionKey::Region => "region",
            PartitionKey::Date => "date",
        }
    }

    /// The default partitioning: account, region, date.
    pub const ALL: [PartitionKey; 3] = [
        PartitionKey::Account,
        PartitionKey::Region,
        PartitionKey::Date,
    ];

    /// `account,region,date` (any subset, in any order) or `none`.
    pub fn parse_list(s: &str) -> Result<Vec<PartitionKey>> {
        if s.trim() == "none" {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for k in s.split(',') {
            let key = PartitionKey::ALL
                .into_iter()
                .find(|p| p.name() == k.trim())
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "--partition {s}: `{k}` is not one of account, region, date (or `none` alone)"
                    )
                })?;
            if out.contains(&key) {
                bail!("--partition {s}: `{k}` is named twice");
            }
            out.push(key);
        }
        Ok(out)
    }
}

/// The value a partition directory is named by: bytes outside `[A-Za-z0-9_.-]` percent-encoded
/// (`/` → `%2F`), a null or empty value `__HIVE_DEFAULT_PARTITION__` (Hive's and Spark's
/// convention).
pub fn partition_value(v: Option<&str>) -> String {
    match v {
        None | Some("") => "__HIVE_DEFAULT_PARTITION__".to_string(),
        Some(s) => {
            let mut out = String::with_capacity(s.len());
            for b in s.bytes() {
                if b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-') {
                    out.push(b as char);
                } else {
                    out.push_str(&format!("%{b:02X}"));
                }
            }
            out
        }
    }
}

/// The UTC date of a time in milliseconds, as `YYYY-MM-DD`.
fn date_of(ms: i64) -> String {
    let day = ms.div_euclid(86_400_000) * 86_400_000;
    let t = trailgraph_log::model::format_time(day);
    t.split('T').next().unwrap_or(&t).to_string()
}

/// How many partition files one run keeps open at most (`TRAILGRAPH_PARTITION_OPEN_FILES`,
/// for tests; 64 by default): past that, the least recently used is finished and a later row
/// of its partition starts a new file.
fn max_open_files() -> Result<usize> {
    match std::env::var("TRAILGRAPH_PARTITION_OPEN_FILES") {
        Err(_) => Ok(64),
        Ok(v) => match v.parse::<usize>() {
            Ok(n) if n >= 1 => Ok(n),
            _ => bail!("TRAILGRAPH_PARTITION_OPEN_FILES={v}: a number of files, 1 or more"),
        },
    }
}

/// What one ingest run wrote.
pub struct RunFiles {
    pub ingested: Ingested,
    /// Issuance rows written.
    pub issuances: usize,
    /// The data files written (events and issuances), sorted by path, relative to the case.
    pub files: Vec<ManifestFile>,
}

/// Ingests `files` as run `run` of the case in `dir`: the events into
/// `events/<partition dirs>/part-<RUN>-<SEQ>.parquet` (no partition: `events/part-<RUN>-00000`),
/// the issuances into `issuances/part-<RUN>-00000.parquet` (absent when there are none), written
/// a row group at a time while later files are still being parsed. Duplicates within the run
/// are dropped as they are met (across runs, the readers drop them). The run's manifest is not
/// written (see `write_manifest`); on an error, the files written so far are removed (and
/// when de-duplication must run again, `dedup::exact`, the run is written again).
pub fn ingest_run(
    dir: &Path,
    run: &str,
    partition: &[PartitionKey],
    files: &[trailgraph_log::discover::InputFile],
    opts: &trailgraph_log::ingest::IngestOptions,
) -> Result<RunFiles> {
    trailgraph_log::dedup::exact(&Default::default(), |seen| {
        ingest_run_once(dir, run, partition, files, opts, seen)
    })
}

fn ingest_run_once(
    dir: &Path,
    run: &str,
    partition: &[PartitionKey],
    files: &[trailgraph_log::discover::InputFile],
    opts: &trailgraph_log::ingest::IngestOptions,
    seen: &mut trailgraph_log::dedup::Seen,
) -> Result<RunFiles> {
    let name = format!("part-{run}-00000.parquet");
    let iss_rel = format!("issuances/{name}");
    if partition.is_empty() {
        let ev_rel = format!("events/{name}");
        let (ing, issuances, ev_rows) =
            write_part(dir, (&ev_rel, &iss_rel, false), files, opts, seen, None)?;
        let mut out = vec![ManifestFile {
            path: ev_rel,
            rows: ev_rows,
        }];
        if issuances > 0 {
            out.push(ManifestFile {
                path: iss_rel,
                rows: issuances as u64,
            });
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        return Ok(RunFiles {
            ingested: ing,
            issuances,
            files: out,
        });
    }
    for table in crate::manifest::TABLES {
        let d = dir.join(table);
        std::fs::create_dir_all(&d).with_context(|| format!("{}: cannot create", d.display()))?;
    }
    let router = Router::new(dir, run, partition, opts.chunk_rows, max_open_files()?);
    let ev = Chunker::new(EventBatch::SCHEMA, None, opts.chunk_rows);
    let builder = Builder::spawn(router, Router::write_chunk);
    let iss_path = dir.join(&iss_rel);
    let mut iss_file = PartFile::new(iss_path.clone(), false);
    let written = || -> Result<_> {
        let (ing, router, _, issuances) = stream(files, opts, seen, ev, builder, |df| {
            if df.height() == 0 {
                return Ok(());
            }
            iss_file.write(df)?;
            iss_file.finish()
        })?;
        let t0 = std::time::Instant::now();
        let mut out = router.finish()?;
        trailgraph_log::ingest::profile("finish Parquet", t0);
        if issuances.height() > 0 {
            out.push(ManifestFile {
                path: iss_rel.clone(),
                rows: issuances.height() as u64,
            });
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(RunFiles {
            ingested: ing,
            issuances: issuances.height(),
            files: out,
        })
    };
    written().inspect_err(|_| {
        let _ = std::fs::remove_file(&iss_path);
    })
}

/// A partition of one run's events: its directory, and the rows on their way to its file.
struct Partition {
    /// `account=…/region=…/date=…` (under `events/`).
    dir: String,
    /// The `<SEQ>` of its next file.
    seq: u32,
    /// The open file and its path relative to the case.
    file: Option<(PartFile, String)>,
    /// The last chunk that had rows of it.
    used: u64,
    /// Rows waiting to be written as one row group, and the chunk the first came from.
    pending: Vec<DataFrame>,
    pending_rows: usize,
    pending_since: u64,
}

/// The key of a partition: the partition columns' values (a column not partitioned by, a null
/// and an empty value are all None).
type Key = (Option<String>, Option<String>, Option<String>);

/// A row's partition values as read: account, region, day number.
type Borrowed<'a> = (Option<&'a str>, Option<&'a str>, Option<i64>);

/// Routes the events of a run's chunks (in file order) to their partitions' files, in bounded
/// memory: a chunk of one partition is written as a row group of it directly; a chunk of
/// several is split (its string columns as views of the chunk's buffers, no copy) and each
/// part waits in its partition until the partition has a row group's worth, is absent from a
/// chunk, or has waited for two chunks (so at most the rows of the last two chunks wait, and
/// their buffers are the only ones held). At most `max_open` files are open: past that the
/// least recently used partition's file is finished and a later row of it starts a new file
/// (`<SEQ>` + 1). Everything depends on the chunks alone: the same files whatever the threads.
struct Router {
    dir: PathBuf,
    run: String,
    keys: Vec<PartitionKey>,
    group_rows: usize,
    max_open: usize,
    parts: Vec<Partition>,
    index: FxHashMap<Key, u32>,
    /// Chunks seen.
    chunk: u64,
    open: usize,
    /// Files finished.
    done: Vec<ManifestFile>,
    committed: bool,
}

impl Router {
    fn new(
        dir: &Path,
        run: &str,
        keys: &[PartitionKey],
        group_rows: usize,
        max_open: usize,
    ) -> Router {
        Router {
            dir: dir.to_path_buf(),
            run: run.to_string(),
            keys: keys.to_vec(),
            group_rows: group_rows.max(1),
            max_open: max_open.max(1),
            parts: Vec::new(),
            index: FxHashMap::default(),
            chunk: 0,
            open: 0,
            done: Vec::new(),
            committed: false,
        }
    }

    /// The partition of each kept row of `raw`, in order.
    fn partitions_of(&mut self, raw: &RawChunk) -> Result<Vec<u32>> {
        let at = |name: &str| {
            raw.schema
                .iter()
                .position(|(n, _)| *n == name)
                .expect("a column of the events schema")
        };
        let (ia, ir, it) = (
            at(event::recipient_account),
            at(event::aws_region),
            at(event::event_time),
        );
        let want = |k| self.keys.contains(&k);
        let (wa, wr, wd) = (
            want(PartitionKey::Account),
            want(PartitionKey::Region),
            want(PartitionKey::Date),
        );
        let mut out = Vec::with_capacity(raw.rows());
        // The last row's (account, region, day) and partition: rows of one run of files share it.
        let mut last: Option<(Borrowed<'_>, u32)> = None;
        for (f, keep) in raw.keep.iter().enumerate() {
            let (ColData::Str(accts), ColData::Str(regions), ColData::Time(times)) =
                (&raw.cols[ia][f], &raw.cols[ir][f], &raw.cols[it][f])
            else {
                bail!("events chunk without its partition columns");
            };
            for (((a, r), t), k) in accts.iter().zip(regions.iter()).zip(times).zip(keep) {
                if !k {
                    continue;
                }
                let a = if wa {
                    a.filter(|s| !s.is_empty())
                } else {
                    None
                };
                let r = if wr {
                    r.filter(|s| !s.is_empty())
                } else {
                    None
                };
                let d = if wd {
                    t.map(|t| t.div_euclid(86_400_000))
                } else {
                    None
                };
                if let Some(((la, lr, ld), id)) = last {
                    if la == a && lr == r && ld == d {
                        out.push(id);
                        continue;
                    }
                }
                let key: Key = (
                    a.map(String::from),
                    r.map(String::from),
                    d.map(|d| date_of(d * 86_400_000)),
                );
                let id = match self.index.get(&key) {
                    Some(&id) => id,
                    None => {
                        let id = self.parts.len() as u32;
                        self.parts.push(Partition {
                            dir: self.dir_of(&key),
                            seq: 0,
                            file: None,
                            used: 0,
                            pending: Vec::new(),
                            pending_rows: 0,
                            pending_since: 0,
                        });
                        self.index.insert(key, id);
                        id
                    }
                };
                last = Some(((a, r, d), id));
                out.push(id);
            }
        }
        Ok(out)
    }

    fn dir_of(&self, (a, r, d): &Key) -> String {
        self.keys
            .iter()
            .map(|k| {
                let v = match k {
                    PartitionKey::Account => a,
                    PartitionKey::Region => r,
                    PartitionKey::Date => d,
                };
                format!("{}={}", k.name(), partition_value(v.as_deref()))
            })
            .collect::<Vec<_>>()
            .join("/")
    }

    fn write_chunk(&mut self, raw: RawChunk) -> Result<()> {
        self.chunk += 1;
        let rows = raw.rows();
        if rows == 0 {
            return Ok(());
        }
        let ids = self.partitions_of(&raw)?;
        let first = ids[0];
        if ids.iter().all(|&p| p == first) {
            // One partition (the usual case: a trail's files are by account, region and day):
            // the chunk is one row group, written straight from the files' columns.
            self.write_direct(first, raw)?;
        } else {
            self.write_mixed(raw, &ids)?;
        }
        // Rows wait only while their partition goes on, and for two chunks at most.
        let chunk = self.chunk;
        let stale: Vec<u32> = (0..self.parts.len() as u32)
            .filter(|&p| {
                let q = &self.parts[p as usize];
                !q.pending.is_empty() && (q.used < chunk || q.pending_since + 1 < chunk)
            })
            .collect();
        for p in stale {
            self.flush(p)?;
        }
        Ok(())
    }

    /// A chunk whose rows fall in several partitions (`ids`: each kept row's). The chunk's
    /// "files" are the batches `ingest_each` read: one file, or a run of consecutive small
    /// files. A batch whose kept rows are all in one partition (a trail's file is one account
    /// and region, and nearly always one day; a run of small files in path order nearly always
    /// too) goes with the partition's other such batches of the chunk straight into a row
    /// group of the partition's file, its columns moved, not copied; only a batch whose own
    /// rows span partitions (events either side of midnight UTC, or small files either side
    /// of a partition's end) is built as a frame and split, its rows waiting with the
    /// partition's (`pend`). A partition's rows keep their order.
    fn write_mixed(&mut self, raw: RawChunk, ids: &[u32]) -> Result<()> {
        let RawChunk {
            schema,
            only,
            cols,
            keep,
        } = raw;
        let ncols = cols.len();
        // Each file's columns, moved out of the column-major chunk.
        let mut files: Vec<Vec<ColData>> =
            (0..keep.len()).map(|_| Vec::with_capacity(ncols)).collect();
        for col in cols {
            for (f, c) in col.into_iter().enumerate() {
                files[f].push(c);
            }
        }
        let group = || RawChunk {
            schema,
            only: only.clone(),
            cols: (0..ncols).map(|_| Vec::new()).collect(),
            keep: Vec::new(),
        };
        // The files gathered so far per partition (in order of their first file), each written
        // as one row group when a split file of the partition comes or at the end.
        let mut open: Vec<(u32, RawChunk)> = Vec::new();
        let mut at = 0;
        for (fcols, fkeep) in files.into_iter().zip(keep) {
            let n = fkeep.iter().filter(|k| **k).count();
            let rows = &ids[at..at + n];
            at += n;
            let Some(&p) = rows.first() else {
                continue;
            };
            if rows.iter().all(|&q| q == p) {
                let g = match open.iter().position(|(q, _)| *q == p) {
                    Some(i) => &mut open[i].1,
                    None => {
                        open.push((p, group()));
                        &mut open.last_mut().expect("just pushed").1
                    }
                };
                for (c, d) in g.cols.iter_mut().zip(fcols) {
                    c.push(d);
                }
                g.keep.push(fkeep);
                continue;
            }
            // A batch across partitions: what its partitions gathered before it is written
            // first, then its rows wait with theirs.
            let mut order: Vec<u32> = Vec::new();
            let mut rows_of: FxHashMap<u32, Vec<IdxSize>> = FxHashMap::default();
            for (i, &q) in rows.iter().enumerate() {
                rows_of
                    .entry(q)
                    .or_insert_with(|| {
                        order.push(q);
                        Vec::new()
                    })
                    .push(i as IdxSize);
            }
            for &q in &order {
                if let Some(i) = open.iter().position(|(o, _)| *o == q) {
                    let (_, g) = open.remove(i);
                    self.write_direct(q, g)?;
                }
            }
            let mut one = group();
            for (c, d) in one.cols.iter_mut().zip(fcols) {
                c.push(d);
            }
            one.keep.push(fkeep);
            let df = one.build()?;
            for q in order {
                let idx = rows_of.remove(&q).expect("rows of a partition met");
                self.pend(q, gather(&df, &idx)?)?;
            }
        }
        for (p, g) in open {
            self.write_direct(p, g)?;
        }
        Ok(())
    }

    /// Writes `raw` (rows of partition `p` only) as a row group of `p`'s file, after the rows
    /// waiting there.
    fn write_direct(&mut self, p: u32, raw: RawChunk) -> Result<()> {
        self.flush(p)?;
        self.parts[p as usize].used = self.chunk;
        self.file(p)?.write_chunk(raw)
    }

    /// Adds `part` (rows of partition `p`) to the rows waiting there, written as one row group
    /// when they make a full one.
    fn pend(&mut self, p: u32, part: DataFrame) -> Result<()> {
        if self.parts[p as usize].pending_rows + part.height() > self.group_rows {
            self.flush(p)?;
        }
        let chunk = self.chunk;
        let q = &mut self.parts[p as usize];
        if q.pending.is_empty() {
            q.pending_since = chunk;
        }
        q.used = chunk;
        q.pending_rows += part.height();
        q.pending.push(part);
        if q.pending_rows >= self.group_rows {
            self.flush(p)?;
        }
        Ok(())
    }

    /// Writes the rows waiting in partition `p` as one row group.
    fn flush(&mut self, p: u32) -> Result<()> {
        let q = &mut self.parts[p as usize];
        if q.pending.is_empty() {
            return Ok(());
        }
        let mut frames = std::mem::take(&mut q.pending).into_iter();
        q.pending_rows = 0;
        let mut df = frames.next().expect("pending rows");
        for f in frames {
            df.vstack_mut_owned(f)?;
        }
        df.rechunk_mut_par();
        self.file(p)?.write(&df)
    }

    /// The open file of partition `p` (opened now, after closing the least recently used one
    /// when `max_open` are open).
    fn file(&mut self, p: u32) -> Result<&mut PartFile> {
        if self.parts[p as usize].file.is_none() {
            if self.open >= self.max_open {
                let lru = (0..self.parts.len() as u32)
                    .filter(|&q| q != p && self.parts[q as usize].file.is_some())
                    .min_by_key(|&q| (self.parts[q as usize].used, q))
                    .expect("an open file");
                self.close(lru)?;
            }
            let q = &mut self.parts[p as usize];
            let rel = format!("events/{}/part-{}-{:05}.parquet", q.dir, self.run, q.seq);
            q.seq += 1;
            let path = self.dir.join(&rel);
            if let Some(d) = path.parent() {
                std::fs::create_dir_all(d)
                    .with_context(|| format!("{}: cannot create", d.display()))?;
            }
            q.file = Some((PartFile::new(path, false), rel));
            self.open += 1;
        }
        Ok(&mut self.parts[p as usize].file.as_mut().expect("just opened").0)
    }

    /// Writes what waits in partition `p` and finishes its file.
    fn close(&mut self, p: u32) -> Result<()> {
        self.flush(p)?;
        if let Some((f, rel)) = self.parts[p as usize].file.take() {
            self.open -= 1;
            let rows = f.rows;
            f.finish()?;
            self.done.push(ManifestFile { path: rel, rows });
        }
        Ok(())
    }

    /// Writes every partition's waiting rows and finishes every file: the files written.
    fn finish(mut self) -> Result<Vec<ManifestFile>> {
        for p in 0..self.parts.len() as u32 {
            self.close(p)?;
        }
        self.committed = true;
        Ok(std::mem::take(&mut self.done))
    }
}

impl Drop for Router {
    /// A run that failed leaves none of its files behind (its open ones remove themselves, see
    /// `PartFile`), nor the partition directories it left empty (a run written again by
    /// `dedup::exact` must leave the case as one run would).
    fn drop(&mut self) {
        if !self.committed {
            for f in &self.done {
                let _ = std::fs::remove_file(self.dir.join(&f.path));
            }
            let events = self.dir.join("events");
            for q in &mut self.parts {
                drop(q.file.take());
                let _ = std::fs::remove_dir(events.join(&q.dir)); // only when empty
                let mut d = std::path::Path::new(&q.dir).parent();
                while let Some(x) = d.filter(|x| !x.as_os_str().is_empty()) {
                    if std::fs::remove_dir(events.join(x)).is_err() {
                        break;
                    }
                    d = x.parent();
                }
            }
        }
    }
}

/// Rows `idx` of `df`: string columns as views of `df`'s buffers (see `gather_strings`).
fn gather(df: &DataFrame, idx: &[IdxSize]) -> Result<DataFrame> {
    use rayon::prelude::*;
    let cols: Vec<Column> = encode_pool().install(|| {
        df.columns()
            .par_iter()
            .map(|c| match c.str() {
                Ok(s) => Ok(gather_strings(s, idx)),
                Err(_) => c.take_slice(idx),
            })
            .collect::<PolarsResult<_>>()
    })?;
    Ok(DataFrame::new(idx.len(), cols)?)
}

/// Removes the files of a run written by `ingest_run` but not to be recorded (`--strict`), and
/// the directories of the case left empty (the case's own too).
pub fn discard_run(dir: &Path, files: &[ManifestFile]) {
    for f in files {
        let p = dir.join(&f.path);
        let _ = std::fs::remove_file(&p);
        // Its partition directories, when empty, up to the table's.
        let mut d = p.parent();
        while let Some(x) = d {
            if x == dir || std::fs::remove_dir(x).is_err() {
                break;
            }
            d = x.parent();
        }
    }
    for sub in ["events", "issuances", trailgraph_log::discover::CASE_RUNS] {
        let _ = std::fs::remove_dir(dir.join(sub)); // only when empty
    }
    let _ = std::fs::remove_dir(dir); // only when empty
}

/// Like `ingest_part` (part 0), as a scratch case in `dir` for one analysis: only
/// `events_columns` of the events table, without statistics (see `PqWriter::new`).
pub fn scratch_case(
    dir: &Path,
    files: &[trailgraph_log::discover::InputFile],
    opts: &trailgraph_log::ingest::IngestOptions,
    events_columns: &[&str],
) -> Result<Ingested> {
    let (ev, iss) = (
        format!("events/{}", part_name(0)),
        format!("issuances/{}", part_name(0)),
    );
    let ing = trailgraph_log::dedup::exact(&Default::default(), |seen| {
        write_part(
            dir,
            (&ev, &iss, true),
            files,
            opts,
            seen,
            Some(events_columns),
        )
    })?
    .0;
    // What ingest's threads freed is not reused by the analysis that reads the case next.
    crate::pinned::release_free_memory();
    Ok(ing)
}

/// Writes one events file and one issuances file (`names`: their paths relative to `dir`, and
/// whether an issuances file without rows is written). Returns the ingest result, the
/// issuance rows and the event rows written.
pub(crate) fn write_part(
    dir: &Path,
    names: (&str, &str, bool),
    files: &[trailgraph_log::discover::InputFile],
    opts: &trailgraph_log::ingest::IngestOptions,
    seen: &mut trailgraph_log::dedup::Seen,
    events_columns: Option<&[&str]>,
) -> Result<(Ingested, usize, u64)> {
    for table in crate::manifest::TABLES {
        let d = dir.join(table);
        std::fs::create_dir_all(&d).with_context(|| format!("{}: cannot create", d.display()))?;
    }
    let scratch = events_columns.is_some();
    let ev = Chunker::new(EventBatch::SCHEMA, events_columns, opts.chunk_rows);
    let opts = &with_event_columns(opts, events_columns);
    let ev_file = PartFile::new(dir.join(names.0), scratch);
    let builder = Builder::spawn(ev_file, PartFile::write_chunk);
    // The issuances part is written while the last events are (see `stream`); if the events
    // part then fails, it is removed again: a part is both tables or neither.
    let iss_path = dir.join(names.1);
    let mut iss_file = PartFile::new(iss_path.clone(), scratch);
    let events = || -> Result<_> {
        let (ing, mut ev_file, ev, issuances) = stream(files, opts, seen, ev, builder, |df| {
            if df.height() == 0 && !names.2 {
                return Ok(());
            }
            iss_file.write(df)?;
            iss_file.finish()
        })?;
        let t0 = std::time::Instant::now();
        if ev_file.writer.is_none() {
            ev_file.write(&ev.empty()?)?;
        }
        let rows = ev_file.rows;
        ev_file.finish()?;
        trailgraph_log::ingest::profile("finish Parquet", t0);
        Ok((ing, issuances.height(), rows))
    };
    events().inspect_err(|_| {
        let _ = std::fs::remove_file(&iss_path);
    })
}
