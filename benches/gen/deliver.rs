//! Delivery: records are routed to per (account, region) streams, grouped
//! into 5-minute delivery files (or `--files-per-hour`), and gzip-written on
//! a background rayon pool. File content never depends on thread timing.

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

use anyhow::{Context, Result};
use flate2::write::GzEncoder;
use flate2::Compression;
use rayon::prelude::*;

use crate::rng::Rng;
use crate::timefmt;
use crate::world::{World, REGIONS};

/// Largest number of records in one delivery file by default (`--max-records-per-file`);
/// bigger slots are split into files of about equal size.
pub const MAX_PER_FILE: usize = 4000;
/// Finished files are handed to the writer in batches of about this size.
const BATCH_BYTES: usize = 24 << 20;

pub struct FileJob {
    pub path: PathBuf,
    pub records: Vec<String>,
}

#[derive(Default)]
pub struct WriteTotals {
    pub gz_bytes: u64,
}

pub struct Delivery {
    root: PathBuf,
    period: i64,
    /// Largest number of records in one file; a slot with more is split.
    max_per_file: usize,
    /// Per stream: minute offset of its delivery boundaries (0..period).
    offsets: Vec<i64>,
    nregions: usize,
    pending: BTreeMap<(i64, u32), Vec<String>>,
    batch: Vec<FileJob>,
    batch_bytes: usize,
    tx: Option<SyncSender<Vec<FileJob>>>,
    writer: Option<JoinHandle<Result<WriteTotals>>>,
    rng: Rng,
    pub files: u64,
    pub raw_bytes: u64,
    pub max_records_in_file: usize,
    pub min_records_in_file: usize,
}

