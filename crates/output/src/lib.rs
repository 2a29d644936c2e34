//! Everything trailgraph writes for people and other tools:
//!
//! - `render`: tables as aligned text, CSV, JSON, NDJSON or Parquet, streamed row by row;
//! - `attribution`: `attribute`'s output in bounded memory (spilled runs, merged in time order);
//! - `report`: the HTML and Markdown report and its CSV/JSON tables;
//! - `export`: the session graph as DOT, GraphML, JSON or Neo4j import CSV;
//! - `timeline`: attributed events as a Timesketch timeline;
//! - `text`: the text renderings of the `who`, `trace` and `summary` answers.
//!
//! Strings from the logs are escaped for each format with `trailgraph_log::escape`.

pub mod attribution;
pub mod export;
pub mod render;
pub mod report;
pub mod text;
pub mod timeline;
