//! Orchestration of ingest: rayon over files (decode → walk → normalize, one file per task, no
//! shared locks), an order-preserving collect, then a sequential de-duplication pass in file
//! order. Output is identical for any thread count. Every record is accounted for:
//! `records read = events + duplicates + records skipped`.

use crate::decode::{decode_file, open_stream, over_cap, Fill, Opened, Pending, Unit, BOMB_RATIO};
use crate::discover::{InputFile, SkipReason};
use crate::normalize::normalize;
use crate::record::{walk, Item, WalkStats, WindowWalk};
use crate::signature;
use crate::table::{event, EventBatch, IssuanceBatch};
use rayon::prelude::*;
use rustc_hash::FxHashSet;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// Something that went wrong with an input: which file, where in it, and why.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    pub file: String,
    pub position: String,
    pub reason: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.position.is_empty() {
            write!(f, "{}: {}", self.file, self.reason)
        } else {
            write!(f, "{}: {}: {}", self.file, self.position, self.reason)
        }
    }
}

/// Prints a phase timing on stderr when `TRAILGRAPH_PROFILE` is set (for benchmarks; output
/// on stdout is unaffected).
pub fn profile(phase: &str, since: std::time::Instant) {
    profile_took(phase, since.elapsed());
}

/// `profile` of a phase that took `took` in all.
pub fn profile_took(phase: &str, took: std::time::Duration) {
    if std::env::var_os("TRAILGRAPH_PROFILE").is_some() {
        // Resident memory now (Linux), to see which phase holds what.
        let rss = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("VmRSS:"))
                    .map(|v| v.trim().to_string())
            })
            .unwrap_or_default();
        // Process CPU time so far (user + system, Linux), to see how parallel a phase ran.
        let cpu = std::fs::read_to_string("/proc/self/stat")
            .ok()
            .and_then(|s| {
                let after = s.rsplit_once(')')?.1;
                let f: Vec<&str> = after.split_whitespace().collect();
                let ticks = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
                Some(ticks as f64 / 100.0)
            })
            .unwrap_or(0.0);
        eprintln!(
            "profile: {phase:<28} {:>8.3} s  rss {rss}  cpu {cpu:.2} s",
            took.as_secs_f64()
        );
    }
}

/// Problem lines listed per file; the rest are counted in one line.
const MAX_PROBLEMS_PER_FILE: usize = 50;

/// Rows per chunk of the frames built from ingest (and per Parquet row group written).
pub const ROW_GROUP: usize = 16_384;

/// Ingest settings.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// Decompressed size cap per file or archive member.
    pub max_decompressed: u64,
    /// Show a progress line on stderr (only when stderr is a terminal).
    pub progress: bool,
    /// Rows per chunk of the frames built (and per Parquet row group written).
    pub chunk_rows: usize,
    /// Which event columns (schema order) are filled; the others are left null, which saves
    /// copying them when the caller only needs a projection. None: all.
    pub event_columns: Option<Vec<bool>>,
    /// Consecutive files smaller than this (bytes stored) are read by one worker into one
    /// batch, up to this many bytes and `GROUP_FILES` files a batch (0: every file alone).
    /// Only allocation depends on it, never output.
    pub group_bytes: u64,
}

/// The default `IngestOptions::group_bytes`: a run of small files (a trail writes a file per
/// account, region and 5 minutes, often of ~20 records) is parsed into one batch of about the
/// size of one large file, so per-file costs (columns, arenas, their views and buffers in the
/// store) are paid per batch.
pub const GROUP_BYTES: u64 = 256 << 10;

/// At most this many files share one batch.
const GROUP_FILES: usize = 128;

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            max_decompressed: 4 << 30,
            progress: false,
            chunk_rows: ROW_GROUP,
            event_columns: None,
            group_bytes: GROUP_BYTES,
        }
    }
}

/// What one input file yielded: its counts and problems. Its rows went to the `Batch` it was
/// read into (with the files around it, or, read as a stream, in pieces over several batches).
#[derive(Debug, Default)]
pub struct FileOutcome {
    pub display: String,
    pub size: u64,
    pub mtime: i64,
    pub raw_bytes: u64,
    pub records_read: u64,
    pub skipped_by_reason: BTreeMap<String, u64>,
    /// Set when the file as a whole yielded nothing usable.
    pub skip: Option<SkipReason>,
    pub problems: Vec<Problem>,
    /// JSON objects beside the records that are neither records nor containers.
    pub non_record_objects: u64,
    /// Number of event rows parsed from the file (before de-duplication).
    pub rows: usize,
    /// Filled by the de-duplication pass: how many of its rows were duplicates.
    pub duplicates: u64,
}

impl FileOutcome {
    pub fn records_skipped(&self) -> u64 {
        self.skipped_by_reason.values().sum()
    }

    /// Moves what was read so far out into a piece of the file (same file fields).
    fn take_piece(&mut self) -> FileOutcome {
        FileOutcome {
            display: self.display.clone(),
            size: self.size,
            mtime: self.mtime,
            raw_bytes: std::mem::take(&mut self.raw_bytes),
            records_read: std::mem::take(&mut self.records_read),
            skipped_by_reason: std::mem::take(&mut self.skipped_by_reason),
            problems: std::mem::take(&mut self.problems),
            non_record_objects: std::mem::take(&mut self.non_record_objects),
            rows: std::mem::take(&mut self.rows),
            ..Default::default()
        }
    }

    /// Adds the counts of a later piece of the same file (its rows went to the sink).
    fn absorb(&mut self, p: FileOutcome) {
        self.raw_bytes += p.raw_bytes;
        self.records_read += p.records_read;
        for (k, v) in p.skipped_by_reason {
            *self.skipped_by_reason.entry(k).or_default() += v;
        }
        self.problems.extend(p.problems);
        self.non_record_objects += p.non_record_objects;
        self.rows += p.rows;
        self.duplicates += p.duplicates;
        if p.skip.is_some() {
            self.skip = p.skip;
        }
    }
}

/// The rows read from a run of consecutive files (several small files share one batch, so
/// their columns and arenas are allocated once, not per file), in file order; or a piece of
/// one file read as a stream.
#[derive(Debug, Default)]
pub struct Batch {
    pub events: EventBatch,
    pub issuances: IssuanceBatch,
    /// For each issuance row, the row of its event in `events`.
    pub issuance_event_row: Vec<usize>,
    /// De-duplication key per event row (computed in the worker).
    pub keys: Vec<Option<u128>>,
    /// The de-duplication partition of each event row (`dedup::partition_id`, computed in the
    /// worker).
    pub parts: Vec<u64>,
    /// Filled by the de-duplication pass: which event rows are kept.
    pub keep: Vec<bool>,
}

