//! `attribute`'s output over a case in bounded memory: the events are read a slice (row group)
//! at a time and attributed against one session graph (built from the issuances, plus the few
//! rows attribution looks up across slices: see `Attributor::context`); each slice's output
//! rows, sorted by time, are spilled as a run, and a merge of the runs writes the output. Same
//! bytes as rendering the in-memory attribution frame; memory grows with sessions, not events.

use crate::render::{self, open_output, Format};
use anyhow::{Context, Result};
use polars::prelude::DataFrame;
use std::io::Write;
use std::path::Path;
use trailgraph_graph::graph::SessionGraph;
use trailgraph_log::table::event;
use trailgraph_store::{self as store, spill, CaseEvents, Manifest};

/// Where and how `write_streamed` writes.
pub struct StreamOut<'a> {
    pub format: Format,
    /// The output file (None: standard output; required for Parquet).
    pub path: Option<&'a Path>,
    /// Rows per Parquet row group written (and per batch of the table renderer).
    pub row_group_rows: usize,
}

/// Attributes every event of the case in `dir` (`events` opened on it) and writes the output.
/// `on_graph` sees the session graph once it is complete (e.g. to tell about cut loops).
pub fn write_streamed(
    dir: &Path,
    manifest: &Manifest,
    events: CaseEvents,
    out: &StreamOut<'_>,
    on_graph: impl FnOnce(&SessionGraph),
) -> Result<()> {
    use trailgraph_graph::attribute::{
        cross_rows_filter, graph_and_context, output_frame, AttributionState, Attributor,
    };
    let t0 = std::time::Instant::now();
    let issuances = store::load_case_issuances(dir, manifest)?;
    trailgraph_log::ingest::profile("load issuances", t0);
    let (graph, cross) = graph_and_context(&issuances, || events.filtered(cross_rows_filter()))?;
    drop(issuances);
    let mut state = AttributionState::new(graph);
    trailgraph_log::ingest::profile("build session graph", t0);
    let mut chains: Vec<String> = Vec::new();
    let mut spill = spill::Spill::new()?;
    // One slice per row group of the case (what a slice holds is about 1 KB a row); runs
    // larger (a rendered row is a tenth of that, and fewer runs make a cheaper merge).
    let run_rows = out.row_group_rows.saturating_mul(4);
    let mut run = Run::default();
    let mut header: Option<Vec<u8>> = None;
    // Parquet and the aligned table are built from frames after the merge; text is rendered
    // before it.
    let framed = matches!(out.format, Format::Parquet | Format::Table);
    let mut time_dtype: Option<polars::prelude::DataType> = None;
    let (mut t_attr, mut t_out) = (std::time::Duration::ZERO, std::time::Duration::ZERO);
    // Rows merge by (time, position). In a one-part case a row's position is its row number;
    // the parts of a case are each in canonical order but interleave, so there it is (the rank
    // of its file among all, its record index), as `trailgraph_store::canonical_order` orders them.
    let file_rank: Option<rustc_hash::FxHashMap<String, u64>> = if events.parts() > 1 {
        Some(events.source_files()?.into_iter().zip(0..).collect())
    } else {
        None
    };
    let mut slices = events.row_groups();
    if slices.is_empty() {
        // The header still comes from an (empty) frame.
        slices.push(store::RowGroup {
            part: 0,
            first: 0,
            rows: 0,
            stored: 0,
        });
    }
    let mut offset = 0u64;
    for g in slices {
        let t0 = std::time::Instant::now();
        let df = events.slice(g)?;
        let n = df.height();
        let mut at = Attributor::with_state(&df, state, Some(&cross))?.with_signatures();
        let per_event: Vec<u32> = (0..n).map(|i| at.row(i)).collect();
        state = at.into_state();
        chains.extend(
            state.table()[chains.len()..]
                .iter()
                .map(|t| t.chain_string()),
        );
        t_attr += t0.elapsed();
        let t0 = std::time::Instant::now();
        // Rows rendered (text formats) or encoded (Parquet: the columns are built after the
        // merge) in blocks on the pool, keyed by (time, position in the case).
        let blocks = if framed {
            if time_dtype.is_none() {
                time_dtype = Some(df.column(event::event_time)?.dtype().clone());
            }
            let rows = EventRows::new(&df)?;
            row_blocks(n, |j, buf| rows.encode(j, per_event[j], buf))
        } else {
            let frame = output_frame(&df, &state.graph, state.table(), &chains, &per_event, None)?;
            let text = render::RowText::new(&frame, out.format)?;
            if header.is_none() {
                header = Some(text.header());
            }
            row_blocks(n, |j, buf| text.row(j, buf))
        };
        let times = df.column(event::event_time)?.datetime()?.physical();
        let (files, records) = (
            df.column(event::source_file)?.str()?,
            df.column(event::record_index)?.u64()?,
        );
        let mut i = 0;
        for (buf, ends) in &blocks {
            let mut start = 0;
            for &end in ends {
                let t = times.get(i);
                let position = match &file_rank {
                    None => (0, offset + i as u64),
                    Some(rank) => (
                        files
                            .get(i)
                            .and_then(|f| rank.get(f))
                            .copied()
                            .unwrap_or(u64::MAX),
                        records.get(i).unwrap_or(0),
                    ),
                };
                run.push(
                    (t.is_none(), t.unwrap_or(0), position.0, position.1),
                    &buf[start..end],
                );
                start = end;
                i += 1;
            }
            // Checked a block at a time: a run's bytes stay near `RUN_BYTES`, however wide the
            // rows or large the slice.
            if run.len() >= run_rows || run.text.len() >= RUN_BYTES {
                run.spill(&mut spill)?;
            }
        }
        t_out += t0.elapsed();
        offset += n as u64;
    }
    run.spill(&mut spill)?;
    trailgraph_log::ingest::profile_took("attribute events (streamed)", t_attr);
    trailgraph_log::ingest::profile_took("render and spill", t_out);
    state.graph.settle();
    on_graph(&state.graph);
    let t0 = std::time::Instant::now();
    if framed {
        let to = match out.format {
            Format::Parquet => FrameOut::Parquet {
                path: out.path.expect("checked before"),
                writer: None,
            },
            _ => FrameOut::Table {
                out: open_output(out.path)?,
                table: render::TableWriter::default(),
            },
        };
        let mut sink = FrameSink::new(
            to,
            out.row_group_rows,
            time_dtype.expect("one slice at least"),
            &state.graph,
            state.table(),
            &chains,
        );
        spill.merge(|row| sink.push(row))?;
        sink.finish()?;
        trailgraph_log::ingest::profile("merge and write output", t0);
        return Ok(());
    }
    let format = out.format;
    let total = spill.rows();
    let mut w = open_output(out.path)?;
    w.write_all(&header.expect("one slice at least"))?;
    let mut k = 0u64;
    spill.merge(|row| {
        w.write_all(render::separator(format, k == 0))?;
        w.write_all(row)?;
        k += 1;
        Ok(())
    })?;
    debug_assert_eq!(k, total);
    w.write_all(render::footer(format, total as usize))?;
    w.flush()?;
    trailgraph_log::ingest::profile("merge and write output", t0);
    Ok(())
}

