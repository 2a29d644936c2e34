//! The case store: ingest batches → polars frames, and the on-disk layout users outgrow into
//! DuckDB, Spark or Athena:
//!
//! ```text
//! case/events/account=<A>/region=<R>/date=<YYYY-MM-DD>/part-<RUN>-<SEQ>.parquet
//!                                    one row per distinct event of the run (table::EventRow)
//! case/issuances/part-<RUN>-00000.parquet
//!                                    one row per STS issuance call      (table::IssuanceRow)
//! case/manifests/<RUN>.json          one per ingest run, written last: its files (rows each),
//!                                    inputs (path, size, mtime, counts), problems, schema
//! ```
//! Each `ingest` run (several may write into one case at once, on different machines) adds its
//! own files and manifest; readers merge the manifests, read exactly the files they name, and
//! drop the duplicates across runs (see `read::merge`).
//!
//! Modules, in the order data flows through them:
//! - `chunk`: the per-file columns of `trailgraph_log::ingest` gathered into chunks of about
//!   `ROW_GROUP` rows, built into frames on a builder thread while later files are parsed;
//! - `frames`: the in-memory tables (`Frames`), canonical and time order, projection, concat
//!   and de-duplication across parts;
//! - `write`: a run's files written as Parquet (one row group per chunk, routed to its
//!   partitions' files), scratch cases;
//! - `manifest`: the run manifests (files, inputs, problems, schema), run ids, format versions;
//! - `read`: the runs' manifests merged with de-duplication across runs, and reading a case
//!   back: whole, by columns, or a row group at a time (`CaseEvents`);
//! - `load`: INPUT... (logs, cases, any mix) → frames with their accounting;
//! - `spill`: external merge of sorted runs, for output in an order other than the case's;
//! - `pinned`: the only module with `unsafe` and with polars' pinned internals (see there).

mod chunk;
mod frames;
pub mod load;
mod manifest;
pub mod pinned;
mod read;
pub mod spill;
mod write;

pub use chunk::ROW_GROUP;
pub use frames::{canonical_order, concat, event_keys, event_time_order, Frames};
pub use manifest::{
    new_run_id, write_manifest, Manifest, ManifestColumn, ManifestFile, ManifestIam, ManifestInput,
    ManifestProblem,
};
pub use pinned::{gather_strings, prefetch};
pub use read::{
    lazy_case_events, lazy_case_issuances, load_case_columns, load_case_issuances, read_manifest,
    read_manifest_inputs, scan_case_events, CaseEvents, RowGroup,
};
pub use write::{discard_run, ingest_run, partition_value, scratch_case, PartitionKey, RunFiles};

#[cfg(test)]
mod tests;