/// The sizes of streamed reading.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Windows {
    /// A unit of up to this many bytes (decompressed) is read whole, a larger one as a stream.
    pub whole: u64,
    /// The first window of a stream.
    pub window: usize,
    /// The largest window: a single value (record, NDJSON line, document that is not read in
    /// parts) larger than this is a problem.
    pub max_value: usize,
    /// A streamed file's rows are handed on to the consumer every this many rows.
    pub piece_rows: usize,
}

impl Windows {
    pub(crate) const DEFAULT: Windows = Windows {
        whole: 64 << 20,
        window: 8 << 20,
        max_value: 64 << 20,
        piece_rows: 16_384,
    };

    /// The sizes to use: the defaults, or with `TRAILGRAPH_STREAM_WINDOW=<bytes>` (for tests)
    /// every unit streamed through windows of that size, handed on every few rows.
    fn get() -> Windows {
        static W: std::sync::OnceLock<Windows> = std::sync::OnceLock::new();
        *W.get_or_init(|| {
            match std::env::var("TRAILGRAPH_STREAM_WINDOW")
                .ok()
                .and_then(|v| v.parse::<usize>().ok())
            {
                Some(n) => Windows {
                    whole: 0,
                    window: n.max(8),
                    piece_rows: 3,
                    ..Windows::DEFAULT
                },
                None => Windows::DEFAULT,
            }
        })
    }
}

/// Totals over all inputs (also the `totals` of a case manifest).
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Stats {
    pub files_seen: u64,
    pub files_read: u64,
    pub files_skipped: u64,
    pub files_skipped_by_reason: BTreeMap<String, u64>,
    pub records_read: u64,
    pub events: u64,
    pub duplicates: u64,
    pub records_skipped: u64,
    pub records_skipped_by_reason: BTreeMap<String, u64>,
    pub bytes_stored: u64,
    pub bytes_raw: u64,
    /// Objects beside the records in exports (exporter metadata), not counted as records.
    pub non_record_objects: u64,
}

impl Stats {
    pub fn add(&mut self, o: &Stats) {
        self.files_seen += o.files_seen;
        self.files_read += o.files_read;
        self.files_skipped += o.files_skipped;
        for (k, v) in &o.files_skipped_by_reason {
            *self.files_skipped_by_reason.entry(k.clone()).or_default() += v;
        }
        self.records_read += o.records_read;
        self.events += o.events;
        self.duplicates += o.duplicates;
        self.records_skipped += o.records_skipped;
        for (k, v) in &o.records_skipped_by_reason {
            *self.records_skipped_by_reason.entry(k.clone()).or_default() += v;
        }
        self.bytes_stored += o.bytes_stored;
        self.bytes_raw += o.bytes_raw;
        self.non_record_objects += o.non_record_objects;
    }
}

/// The result of ingesting a set of files: per-file outcomes (in input order, with `keep`
/// masks after de-duplication), totals and problems.
#[derive(Debug, Default)]
pub struct Ingested {
    pub files: Vec<FileOutcome>,
    pub stats: Stats,
    pub problems: Vec<Problem>,
}

/// The de-duplication key of an event: the same eventID delivered to the same recipient account
/// is one event (spec 2.6 rule 1). Events without an eventID are never merged. The key is a
/// 128-bit hash (two independent 64-bit hashes): no allocation per event, and a collision among
/// a billion events has a probability around 10^-21.
pub fn dedup_key(recipient: Option<&str>, event_id: Option<&str>) -> Option<u128> {
    use std::hash::{Hash, Hasher};
    let id = event_id?;
    let mut a = rustc_hash::FxHasher::default();
    let mut b = std::hash::DefaultHasher::new();
    (recipient.unwrap_or(""), id).hash(&mut a);
    (recipient.unwrap_or(""), id).hash(&mut b);
    Some(((a.finish() as u128) << 64) | b.finish() as u128)
}

/// A set of de-duplication keys held in memory (keys already in the input, which
/// `dedup::exact` makes never new; in-memory frames' first occurrences).
pub type SeenKeys = FxHashSet<u128>;

/// How many parsed files may wait in the channel between the parsing workers and the in-order
/// consumer of `ingest_each` (back-pressure: parsing never runs far ahead of the consumer).
const IN_FLIGHT: usize = 16;

/// How far past the next file the consumer waits for a worker may start a file: a slow file
/// (a 2 GB one among thousands of small ones) holds the others back instead of letting every
/// later file be parsed into memory while it is read.
const AHEAD: usize = 32;

/// The index of the next file the consumer takes, which workers wait on (see `AHEAD`).
struct Window {
    next: std::sync::Mutex<usize>,
    moved: std::sync::Condvar,
}

impl Window {
    /// Blocks until file `i` is within `AHEAD` of the consumer (or the run stops).
    fn enter(&self, i: usize, stop: &AtomicBool) {
        let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
        while i >= *next + AHEAD && !stop.load(Ordering::Relaxed) {
            next = self.moved.wait(next).unwrap_or_else(|e| e.into_inner());
        }
    }
    /// Blocks until file `i` is the consumer's next (or the run stops).
    fn wait_turn(&self, i: usize, stop: &AtomicBool) {
        let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
        while i > *next && !stop.load(Ordering::Relaxed) {
            next = self.moved.wait(next).unwrap_or_else(|e| e.into_inner());
        }
    }
    fn advance(&self, next: usize) {
        *self.next.lock().unwrap_or_else(|e| e.into_inner()) = next;
        self.moved.notify_all();
    }
}

/// Consecutive runs of `files` each read by one worker into one batch (see
/// `IngestOptions::group_bytes`): files are added to a run while it stays under `group_bytes`
/// bytes stored and `GROUP_FILES` files, so a file of `group_bytes` or more is alone. Depends
/// only on the file list, never on timing.
fn groups(files: &[InputFile], group_bytes: u64) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0usize, 0u64);
    for (i, f) in files.iter().enumerate() {
        if i > start && (bytes.saturating_add(f.size) >= group_bytes || i - start >= GROUP_FILES) {
            out.push(start..i);
            (start, bytes) = (i, 0);
        }
        bytes = bytes.saturating_add(f.size);
    }
    if start < files.len() {
        out.push(start..files.len());
    }
    out
}

/// What a worker hands the in-order consumer: a batch and the files whose rows it holds, in
/// order (a file read as a stream comes in pieces: each but its last not `complete`).
struct Msg<T> {
    group: usize,
    /// The group's last message.
    last: bool,
    batch: Batch,
    files: Vec<(FileOutcome, bool)>,
    t: T,
}