use trailgraph_graph::attribute::EVENT_OUTPUT_COLUMNS as EVENT_OUTPUT;

/// Rows of a slice as bytes for the spill when the output is built from frames (Parquet, table):
/// the event output columns and the attribution index, so that the merge can build the output
/// frame a batch at a time.
/// Per string: length (u32; `u32::MAX` for null) and bytes; the time: flag and i64 (ms); the
/// attribution: u32.
struct EventRows<'a> {
    strings: Vec<&'a polars::prelude::StringChunked>,
    times: &'a polars::prelude::Int64Chunked,
}

impl<'a> EventRows<'a> {
    fn new(df: &'a DataFrame) -> Result<EventRows<'a>> {
        let mut strings = Vec::new();
        for name in EVENT_OUTPUT.iter().filter(|n| **n != event::event_time) {
            strings.push(df.column(name)?.str()?);
        }
        let times = df.column(event::event_time)?.datetime()?.physical();
        Ok(EventRows { strings, times })
    }

    fn encode(&self, i: usize, attribution: u32, buf: &mut Vec<u8>) {
        for c in &self.strings {
            match c.get(i) {
                Some(s) => {
                    buf.extend_from_slice(&(s.len() as u32).to_le_bytes());
                    buf.extend_from_slice(s.as_bytes());
                }
                None => buf.extend_from_slice(&u32::MAX.to_le_bytes()),
            }
        }
        let t = self.times.get(i);
        buf.push(t.is_some() as u8);
        buf.extend_from_slice(&t.unwrap_or(0).to_le_bytes());
        buf.extend_from_slice(&attribution.to_le_bytes());
    }
}

/// Where `FrameSink` writes each batch.
enum FrameOut<'a> {
    /// One row group per batch.
    Parquet {
        path: &'a Path,
        writer: Option<Box<polars::io::parquet::write::BatchedWriter<std::fs::File>>>,
    },
    Table {
        out: Box<dyn Write>,
        table: render::TableWriter,
    },
}

