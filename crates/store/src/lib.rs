//! The case store: ingest batches → polars frames, and the on-disk layout users outgrow into
//! DuckDB, Spark or Athena:
//!
//! ```text
//! case/manifest.json                 inputs (path, size, mtime, counts), problems, schema, version
//! case/events/part-00000.parquet     one row per distinct event         (table::EventRow)
//! case/issuances/part-00000.parquet  one row per STS issuance call      (table::IssuanceRow)
//! ```
//! Each `ingest` into an existing case adds one part per table holding only new files' events.
//!
//! Modules, in the order data flows through them:
//! - `chunk`: the per-file columns of `trailgraph_log::ingest` gathered into chunks of about
//!   `ROW_GROUP` rows, built into frames on a builder thread while later files are parsed;
//! - `frames`: the in-memory tables (`Frames`), canonical and time order, projection, concat
//!   and de-duplication across parts;
//! - `write`: case parts written as Parquet (one row group per chunk), scratch cases;
//! - `manifest`: the manifest (inputs, problems, schema) and the part layout;
//! - `read`: reading a case back: whole, by columns, or a row group at a time (`CaseEvents`);
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
    read_manifest, write_manifest, Manifest, ManifestColumn, ManifestIam, ManifestInput,
    ManifestProblem,
};
pub use pinned::{gather_strings, prefetch};
pub use read::{
    lazy_case_events, lazy_case_issuances, load_case_columns, load_case_issuances,
    scan_case_events, CaseEvents, RowGroup,
};
pub use write::{discard_part, ingest_part, scratch_case};

#[cfg(test)]
mod tests;