/// Reads, parses and de-duplicates `files`, streaming. `seen` holds the keys of events already
/// in the input; it is extended with the new events. At the end, `seen.finish()` may fail with
/// `dedup::CrossPartition`: run again through `dedup::exact`.
///
/// Files are parsed in parallel (rayon, taken roughly in order), a run of consecutive small
/// files at a time into one `Batch` (see `IngestOptions::group_bytes`); `convert` runs in the
/// worker right after a batch is filled and may take its columns. `sink` then receives every
/// batch strictly in input order, after its de-duplication (`keep` filled, each file's
/// `duplicates` counted), on the calling thread; it may take `keep`. A file with a unit too
/// large to read whole (over 64 MiB decompressed) is read as a stream and reaches `convert` and
/// `sink` in pieces, in order (a piece's batch may also hold the rows of the files before it in
/// its run); its outcome in `Ingested::files` sums the pieces' counts. So the output is
/// identical for any thread count and memory holds only the batches in flight, not the whole
/// input. The workers are the global rayon pool's, and may be blocked handing batches over:
/// `sink` must not wait on that pool (polars' pool is fine). An error from `sink` stops the run.
pub fn ingest_each<T: Send>(
    files: &[InputFile],
    opts: &IngestOptions,
    seen: &mut crate::dedup::Seen,
    convert: &(dyn Fn(&mut Batch) -> T + Sync),
    sink: &mut dyn FnMut(&mut Batch, T) -> anyhow::Result<()>,
) -> anyhow::Result<Ingested> {
    let t0 = std::time::Instant::now();
    let progress = Progress::start(opts.progress, files.len() as u64);
    let stop = AtomicBool::new(false);
    let window = Window {
        next: std::sync::Mutex::new(0),
        moved: std::sync::Condvar::new(),
    };
    let groups = groups(files, opts.group_bytes);
    let (tx, rx) = std::sync::mpsc::sync_channel::<Msg<T>>(IN_FLIGHT);
    let mut stats = Stats::default();
    let mut problems = Vec::new();
    let mut outcomes = Vec::with_capacity(files.len());
    let result = std::thread::scope(|s| -> anyhow::Result<()> {
        // Owned here, so an early return drops it: workers blocked handing a batch over then
        // fail their send and stop, and the scope can join them.
        let rx = rx;
        let (progress, stop, window, groups) = (&progress, &stop, &window, &groups);
        s.spawn(move || {
            groups
                .iter()
                .enumerate()
                .par_bridge()
                .for_each_with(tx, |tx, (g, range)| {
                    window.enter(g, stop);
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    read_group(&files[range.clone()], opts, progress, &mut |msg| {
                        // A group sent in several messages (a file read in pieces) waits for
                        // its turn before its second: the consumer holds the messages of groups
                        // that are not its next.
                        if msg.0 > 0 {
                            window.wait_turn(g, stop);
                            if stop.load(Ordering::Relaxed) {
                                return false;
                            }
                        }
                        let (_, last, mut batch, files) = msg;
                        let t = convert(&mut batch);
                        // A closed channel means the consumer failed and stopped.
                        tx.send(Msg {
                            group: g,
                            last,
                            batch,
                            files,
                            t,
                        })
                        .is_ok()
                    });
                });
        });
        // In-order consumer: batches arrive roughly in order; the few that overtake wait here.
        let mut waiting: BTreeMap<usize, std::collections::VecDeque<Msg<T>>> = BTreeMap::new();
        let mut next = 0usize;
        let mut current: Option<FileOutcome> = None;
        for m in rx.iter() {
            waiting.entry(m.group).or_default().push_back(m);
            while let Some(mut m) = waiting.get_mut(&next).and_then(|q| q.pop_front()) {
                if let Err(e) = dedup_batch(&mut m.batch, &mut m.files, seen)
                    .and_then(|()| sink(&mut m.batch, m.t))
                {
                    stop.store(true, Ordering::Relaxed);
                    window.advance(next);
                    return Err(e);
                }
                drop(m.batch);
                for (o, complete) in m.files {
                    let o = match current.take() {
                        None => o,
                        Some(mut c) => {
                            c.absorb(o);
                            c
                        }
                    };
                    if complete {
                        let mut o = o;
                        o.display.clone_from(&files[outcomes.len()].display);
                        account(&o, &mut stats, &mut problems);
                        outcomes.push(o);
                    } else {
                        current = Some(o);
                    }
                }
                if m.last {
                    waiting.remove(&next);
                    next += 1;
                }
            }
            window.advance(next);
        }
        debug_assert!(waiting.is_empty() && next == groups.len() && current.is_none());
        seen.finish()
    });
    progress.finish();
    result?;
    profile("read+parse+consume", t0);
    debug_assert_eq!(
        stats.records_read,
        stats.events + stats.duplicates + stats.records_skipped
    );
    Ok(Ingested {
        files: outcomes,
        stats,
        problems,
    })
}

/// A message of `read_group`: its number in the group, whether it is the group's last, the
/// batch and the files (or pieces) whose rows it holds, each with whether it is complete.
type GroupMsg = (usize, bool, Batch, Vec<(FileOutcome, bool)>);

/// Reads a run of consecutive files into one batch and hands it to `send` (with
/// the keys computed); a file read as a stream hands the batch on at each of its pieces. `send`
/// returns false when no more is wanted.
fn read_group(
    files: &[InputFile],
    opts: &IngestOptions,
    progress: &Progress,
    send: &mut dyn FnMut(GroupMsg) -> bool,
) {
    let win = Windows::get();
    let mut batch = Batch::default();
    let alone = files.len() == 1;
    if !alone {
        // One reservation for the whole run, from the stored sizes: its files are not
        // decompressed yet.
        let stored: u64 = files
            .iter()
            .filter(|f| f.skip.is_none())
            .map(|f| f.size)
            .sum();
        SIZE_HINT.with(|h| {
            if let Some(h) = &*h.borrow() {
                h.reserve(&mut batch, (stored as f64 * h.raw_per_stored) as usize);
            }
        });
    }
    let mut done: Vec<(FileOutcome, bool)> = Vec::new();
    let mut sent = 0usize;
    let mut hand_on = |batch: &mut Batch, entries: Vec<(FileOutcome, bool)>, last: bool| {
        let mut b = std::mem::take(batch);
        // One pass over each column (`StrCol::get` is for a few rows).
        b.keys = b
            .events
            .recipient_account
            .iter()
            .zip(b.events.event_id.iter())
            .map(|(r, e)| dedup_key(r, e))
            .collect();
        b.parts = b
            .events
            .recipient_account
            .iter()
            .zip(b.events.aws_region.iter())
            .zip(b.events.event_time.iter())
            .map(|((a, r), t)| crate::dedup::partition_id(a, r, *t))
            .collect();
        for (o, complete) in &entries {
            progress.piece_done(
                if *complete { o.size } else { 0 },
                o.records_read,
                *complete,
            );
        }
        let n = sent;
        sent += 1;
        send((n, last, b, entries))
    };
    let (mut streamed, mut split, mut raw, mut stored) = (false, false, 0u64, 0u64);
    for (k, f) in files.iter().enumerate() {
        let mut wanted = true;
        let more_files = k + 1 < files.len();
        streamed |= read_file(f, opts, &win, &mut batch, alone, &mut |b, o, complete| {
            if !complete {
                done.push((o, false));
                wanted = hand_on(b, std::mem::take(&mut done), false);
                return wanted;
            }
            if o.skip.is_none() {
                raw += o.raw_bytes;
                stored += o.size;
            }
            done.push((o, true));
            // Small files that decompress to much (a run is bounded by its stored size) are
            // handed on every `piece_rows` rows, as a streamed file is.
            if more_files && b.events.len() >= win.piece_rows {
                split = true;
                wanted = hand_on(b, std::mem::take(&mut done), false);
            }
            wanted
        });
        if !wanted {
            return;
        }
    }
    if !streamed && !split && batch.events.len() >= 64 {
        SIZE_HINT.with(|h| {
            *h.borrow_mut() = Some(SizeHints {
                events: SizeHint::of(
                    batch.events.len(),
                    &batch.events.column_bytes(),
                    raw as usize,
                ),
                issuances: SizeHint::of(
                    batch.issuances.len(),
                    &batch.issuances.column_bytes(),
                    raw as usize,
                ),
                raw_per_stored: raw as f64 / stored.max(1) as f64,
            })
        });
    }
    hand_on(&mut batch, done, true);
}