fn write_file(job: &FileJob) -> Result<u64> {
    if let Some(dir) = job.path.parent() {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let f =
        fs::File::create(&job.path).with_context(|| format!("creating {}", job.path.display()))?;
    let mut gz = GzEncoder::new(BufWriter::with_capacity(1 << 20, f), Compression::new(6));
    gz.write_all(b"{\"Records\":[")?;
    for (i, r) in job.records.iter().enumerate() {
        if i > 0 {
            gz.write_all(b",")?;
        }
        gz.write_all(r.as_bytes())?;
    }
    gz.write_all(b"]}")?;
    let mut w = gz.finish()?;
    w.flush()?;
    let f = w.into_inner().map_err(|e| e.into_error())?;
    Ok(f.metadata()?.len())
}

fn writer_loop(rx: Receiver<Vec<FileJob>>) -> Result<WriteTotals> {
    let mut totals = WriteTotals::default();
    for batch in rx {
        let sizes: Vec<u64> = batch.par_iter().map(write_file).collect::<Result<_>>()?;
        totals.gz_bytes += sizes.iter().sum::<u64>();
    }
    Ok(totals)
}

impl Delivery {
    pub fn new(
        root: &Path,
        files_per_hour: u32,
        max_per_file: usize,
        w: &World,
        rng: &mut Rng,
    ) -> Delivery {
        let period = (3600 / i64::from(files_per_hour.max(1))).max(60);
        let nstreams = w.accounts.len() * REGIONS.len();
        let offsets = (0..nstreams)
            .map(|_| 60 * rng.below((period / 60) as u64) as i64)
            .collect();
        let (tx, rx) = sync_channel::<Vec<FileJob>>(2);
        let writer = std::thread::Builder::new()
            .name("gz-writer".into())
            .spawn(move || writer_loop(rx))
            .expect("spawn writer thread");
        Delivery {
            root: root.to_path_buf(),
            period,
            max_per_file: max_per_file.max(1),
            offsets,
            nregions: REGIONS.len(),
            pending: BTreeMap::new(),
            batch: Vec::new(),
            batch_bytes: 0,
            tx: Some(tx),
            writer: Some(writer),
            rng: rng.fork(),
            files: 0,
            raw_bytes: 0,
            max_records_in_file: 0,
            min_records_in_file: usize::MAX,
        }
    }

    pub fn stream(&self, acct: usize, region: u8) -> u32 {
        (acct * self.nregions + region as usize) as u32
    }

    /// Queues `rec` for the first delivery of `stream` at or after
    /// `event_time + latency`.
    pub fn add(&mut self, stream: u32, event_time: i64, latency: i64, rec: String) {
        let off = self.offsets[stream as usize];
        let due = event_time + latency.max(1);
        let slot = (due - off + self.period - 1).div_euclid(self.period) * self.period + off;
        self.pending.entry((slot, stream)).or_default().push(rec);
    }

    /// Closes every file whose delivery time is before `now`: nothing
    /// generated from `now` on can land in it.
    pub fn close_before(&mut self, now: i64, w: &World) -> Result<()> {
        while let Some((&(slot, stream), _)) = self.pending.first_key_value() {
            if slot >= now {
                break;
            }
            let recs = self.pending.remove(&(slot, stream)).expect("present");
            self.close_slot(slot, stream, recs, w)?;
        }
        if self.batch_bytes >= BATCH_BYTES {
            self.send_batch()?;
        }
        Ok(())
    }

    fn close_slot(
        &mut self,
        slot: i64,
        stream: u32,
        mut recs: Vec<String>,
        w: &World,
    ) -> Result<()> {
        // Records inside a delivered file are in no particular order.
        for i in (1..recs.len()).rev() {
            let j = self.rng.below(i as u64 + 1) as usize;
            recs.swap(i, j);
        }
        let acct = &w.accounts[stream as usize / self.nregions];
        let region = REGIONS[stream as usize % self.nregions];
        let stamp = timefmt::file_stamp(slot);
        let dir = self
            .root
            .join("AWSLogs")
            .join(&w.org)
            .join(&acct.id)
            .join("CloudTrail")
            .join(region)
            .join(timefmt::date_path(slot));
        let nparts = recs.len().div_ceil(self.max_per_file);
        let per = recs.len().div_ceil(nparts);
        let mut rest = recs;
        while !rest.is_empty() {
            let tail = if rest.len() > per {
                rest.split_off(per)
            } else {
                Vec::new()
            };
            let part = std::mem::replace(&mut rest, tail);
            let name = format!(
                "{}_CloudTrail_{}_{}_{}.json.gz",
                acct.id,
                region,
                stamp,
                self.rng.alnum(16)
            );
            let bytes: usize = part.iter().map(|r| r.len() + 1).sum::<usize>() + 13;
            self.raw_bytes += bytes as u64;
            self.files += 1;
            self.max_records_in_file = self.max_records_in_file.max(part.len());
            self.min_records_in_file = self.min_records_in_file.min(part.len());
            self.batch_bytes += bytes;
            self.batch.push(FileJob {
                path: dir.join(name),
                records: part,
            });
        }
        Ok(())
    }

    fn send_batch(&mut self) -> Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.batch);
        self.batch_bytes = 0;
        let sent = self
            .tx
            .as_ref()
            .map(|tx| tx.send(batch).is_ok())
            .unwrap_or(false);
        if !sent {
            // The writer stopped: surface its error.
            return self.join().map(|_| ());
        }
        Ok(())
    }

    fn join(&mut self) -> Result<WriteTotals> {
        self.tx = None;
        match self.writer.take() {
            Some(h) => h
                .join()
                .map_err(|_| anyhow::anyhow!("writer thread panicked"))?,
            None => anyhow::bail!("writer already finished"),
        }
    }

    /// Delivers everything still pending and waits for the writer.
    pub fn finish(mut self, w: &World) -> Result<(Delivery, WriteTotals)> {
        self.close_before(i64::MAX, w)?;
        self.send_batch()?;
        let totals = self.join()?;
        Ok((self, totals))
    }
}
