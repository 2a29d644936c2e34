//! Anomaly detection on sessions and chains (issue 4): fifteen detectors that judge whole
//! sessions, chains, callers and keys rather than single records (the last four, issue 15,
//! follow behaviour: enumeration bursts, long-term keys on new networks, console sign-ins
//! without MFA, credentials made for other users). Detector semantics, config keys,
//! defaults and severities are documented in docs/anomalies.md.
//!
//! - `detectors/`: one file per detector (its config section, which implements `Detector`)
//!   and the registry, the one list of them all (it makes `Kind`, `Config`'s sections and the
//!   run); how to add one is in its module doc and in docs/anomalies.md;
//! - `context`: what a detector is given (`Context`) and where its findings go (`Out`);
//! - `config`: the whole `Config`, reading it (one-line errors) and printing it;
//! - `values`: the values of keys (durations, windows, time zones, globs) and how each key is
//!   read and written; `net`: addresses, CIDR blocks, AWS's ranges.
//!
//! The public API (`report` and `query` build on it): `Finding` (with `Kind` and `Severity`),
//! `Config`, `load_config`, `detect` (over a `Scan`; `detect_in_memory` over frames held in
//! memory), `findings_frame`.

mod config;
mod context;
mod detectors;
mod events;
mod net;
mod values;

pub use config::{default_toml, parse_config, Allow, Config};
// `Kind`, `KINDS` and every detector's section type.
pub use detectors::*;

pub(crate) use values::glob_case;
pub use values::{glob, TimeZone, Window};

/// Address blocks and `sourceIPAddress` parsing, shared with the trust-policy evaluator
/// (`IpAddress` / `NotIpAddress`).
pub(crate) use net::parse_addr;
pub use net::Cidr;

use anyhow::Result;
use polars::prelude::*;

use std::path::Path;
use trailgraph_graph::attribute::{single_chunk, Attributed};
use trailgraph_graph::graph::{Attribution, SessionGraph};
use trailgraph_graph::scan::Scan;
use trailgraph_log::model::{format_time, Millis};
use trailgraph_store::Frames;

/// How bad a finding is (the `severity` column and key; `as_str` is its only spelling).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
    pub fn parse(s: &str) -> Option<Severity> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One finding. Columns of the `anomalies` output, in this order: kind, severity, subject,
/// origin, first_event_id, time, event_ids, explanation.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Finding {
    pub kind: Kind,
    pub severity: Severity,
    pub subject: String,
    pub origin: String,
    pub first_event_id: String,
    pub time: Option<Millis>,
    pub event_ids: Vec<String>,
    pub explanation: String,
}

/// Reads a config file, or the defaults when `path` is None. Errors are one line naming the
/// file and the key.
pub fn load_config(path: Option<&Path>) -> Result<Config> {
    config::load_config(path)
}

/// Runs every enabled detector over the scanned input, in one pass over its events. Memory
/// grows with sessions, keys and callers, not with events (see docs/anomalies.md, "Cost").
/// Findings sorted by (time, kind, subject, first_event_id).
pub fn detect(scan: &Scan, cfg: &Config) -> Result<Vec<Finding>> {
    let table = &scan.table[..];
    run(
        &scan.graph,
        table,
        &scan.issuances,
        cfg,
        &mut |columns, visit| {
            scan.for_each(columns, |sl| visit(&events::Rows::of_slice(sl, table)))
        },
    )
}

/// `detect` over frames held in memory and their attribution (`query`, which holds
/// them anyway): the same findings.
pub fn detect_in_memory(frames: &Frames, at: &Attributed, cfg: &Config) -> Result<Vec<Finding>> {
    let events = single_chunk(&frames.events);
    run(
        &at.graph,
        &at.table,
        &frames.issuances,
        cfg,
        &mut |_, visit| visit(&events::Rows::of_frame(&events, &at.per_event, &at.table)),
    )
}

fn run(
    graph: &SessionGraph,
    table: &[Attribution],
    issuances: &DataFrame,
    cfg: &Config,
    pass: &mut detectors::Pass,
) -> Result<Vec<Finding>> {
    let issuances = single_chunk(issuances);
    let mut cx = context::Context::new(graph, table, &issuances, cfg)?;
    let mut v = Vec::new();
    detectors::run(cfg, &mut cx, pass, &mut v)?;
    sort_findings(&mut v);
    Ok(v)
}

/// The output order: time, kind, subject, first_event_id (then the rest, for determinism).
pub(crate) fn sort_findings(v: &mut [Finding]) {
    v.sort_by(|a, b| {
        (
            a.time,
            a.kind.as_str(),
            &a.subject,
            &a.first_event_id,
            &a.event_ids,
            &a.explanation,
        )
            .cmp(&(
                b.time,
                b.kind.as_str(),
                &b.subject,
                &b.first_event_id,
                &b.event_ids,
                &b.explanation,
            ))
    });
}

/// The learning period's end for an input spanning `[min, max]` (see `Config`).
pub(crate) fn baseline_end(
    cfg: &Config,
    min: Option<Millis>,
    max: Option<Millis>,
) -> Option<Millis> {
    if cfg.baseline_until.is_some() {
        return cfg.baseline_until;
    }
    let (lo, hi) = (min?, max?);
    Some(lo + ((hi - lo) as f64 * cfg.baseline_fraction).round() as i64)
}

trailgraph_log::column_names!(
    /// The columns of `findings_frame`, in order.
    pub mod finding_columns {
        kind,
        severity,
        subject,
        origin,
        first_event_id,
        time,
        event_ids,
        explanation,
    }
);

/// The findings as a frame with the documented columns (time as ISO text).
pub fn findings_frame(findings: &[Finding]) -> Result<DataFrame> {
    let col = |name: &str, v: Vec<Option<String>>| Column::new(name.into(), v);
    let cols = vec![
        col(
            finding_columns::kind,
            findings
                .iter()
                .map(|f| Some(f.kind.as_str().to_string()))
                .collect(),
        ),
        col(
            finding_columns::severity,
            findings
                .iter()
                .map(|f| Some(f.severity.as_str().to_string()))
                .collect(),
        ),
        col(
            finding_columns::subject,
            findings.iter().map(|f| Some(f.subject.clone())).collect(),
        ),
        col(
            finding_columns::origin,
            findings.iter().map(|f| Some(f.origin.clone())).collect(),
        ),
        col(
            finding_columns::first_event_id,
            findings
                .iter()
                .map(|f| Some(f.first_event_id.clone()))
                .collect(),
        ),
        col(
            finding_columns::time,
            findings.iter().map(|f| f.time.map(format_time)).collect(),
        ),
        col(
            finding_columns::event_ids,
            findings
                .iter()
                .map(|f| Some(f.event_ids.join(";")))
                .collect(),
        ),
        col(
            finding_columns::explanation,
            findings
                .iter()
                .map(|f| Some(f.explanation.clone()))
                .collect(),
        ),
    ];
    Ok(DataFrame::new(findings.len(), cols)?)
}
