//! De-duplication in bounded memory (spec 2.6 rule 1: the same eventID delivered to the same
//! recipient account is one event; the first in input order is kept).
//!
//! The set of keys seen (`ingest::dedup_key`) is split into buckets by the event's partition,
//! (recipient account, region, UTC date of `eventTime`): a trail's files
//! (`AWSLogs/<acct>/CloudTrail/<region>/YYYY/MM/DD/`) visit the partitions nearly in order, so
//! the keys of the few partitions in use stay in memory and the least recently used buckets are
//! spilled, sorted, to a temporary file when the keys in memory pass a cap. A later event of a
//! spilled partition (late delivery, a second prefix of the same trail) loads its bucket back.
//!
//! True duplicates share their partition (the same record delivered twice). A key met in two
//! partitions (the same eventID and account with another region or date: not a real delivery,
//! but possible in crafted input) would be kept twice by the buckets, so the exact rule is kept
//! by a check at the end: every key kept is also appended to a log (sorted runs spilled at a
//! cap), and a key kept twice is a key of two partitions. `Seen::finish` then fails with
//! `CrossPartition`, naming them, and the caller runs again (`exact`) with those keys checked
//! in one global set: the same answer as one set of every key, for any input.
//!
//! Memory: at most `TRAILGRAPH_DEDUP_MEMORY` bytes (default `DEFAULT_MEMORY`) of keys, or the
//! keys of the largest partition when that is larger; plus a few bytes per partition and per
//! spilled segment, and one read buffer per log run at the end.

use rustc_hash::{FxHashMap, FxHashSet};
use std::io::{Read, Seek, SeekFrom, Write};

/// The default memory for the keys (bytes): three quarters for the buckets, a quarter for the
/// log's run being filled.
pub const DEFAULT_MEMORY: usize = 8 << 20;

/// Bytes a key in a bucket is counted as (16 for the key, the hash table's slack and control).
const BUCKET_KEY_BYTES: usize = 32;

/// The de-duplication key set of one ingest run (see the module docs).
pub struct Seen {
    /// Keys checked whatever their partition: keys already in the input (`true`: every event
    /// with one is a duplicate), and keys of several partitions (`false` until met).
    global: FxHashMap<u128, bool>,
    buckets: Vec<Bucket>,
    /// Partition id → bucket.
    index: FxHashMap<u64, usize>,
    /// The last partition and its bucket (consecutive events share it).
    last: Option<(u64, usize)>,
    /// Keys held by the resident buckets (sets and fresh lists).
    resident: usize,
    /// The most keys the buckets may hold (but for the bucket in use).
    max_resident: usize,
    clock: u64,
    /// The spilled buckets' segments (sorted keys, little-endian).
    segments: Option<std::fs::File>,
    segments_len: u64,
    log: KeyLog,
}

#[derive(Default)]
struct Bucket {
    keys: FxHashSet<u128>,
    /// Whether `keys` is in memory (else its keys are in `segments`).
    resident: bool,
    /// Keys added since the bucket was loaded back (not in its segments yet); only for a
    /// bucket with segments.
    fresh: Vec<u128>,
    /// (offset, keys) of its spilled segments.
    spilled: Vec<(u64, usize)>,
    used: u64,
}

/// Keys of several partitions (see the module docs): run again with them global.
#[derive(Debug)]
pub struct CrossPartition(pub Vec<u128>);

impl std::fmt::Display for CrossPartition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} event keys met in more than one partition (run again with them global)",
            self.0.len()
        )
    }
}

impl std::error::Error for CrossPartition {}

/// The memory for de-duplication keys: `TRAILGRAPH_DEDUP_MEMORY` (bytes; for tests and for
/// machines short of memory), else `DEFAULT_MEMORY`.
pub fn memory_limit() -> anyhow::Result<usize> {
    match std::env::var("TRAILGRAPH_DEDUP_MEMORY") {
        Err(_) => Ok(DEFAULT_MEMORY),
        Ok(v) => v.parse::<usize>().map_err(|_| {
            anyhow::anyhow!("TRAILGRAPH_DEDUP_MEMORY={v}: a number of bytes, 0 or more")
        }),
    }
}

