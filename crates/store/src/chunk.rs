use crate::frames::{build_column, frame_from, project, Frames, Part};
use crate::pinned::{encode_pool, string_column_with, PqWriter};
use anyhow::Result;
use polars::prelude::*;
use trailgraph_log::ingest::{Batch, Ingested};
use trailgraph_log::table::{event, ColData, EventBatch, IssuanceBatch, Kind};

/// Rows per Parquet row group, and per in-memory chunk while ingesting.
pub use trailgraph_log::ingest::ROW_GROUP;

/// Collects the owned columns of consecutive files (in file order) into chunks of about
/// `ROW_GROUP` rows. A chunk is turned into a frame (`RawChunk::build`) on a builder thread,
/// while later files are still being parsed, and the per-file arenas are freed (and their
/// memory reused) as ingest goes instead of all living until the end.
pub(crate) struct Chunker {
    schema: &'static [(&'static str, Kind)],
    only: Option<Vec<&'static str>>,
    cols: Vec<Vec<ColData>>,
    keep: Vec<Vec<bool>>,
    rows: usize,
    chunk_rows: usize,
}

/// The columns of consecutive files, with the masks of the rows to keep.
pub(crate) struct RawChunk {
    pub(crate) schema: &'static [(&'static str, Kind)],
    pub(crate) only: Option<Vec<&'static str>>,
    pub(crate) cols: Vec<Vec<ColData>>,
    pub(crate) keep: Vec<Vec<bool>>,
}

