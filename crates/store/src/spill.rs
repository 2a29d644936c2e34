//! External merge of sorted runs: output that must come out in one order (events by time) but
//! is produced in another (a case's row groups, in file order) goes to a temporary file as
//! sorted runs, which a k-way merge then writes out. Memory holds one run while it is written
//! and a small buffer per run while merging, whatever the number of rows.
//!
//! The temporary file lives in the system temporary directory (`TMPDIR`); on Unix its name is
//! removed as soon as it is open, elsewhere when the `Spill` is dropped (also on error).

use anyhow::{Context, Result};
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;

/// The order of the merge: rows sort by key, ascending. For events: (time is null, time,
/// position in the input as (file, record)): by time, nulls last, ties in input order.
pub type Key = (bool, i64, u64, u64);

/// Bytes per record header: key (1 + 8 + 8 + 8) and payload length (4).
const HEADER: usize = 29;
/// Read buffer per run while merging.
const BUF: usize = 64 * 1024;

/// A new name in the system temporary directory: `trailgraph-<kind>-<process id>-<n>`.
fn temp_path(kind: &str) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    std::env::temp_dir().join(format!("trailgraph-{kind}-{}-{n}", std::process::id()))
}

/// A new temporary file, open for reading and writing. On Unix the open file outlives its
/// name: the name is removed at once, and nothing is left behind even if the process is killed
/// (elsewhere its owner removes it when dropped).
fn temp_file(kind: &str) -> Result<(PathBuf, File)> {
    let path = temp_path(kind);
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)
        .with_context(|| format!("{}: cannot create a temporary file", path.display()))?;
    #[cfg(unix)]
    let _ = std::fs::remove_file(&path);
    Ok((path, f))
}

/// A temporary file of sorted runs.
pub struct Spill {
    path: PathBuf,
    file: Option<BufWriter<File>>,
    /// Each run's (start offset, length) in bytes.
    runs: Vec<(u64, u64)>,
    written: u64,
    rows: u64,
}

impl Spill {
    /// A new, empty temporary file in the system temporary directory.
    pub fn new() -> Result<Spill> {
        let (path, f) = temp_file("spill")?;
        Ok(Spill {
            path,
            file: Some(BufWriter::with_capacity(1 << 20, f)),
            runs: Vec::new(),
            written: 0,
            rows: 0,
        })
    }

