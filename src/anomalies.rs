//! Anomaly detection on sessions and chains (issue 4). STUB: the detectors are being written.
//! The public API below is fixed: `report` and `query` build on it.

use crate::attribute::Attributed;
use crate::cli::{InputArgs, OutputArgs};
use crate::model::{format_time, Millis};
use crate::store::Frames;
use anyhow::Result;
use clap::Args;
use polars::prelude::*;
use std::path::{Path, PathBuf};

/// One finding. Columns of the `anomalies` output, in this order: kind, severity, subject,
/// origin, first_event_id, time, event_ids, explanation.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Finding {
    pub kind: String,
    pub severity: String,
    pub subject: String,
    pub origin: String,
    pub first_event_id: String,
    pub time: Option<Millis>,
    pub event_ids: Vec<String>,
    pub explanation: String,
}

/// Detector configuration (TOML; `--print-config` prints the defaults).
#[derive(Debug, Clone, Default)]
pub struct Config {}

/// Reads a config file, or the defaults when `path` is None.
pub fn load_config(path: Option<&Path>) -> Result<Config> {
    let _ = path;
    Ok(Config::default())
}

/// Runs every detector. Findings sorted by (time, kind, subject, first_event_id).
pub fn detect(frames: &Frames, at: &Attributed, cfg: &Config) -> Result<Vec<Finding>> {
    let _ = (frames, at, cfg);
    Ok(Vec::new())
}

/// The findings as a frame with the documented columns (time as ISO text).
pub fn findings_frame(findings: &[Finding]) -> Result<DataFrame> {
    let col = |name: &str, v: Vec<Option<String>>| Column::new(name.into(), v);
    let cols = vec![
        col("kind", findings.iter().map(|f| Some(f.kind.clone())).collect()),
        col("severity", findings.iter().map(|f| Some(f.severity.clone())).collect()),
        col("subject", findings.iter().map(|f| Some(f.subject.clone())).collect()),
        col("origin", findings.iter().map(|f| Some(f.origin.clone())).collect()),
        col("first_event_id", findings.iter().map(|f| Some(f.first_event_id.clone())).collect()),
        col("time", findings.iter().map(|f| f.time.map(format_time)).collect()),
        col("event_ids", findings.iter().map(|f| Some(f.event_ids.join(";"))).collect()),
        col("explanation", findings.iter().map(|f| Some(f.explanation.clone())).collect()),
    ];
    Ok(DataFrame::new(findings.len(), cols)?)
}

#[derive(Args, Debug)]
pub struct AnomaliesArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub out: OutputArgs,
    /// Detector configuration (TOML); see --print-config
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

pub fn run(a: AnomaliesArgs) -> Result<u8> {
    anyhow::bail!("anomalies: not implemented yet ({:?})", a.config)
}