/// Runs `run` with a fresh `Seen` (`prior`: keys already in the input, never new), and again
/// with the keys of several partitions made global when the first run met any (see the module
/// docs). `run` must start from scratch each time (what a failed run wrote is its to remove).
pub fn exact<T>(
    prior: &FxHashSet<u128>,
    run: impl FnMut(&mut Seen) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    exact_with(memory_limit()?, prior, run)
}

/// `exact` with a `Seen` of `limit` bytes.
pub fn exact_with<T>(
    limit: usize,
    prior: &FxHashSet<u128>,
    mut run: impl FnMut(&mut Seen) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let mut cross: Vec<u128> = Vec::new();
    loop {
        let mut seen = Seen::with_limit(limit);
        seen.global.extend(prior.iter().map(|&k| (k, true)));
        seen.global.extend(cross.iter().map(|&k| (k, false)));
        match run(&mut seen) {
            Err(e) => match e.downcast::<CrossPartition>() {
                // A second run cannot meet new ones (the other keys' buckets are unchanged);
                // checked, not assumed.
                Ok(c) if !c.0.iter().all(|k| cross.contains(k)) => cross.extend(c.0),
                Ok(c) => anyhow::bail!("de-duplication did not settle: {c}"),
                Err(e) => return Err(e),
            },
            ok => return ok,
        }
    }
}

/// The partition of an event for de-duplication: its recipient account, region and UTC day.
pub fn partition_id(account: Option<&str>, region: Option<&str>, time_ms: Option<i64>) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = rustc_hash::FxHasher::default();
    (account, region, time_ms.map(|t| t.div_euclid(86_400_000))).hash(&mut h);
    h.finish()
}

impl Default for Seen {
    fn default() -> Self {
        Seen::with_limit(DEFAULT_MEMORY)
    }
}

impl Seen {
    /// A set that holds at most about `bytes` of keys in memory (see the module docs).
    pub fn with_limit(bytes: usize) -> Seen {
        Seen {
            global: FxHashMap::default(),
            buckets: Vec::new(),
            index: FxHashMap::default(),
            last: None,
            resident: 0,
            max_resident: (bytes / 4 * 3 / BUCKET_KEY_BYTES).max(1),
            clock: 0,
            segments: None,
            segments_len: 0,
            log: KeyLog::new((bytes / 4 / 16).max(64)),
        }
    }

    /// Whether `key` (of an event of partition `part`) is new; it is seen from now on.
    #[inline]
    pub fn insert(&mut self, part: u64, key: u128) -> anyhow::Result<bool> {
        if !self.global.is_empty() {
            if let Some(s) = self.global.get_mut(&key) {
                return Ok(!std::mem::replace(s, true));
            }
        }
        let b = match self.last {
            Some((p, b)) if p == part => b,
            _ => {
                let b = match self.index.get(&part) {
                    Some(&b) => b,
                    None => {
                        self.buckets.push(Bucket {
                            resident: true,
                            ..Default::default()
                        });
                        self.index.insert(part, self.buckets.len() - 1);
                        self.buckets.len() - 1
                    }
                };
                self.clock += 1;
                self.buckets[b].used = self.clock;
                if !self.buckets[b].resident {
                    self.load(b)?;
                }
                self.last = Some((part, b));
                b
            }
        };
        let bucket = &mut self.buckets[b];
        if !bucket.keys.insert(key) {
            return Ok(false);
        }
        self.resident += 1;
        if !bucket.spilled.is_empty() {
            bucket.fresh.push(key);
            self.resident += 1;
        }
        self.log.push(key)?;
        Ok(true)
    }