/// De-duplication of one batch against everything before it (called in file order, so it is
/// deterministic whatever the threads); each file's rows are the next `rows` of the batch.
fn dedup_batch(
    b: &mut Batch,
    files: &mut [(FileOutcome, bool)],
    seen: &mut crate::dedup::Seen,
) -> anyhow::Result<()> {
    b.keep = Vec::with_capacity(b.keys.len());
    let mut keys = b.keys.iter().zip(&b.parts);
    for (o, _) in files.iter_mut() {
        for (k, &p) in keys.by_ref().take(o.rows) {
            let keep = match k {
                Some(k) => seen.insert(p, *k)?,
                None => true,
            };
            if !keep {
                o.duplicates += 1;
            }
            b.keep.push(keep);
        }
    }
    debug_assert!(keys.next().is_none(), "rows of no file");
    b.keys = Vec::new();
    b.parts = Vec::new();
    seen.trim()
}

/// Adds one file's counts and problems to the totals.
fn account(o: &FileOutcome, stats: &mut Stats, problems: &mut Vec<Problem>) {
    stats.files_seen += 1;
    match o.skip {
        Some(r) => {
            stats.files_skipped += 1;
            *stats
                .files_skipped_by_reason
                .entry(r.as_str().to_string())
                .or_default() += 1;
        }
        None => stats.files_read += 1,
    }
    stats.records_read += o.records_read;
    stats.duplicates += o.duplicates;
    stats.events += o.rows as u64 - o.duplicates;
    for (k, v) in &o.skipped_by_reason {
        stats.records_skipped += v;
        *stats
            .records_skipped_by_reason
            .entry(k.clone())
            .or_default() += v;
    }
    stats.bytes_stored += o.size;
    stats.bytes_raw += o.raw_bytes;
    stats.non_record_objects += o.non_record_objects;
    problems.extend(o.problems.iter().cloned());
}

/// What reading a file in pieces carries from unit to unit and piece to piece.
#[derive(Default)]
struct Carried {
    /// Records and problems in the pieces already handed on.
    records: u64,
    problems: usize,
    /// The consumer is gone: stop reading.
    stopped: bool,
    /// The batch row where the rows of the file's current piece start.
    start_row: usize,
}

/// Reads one input file into `b` (after the rows already there) and hands its outcome to
/// `out`: whole (`complete` true), or, when a large unit is streamed, in pieces of about
/// `Windows::piece_rows` rows each, the last one `complete`; `out` may take the batch at a
/// piece, and returns false when the pieces are no longer wanted. `reserve`: reserve the
/// batch's columns for this file (from the sizes of the last batch this thread read). Returns
/// whether the file was streamed. Never panics on bad input; never fails.
pub(crate) fn read_file(
    f: &InputFile,
    opts: &IngestOptions,
    win: &Windows,
    b: &mut Batch,
    reserve: bool,
    out: &mut dyn FnMut(&mut Batch, FileOutcome, bool) -> bool,
) -> bool {
    // (`display` is filled by the consumer: a string per file made on the workers would stay
    // scattered among the pages of their batches.)
    let mut o = FileOutcome {
        size: f.size,
        mtime: f.mtime,
        ..Default::default()
    };
    if let Some(r) = f.skip {
        o.skip = Some(r);
        out(b, o, true);
        return false;
    }
    // The cap stops gzip bombs: a file may always decompress to `BOMB_RATIO` times its size.
    let cap = opts.max_decompressed.max(f.size.saturating_mul(BOMB_RATIO));
    let units = match decode_file(&f.display, &f.path, f.size, cap, win.whole) {
        Ok(u) => u,
        Err(e) => {
            o.skip = Some(SkipReason::Unreadable);
            o.problems.push(Problem {
                file: f.display.clone(),
                position: String::new(),
                reason: format!("cannot read: {e}"),
            });
            out(b, o, true);
            return false;
        }
    };
    let raw_bytes: usize = units.iter().map(|u| u.bytes.len()).sum();
    let streamed = units.iter().any(|u| u.stream.is_some());
    if !streamed && reserve {
        SIZE_HINT.with(|h| {
            if let Some(h) = &*h.borrow() {
                h.reserve(b, raw_bytes);
            }
        });
    }
    let mut file_skip: Option<SkipReason> = None;
    let mut any_used = false;
    let mut carried = Carried {
        start_row: b.events.len(),
        ..Carried::default()
    };
    let wanted = opts.event_columns.as_deref();
    for unit in units {
        let res = match &unit.stream {
            None => read_unit(&unit, &mut o, b, wanted, &carried),
            Some(p) => read_stream(&unit, p, cap, &mut o, b, wanted, win, &mut carried, out),
        };
        if carried.stopped {
            return streamed;
        }
        match res {
            Ok(()) => any_used = true,
            Err(r) => {
                if file_skip.is_none() {
                    file_skip = Some(r)
                }
            }
        }
    }
    if !any_used {
        o.skip = file_skip;
    }
    o.rows = b.events.len() - carried.start_row;
    out(b, o, true);
    streamed
}

