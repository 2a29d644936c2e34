//! trailgraph: which real person or workload is behind an AWS API call?
//!
//! Pipeline: discover → decode → record (walk) → normalize, in parallel per file (`ingest`) →
//! polars frames / Parquet case store (`store`) → session graph and attribution (`graph`) →
//! answers (`attribute`, `who`, `trace`, …) → rendered output. See ARCHITECTURE.md.

pub mod anomalies;
pub mod answer;
pub mod cli;
pub mod escape;
pub mod export;
pub mod query;
pub mod render;
pub mod report;
pub mod summary;
pub mod timeline;
