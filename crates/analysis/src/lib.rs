//! Answers over an attributed case (frames from `trailgraph-store`, attribution from
//! `trailgraph-graph`):
//!
//! - `answer`: `who` (provenance of one event, key, session or principal), `trace` (the blast
//!   radius of an identity), the `sessions` and `chains` tables;
//! - `anomalies`: the session and chain detectors and their configuration;
//! - `summary`: what the input holds and what is missing from it;
//! - `query`: SQL over the case's tables, and the shipped queries of `queries/`.
//! - `trust`: IAM trust policies (read from `--iam` files and the logs), their evaluator, and
//!   configured trust beside observed assumptions.
//!
//! Nothing here prints or chooses an exit code; rendering is `trailgraph-output`'s.

pub mod anomalies;
pub mod answer;
pub mod hunt;
pub mod query;
pub mod summary;
pub mod trust;