/// Builds `attribute`'s output frame from merged `EventRows` a batch at a time.
struct FrameSink<'a> {
    to: FrameOut<'a>,
    time_dtype: polars::prelude::DataType,
    graph: &'a trailgraph_graph::graph::SessionGraph,
    table: &'a [trailgraph_graph::graph::Attribution],
    chains: &'a [String],
    strings: Vec<Vec<Option<String>>>,
    times: Vec<Option<i64>>,
    attributions: Vec<u32>,
    /// Batches written.
    batches: usize,
    /// Rows per batch (the first batch of a table has at least the 1,000 rows its column
    /// widths come from).
    batch_rows: usize,
}

impl<'a> FrameSink<'a> {
    fn new(
        to: FrameOut<'a>,
        batch_rows: usize,
        time_dtype: polars::prelude::DataType,
        graph: &'a trailgraph_graph::graph::SessionGraph,
        table: &'a [trailgraph_graph::graph::Attribution],
        chains: &'a [String],
    ) -> FrameSink<'a> {
        FrameSink {
            to,
            time_dtype,
            graph,
            table,
            chains,
            strings: vec![Vec::new(); EVENT_OUTPUT.len() - 1],
            times: Vec::new(),
            attributions: Vec::new(),
            batches: 0,
            batch_rows: batch_rows.max(1),
        }
    }

    fn push(&mut self, mut row: &[u8]) -> Result<()> {
        fn take<'r>(row: &mut &'r [u8], n: usize) -> Result<&'r [u8]> {
            anyhow::ensure!(row.len() >= n, "a spilled row is cut short");
            let (head, rest) = row.split_at(n);
            *row = rest;
            Ok(head)
        }
        for col in &mut self.strings {
            let len = u32::from_le_bytes(take(&mut row, 4)?.try_into()?);
            col.push(if len == u32::MAX {
                None
            } else {
                Some(String::from_utf8(take(&mut row, len as usize)?.to_vec())?)
            });
        }
        let set = take(&mut row, 1)?[0] != 0;
        let t = i64::from_le_bytes(take(&mut row, 8)?.try_into()?);
        self.times.push(set.then_some(t));
        self.attributions
            .push(u32::from_le_bytes(take(&mut row, 4)?.try_into()?));
        let first_table = self.batches == 0 && matches!(self.to, FrameOut::Table { .. });
        if self.times.len() >= self.batch_rows && !(first_table && self.times.len() < 1000) {
            self.flush()?;
        }
        Ok(())
    }

    /// The output frame of the rows gathered so far (emptied).
    fn batch(&mut self) -> Result<DataFrame> {
        use polars::prelude::*;
        let n = self.times.len();
        let mut strings = self.strings.iter_mut();
        let mut cols: Vec<Column> = Vec::new();
        for name in EVENT_OUTPUT {
            if name == event::event_time {
                let t = Int64Chunked::from_iter_options(name.into(), self.times.drain(..));
                cols.push(t.into_column().cast(&self.time_dtype)?);
            } else {
                let values = std::mem::take(strings.next().expect("one per string column"));
                cols.push(
                    StringChunked::from_iter_options(name.into(), values.into_iter()).into_column(),
                );
            }
        }
        let events = DataFrame::new(n, cols)?;
        let atts = std::mem::take(&mut self.attributions);
        trailgraph_graph::attribute::output_frame(
            &events,
            self.graph,
            self.table,
            self.chains,
            &atts,
            None,
        )
    }

    fn flush(&mut self) -> Result<()> {
        let df = self.batch()?;
        self.batches += 1;
        match &mut self.to {
            FrameOut::Parquet { path, writer } => {
                let path: &Path = path;
                let err = |e: polars::prelude::PolarsError| {
                    anyhow::anyhow!("{}: cannot write Parquet: {e}", path.display())
                };
                if writer.is_none() {
                    let f = std::fs::File::create(path)
                        .with_context(|| format!("{}: cannot create", path.display()))?;
                    *writer = Some(Box::new(
                        polars::prelude::ParquetWriter::new(f)
                            .with_compression(polars::prelude::ParquetCompression::Zstd(None))
                            .batched(df.schema())
                            .map_err(err)?,
                    ));
                }
                writer
                    .as_mut()
                    .expect("just set")
                    .write_batch(&df)
                    .map_err(err)
            }
            FrameOut::Table { out, table } => table.write(&df, out.as_mut()),
        }
    }

    fn finish(mut self) -> Result<()> {
        // With no rows at all, one empty batch: the table's header, the Parquet schema.
        if !self.times.is_empty() || self.batches == 0 {
            self.flush()?;
        }
        match self.to {
            FrameOut::Parquet { path, writer } => {
                writer.expect("written").finish().map_err(|e| {
                    anyhow::anyhow!("{}: cannot write Parquet: {e}", path.display())
                })?;
            }
            FrameOut::Table { mut out, .. } => out.flush()?,
        }
        Ok(())
    }
}