/// How large the columns of a file are per byte of its decompressed JSON, as seen in the last
/// file this thread read: the next file's columns are reserved from it, so they do not grow by
/// doubling (a realloc and a copy each time) while it is read. Only capacities depend on it,
/// never output.
struct SizeHints {
    events: SizeHint,
    issuances: SizeHint,
    /// Decompressed bytes per byte stored (for a run of files reserved before it is read).
    raw_per_stored: f64,
}

impl SizeHints {
    /// Reserves `b`'s columns for `raw_bytes` more of decompressed JSON.
    fn reserve(&self, b: &mut Batch, raw_bytes: usize) {
        let (rows, bytes) = self.events.estimate(raw_bytes);
        b.events.reserve(rows, &bytes);
        b.keys.reserve(rows);
        let (rows, bytes) = self.issuances.estimate(raw_bytes);
        b.issuances.reserve(rows, &bytes);
    }
}

struct SizeHint {
    rows_per_byte: f64,
    bytes_per_row: Vec<f64>,
}

thread_local! {
    static SIZE_HINT: std::cell::RefCell<Option<SizeHints>> = const { std::cell::RefCell::new(None) };
}

impl SizeHint {
    fn of(rows: usize, column_bytes: &[usize], raw_bytes: usize) -> SizeHint {
        let per_row = rows.max(1) as f64;
        SizeHint {
            rows_per_byte: rows as f64 / raw_bytes.max(1) as f64,
            bytes_per_row: column_bytes.iter().map(|b| *b as f64 / per_row).collect(),
        }
    }
    /// Rows and per-column bytes to reserve for a file of `raw_bytes`, with 10% to spare.
    fn estimate(&self, raw_bytes: usize) -> (usize, Vec<usize>) {
        let rows = (raw_bytes as f64 * self.rows_per_byte * 1.1) as usize;
        let bytes = self
            .bytes_per_row
            .iter()
            .map(|b| (b * rows as f64 * 1.1) as usize)
            .collect();
        (rows, bytes)
    }
}

/// `identity_sig`'s place among the events columns (the last: checked by a test).
const SIG_COLUMN: usize = event::ALL.len() - 1;

/// Where a unit's items go: the batch, and the file's counts and problems.
struct ItemSink<'a> {
    name: &'a str,
    o: &'a mut FileOutcome,
    b: &'a mut Batch,
    wanted: Option<&'a [bool]>,
    /// Problems of the file already handed on in earlier pieces.
    listed_before: usize,
    unlisted: &'a mut u64,
    /// The next record's index in the file.
    index: &'a mut u64,
}

impl ItemSink<'_> {
    fn item(&mut self, item: Item<'_, '_>) {
        let index = *self.index;
        match item {
            Item::Record(rec) => {
                // The identity signature's hex digits, borrowed by the row until it is pushed
                // (written into the column's arena: nothing allocated per row).
                let mut hex = [0u8; 32];
                let (mut row, iss) = normalize(rec, self.name, index);
                if self
                    .wanted
                    .is_none_or(|w| w.get(SIG_COLUMN).copied().unwrap_or(true))
                {
                    let sig = row.identity_fields().signature();
                    row.identity_sig = Some(Cow::Borrowed(signature::to_hex(sig, &mut hex)));
                }
                let b = &mut *self.b;
                if let Some(iss) = iss {
                    b.issuance_event_row.push(b.events.len());
                    b.issuances.push(&iss);
                }
                match self.wanted {
                    None => b.events.push(&row),
                    Some(w) => b.events.push_masked(&row, w),
                }
            }
            Item::NotRecord(reason) => {
                *self
                    .o
                    .skipped_by_reason
                    .entry(reason.to_string())
                    .or_default() += 1;
                // Insights records are expected in mixed exports; the rest is a problem.
                if !matches!(
                    reason,
                    "CloudTrail Insights event"
                        | "invalid JSON"
                        | "invalid UTF-8"
                        | "line too long"
                ) {
                    if self.listed_before + self.o.problems.len() < MAX_PROBLEMS_PER_FILE {
                        self.o.problems.push(Problem {
                            file: self.name.to_string(),
                            position: format!("record {index}"),
                            reason: format!("skipped: {reason}"),
                        });
                    } else {
                        *self.unlisted += 1;
                    }
                }
            }
        }
        *self.index += 1;
    }
}

/// A unit's first bytes (`at_start`: from its very start, where a BOM may be): the problem and
/// skip reason when they are not JSON.
fn not_json(unit: &str, bytes: &[u8], at_start: bool, o: &mut FileOutcome) -> Option<SkipReason> {
    let first = bytes
        .iter()
        .position(|b| !b" \t\r\n".contains(b))
        .map(|i| bytes[i]);
    let bom = at_start && bytes.starts_with(b"\xEF\xBB\xBF");
    if first.is_none() {
        o.problems.push(Problem {
            file: unit.to_string(),
            position: String::new(),
            reason: "empty file (only whitespace)".into(),
        });
        return Some(SkipReason::Empty);
    }
    if !bom && !matches!(first, Some(b'{') | Some(b'[')) {
        o.problems.push(Problem {
            file: unit.to_string(),
            position: String::new(),
            reason: "not JSON, gzip or zip".into(),
        });
        return Some(SkipReason::NotJson);
    }
    None
}

/// Walks one decoded unit into the file's batches. Returns the skip reason when the unit held
/// nothing usable.
fn read_unit(
    unit: &Unit,
    o: &mut FileOutcome,
    b: &mut Batch,
    wanted: Option<&[bool]>,
    carried: &Carried,
) -> Result<(), SkipReason> {
    o.raw_bytes += unit.bytes.len() as u64;
    if let Some((reason, msg)) = &unit.skip {
        if !reason.is_benign() {
            o.problems.push(Problem {
                file: unit.name.clone(),
                position: String::new(),
                reason: msg.clone(),
            });
        }
        return Err(*reason);
    }
    if let Some(p) = &unit.problem {
        o.problems.push(Problem {
            file: unit.name.clone(),
            position: "end of data".into(),
            reason: p.clone(),
        });
    }
    if let Some(r) = not_json(&unit.name, &unit.bytes, true, o) {
        return Err(r);
    }
    let mut unlisted = 0u64;
    let mut index = carried.records + o.records_read;
    let mut sink = ItemSink {
        name: &unit.name,
        o,
        b,
        wanted,
        listed_before: carried.problems,
        unlisted: &mut unlisted,
        index: &mut index,
    };
    let stats = walk(&unit.bytes, &mut |item| sink.item(item));
    o.records_read += stats.items;
    let records = stats.items;
    finish_unit(&unit.name, o, stats, records, unlisted)
}