    /// Appends one run: `rows` must come in key order; each is (key, payload).
    pub fn run<'b>(&mut self, rows: impl Iterator<Item = (Key, &'b [u8])>) -> Result<()> {
        let start = self.written;
        let f = self
            .file
            .as_mut()
            .expect("runs are written before the merge");
        let mut last: Option<Key> = None;
        for (key, payload) in rows {
            debug_assert!(last.is_none_or(|l| l <= key), "a run must be sorted");
            last = Some(key);
            let len = u32::try_from(payload.len()).context("an output row over 4 GiB")?;
            let mut h = [0u8; HEADER];
            h[0] = key.0 as u8;
            h[1..9].copy_from_slice(&key.1.to_le_bytes());
            h[9..17].copy_from_slice(&key.2.to_le_bytes());
            h[17..25].copy_from_slice(&key.3.to_le_bytes());
            h[25..29].copy_from_slice(&len.to_le_bytes());
            f.write_all(&h)
                .and_then(|_| f.write_all(payload))
                .with_context(|| format!("{}: cannot write", self.path.display()))?;
            self.written += (HEADER + payload.len()) as u64;
            self.rows += 1;
        }
        if self.written > start {
            self.runs.push((start, self.written - start));
        }
        Ok(())
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Merges the runs and hands each payload to `emit` in key order (ties: earlier run
    /// first).
    pub fn merge(mut self, mut emit: impl FnMut(&[u8]) -> Result<()>) -> Result<()> {
        let file = self
            .file
            .take()
            .expect("merged once")
            .into_inner()
            .map_err(|e| e.into_error())
            .with_context(|| format!("{}: cannot write", self.path.display()))?;
        let mut cursors: Vec<Cursor> = self
            .runs
            .iter()
            .map(|&(start, len)| Cursor {
                next: start,
                end: start + len,
                buf: Vec::new(),
                at: 0,
            })
            .collect();
        let mut heap = BinaryHeap::new();
        for (r, c) in cursors.iter_mut().enumerate() {
            if let Some(k) = c.peek(&file, &self.path)? {
                heap.push(std::cmp::Reverse((k, r)));
            }
        }
        while let Some(std::cmp::Reverse((_, r))) = heap.pop() {
            let c = &mut cursors[r];
            emit(c.payload())?;
            c.advance();
            if let Some(k) = c.peek(&file, &self.path)? {
                heap.push(std::cmp::Reverse((k, r)));
            }
        }
        Ok(())
    }
}

impl Drop for Spill {
    fn drop(&mut self) {
        self.file = None;
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Reads one run: `buf[at..]` holds the bytes read but not yet consumed; `next` is the file
/// offset of the first byte not yet read.
struct Cursor {
    next: u64,
    end: u64,
    buf: Vec<u8>,
    at: usize,
}

impl Cursor {
    /// The key of the current record (reading more when needed), or None at the end of the run.
    fn peek(&mut self, mut file: &File, path: &std::path::Path) -> Result<Option<Key>> {
        if !self.fill(HEADER, &mut file, path)? {
            return Ok(None);
        }
        let h = &self.buf[self.at..self.at + HEADER];
        let len = u32::from_le_bytes(h[25..29].try_into().expect("4 bytes")) as usize;
        if !self.fill(HEADER + len, &mut file, path)? {
            anyhow::bail!("{}: temporary file cut short", path.display());
        }
        let h = &self.buf[self.at..self.at + HEADER];
        Ok(Some((
            h[0] != 0,
            i64::from_le_bytes(h[1..9].try_into().expect("8 bytes")),
            u64::from_le_bytes(h[9..17].try_into().expect("8 bytes")),
            u64::from_le_bytes(h[17..25].try_into().expect("8 bytes")),
        )))
    }

    /// The payload of the current record (after `peek` returned a key).
    fn payload(&self) -> &[u8] {
        let h = &self.buf[self.at..self.at + HEADER];
        let len = u32::from_le_bytes(h[25..29].try_into().expect("4 bytes")) as usize;
        &self.buf[self.at + HEADER..self.at + HEADER + len]
    }

    fn advance(&mut self) {
        let len = self.payload().len();
        self.at += HEADER + len;
    }

    /// Makes `need` unconsumed bytes available; false when the run has fewer left.
    fn fill(&mut self, need: usize, file: &mut &File, path: &std::path::Path) -> Result<bool> {
        let have = self.buf.len() - self.at;
        if have >= need {
            return Ok(true);
        }
        let left = self.end - self.next;
        if (have as u64) + left < need as u64 {
            return Ok(false);
        }
        self.buf.drain(..self.at);
        self.at = 0;
        let want = (need.max(BUF) - have).min(left as usize).max(need - have);
        let old = self.buf.len();
        self.buf.resize(old + want, 0);
        file.seek(SeekFrom::Start(self.next))
            .and_then(|_| file.read_exact(&mut self.buf[old..]))
            .with_context(|| format!("{}: cannot read", path.display()))?;
        self.next += want as u64;
        Ok(true)
    }
}

/// A column of `u32`s too long to hold (one per event), in a temporary file: appended in
/// order, then read back a range at a time. Removed like `Spill`'s file.
pub struct U32File {
    path: PathBuf,
    file: BufWriter<File>,
    len: u64,
}

impl U32File {
    pub fn new() -> Result<U32File> {
        let (path, f) = temp_file("column")?;
        Ok(U32File {
            path,
            file: BufWriter::with_capacity(1 << 20, f),
            len: 0,
        })
    }

    /// Appends `values`.
    pub fn extend(&mut self, values: &[u32]) -> Result<()> {
        for v in values {
            self.file
                .write_all(&v.to_le_bytes())
                .with_context(|| format!("{}: cannot write", self.path.display()))?;
        }
        self.len += values.len() as u64;
        Ok(())
    }

    /// Values written so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Ends the writing: from now on the values are read.
    pub fn finish(&mut self) -> Result<()> {
        self.file
            .flush()
            .with_context(|| format!("{}: cannot write", self.path.display()))
    }

    /// Values `first..first + n` (after `finish`).
    pub fn read(&self, first: u64, n: usize) -> Result<Vec<u32>> {
        anyhow::ensure!(
            first + n as u64 <= self.len,
            "{}: reading past the end",
            self.path.display()
        );
        let mut bytes = vec![0u8; n * 4];
        let mut f = self.file.get_ref();
        f.seek(SeekFrom::Start(first * 4))
            .and_then(|_| f.read_exact(&mut bytes))
            .with_context(|| format!("{}: cannot read", self.path.display()))?;
        Ok(bytes
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")))
            .collect())
    }
}

impl Drop for U32File {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// A temporary directory (in the system temporary directory), removed with its contents when
/// dropped.
pub struct ScratchDir {
    path: PathBuf,
}

impl ScratchDir {
    pub fn new() -> Result<ScratchDir> {
        let path = temp_path("scratch");
        std::fs::create_dir(&path)
            .with_context(|| format!("{}: cannot create a temporary directory", path.display()))?;
        Ok(ScratchDir { path })
    }

    pub fn path(&self) -> &std::path::Path {
        &self.path
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn u32_file_reads_back_ranges() {
        let mut f = U32File::new().unwrap();
        let values: Vec<u32> = (0..10_000).map(|i| i * 7 + 1).collect();
        f.extend(&values[..3]).unwrap();
        f.extend(&values[3..]).unwrap();
        f.finish().unwrap();
        assert_eq!(f.len(), 10_000);
        assert_eq!(f.read(0, 3).unwrap(), &values[..3]);
        assert_eq!(f.read(4_321, 1_000).unwrap(), &values[4_321..5_321]);
        assert!(f.read(9_999, 2).is_err());
    }

    #[test]
    fn merges_runs_in_key_order_and_cleans_up() {
        let mut s = Spill::new().unwrap();
        let path = s.path.clone();
        // Three runs; keys interleave, with ties across runs, nulls last, a payload larger
        // than the read buffer and an empty payload.
        let big = vec![b'x'; BUF * 2 + 3];
        let r1: Vec<(Key, Vec<u8>)> = vec![
            ((false, 1, 0, 0), b"a".to_vec()),
            ((false, 5, 0, 1), b"b".to_vec()),
            ((true, 0, 0, 2), b"n1".to_vec()),
        ];
        let r2: Vec<(Key, Vec<u8>)> = vec![
            ((false, 1, 1, 3), big.clone()),
            ((false, 3, 1, 4), Vec::new()),
            ((true, 0, 1, 5), b"n2".to_vec()),
        ];
        let r3: Vec<(Key, Vec<u8>)> = (0..5000)
            .map(|i| ((false, 2 + i, 2, i as u64), format!("r{i}").into_bytes()))
            .collect();
        for r in [&r1, &r2, &r3] {
            s.run(r.iter().map(|(k, p)| (*k, &p[..]))).unwrap();
        }
        s.run(std::iter::empty()).unwrap();
        assert_eq!(s.rows(), 5006);
        let mut all: Vec<(Key, Vec<u8>)> = r1.into_iter().chain(r2).chain(r3).collect();
        all.sort_by_key(|(k, _)| *k);
        let mut got: Vec<Vec<u8>> = Vec::new();
        s.merge(|p| {
            got.push(p.to_vec());
            Ok(())
        })
        .unwrap();
        assert_eq!(got.len(), all.len());
        assert!(got == all.into_iter().map(|(_, p)| p).collect::<Vec<_>>());
        assert!(!path.exists(), "the temporary file is removed");
    }
}
