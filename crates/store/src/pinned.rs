//! Everything that depends on polars' internals, pinned to an exact version (`polars-arrow`,
//! `polars-buffer`, `polars-parquet` `=0.55.2` in the workspace Cargo.toml), and every `unsafe`
//! block of trailgraph (the lint `unsafe_code` is denied in every other module and crate):
//!
//! - string columns built as arrow view arrays over ingest's per-file arenas, without copying
//!   the strings (`string_column_with`, `view_column`), and gathered by index (`gather_strings`);
//! - the case store's Parquet writer (`PqWriter`): polars' own encoder driven per column, with
//!   trailgraph's dictionary encoder (`dictionary_of`);
//! - `prefetch` for renderers that read rows scattered over many buffers.
//!
//! Upgrade checklist for the pins (polars moves these internals between minor versions):
//! 1. bump `polars` and the three pinned crates together, to the versions polars itself uses
//!    (`cargo tree -p polars-core -e normal | grep polars-`);
//! 2. `View::new_from_bytes`, `View::MAX_INLINE_SIZE`, `Utf8ViewArray::new_unchecked_unknown_md`
//!    and `BinaryViewArrayGeneric` layout: re-read their safety contracts; the views made here
//!    must stay valid (offset + length inside buffer `buffer_idx`, UTF-8, prefix = first 4 bytes);
//! 3. `polars_parquet::write` (`array_to_columns`, `compress`, `FileWriter`, `WriteOptions`,
//!    statistics options): the store's unit tests read back what the writer wrote (values,
//!    codecs and statistics per column, the dictionary encoding), check that writing a chunk
//!    column by column gives the same bytes as building then writing it, and that the views
//!    and gathers give what polars' own operations give;
//! 4. run `cargo test -p trailgraph-store` and the bench (`benches/bench.sh`): the case Parquet
//!    of the bench corpus must read back to the same frames (the `attribute` CSV is
//!    byte-identical across the upgrade).
#![allow(unsafe_code)]

use anyhow::Result;
use polars::prelude::*;
use rustc_hash::FxHashMap;
use trailgraph_log::table::event;

/// Gives the pages the allocator holds free back to the system. glibc keeps what a phase's
/// threads freed (ingest's workers, its builder) in their own arenas, where the phases after it
/// on other threads do not reuse it: an analysis that first reads logs into a scratch case
/// would otherwise carry the scratch ingest's peak under its own. Only resident memory depends
/// on it; elsewhere than glibc it does nothing.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        unsafe extern "C" {
            fn malloc_trim(pad: usize) -> std::os::raw::c_int;
        }
        // SAFETY: malloc_trim takes no pointer and frees nothing in use: it only returns the
        // free pages of glibc's heaps to the system (madvise), under glibc's own locks.
        unsafe {
            malloc_trim(0);
        }
    }
}