/// The end of a unit's walk: its problems, and whether it held CloudTrail at all.
/// `records` is the number of records the unit yielded.
fn finish_unit(
    name: &str,
    o: &mut FileOutcome,
    stats: WalkStats,
    records: u64,
    unlisted: u64,
) -> Result<(), SkipReason> {
    if unlisted > 0 {
        o.problems.push(Problem {
            file: name.to_string(),
            position: String::new(),
            reason: format!("{unlisted} more skipped records not listed"),
        });
    }
    for p in stats.problems.iter().take(MAX_PROBLEMS_PER_FILE) {
        o.problems.push(Problem {
            file: name.to_string(),
            position: p.position.clone(),
            reason: if stats.truncated {
                format!(
                    "{}; the rest of this file could not be read ({records} records before it were kept)",
                    p.reason,
                )
            } else {
                p.reason.clone()
            },
        });
    }
    let has_cloudtrail = stats.items > 0 || stats.saw_container;
    if has_cloudtrail {
        // Objects beside the records in an export (e.g. Cribl collector metadata): not
        // records, counted and shown in the summary.
        o.non_record_objects += stats.stray_objects;
        return Ok(());
    }
    if stats.saw_digest {
        return Err(SkipReason::Digest);
    }
    if stats.saw_config {
        return Err(SkipReason::Config);
    }
    if stats.problems.is_empty() {
        o.problems.push(Problem {
            file: name.to_string(),
            position: String::new(),
            reason: "JSON, but no CloudTrail records in it".into(),
        });
        Err(SkipReason::NotCloudTrail)
    } else {
        Err(SkipReason::NotJson)
    }
}

/// Reads a pending unit as a stream, a window at a time, handing the file on in pieces.
#[allow(clippy::too_many_arguments)]
fn read_stream(
    unit: &Unit,
    p: &Pending,
    cap: u64,
    o: &mut FileOutcome,
    b: &mut Batch,
    wanted: Option<&[bool]>,
    win: &Windows,
    carried: &mut Carried,
    out: &mut dyn FnMut(&mut Batch, FileOutcome, bool) -> bool,
) -> Result<(), SkipReason> {
    let name = &unit.name;
    let mut window = Vec::with_capacity(win.window.max(8));
    let opened = open_stream(p, &mut window, &mut |opened, window| match opened {
        Opened::Skip(reason, msg) => {
            o.problems.push(Problem {
                file: name.clone(),
                position: String::new(),
                reason: msg,
            });
            Err(reason)
        }
        Opened::Bytes(mut fill) => {
            // A plain file's size is its unit's, even where the walk stops before its end.
            let plain = (p.layer == crate::decode::Layer::Plain).then_some(unit.stored_len);
            let unit = Streamed {
                name,
                fill: fill.as_mut(),
                cap,
                plain,
            };
            stream_unit(unit, window, o, b, wanted, win, carried, out)
        }
    });
    opened.unwrap_or_else(|msg| {
        o.problems.push(Problem {
            file: name.clone(),
            position: String::new(),
            reason: msg,
        });
        Err(SkipReason::Unreadable)
    })
}

/// A unit being read as a stream.
struct Streamed<'a, 'f> {
    name: &'a str,
    fill: &'a mut (dyn Fill + 'f),
    /// The decompressed-size cap.
    cap: u64,
    /// A plain file's size (what it counts as decompressed bytes).
    plain: Option<u64>,
}

/// The walk of one streamed unit; `window` holds its first bytes.
#[allow(clippy::too_many_arguments)]
fn stream_unit(
    unit: Streamed<'_, '_>,
    window: &mut Vec<u8>,
    o: &mut FileOutcome,
    b: &mut Batch,
    wanted: Option<&[bool]>,
    win: &Windows,
    carried: &mut Carried,
    out: &mut dyn FnMut(&mut Batch, FileOutcome, bool) -> bool,
) -> Result<(), SkipReason> {
    let Streamed {
        name,
        fill,
        cap,
        plain,
    } = unit;
    if window.capacity() < win.window {
        window.reserve(win.window - window.len());
    }
    let mut total = window.len() as u64;
    let (mut eof, mut capped, mut err) = (false, false, None::<String>);
    let (mut checked, mut walked) = (false, false);
    let mut walk = WindowWalk::new();
    let mut unlisted = 0u64;
    let mut index = carried.records + o.records_read;
    // Records of this unit already counted in `o.records_read` (or in pieces handed on).
    let mut counted = 0u64;
    loop {
        while !eof && window.len() < window.capacity() {
            let before = window.len();
            let res = fill.fill(window);
            // Bytes appended before an error count too (they are walked).
            total += (window.len() - before) as u64;
            match res {
                Ok(0) => eof = true,
                Ok(_) => {}
                Err(e) => (err, eof) = (Some(e), true),
            }
            if total > cap {
                (capped, eof) = (true, true);
            }
        }
        if !checked && (eof || window.iter().any(|b| !b" \t\r\n".contains(b))) {
            // As `read_unit`: the unit's first byte that is not whitespace tells JSON (leading
            // whitespace is walked, window by window, until it comes).
            checked = true;
            if err.is_none() || total > 0 {
                if let Some(r) = not_json(name, window, !walked, o) {
                    o.raw_bytes += plain.unwrap_or(total.min(cap));
                    if capped {
                        o.problems.pop();
                        o.problems.push(Problem {
                            file: name.to_string(),
                            position: String::new(),
                            reason: over_cap(cap),
                        });
                        return Err(SkipReason::TooLarge);
                    }
                    return Err(r);
                }
            }
        }
        let fed = {
            let mut sink = ItemSink {
                name,
                o: &mut *o,
                b: &mut *b,
                wanted,
                listed_before: carried.problems,
                unlisted: &mut unlisted,
                index: &mut index,
            };
            walk.feed(window, eof && !capped, &mut |item| sink.item(item))
        };
        window.drain(..fed.consumed);
        walked |= fed.consumed > 0;
        if fed.done || eof {
            break;
        }
        if fed.consumed == 0 && window.len() == window.capacity() {
            // One value does not fit in the window: widen it, up to a limit.
            if window.capacity() >= win.max_value {
                walk.too_large(win.max_value);
                break;
            }
            window.reserve(window.capacity());
        }
        if b.events.len() - carried.start_row >= win.piece_rows {
            o.records_read += walk.items() - counted;
            counted = walk.items();
            o.rows = b.events.len() - carried.start_row;
            let piece = o.take_piece();
            carried.records += piece.records_read;
            carried.problems += piece.problems.len();
            let more = out(b, piece, false);
            carried.start_row = b.events.len();
            if !more {
                carried.stopped = true;
                return Ok(());
            }
        }
    }
    let stats = walk.finish();
    o.records_read += stats.items - counted;
    o.raw_bytes += plain.unwrap_or(total.min(cap));
    let records = stats.items;
    if let Some(e) = err {
        let reason = if e.starts_with("cannot read") {
            e
        } else {
            format!("truncated or corrupt gzip after {total} decompressed bytes: {e}")
        };
        if total == 0 {
            o.problems.push(Problem {
                file: name.to_string(),
                position: String::new(),
                reason,
            });
            return Err(SkipReason::Unreadable);
        }
        o.problems.push(Problem {
            file: name.to_string(),
            position: "end of data".into(),
            reason,
        });
    }
    if capped {
        if records == 0 {
            o.problems.push(Problem {
                file: name.to_string(),
                position: String::new(),
                reason: over_cap(cap),
            });
            return Err(SkipReason::TooLarge);
        }
        o.problems.push(Problem {
            file: name.to_string(),
            position: String::new(),
            reason: format!(
                "{}: read no further ({records} records before it were kept)",
                over_cap(cap)
            ),
        });
    }
    finish_unit(name, o, stats, records, unlisted)
}

