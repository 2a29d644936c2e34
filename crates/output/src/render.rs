//! Writers for tabular results over `impl Write`: aligned table (terminal-escaped), CSV
//! (RFC 4180, formula injection neutralised), JSON array, NDJSON, and Parquet. Timestamps are
//! written as ISO-8601 UTC in text formats and kept typed in Parquet. Streams row by row.

use anyhow::{bail, Context, Result};
use polars::prelude::*;
use std::io::Write;
use std::path::Path;
use trailgraph_log::escape::{csv_field, csv_field_into, term};
use trailgraph_log::model::format_time;
use trailgraph_store::pinned::{Arr, StrArr};

/// The table formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Ndjson,
    Csv,
    Parquet,
}

/// A typed view of one column for row-wise access.
enum Cell<'a> {
    Str(StrArr<'a>),
    Time(&'a Int64Chunked),
    I64(&'a Int64Chunked),
    U64(&'a UInt64Chunked),
    U32(&'a UInt32Chunked),
    I32(&'a Int32Chunked),
    F64(&'a Float64Chunked),
    Bool(&'a BooleanChunked),
    Other(&'a Column),
}

impl<'a> Cell<'a> {
    /// The cell as text (borrowed for strings: no allocation), or None when null.
    fn text_at(&self, i: usize) -> Option<std::borrow::Cow<'a, str>> {
        use std::borrow::Cow;
        match self {
            Cell::Str(a) => a.get(i).map(Cow::Borrowed),
            Cell::Time(c) => c.get(i).map(|t| Cow::Owned(format_time(t))),
            Cell::I64(c) => c.get(i).map(|v| Cow::Owned(v.to_string())),
            Cell::U64(c) => c.get(i).map(|v| Cow::Owned(v.to_string())),
            Cell::U32(c) => c.get(i).map(|v| Cow::Owned(v.to_string())),
            Cell::I32(c) => c.get(i).map(|v| Cow::Owned(v.to_string())),
            Cell::F64(c) => c.get(i).map(|v| Cow::Owned(v.to_string())),
            Cell::Bool(c) => c
                .get(i)
                .map(|v| Cow::Borrowed(if v { "true" } else { "false" })),
            Cell::Other(c) => match c.get(i) {
                Ok(AnyValue::Null) | Err(_) => None,
                Ok(v) => Some(Cow::Owned(v.str_value().to_string())),
            },
        }
    }

    /// Appends the cell as a CSV field (nothing when null).
    fn csv_at(&self, i: usize, out: &mut Vec<u8>) {
        match self {
            Cell::Time(c) => {
                if let Some(t) = c.get(i) {
                    trailgraph_log::model::format_time_into(t, out)
                }
            }
            Cell::Str(a) => {
                if let Some(v) = a.get(i) {
                    csv_field_into(v, out);
                }
            }
            Cell::U32(c) => {
                if let Some(v) = c.get(i) {
                    write!(out, "{v}").expect("in-memory write");
                }
            }
            Cell::I64(c) => {
                if let Some(v) = c.get(i) {
                    write!(out, "{v}").expect("in-memory write");
                }
            }
            _ => {
                if let Some(t) = self.text_at(i) {
                    csv_field_into(&t, out);
                }
            }
        }
    }

    /// Appends the cell as a JSON value.
    fn json_at(&self, i: usize, out: &mut Vec<u8>) {
        if let Cell::Time(c) = self {
            match c.get(i) {
                Some(t) => {
                    out.push(b'"');
                    trailgraph_log::model::format_time_into(t, out);
                    out.push(b'"');
                }
                None => out.extend_from_slice(b"null"),
            }
            return;
        }
        let quoted = matches!(self, Cell::Str(_) | Cell::Time(_) | Cell::Other(_));
        match self.text_at(i) {
            None => out.extend_from_slice(b"null"),
            Some(t) if quoted => {
                serde_json::to_writer(&mut *out, t.as_ref()).expect("in-memory write")
            }
            Some(t) => out.extend_from_slice(t.as_bytes()),
        }
    }

    /// Asks the CPU to fetch the bytes of row i's string (when not inlined in its view) into
    /// cache. Rows in time order are scattered over the buffers of many files: without this,
    /// rendering waits on a cache miss for most long fields.
    #[inline]
    fn prefetch(&self, i: usize) {
        if let Cell::Str(a) = self {
            // The views too, further ahead: 14 columns of them are read side by side.
            a.prefetch_row(i, 4 * PREFETCH_ROWS);
        }
    }

    fn new(c: &'a Column) -> Cell<'a> {
        match c.dtype() {
            // A single chunk: `write` rechunks.
            DataType::String => Cell::Str(Arr::of(c.str().expect("string")).expect("one chunk")),
            DataType::Datetime(_, _) => Cell::Time(c.datetime().expect("datetime").physical()),
            DataType::Int64 => Cell::I64(c.i64().expect("i64")),
            DataType::UInt64 => Cell::U64(c.u64().expect("u64")),
            DataType::UInt32 => Cell::U32(c.u32().expect("u32")),
            DataType::Int32 => Cell::I32(c.i32().expect("i32")),
            DataType::Float64 => Cell::F64(c.f64().expect("f64")),
            DataType::Boolean => Cell::Bool(c.bool().expect("bool")),
            _ => Cell::Other(c),
        }
    }
}

/// Writes `df` in `format`. Parquet needs a seekable file: pass `parquet_path`.
pub fn write(df: &DataFrame, format: Format, out: &mut dyn Write) -> Result<()> {
    let df = trailgraph_graph::attribute::single_chunk(df);
    let n = df.height();
    if format == Format::Parquet {
        bail!("Parquet output needs a file: add -o FILE.parquet");
    }
    if format == Format::Table {
        let cells: Vec<Cell> = df.columns().iter().map(Cell::new).collect();
        return write_table(&column_names(&df), &cells, n, out);
    }
    let rows = RowText::new(&df, format)?;
    out.write_all(&rows.header())?;
    in_blocks(n, out, |range, buf| {
        for i in range {
            buf.extend_from_slice(rows.separator(i == 0));
            rows.row(i, buf);
        }
    })?;
    out.write_all(rows.footer(n))?;
    Ok(())
}

fn column_names(df: &DataFrame) -> Vec<String> {
    df.get_column_names()
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// What goes before a row of `format` (`first`: before the first one); see `RowText`.
pub(crate) fn separator(format: Format, first: bool) -> &'static [u8] {
    match (format, first) {
        (Format::Json, true) => b"\n  ",
        (Format::Json, false) => b",\n  ",
        _ => b"",
    }
}

/// What follows the last of `n` rows of `format`; see `RowText`.
pub fn footer(format: Format, n: usize) -> &'static [u8] {
    match (format, n) {
        (Format::Json, 0) => b"]\n",
        (Format::Json, _) => b"\n]\n",
        _ => b"",
    }
}

/// The rows of a frame as text (CSV, JSON, NDJSON), one at a time, for output assembled in
/// any order: `header`, then for each row its `separator` and `row`, then `footer`, is what
/// `write` writes.
pub(crate) struct RowText<'a> {
    cells: Vec<Cell<'a>>,
    names: Vec<String>,
    /// JSON keys, quoted.
    keys: Vec<String>,
    format: Format,
}

impl<'a> RowText<'a> {
    /// `df` must be single-chunk (see `attribute::single_chunk`).
    pub fn new(df: &'a DataFrame, format: Format) -> Result<RowText<'a>> {
        if matches!(format, Format::Table | Format::Parquet) {
            bail!("{format:?} is not a row-wise text format");
        }
        let names = column_names(df);
        Ok(RowText {
            cells: df.columns().iter().map(Cell::new).collect(),
            keys: names
                .iter()
                .map(|k| serde_json::to_string(k).expect("string"))
                .collect(),
            names,
            format,
        })
    }

    pub fn header(&self) -> Vec<u8> {
        match self.format {
            Format::Csv => {
                let header: Vec<_> = self
                    .names
                    .iter()
                    .map(|h| csv_field(h).into_owned())
                    .collect();
                (header.join(",") + "\n").into_bytes()
            }
            Format::Json => b"[".to_vec(),
            _ => Vec::new(),
        }
    }

    /// What goes before a row (`first`: before the first one).
    pub(crate) fn separator(&self, first: bool) -> &'static [u8] {
        separator(self.format, first)
    }

    /// What follows the last of `n` rows.
    pub fn footer(&self, n: usize) -> &'static [u8] {
        footer(self.format, n)
    }

    /// Appends row `i`.
    pub fn row(&self, i: usize, buf: &mut Vec<u8>) {
        // Rows are rendered in order: start fetching the strings of a row a few ahead.
        for c in &self.cells {
            c.prefetch(i + PREFETCH_ROWS);
        }
        if self.format == Format::Csv {
            for (j, c) in self.cells.iter().enumerate() {
                if j > 0 {
                    buf.push(b',');
                }
                c.csv_at(i, buf);
            }
            buf.push(b'\n');
            return;
        }
        buf.push(b'{');
        for (j, c) in self.cells.iter().enumerate() {
            if j > 0 {
                buf.push(b',');
            }
            buf.extend_from_slice(self.keys[j].as_bytes());
            buf.push(b':');
            c.json_at(i, buf);
        }
        buf.push(b'}');
        if self.format == Format::Ndjson {
            buf.push(b'\n');
        }
    }
}

/// Renders rows `0..n` in blocks on rayon's pool (a few blocks at a time, so memory stays
/// bounded) and writes the blocks in order: the output is the same as a sequential loop.
fn in_blocks(
    n: usize,
    out: &mut dyn Write,
    render: impl Fn(std::ops::Range<usize>, &mut Vec<u8>) + Sync,
) -> Result<()> {
    use rayon::prelude::*;
    const BLOCK: usize = 8192;
    let window = BLOCK * 2 * rayon::current_num_threads().max(1);
    // Block buffers are reused from window to window: fresh memory costs a page fault per 4 KB.
    let mut pool: Vec<Vec<u8>> = Vec::new();
    let mut start = 0;
    while start < n {
        let end = (start + window).min(n);
        let jobs: Vec<(usize, Vec<u8>)> = (start..end)
            .step_by(BLOCK)
            .map(|b| (b, pool.pop().unwrap_or_default()))
            .collect();
        let blocks: Vec<Vec<u8>> = jobs
            .into_par_iter()
            .map(|(b, mut buf)| {
                buf.clear();
                render(b..(b + BLOCK).min(end), &mut buf);
                buf
            })
            .collect();
        for b in blocks {
            out.write_all(&b)?;
            pool.push(b);
        }
        start = end;
    }
    Ok(())
}

/// Writes a Parquet file.
pub(crate) fn write_parquet(df: &DataFrame, path: &std::path::Path) -> Result<()> {
    let mut df = df.clone();
    let f = std::fs::File::create(path)
        .map_err(|e| anyhow::anyhow!("{}: cannot create: {e}", path.display()))?;
    ParquetWriter::new(f)
        .with_compression(ParquetCompression::Zstd(None))
        .finish(&mut df)
        .map_err(|e| anyhow::anyhow!("{}: cannot write Parquet: {e}", path.display()))?;
    Ok(())
}

const MAX_WIDTH: usize = 64;

/// How many rows ahead `RowText::row` prefetches.
const PREFETCH_ROWS: usize = 6;

fn write_table(names: &[String], cells: &[Cell], n: usize, out: &mut dyn Write) -> Result<()> {
    let mut t = TableWriter::default();
    t.write_cells(names, cells, n, out)
}

/// An aligned table written in pieces (frames with the same columns, one after the other): the
/// column widths come from the header and the first 1,000 rows of the first piece.
#[derive(Default)]
pub(crate) struct TableWriter {
    widths: Option<Vec<usize>>,
}

impl TableWriter {
    /// Writes the rows of `df` (the header too, before the first piece).
    pub fn write(&mut self, df: &DataFrame, out: &mut dyn Write) -> Result<()> {
        let df = trailgraph_graph::attribute::single_chunk(df);
        let cells: Vec<Cell> = df.columns().iter().map(Cell::new).collect();
        self.write_cells(&column_names(&df), &cells, df.height(), out)
    }

    fn write_cells(
        &mut self,
        names: &[String],
        cells: &[Cell],
        n: usize,
        out: &mut dyn Write,
    ) -> Result<()> {
        let fit = |s: &str| -> String {
            let s = term(s);
            if s.chars().count() > MAX_WIDTH {
                let mut t: String = s.chars().take(MAX_WIDTH - 1).collect();
                t.push('…');
                t
            } else {
                s.into_owned()
            }
        };
        let first = self.widths.is_none();
        let widths = self.widths.get_or_insert_with(|| {
            // Widths from the header and the first rows (tables are for people; use csv for
            // bulk).
            let mut widths: Vec<usize> = names.iter().map(|h| h.chars().count()).collect();
            for i in 0..n.min(1000) {
                for (j, c) in cells.iter().enumerate() {
                    widths[j] =
                        widths[j].max(fit(&c.text_at(i).unwrap_or_default()).chars().count());
                }
            }
            widths
        });
        let line = |vals: Vec<String>| -> String {
            let mut s = String::new();
            for (j, v) in vals.iter().enumerate() {
                if j > 0 {
                    s.push_str("  ");
                }
                s.push_str(v);
                if j + 1 < vals.len() {
                    let pad = widths[j].saturating_sub(v.chars().count());
                    s.extend(std::iter::repeat_n(' ', pad));
                }
            }
            s.push('\n');
            s
        };
        if first {
            out.write_all(line(names.to_vec()).as_bytes())?;
        }
        for i in 0..n {
            let vals: Vec<String> = cells
                .iter()
                .map(|c| fit(&c.text_at(i).unwrap_or_default()))
                .collect();
            out.write_all(line(vals).as_bytes())?;
        }
        Ok(())
    }
}
/// A table written in pieces (frames with the same columns, one after the other), in any
/// format: text row by row, the aligned table by `TableWriter`, Parquet a row group per piece.
/// For output too large to build as one frame; `write` of every piece then `finish` writes
/// what `emit` of their concatenation would (the table's widths come from its first piece).
pub struct FrameWriter<'a> {
    format: Format,
    path: Option<&'a Path>,
    out: Option<Box<dyn Write>>,
    parquet: Option<polars::io::parquet::write::BatchedWriter<std::fs::File>>,
    table: TableWriter,
    header: bool,
    rows: usize,
}

impl<'a> FrameWriter<'a> {
    /// Writes to `path` (None or `-`: standard output; Parquet needs a file).
    pub fn new(format: Format, path: Option<&'a Path>) -> Result<FrameWriter<'a>> {
        let out = if format == Format::Parquet {
            if path.is_none_or(|p| p == Path::new("-")) {
                bail!("--format parquet needs -o FILE");
            }
            None
        } else {
            Some(open_output(path)?)
        };
        Ok(FrameWriter {
            format,
            path,
            out,
            parquet: None,
            table: TableWriter::default(),
            header: false,
            rows: 0,
        })
    }

    /// Writes the rows of `df` (and, with the first piece, the header).
    pub fn write(&mut self, df: &DataFrame) -> Result<()> {
        let df = trailgraph_graph::attribute::single_chunk(df);
        match (self.format, self.out.as_mut()) {
            (Format::Parquet, _) => {
                let path = self.path.expect("checked in new");
                let err = |e: PolarsError| {
                    anyhow::anyhow!("{}: cannot write Parquet: {e}", path.display())
                };
                if self.parquet.is_none() {
                    let f = std::fs::File::create(path)
                        .with_context(|| format!("{}: cannot create", path.display()))?;
                    self.parquet = Some(
                        ParquetWriter::new(f)
                            .with_compression(ParquetCompression::Zstd(None))
                            .batched(df.schema())
                            .map_err(err)?,
                    );
                }
                self.parquet
                    .as_mut()
                    .expect("just set")
                    .write_batch(&df)
                    .map_err(err)?;
            }
            (Format::Table, Some(out)) => self.table.write(&df, out.as_mut())?,
            (_, Some(out)) => {
                let rows = RowText::new(&df, self.format)?;
                if !self.header {
                    out.write_all(&rows.header())?;
                }
                let first = self.rows;
                in_blocks(df.height(), out.as_mut(), |range, buf| {
                    for i in range {
                        buf.extend_from_slice(rows.separator(first + i == 0));
                        rows.row(i, buf);
                    }
                })?;
            }
            (_, None) => unreachable!("text output is opened in new"),
        }
        self.header = true;
        self.rows += df.height();
        Ok(())
    }

    /// Ends the output (the JSON array's end; the Parquet footer) and flushes it.
    pub fn finish(mut self) -> Result<()> {
        if let Some(w) = self.parquet.take() {
            let path = self.path.expect("checked in new");
            w.finish()
                .map_err(|e| anyhow::anyhow!("{}: cannot write Parquet: {e}", path.display()))?;
        }
        if let Some(mut out) = self.out.take() {
            if self.format != Format::Table {
                out.write_all(footer(self.format, self.rows))?;
            }
            out.flush()?;
        }
        Ok(())
    }
}

/// Opens `-o FILE` or standard output.
pub fn open_output(path: Option<&Path>) -> Result<Box<dyn Write>> {
    Ok(match path {
        Some(p) if p != Path::new("-") => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p)
                .with_context(|| format!("{}: cannot create output file", p.display()))?,
        )),
        _ => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    })
}

/// Writes a frame to `-o FILE` or stdout in the chosen format.
pub fn emit(df: &DataFrame, format: Format, path: Option<&Path>) -> Result<()> {
    if format == Format::Parquet {
        let Some(p) = path else {
            bail!("--format parquet needs -o FILE");
        };
        return write_parquet(df, p);
    }
    let mut w = open_output(path)?;
    write(df, format, &mut w)?;
    w.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(names: &[&str], rows: std::ops::Range<u32>) -> DataFrame {
        let n = rows.len();
        DataFrame::new(
            n,
            vec![
                Column::new(
                    "name".into(),
                    rows.clone()
                        .map(|i| names[i as usize % names.len()])
                        .collect::<Vec<_>>(),
                ),
                Column::new("n".into(), rows.collect::<Vec<u32>>()),
            ],
        )
        .unwrap()
    }

    /// `FrameWriter` over pieces writes what `emit` of their concatenation writes, in every
    /// text format (the JSON separators and end across pieces), and Parquet holds every row.
    #[test]
    fn frame_writer_pieces_equal_one_frame() {
        let names = ["alice", "=cmd|' /C calc'!A0", "bob, \"the\" builder"];
        let pieces = [
            frame(&names, 0..3),
            frame(&names, 3..3),
            frame(&names, 3..7),
        ];
        let mut whole = pieces[0].clone();
        for p in &pieces[1..] {
            whole.vstack_mut(p).unwrap();
        }
        let dir = tempfile::tempdir().unwrap();
        for format in [Format::Csv, Format::Json, Format::Ndjson, Format::Table] {
            let (a, b) = (dir.path().join("a"), dir.path().join("b"));
            emit(&whole, format, Some(&a)).unwrap();
            let mut w = FrameWriter::new(format, Some(&b)).unwrap();
            for p in &pieces {
                w.write(p).unwrap();
            }
            w.finish().unwrap();
            assert_eq!(
                std::fs::read_to_string(&a).unwrap(),
                std::fs::read_to_string(&b).unwrap(),
                "{format:?}"
            );
        }
        // Zero pieces but one empty frame: the header alone (JSON: an empty array).
        let e = dir.path().join("e");
        let mut w = FrameWriter::new(Format::Json, Some(&e)).unwrap();
        w.write(&frame(&names, 0..0)).unwrap();
        w.finish().unwrap();
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&e).unwrap()).unwrap();
        assert_eq!(v, serde_json::json!([]));
        let p = dir.path().join("p.parquet");
        let mut w = FrameWriter::new(Format::Parquet, Some(&p)).unwrap();
        for piece in &pieces {
            w.write(piece).unwrap();
        }
        w.finish().unwrap();
        let back = ParquetReader::new(std::fs::File::open(&p).unwrap())
            .finish()
            .unwrap();
        assert!(back.equals(&whole));
        assert!(FrameWriter::new(Format::Parquet, None).is_err());
    }
}