/// `string_column` with buffers of at most `max_buffer` bytes (offsets into a buffer are 32
/// bits): a larger arena (a column of one file over 4 GiB) is copied into several buffers.
pub(crate) fn string_column_with(
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
pub(crate) fn kept_values<'d>(
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
pub(crate) unsafe fn view_column(
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

/// Columns whose values are (nearly) all distinct: written plainly, without polars' attempt at
/// a dictionary (a cardinality estimate and a hash of every value, for nothing). Every other
/// column gets polars' usual choice (a dictionary when it pays).
pub(crate) const PLAIN_COLUMNS: &[&str] = &[
    event::event_id,
    event::request_id,
    event::shared_event_id,
    event::request_parameters,
    event::response_elements,
];

/// Columns of random identifiers (UUIDs as text), written without compression: Snappy makes
/// them only a tenth smaller, and compressing them was a tenth of the writer's work.
pub(crate) const UNCOMPRESSED_COLUMNS: &[&str] =
    &[event::event_id, event::request_id, event::shared_event_id];

/// Columns written without min/max statistics (their null counts are kept): random
/// identifiers, whose range in any row group is nearly the whole range, so no reader can skip a
/// row group by them, and raw request parameters, whose min and max would be whole JSON
/// documents in the file's footer.
pub(crate) const NO_MIN_MAX_COLUMNS: &[&str] = &[
    event::event_id,
    event::request_id,
    event::shared_event_id,
    event::request_parameters,
    event::response_elements,
    event::additional_event_data,
    event::service_event_details,
    event::resources,
];

/// A string array as a dictionary array for Parquet's dictionary encoding: the distinct values
/// in order of first appearance (as polars' cast to a dictionary makes them), or None when more
/// than three quarters of the values are distinct (polars' rule: plain is then smaller). A row
/// whose view is the same as the row before it (ingest stores a repeated value once, so rows
/// of one value share a view) takes its key without a hash lookup.
pub(crate) fn dictionary_of(
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
pub(crate) struct ColumnPlan {
    ty: polars_parquet::write::ParquetType,
    encoding: polars_parquet::write::Encoding,
    codec: polars_parquet::write::CompressionOptions,
    options: polars_parquet::write::WriteOptions,
}

impl ColumnPlan {
    /// The column's pages, encoded and compressed (a string column to be dictionary-encoded
    /// gets its dictionary from `dictionary_of`, not polars' estimate-then-cast, and is written
    /// plainly when that says no).
    pub(crate) fn encode(
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
/// The threads that encode Parquet columns, as many as the global pool has.
pub(crate) fn encode_pool() -> &'static rayon::ThreadPool {
    static POOL: std::sync::OnceLock<rayon::ThreadPool> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(rayon::current_num_threads())
            .thread_name(|i| format!("trailgraph-encode-{i}"))
            .build()
            .expect("cannot start the Parquet encoding threads")
    })
}

pub(crate) struct PqWriter {
    writer: polars_parquet::write::FileWriter<std::io::BufWriter<std::fs::File>>,
    /// One per column, in schema order.
    columns: Vec<ColumnPlan>,
}

impl PqWriter {
    pub(crate) fn new(f: std::fs::File, schema: &Schema, scratch: bool) -> PolarsResult<PqWriter> {
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
    pub(crate) fn write(&mut self, df: &DataFrame) -> PolarsResult<()> {
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

    /// Writes one row group of `rows` rows whose columns (schema order) are built by `build`
    /// from `parts`: each column is built and encoded in one step on `encode_pool`, and dropped
    /// as soon as it is encoded (see `RawChunk::write_to`).
    pub(crate) fn write_columns<T: Send>(
        &mut self,
        rows: usize,
        parts: Vec<T>,
        build: impl Fn(T) -> Column + Sync,
    ) -> PolarsResult<()> {
        use rayon::prelude::*;
        polars_ensure!(parts.len() == self.columns.len(), ComputeError: "chunk of {} columns for a writer of {}", parts.len(), self.columns.len());
        let plans = &self.columns;
        let columns: Vec<Vec<polars_parquet::write::CompressedPage>> =
            encode_pool().install(|| {
                parts
                    .into_par_iter()
                    .zip(plans)
                    .map(|(part, plan)| {
                        let column = build(part);
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

    pub(crate) fn write_group(
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

    pub(crate) fn finish(mut self) -> PolarsResult<()> {
        use std::io::Write;
        self.writer.end(None)?;
        self.writer.into_inner().flush()?;
        Ok(())
    }
}

/// A column of a single-chunk frame read by row through its arrow array (no chunk lookup per
/// read, as `ChunkedArray::get` does): attribution reads ~30 cells per event.
pub struct Arr<'a, A>(Option<&'a A>);

// Not derived: a derive would require `A: Copy`; the reference is Copy whatever `A` is.
impl<A> Clone for Arr<'_, A> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<A> Copy for Arr<'_, A> {}

impl<'a, A: polars_arrow::array::Array> Arr<'a, A> {
    pub fn of<T: PolarsDataType<Array = A>>(c: &'a ChunkedArray<T>) -> Result<Self> {
        match c.chunks().len() {
            0 => Ok(Arr(None)),
            1 => Ok(Arr(Some(c.downcast_iter().next().expect("one chunk")))),
            n => anyhow::bail!("{}: {n} chunks where one is needed", c.name()),
        }
    }

    pub fn len(&self) -> usize {
        self.0.map_or(0, |a| a.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<'a> Arr<'a, polars_arrow::array::Utf8ViewArray> {
    #[inline]
    pub fn get(&self, i: usize) -> Option<&'a str> {
        self.0.and_then(|a| a.get(i))
    }

    pub fn iter(&self) -> impl Iterator<Item = Option<&'a str>> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }
}

impl<'a> Arr<'a, polars_arrow::array::PrimitiveArray<i64>> {
    #[inline]
    pub fn get(&self, i: usize) -> Option<i64> {
        self.0
            .and_then(|a| polars_arrow::array::Array::is_valid(a, i).then(|| a.value(i)))
    }
}

impl<'a> Arr<'a, polars_arrow::array::BooleanArray> {
    #[inline]
    pub fn get(&self, i: usize) -> Option<bool> {
        self.0.and_then(|a| a.get(i))
    }
}

pub type StrArr<'a> = Arr<'a, polars_arrow::array::Utf8ViewArray>;
pub type TimeArr<'a> = Arr<'a, polars_arrow::array::PrimitiveArray<i64>>;
pub type BoolArr<'a> = Arr<'a, polars_arrow::array::BooleanArray>;

/// Asks the CPU to fetch into cache the view of row `i + views_ahead` and the bytes of row i's
/// string (when not inlined in its view). Rows in time order are scattered over the buffers of
/// many files: without this, rendering waits on a cache miss for most long fields.
impl StrArr<'_> {
    #[inline]
    pub fn prefetch_row(&self, i: usize, views_ahead: usize) {
        let Some(a) = self.0 else { return };
        prefetch(a.views().as_ptr().wrapping_add(i + views_ahead) as *const u8);
        if let Some(v) = a.views().get(i) {
            if v.length > polars_arrow::array::View::MAX_INLINE_SIZE {
                if let Some(b) = a.data_buffers().get(v.buffer_idx as usize) {
                    prefetch(b.as_ptr().wrapping_add(v.offset as usize));
                }
            }
        }
    }
}

/// A string column whose row i is `value(per_event[i])` (`value` is defined on `0..distinct`),
/// without a copy of the string per row: each distinct value is stored once and every row is a
/// view of it (polars' string layout), so a chain shared by a million events costs a million
/// 16-byte views, not a million chains.
pub fn table_column<'a>(
    name: &str,
    distinct: usize,
    per_event: &[u32],
    value: impl Fn(usize) -> Option<&'a str>,
) -> Column {
    use polars_arrow::array::View;
    use polars_arrow::bitmap::Bitmap;
    use polars_buffer::Buffer;
    let mut data: Vec<u8> = Vec::new();
    let mut views: Vec<Option<View>> = Vec::with_capacity(distinct);
    for t in 0..distinct {
        views.push(value(t).map(|v| {
            let at = data.len() as u32;
            if v.len() > View::MAX_INLINE_SIZE as usize {
                data.extend_from_slice(v.as_bytes());
            }
            View::new_from_bytes(v.as_bytes(), 0, at)
        }));
    }
    if data.len() > u32::MAX as usize {
        // Offsets into one buffer are 32 bits: fall back to a copy per row.
        return StringChunked::from_iter_options(
            name.into(),
            per_event.iter().map(|&t| value(t as usize)),
        )
        .into_column();
    }
    let mut bytes_len = 0usize;
    let rows: Vec<View> = per_event
        .iter()
        .map(|&t| match views[t as usize] {
            Some(v) => {
                bytes_len += v.length as usize;
                v
            }
            None => View::default(),
        })
        .collect();
    let validity: Bitmap = per_event
        .iter()
        .map(|&t| views[t as usize].is_some())
        .collect();
    let validity = (validity.unset_bits() > 0).then_some(validity);
    let buffer_len = data.len();
    let buffers: Vec<Buffer<u8>> = if buffer_len > 0 {
        vec![Buffer::from(data)]
    } else {
        Vec::new()
    };
    // SAFETY: every non-null view was made by `View::new_from_bytes` from a `&str` stored at its
    // offset in buffer 0 (or inline); null rows are zero views.
    unsafe { view_column(name, rows, buffers, validity, bytes_len, buffer_len) }
}