    /// Spills the least recently used buckets while the keys in memory are over the cap (never
    /// the bucket in use). Called between batches.
    pub fn trim(&mut self) -> anyhow::Result<()> {
        while self.resident > self.max_resident {
            let current = self.last.map(|l| l.1);
            let Some(b) = (0..self.buckets.len())
                .filter(|&b| self.buckets[b].resident && Some(b) != current)
                .min_by_key(|&b| self.buckets[b].used)
            else {
                break;
            };
            self.spill(b)?;
        }
        Ok(())
    }

    fn spill(&mut self, b: usize) -> anyhow::Result<()> {
        let bucket = &mut self.buckets[b];
        let mut keys = if bucket.spilled.is_empty() {
            std::mem::take(&mut bucket.keys).into_iter().collect()
        } else {
            std::mem::take(&mut bucket.fresh)
        };
        self.resident -= bucket.keys.len() + keys.len();
        bucket.keys = FxHashSet::default();
        bucket.resident = false;
        if !keys.is_empty() {
            keys.sort_unstable();
            let file = match &mut self.segments {
                Some(f) => f,
                None => self.segments.insert(tempfile::tempfile()?),
            };
            file.seek(SeekFrom::Start(self.segments_len))?;
            write_keys(file, &keys)?;
            bucket.spilled.push((self.segments_len, keys.len()));
            self.segments_len += keys.len() as u64 * 16;
        }
        Ok(())
    }

    fn load(&mut self, b: usize) -> anyhow::Result<()> {
        let bucket = &mut self.buckets[b];
        let n: usize = bucket.spilled.iter().map(|s| s.1).sum();
        let mut keys = FxHashSet::with_capacity_and_hasher(n, Default::default());
        if let Some(file) = &mut self.segments {
            for &(offset, len) in &bucket.spilled {
                file.seek(SeekFrom::Start(offset))?;
                keys.extend(read_keys(file, len)?);
            }
        }
        bucket.keys = keys;
        bucket.resident = true;
        self.resident += n;
        Ok(())
    }

    /// Ends the run: the keys kept in more than one partition, if any, as an error
    /// (`CrossPartition`; see the module docs).
    pub fn finish(&mut self) -> anyhow::Result<()> {
        let cross = self.log.repeated()?;
        if cross.is_empty() {
            Ok(())
        } else {
            Err(CrossPartition(cross).into())
        }
    }

    /// Keys in memory now (buckets, fresh lists and the log's run being filled), for tests.
    pub fn keys_in_memory(&self) -> usize {
        self.resident + self.log.buf.len()
    }
}

fn write_keys(w: &mut impl Write, keys: &[u128]) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(keys.len().min(4096) * 16);
    for chunk in keys.chunks(4096) {
        buf.clear();
        for k in chunk {
            buf.extend_from_slice(&k.to_le_bytes());
        }
        w.write_all(&buf)?;
    }
    Ok(())
}

fn read_keys(r: &mut impl Read, n: usize) -> std::io::Result<Vec<u128>> {
    let mut bytes = vec![0u8; n * 16];
    r.read_exact(&mut bytes)?;
    Ok(bytes
        .chunks_exact(16)
        .map(|c| u128::from_le_bytes(c.try_into().expect("16 bytes")))
        .collect())
}

/// Every key kept, in sorted runs of at most `cap` keys (spilled to a temporary file), to
/// find the keys kept more than once.
struct KeyLog {
    cap: usize,
    buf: Vec<u128>,
    file: Option<std::fs::File>,
    /// Keys in each spilled run.
    runs: Vec<usize>,
}

impl KeyLog {
    fn new(cap: usize) -> KeyLog {
        KeyLog {
            cap,
            buf: Vec::new(),
            file: None,
            runs: Vec::new(),
        }
    }

