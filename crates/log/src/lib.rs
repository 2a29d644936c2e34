//! Reading CloudTrail logs, the first stage of trailgraph's pipeline:
//!
//! ```text
//! discover (which files) → decode (gzip, zip, plain bytes) → record (walk the JSON records,
//! borrowed) → normalize (one EventRow per event, one IssuanceRow per STS issuance) → table
//! (columnar batches per file) — run in parallel per file by ingest
//! ```
//!
//! `model` is the domain vocabulary shared by every later stage (time, ARNs, issuance kinds).
//! This crate has no polars, clap or petgraph: it builds in seconds, and is what the fuzz
//! targets link. Everything after it (the case store, the session graph, answers, output) lives
//! in the other crates of the workspace; see ARCHITECTURE.md.

pub mod decode;
pub mod dedup;
pub mod discover;
pub mod escape;
pub mod ingest;
pub mod model;
pub mod normalize;
pub mod record;
pub mod remote;
pub mod signature;
pub mod table;
