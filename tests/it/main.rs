//! Integration tests: one binary, one module per area. Fixtures live in testdata/ (see its
//! README); gzip/zip variants and large hazards are made at run time.

mod anomalies;
mod anomalies_generated;
mod attribution;
mod dedup;
mod determinism;
mod export;
mod golden;
mod hunt;
mod hunt_coverage;
mod ingest;
mod partition;
mod queries;
mod report;
mod resolve;
mod s3;
mod scale;
mod streamed;
mod tidy;
mod timeline;
mod trust;
mod util;
mod whatif;