/// Rows `0..n` written by `row` in blocks on the rayon pool: per block, the bytes and the end
/// of each row in them, blocks in row order.
fn row_blocks(n: usize, row: impl Fn(usize, &mut Vec<u8>) + Sync) -> Vec<(Vec<u8>, Vec<usize>)> {
    use rayon::prelude::*;
    const BLOCK: usize = 4096;
    (0..n)
        .step_by(BLOCK)
        .collect::<Vec<_>>()
        .into_par_iter()
        .map(|b| {
            let (mut buf, mut ends) = (Vec::new(), Vec::new());
            for j in b..(b + BLOCK).min(n) {
                row(j, &mut buf);
                ends.push(buf.len());
            }
            (buf, ends)
        })
        .collect()
}

/// The rendered bytes a run gathers before it is spilled (with the slice that crosses it): what
/// the output's part of `attribute`'s peak memory is, whatever the row width.
const RUN_BYTES: usize = 16 << 20;

/// Rendered output rows with their merge keys, gathered until they are spilled as one run.
#[derive(Default)]
struct Run {
    text: Vec<u8>,
    rows: Vec<(spill::Key, usize, usize)>,
}

impl Run {
    fn push(&mut self, key: spill::Key, row: &[u8]) {
        if self.text.capacity() == 0 {
            // What a run holds, with room for the block that crosses `RUN_BYTES` (doubling
            // from the bound would take twice that).
            self.text.reserve(RUN_BYTES + (RUN_BYTES >> 2));
        }
        let start = self.text.len();
        self.text.extend_from_slice(row);
        self.rows.push((key, start, self.text.len()));
    }

    fn len(&self) -> usize {
        self.rows.len()
    }

    /// Writes the rows, sorted by key, as one run of `spill`, and empties the run.
    fn spill(&mut self, spill: &mut spill::Spill) -> Result<()> {
        self.rows.sort_unstable_by_key(|r| r.0);
        let text = &self.text;
        spill.run(self.rows.iter().map(|&(k, s, e)| (k, &text[s..e])))?;
        self.rows.clear();
        self.text.clear();
        Ok(())
    }
}