pub(crate) fn wanted(
    schema: &[(&'static str, Kind)],
    only: &Option<Vec<&'static str>>,
    i: usize,
) -> bool {
    only.as_ref().is_none_or(|o| o.contains(&schema[i].0))
}

impl Chunker {
    pub(crate) fn new(
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
    pub(crate) fn push(&mut self, cols: Vec<ColData>, keep: Vec<bool>) {
        self.rows += keep.iter().filter(|k| **k).count();
        for (i, c) in cols.into_iter().enumerate() {
            if wanted(self.schema, &self.only, i) {
                self.cols[i].push(c);
            }
        }
        self.keep.push(keep);
    }

    pub(crate) fn full(&self) -> bool {
        self.rows >= self.chunk_rows
    }

    /// Batches pushed since the last `take`.
    pub(crate) fn batches(&self) -> usize {
        self.keep.len()
    }

    /// Everything pushed since the last call (None when no file was pushed).
    pub(crate) fn take(&mut self) -> Option<RawChunk> {
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
    pub(crate) fn empty(&self) -> Result<DataFrame> {
        project(&frame_from(self.schema, &[])?, self.only.as_deref())
    }
}

impl RawChunk {
    /// Writes the chunk as one row group of `w`. Each column is built and encoded in one step,
    /// its files' data freed as soon as it is encoded: the chunk's columns are never all built at
    /// once (about half the memory of `build` then `write`), and each column's arrow array is
    /// still in cache when it is encoded. Same bytes as `write` of the built frame.
    pub(crate) fn write_to(mut self, w: &mut PqWriter) -> PolarsResult<()> {
        let rows = self.rows();
        if rows == 0 {
            // Every row of these files was a duplicate: no row group.
            return Ok(());
        }
        let wanted = self.wanted_columns();
        let keep: Vec<&[bool]> = self.keep.iter().map(|k| &k[..]).collect();
        let schema = self.schema;
        w.write_columns(rows, wanted, |(i, files)| {
            chunk_column(schema[i], files, &keep)
        })
    }

    /// The frame of the kept rows (one chunk per column), freeing each column's per-file data
    /// as soon as that column is built.
    pub(crate) fn build(self) -> Result<DataFrame> {
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
    pub(crate) fn wanted_columns(&mut self) -> Vec<(usize, Vec<ColData>)> {
        let (schema, only) = (self.schema, &self.only);
        std::mem::take(&mut self.cols)
            .into_iter()
            .enumerate()
            .filter(|(i, _)| wanted(schema, only, *i))
            .collect()
    }

    /// Rows kept in this chunk.
    pub(crate) fn rows(&self) -> usize {
        self.keep
            .iter()
            .map(|k| k.iter().filter(|x| **x).count())
            .sum()
    }

    /// The schema of the frame `build` would make. (Made here without `frame_from`, which uses
    /// the global pool: the builder thread must not, see `Builder`.)
    pub(crate) fn frame_schema(&self) -> Schema {
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
pub(crate) fn chunk_column(
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
pub(crate) fn string_column(
    name: &str,
    files: Vec<trailgraph_log::table::StrCol>,
    keep: &[&[bool]],
) -> Column {
    string_column_with(name, files, keep, u32::MAX as usize)
}

/// A thread that hands the chunks it is sent to `f` (in order), which builds them into frames
/// or writes them.
/// It must not use the global rayon pool, whose workers may be blocked handing files over.
pub(crate) struct Builder<S> {
    tx: Option<std::sync::mpsc::SyncSender<RawChunk>>,
    handle: std::thread::JoinHandle<Result<S>>,
}

impl<S: Send + 'static> Builder<S> {
    pub(crate) fn spawn(mut state: S, f: fn(&mut S, RawChunk) -> Result<()>) -> Builder<S> {
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

    pub(crate) fn send(&self, raw: RawChunk) -> Result<()> {
        let tx = self.tx.as_ref().expect("send before finish");
        // A closed channel means the builder failed; `finish` returns its error.
        tx.send(raw)
            .map_err(|_| anyhow::anyhow!("the chunk builder stopped"))
    }

    /// Waits for the builder; its error, if it had one, wins over `run`'s.
    pub(crate) fn finish<T>(mut self, run: Result<T>) -> Result<(T, S)> {
        self.tx = None;
        let state = match self.handle.join() {
            Ok(r) => r,
            Err(p) => std::panic::resume_unwind(p),
        }?;
        Ok((run?, state))
    }
}

/// What a batch (of one or more files) contributes to the chunkers: its event and issuance
/// columns.
pub(crate) type Taken = (Vec<ColData>, Vec<ColData>);

pub(crate) fn take_columns(o: &mut Batch) -> Taken {
    (o.events.take_columns(), o.issuances.take_columns())
}

/// Hands one de-duplicated batch to the two chunkers.
pub(crate) fn push_batch(o: &mut Batch, (evs, isss): Taken, ev: &mut Chunker, iss: &mut Chunker) {
    let iss_keep = o.issuance_event_row.iter().map(|&r| o.keep[r]).collect();
    o.issuance_event_row = Vec::new();
    ev.push(evs, std::mem::take(&mut o.keep));
    iss.push(isss, iss_keep);
}

/// Appends `df` to `acc` as new chunks.
pub(crate) fn append(acc: &mut Option<DataFrame>, df: DataFrame) -> Result<()> {
    match acc {
        None => *acc = Some(df),
        Some(a) => {
            a.vstack_mut_owned(df)?;
        }
    }
    Ok(())
}

/// Batches whose issuance columns wait before they are built into a frame (see `stream`).
const ISSUANCE_BATCHES: usize = 256;

/// Streams `files` in order: the event columns go to `builder` a chunk at a time (whenever `ev`
/// is full, and the rest at the end); the issuances, few, are built into one frame every
/// `ISSUANCE_BATCHES` batches and at the end. Returns the
/// ingest result, the builder's state, the (emptied) event chunker and the issuances frame.
pub(crate) fn stream<S: Send + 'static>(
    files: &[trailgraph_log::discover::InputFile],
    opts: &trailgraph_log::ingest::IngestOptions,
    seen: &mut trailgraph_log::dedup::Seen,
    mut ev: Chunker,
    builder: Builder<S>,
    on_issuances: impl FnOnce(&DataFrame) -> Result<()>,
) -> Result<(Ingested, S, Chunker, DataFrame)> {
    let mut iss = Chunker::new(IssuanceBatch::SCHEMA, None, usize::MAX);
    // The issuances built so far. A batch's issuance columns are a few small allocations made
    // on the worker that parsed it; held to the end of the run (one set per file of a large
    // trail, hundreds of thousands of allocations) they are scattered through every worker's
    // heap between the short-lived rest. Built every `ISSUANCE_BATCHES` batches into one
    // frame, they are copied together and the batches' allocations freed: `ingest` of the
    // bench's 10 M events peaked at 1,221 MB instead of 1,498.
    let mut built: Option<DataFrame> = None;
    let run = trailgraph_log::ingest::ingest_each(files, opts, seen, &take_columns, &mut |o, t| {
        push_batch(o, t, &mut ev, &mut iss);
        if ev.full() {
            builder.send(ev.take().expect("rows"))?;
        }
        if iss.batches() >= ISSUANCE_BATCHES {
            if let Some(raw) = iss.take() {
                append(&mut built, raw.build()?)?;
            }
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
    let issuances = run.as_ref().ok().map(|_| -> Result<DataFrame> {
        if let Some(raw) = iss.take() {
            append(&mut built, raw.build()?)?;
        }
        match built.take() {
            Some(mut df) => {
                df.rechunk_mut_par();
                Ok(df)
            }
            None => iss.empty(),
        }
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
/// Events whose keys are in `prior` (already in the input) are duplicates.
pub(crate) fn ingest_frames(
    files: &[trailgraph_log::discover::InputFile],
    opts: &trailgraph_log::ingest::IngestOptions,
    prior: &trailgraph_log::ingest::SeenKeys,
    events_columns: Option<&[&str]>,
) -> Result<(Ingested, Frames)> {
    let opts = with_event_columns(opts, events_columns);
    let (ing, events, ev, issuances) = trailgraph_log::dedup::exact(prior, |seen| {
        let ev = Chunker::new(EventBatch::SCHEMA, events_columns, opts.chunk_rows);
        stream(
            files,
            &opts,
            seen,
            ev,
            Builder::spawn(None, |acc, raw| append(acc, raw.build()?)),
            |_| Ok(()),
        )
    })?;
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

/// `opts` filling only `columns` of the events table (and the de-duplication key and partition,
/// always needed); all of them when None.
pub(crate) fn with_event_columns(
    opts: &trailgraph_log::ingest::IngestOptions,
    columns: Option<&[&str]>,
) -> trailgraph_log::ingest::IngestOptions {
    let mut opts = opts.clone();
    if let Some(c) = columns {
        opts.event_columns = Some(
            EventBatch::SCHEMA
                .iter()
                .map(|(n, _)| {
                    c.contains(n)
                        || [
                            event::event_id,
                            event::recipient_account,
                            event::aws_region,
                            event::event_time,
                        ]
                        .contains(n)
                })
                .collect(),
        );
    }
    opts
}