    #[inline]
    fn push(&mut self, key: u128) -> anyhow::Result<()> {
        self.buf.push(key);
        if self.buf.len() >= self.cap {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> anyhow::Result<()> {
        self.buf.sort_unstable();
        let file = match &mut self.file {
            Some(f) => f,
            None => self.file.insert(tempfile::tempfile()?),
        };
        let mut w = std::io::BufWriter::with_capacity(1 << 16, &*file);
        write_keys(&mut w, &self.buf)?;
        w.flush()?;
        self.runs.push(self.buf.len());
        self.buf.clear();
        Ok(())
    }

    /// The keys pushed more than once, sorted.
    fn repeated(&mut self) -> anyhow::Result<Vec<u128>> {
        self.buf.sort_unstable();
        let mut out = Vec::new();
        let mut last: Option<u128> = None;
        let mut see = |k: u128, out: &mut Vec<u128>| {
            if last == Some(k) && out.last() != Some(&k) {
                out.push(k);
            }
            last = Some(k);
        };
        let Some(file) = &self.file else {
            for &k in &self.buf {
                see(k, &mut out);
            }
            self.buf = Vec::new();
            return Ok(out);
        };
        // A k-way merge of the spilled runs and the run in memory.
        let mut readers = Vec::with_capacity(self.runs.len());
        let mut offset = 0u64;
        for &n in &self.runs {
            readers.push(RunReader::new(file.try_clone()?, offset, n));
            offset += n as u64 * 16;
        }
        let mem = std::mem::take(&mut self.buf);
        let mut mem = mem.into_iter().peekable();
        let mut heap = std::collections::BinaryHeap::new();
        for (i, r) in readers.iter_mut().enumerate() {
            if let Some(k) = r.next()? {
                heap.push(std::cmp::Reverse((k, i)));
            }
        }
        loop {
            let from_heap = heap.peek().map(|r| r.0 .0);
            let k = match (from_heap, mem.peek().copied()) {
                (None, None) => break,
                (Some(h), Some(m)) if m < h => {
                    mem.next();
                    m
                }
                (None, Some(m)) => {
                    mem.next();
                    m
                }
                (Some(_), _) => {
                    let std::cmp::Reverse((k, i)) = heap.pop().expect("peeked");
                    if let Some(next) = readers[i].next()? {
                        heap.push(std::cmp::Reverse((next, i)));
                    }
                    k
                }
            };
            see(k, &mut out);
        }
        Ok(out)
    }
}

/// Reads one sorted run of a `KeyLog`'s file through a small buffer.
struct RunReader {
    file: std::fs::File,
    offset: u64,
    left: usize,
    buf: Vec<u128>,
    at: usize,
}

impl RunReader {
    /// Keys read at a time.
    const CHUNK: usize = 512;

    fn new(file: std::fs::File, offset: u64, keys: usize) -> RunReader {
        RunReader {
            file,
            offset,
            left: keys,
            buf: Vec::new(),
            at: 0,
        }
    }

    fn next(&mut self) -> std::io::Result<Option<u128>> {
        if self.at == self.buf.len() {
            if self.left == 0 {
                return Ok(None);
            }
            let n = self.left.min(Self::CHUNK);
            self.file.seek(SeekFrom::Start(self.offset))?;
            self.buf = read_keys(&mut self.file, n)?;
            self.offset += n as u64 * 16;
            self.left -= n;
            self.at = 0;
        }
        self.at += 1;
        Ok(Some(self.buf[self.at - 1]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator (no dependency): splitmix64.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e3779b97f4a7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d049bb133111eb);
            z ^ (z >> 31)
        }
    }

    /// Events over `parts` partitions visited mostly in order (with late ones and revisits),
    /// keys drawn from a small space so that many repeat within a partition; key k always
    /// belongs to partition k % parts unless `cross` (then any partition).
    fn events(seed: u64, n: usize, parts: u64, cross: bool) -> Vec<(u64, u128)> {
        let mut r = Rng(seed);
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let home = (i as u64 * parts) / n as u64;
            let part = match r.next() % 10 {
                0 => r.next() % parts, // late or revisited
                _ => home,
            };
            let k = (r.next() % (n as u64 / 3 + 1)) / parts * parts + part;
            let p = if cross && r.next().is_multiple_of(50) {
                r.next() % parts
            } else {
                k % parts
            };
            out.push((p, ((k as u128) << 64) | (k as u128).wrapping_mul(7)));
        }
        out
    }

    /// The answers of one global set (the oracle) and of `Seen` with `limit`, through `exact`
    /// (trimmed every `trim_every` events), which must take `passes` passes.
    fn compare(ev: &[(u64, u128)], limit: usize, trim_every: usize, passes: usize) {
        let mut oracle = std::collections::HashSet::new();
        let want: Vec<bool> = ev.iter().map(|&(_, k)| oracle.insert(k)).collect();
        let mut taken = 0;
        let got = exact_with(limit, &FxHashSet::default(), |seen| {
            taken += 1;
            let mut out = Vec::new();
            for (i, &(p, k)) in ev.iter().enumerate() {
                out.push(seen.insert(p, k)?);
                if (i + 1) % trim_every == 0 {
                    seen.trim()?;
                }
            }
            seen.finish()?;
            Ok(out)
        })
        .unwrap();
        assert_eq!(got, want, "limit {limit}");
        assert_eq!(taken, passes, "limit {limit}: passes");
    }

    #[test]
    fn same_as_a_hash_set_without_cross_partition_keys() {
        for (seed, limit) in [(1, 1 << 30), (2, 4096), (3, 1024), (4, 0), (5, 64 << 10)] {
            let ev = events(seed, 20_000, 37, false);
            compare(&ev, limit, 100, 1);
        }
    }

    #[test]
    fn memory_stays_under_the_cap_plus_the_bucket_in_use() {
        let ev = events(9, 50_000, 100, false);
        let mut seen = Seen::with_limit(16 << 10);
        let mut per_part: FxHashMap<u64, FxHashSet<u128>> = FxHashMap::default();
        for (i, &(p, k)) in ev.iter().enumerate() {
            seen.insert(p, k).unwrap();
            per_part.entry(p).or_default().insert(k);
            if i % 100 == 99 {
                seen.trim().unwrap();
                let largest = per_part.values().map(|s| s.len()).max().unwrap();
                // The buckets' cap, the bucket in use (twice: set and fresh list), the log.
                assert!(
                    seen.keys_in_memory()
                        <= (16 << 10) / 4 * 3 / 32 + 2 * largest + (16 << 10) / 64,
                    "{} keys in memory at event {i}",
                    seen.keys_in_memory()
                );
            }
        }
        seen.finish().unwrap();
        assert!(seen.segments_len > 0, "the test spills");
        assert!(seen.log.runs.len() > 1, "the log spills");
    }

    #[test]
    fn keys_of_several_partitions_are_found_and_handled_exactly() {
        for (seed, limit) in [(11, 1 << 30), (12, 2048), (13, 0)] {
            let ev = events(seed, 20_000, 23, true);
            // The first pass alone reports them.
            let mut seen = Seen::with_limit(limit);
            for &(p, k) in &ev {
                seen.insert(p, k).unwrap();
                seen.trim().unwrap();
            }
            let e = seen.finish().unwrap_err();
            assert!(e.downcast_ref::<CrossPartition>().is_some());
            // Through `exact`: the oracle's answers, the second pass with those keys global.
            compare(&ev, limit, 1, 2);
        }
    }

    #[test]
    fn prior_keys_are_never_new() {
        let prior: FxHashSet<u128> = [5u128, 6].into_iter().collect();
        let mut passes = 0;
        let got = exact_with(0, &prior, |seen| {
            passes += 1;
            let out = [(1, 5u128), (1, 7), (2, 7), (2, 6), (1, 8), (2, 9), (1, 9)]
                .iter()
                .map(|&(p, k)| seen.insert(p, k).unwrap())
                .collect::<Vec<_>>();
            seen.finish()?;
            Ok(out)
        })
        .unwrap();
        // Keys 7 and 9 are in two partitions: found by the first pass, global in the second.
        assert_eq!(got, vec![false, true, false, false, true, true, false]);
        assert_eq!(passes, 2);
    }
}
