use crate::chunk::{stream, with_event_columns, Builder, Chunker, RawChunk};
use crate::manifest::part_name;
use crate::pinned::PqWriter;
use anyhow::{Context, Result};
use polars::prelude::*;
use std::path::Path;
use trailgraph_log::ingest::Ingested;
use trailgraph_log::table::EventBatch;

/// A Parquet file written a row group at a time, under a temporary name until `finish`.
pub(crate) struct PartFile {
    path: std::path::PathBuf,
    tmp: std::path::PathBuf,
    writer: Option<PqWriter>,
    /// Written to be read once, by this process (see `PqWriter::new`).
    scratch: bool,
}

impl PartFile {
    pub(crate) fn new(path: std::path::PathBuf, scratch: bool) -> PartFile {
        PartFile {
            tmp: path.with_extension("parquet.tmp"),
            path,
            writer: None,
            scratch,
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
        let path = self.path.clone();
        self.writer(df.schema())?
            .write(df)
            .map_err(|e| anyhow::anyhow!("{}: cannot write Parquet: {e}", path.display()))
    }

    /// Writes a chunk as one row group, each column encoded as soon as it is built (see
    /// `RawChunk::write_to`).
    pub(crate) fn write_chunk(&mut self, raw: RawChunk) -> Result<()> {
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
    let ing = write_part(dir, 0, files, opts, &mut seen, Some(events_columns))?.0;
    drop(seen);
    // What ingest's threads freed is not reused by the analysis that reads the case next.
    crate::pinned::release_free_memory();
    Ok(ing)
}

pub(crate) fn write_part(
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

/// Removes part `part` (written by `ingest_part` but not to be recorded), and the case's
/// directories when they are left empty.
pub fn discard_part(dir: &Path, part: u32) {
    for table in ["events", "issuances"] {
        let _ = std::fs::remove_file(dir.join(table).join(part_name(part)));
        let _ = std::fs::remove_dir(dir.join(table)); // only when empty
    }
    let _ = std::fs::remove_dir(dir); // only when empty
}