/// A progress line on stderr: files, MB, records/s. Silent unless enabled and stderr is a tty.
struct Progress {
    inner: Option<Arc<ProgressState>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

struct ProgressState {
    total_files: u64,
    files: AtomicU64,
    bytes: AtomicU64,
    records: AtomicU64,
    done: AtomicBool,
}

impl Progress {
    fn start(enabled: bool, total_files: u64) -> Progress {
        if !enabled || !std::io::stderr().is_terminal() || total_files == 0 {
            return Progress {
                inner: None,
                thread: None,
            };
        }
        let st = Arc::new(ProgressState {
            total_files,
            files: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            records: AtomicU64::new(0),
            done: AtomicBool::new(false),
        });
        let s2 = st.clone();
        let thread = std::thread::spawn(move || {
            let t0 = std::time::Instant::now();
            while !s2.done.load(Ordering::Relaxed) {
                std::thread::sleep(std::time::Duration::from_millis(200));
                let secs = t0.elapsed().as_secs_f64().max(0.001);
                let recs = s2.records.load(Ordering::Relaxed);
                eprint!(
                    "\r\x1b[2Kingest: {}/{} files, {:.1} MB, {} records, {:.0} records/s",
                    s2.files.load(Ordering::Relaxed),
                    s2.total_files,
                    s2.bytes.load(Ordering::Relaxed) as f64 / 1e6,
                    recs,
                    recs as f64 / secs
                );
            }
            eprint!("\r\x1b[2K");
        });
        Progress {
            inner: Some(st),
            thread: Some(thread),
        }
    }
    fn piece_done(&self, bytes: u64, records: u64, last: bool) {
        if let Some(s) = &self.inner {
            s.files.fetch_add(u64::from(last), Ordering::Relaxed);
            s.bytes.fetch_add(bytes, Ordering::Relaxed);
            s.records.fetch_add(records, Ordering::Relaxed);
        }
    }
    fn finish(mut self) {
        if let Some(s) = &self.inner {
            s.done.store(true, Ordering::Relaxed);
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sig_column_is_identity_sig() {
        assert_eq!(event::ALL[SIG_COLUMN], event::identity_sig);
    }

    /// Many small files, more than the channel holds.
    fn inputs(dir: &std::path::Path, n: usize) -> Vec<InputFile> {
        for i in 0..n {
            let rec = format!(
                r#"{{"Records":[{{"eventID":"e{i}","eventName":"GetObject","eventTime":"2025-01-01T00:00:00Z","recipientAccountId":"111122223333"}}]}}"#
            );
            std::fs::write(dir.join(format!("f{i:04}.json")), rec).unwrap();
        }
        crate::discover::discover(&[dir.to_path_buf()])
            .unwrap()
            .files
    }

    /// Every file in a batch of its own (as large files are).
    fn alone() -> IngestOptions {
        IngestOptions {
            group_bytes: 0,
            ..IngestOptions::default()
        }
    }

    /// Files reach the sink in input order whatever the threads, and a failing sink stops the
    /// run with its error (workers blocked handing files over must not hang it).
    #[test]
    fn sink_order_and_failure() {
        let dir = tempfile::tempdir().unwrap();
        let files = inputs(dir.path(), 4 * IN_FLIGHT);
        // (The workers are the global rayon pool's, as in the CLI.)
        {
            let mut seen = crate::dedup::Seen::default();
            let mut order = Vec::new();
            let ing = ingest_each(
                &files,
                &alone(),
                &mut seen,
                &|o| o.events.event_id.get(0).map(String::from),
                &mut |_, id| {
                    order.push(id.unwrap());
                    Ok(())
                },
            )
            .unwrap();
            let expect: Vec<String> = (0..files.len()).map(|i| format!("e{i}")).collect();
            assert_eq!(order, expect);
            assert_eq!(ing.stats.events, files.len() as u64);

            // A consumer that does not take files while the workers fill the channel: its first
            // call waits until more files were parsed than the channel holds, so workers are
            // blocked handing files over when it fails.
            let parsed = std::sync::atomic::AtomicUsize::new(0);
            let mut calls = 0;
            let err = ingest_each(
                &files,
                &alone(),
                &mut crate::dedup::Seen::default(),
                &|_| {
                    parsed.fetch_add(1, Ordering::SeqCst);
                },
                &mut |_, ()| {
                    if calls == 0 {
                        wait_until(|| parsed.load(Ordering::SeqCst) > IN_FLIGHT);
                    }
                    calls += 1;
                    anyhow::ensure!(calls < 3, "sink failed");
                    Ok(())
                },
            )
            .unwrap_err();
            assert_eq!(err.to_string(), "sink failed");
            assert_eq!(calls, 3);
        }
    }

    type Run = (
        (
            Vec<(Option<String>, Option<String>, u64)>,
            Vec<(Option<String>, bool)>,
        ),
        Vec<(String, usize, u64, u64, Option<SkipReason>, Vec<Problem>)>,
        Stats,
        Vec<Problem>,
        usize,
    );

    /// Ingests `files`: the kept event rows (id, file, record index) and issuances (event id,
    /// kept) in order, the outcome of each file, the totals and problems, and the batches.
    fn run_both(files: &[InputFile], opts: &IngestOptions) -> Run {
        let (mut kept, mut issued) = (Vec::new(), Vec::new());
        let mut batches = 0;
        let ing = ingest_each(
            files,
            opts,
            &mut crate::dedup::Seen::default(),
            &|b| {
                let ev: Vec<_> = b
                    .events
                    .event_id
                    .iter()
                    .map(|v| v.map(String::from))
                    .collect();
                let src: Vec<_> = b
                    .events
                    .source_file
                    .iter()
                    .map(|v| v.map(String::from))
                    .collect();
                let iss: Vec<_> = b.issuance_event_row.clone();
                (ev, src, b.events.record_index.clone(), iss)
            },
            &mut |b, (ev, src, idx, iss)| {
                batches += 1;
                for (r, k) in b.keep.iter().enumerate() {
                    if *k {
                        kept.push((ev[r].clone(), src[r].clone(), idx[r]));
                    }
                }
                issued.extend(iss.iter().map(|&r| (ev[r].clone(), b.keep[r])));
                Ok(())
            },
        )
        .unwrap();
        let files: Vec<_> = ing
            .files
            .iter()
            .map(|o| {
                (
                    o.display.clone(),
                    o.rows,
                    o.duplicates,
                    o.records_read,
                    o.skip,
                    o.problems.clone(),
                )
            })
            .collect();
        ((kept, issued), files, ing.stats, ing.problems, batches)
    }

    /// Runs of small files read into one batch give what one batch per file gives: the same
    /// kept rows in the same order, and the same counts, duplicates and problems per file
    /// (duplicates within a run and across runs, files skipped or broken inside a run).
    #[test]
    fn grouped_files_same_as_alone() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..150 {
            let body = match i % 25 {
                7 => "not json".to_string(),
                8 => String::new(),
                9 => r#"{"Records":[{"eventID":"x","eventTime":"2025-01-01T00:00:00Z"}, 3"#.into(),
                _ => {
                    let recs: Vec<String> = (0..(i % 4))
                        .map(|j| {
                            format!(
                                r#"{{"eventID":"e{}","eventName":"AssumeRole","eventSource":"sts.amazonaws.com","eventTime":"2025-01-01T00:00:0{j}Z","recipientAccountId":"1111222233{}","responseElements":{{"credentials":{{"accessKeyId":"ASIA{i}{j}"}}}}}}"#,
                                (i + j) / 3,
                                j % 2
                            )
                        })
                        .collect();
                    format!(r#"{{"Records":[{}]}}"#, recs.join(","))
                }
            };
            std::fs::write(dir.path().join(format!("f{i:04}.json")), body).unwrap();
        }
        let files = crate::discover::discover(&[dir.path().to_path_buf()])
            .unwrap()
            .files;
        let (kept1, files1, stats1, problems1, batches1) = run_both(&files, &alone());
        let (kept2, files2, stats2, problems2, batches2) =
            run_both(&files, &IngestOptions::default());
        assert!(kept1.1.iter().any(|(_, k)| !k) && kept1.1.iter().any(|(_, k)| *k));
        assert_eq!(batches1, files.len());
        assert!(
            batches2 < 10,
            "{batches2} batches for {} small files",
            files.len()
        );
        assert!(stats1.duplicates > 0 && stats1.files_skipped > 0 && !problems1.is_empty());
        assert_eq!(kept1, kept2);
        assert_eq!(files1, files2);
        assert_eq!(stats1, stats2);
        assert_eq!(problems1, problems2);
    }

    /// A run of small files that decompress to many rows is handed on every `piece_rows`
    /// rows (its batch is bounded like a streamed file's), with the same result.
    #[test]
    fn grouped_files_split_at_piece_rows() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let per_file = 300;
        for i in 0..60 {
            let recs: Vec<String> = (0..per_file)
                .map(|j| {
                    format!(
                        r#"{{"eventID":"e{}","eventName":"GetObject","eventTime":"2025-01-01T00:00:00Z","recipientAccountId":"111122223333"}}"#,
                        (i * per_file + j) / 2
                    )
                })
                .collect();
            let f = std::fs::File::create(dir.path().join(format!("f{i:04}.json.gz"))).unwrap();
            let mut gz = flate2::write::GzEncoder::new(f, flate2::Compression::best());
            write!(gz, r#"{{"Records":[{}]}}"#, recs.join(",")).unwrap();
            gz.finish().unwrap();
        }
        let files = crate::discover::discover(&[dir.path().to_path_buf()])
            .unwrap()
            .files;
        let stored: u64 = files.iter().map(|f| f.size).sum();
        assert!(stored < GROUP_BYTES, "one run: {stored} bytes");
        let rows = (files.len() * per_file) as usize;
        assert!(rows > Windows::get().piece_rows);
        let (kept1, files1, stats1, problems1, batches1) = run_both(&files, &alone());
        let (kept2, files2, stats2, problems2, batches2) =
            run_both(&files, &IngestOptions::default());
        assert_eq!(batches1, files.len());
        assert_eq!(
            batches2,
            rows.div_ceil(Windows::get().piece_rows.div_ceil(per_file) * per_file)
        );
        assert!(stats1.duplicates > 0);
        assert_eq!(kept1, kept2);
        assert_eq!(files1, files2);
        assert_eq!(stats1, stats2);
        assert_eq!(problems1, problems2);
    }

    /// Waits (yielding) until `cond` holds. Bounded, so that a broken implementation fails
    /// its test instead of hanging it; no assertion depends on how long this takes.
    fn wait_until(cond: impl Fn() -> bool) {
        let t0 = std::time::Instant::now();
        while !cond() && t0.elapsed() < std::time::Duration::from_secs(60) {
            std::thread::yield_now();
        }
    }

    /// A slow file holds the workers back: no file is parsed `AHEAD` or more past the one the
    /// consumer waits for (otherwise every later file would be held in memory meanwhile). The
    /// first file's worker waits until every file the window allows meanwhile (1..AHEAD) was
    /// parsed; each file checks, when parsed, that it is within the window of the files the
    /// consumer has taken. Needs two workers at least for the window to fill (with one, the
    /// check still holds).
    #[test]
    fn slow_file_bounds_the_files_in_flight() {
        use std::sync::atomic::AtomicUsize;
        let dir = tempfile::tempdir().unwrap();
        let files = inputs(dir.path(), 3 * AHEAD);
        let parsed = AtomicUsize::new(0);
        let consumed = AtomicUsize::new(0);
        let beyond = std::sync::Mutex::new(Vec::new());
        // (The workers are the global rayon pool's, as in the CLI.)
        ingest_each(
            &files,
            &alone(),
            &mut crate::dedup::Seen::default(),
            &|o| {
                let id = o.events.event_id.get(0).expect("one event per file");
                let i: usize = id[1..].parse().unwrap();
                if i >= consumed.load(Ordering::SeqCst) + AHEAD {
                    beyond.lock().unwrap().push(i);
                }
                if i == 0 && rayon::current_num_threads() > 1 {
                    wait_until(|| parsed.load(Ordering::SeqCst) >= AHEAD - 1);
                }
                parsed.fetch_add(1, Ordering::SeqCst);
            },
            &mut |_, ()| {
                consumed.fetch_add(1, Ordering::SeqCst);
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(
            *beyond.lock().unwrap(),
            Vec::<usize>::new(),
            "files parsed past the window"
        );
        assert_eq!(parsed.load(Ordering::SeqCst), files.len());
    }
}
