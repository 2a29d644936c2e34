//! Anomaly detection on sessions and chains (issue 4): eleven detectors that judge whole
//! sessions, chains and callers rather than single records. Detector semantics, config keys,
//! defaults and severities are documented in docs/anomalies.md.
//!
//! The public API is fixed (`report` and `query` build on it): `Finding`, `Config`,
//! `load_config`, `detect`, `findings_frame`, `AnomaliesArgs`, `run`.

mod config;
mod detect;
mod net;

pub use config::{
    glob, parse_config, parse_duration, Allow, AssumeRoleEnumeration, Common, Config,
    ExternalAccount, NoMfaSensitive, OffHours, RoleChainDepth, SessionMultiIp, Severity, TimeZone,
    Window, WorkloadExfiltration, DEFAULT_TOML, KINDS,
};
pub use net::{AwsRanges, Cidr};

use crate::cli::{InputArgs, OutputArgs};
use anyhow::Result;
use clap::Args;
use polars::prelude::*;
use std::io::Write;
use std::path::{Path, PathBuf};
use trailgraph_graph::attribute::Attributed;
use trailgraph_log::model::{format_time, Millis};
use trailgraph_store::Frames;

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

/// Reads a config file, or the defaults when `path` is None. Errors are one line naming the
/// file and the key.
pub fn load_config(path: Option<&Path>) -> Result<Config> {
    config::load_config(path)
}

/// Runs every enabled detector. Findings sorted by (time, kind, subject, first_event_id).
pub fn detect(frames: &Frames, at: &Attributed, cfg: &Config) -> Result<Vec<Finding>> {
    let mut v = detect::run(frames, at, cfg)?;
    sort_findings(&mut v);
    Ok(v)
}

/// The output order: time, kind, subject, first_event_id (then the rest, for determinism).
pub fn sort_findings(v: &mut [Finding]) {
    v.sort_by(|a, b| {
        (
            a.time,
            &a.kind,
            &a.subject,
            &a.first_event_id,
            &a.event_ids,
            &a.explanation,
        )
            .cmp(&(
                b.time,
                &b.kind,
                &b.subject,
                &b.first_event_id,
                &b.event_ids,
                &b.explanation,
            ))
    });
}

/// The learning period's end for an input spanning `[min, max]` (see `Config`).
pub fn baseline_end(cfg: &Config, min: Option<Millis>, max: Option<Millis>) -> Option<Millis> {
    if cfg.baseline_until.is_some() {
        return cfg.baseline_until;
    }
    let (lo, hi) = (min?, max?);
    Some(lo + ((hi - lo) as f64 * cfg.baseline_fraction).round() as i64)
}

/// The findings as a frame with the documented columns (time as ISO text).
pub fn findings_frame(findings: &[Finding]) -> Result<DataFrame> {
    let col = |name: &str, v: Vec<Option<String>>| Column::new(name.into(), v);
    let cols = vec![
        col(
            "kind",
            findings.iter().map(|f| Some(f.kind.clone())).collect(),
        ),
        col(
            "severity",
            findings.iter().map(|f| Some(f.severity.clone())).collect(),
        ),
        col(
            "subject",
            findings.iter().map(|f| Some(f.subject.clone())).collect(),
        ),
        col(
            "origin",
            findings.iter().map(|f| Some(f.origin.clone())).collect(),
        ),
        col(
            "first_event_id",
            findings
                .iter()
                .map(|f| Some(f.first_event_id.clone()))
                .collect(),
        ),
        col(
            "time",
            findings.iter().map(|f| f.time.map(format_time)).collect(),
        ),
        col(
            "event_ids",
            findings
                .iter()
                .map(|f| Some(f.event_ids.join(";")))
                .collect(),
        ),
        col(
            "explanation",
            findings
                .iter()
                .map(|f| Some(f.explanation.clone()))
                .collect(),
        ),
    ];
    Ok(DataFrame::new(findings.len(), cols)?)
}

/// INPUT and the reading options, like `cli::InputArgs`, but INPUT is optional with
/// `--print-config`.
#[derive(Args, Debug, Clone)]
pub struct AnomaliesInput {
    /// Log files, directories (recursive), or case directories made by `ingest`
    #[arg(required_unless_present = "print_config", value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
    #[command(flatten)]
    pub opts: crate::cli::CommonOpts,
}

impl AnomaliesInput {
    pub fn input_args(&self) -> InputArgs {
        self.opts.with_inputs(self.inputs.clone())
    }
}

#[derive(Args, Debug)]
#[command(
    after_help = "Columns: kind, severity, subject, origin, first_event_id, time, event_ids, explanation

Kinds: role_chain_depth, role_cycle, workload_credential_exfiltration, session_multi_ip,
assume_role_enumeration, first_time_assumption, no_mfa_sensitive, off_hours,
external_account_assumption, getsessiontoken_then_assume, federation_token_persistence
(semantics, keys and defaults: docs/anomalies.md)

Examples:
  trailgraph anomalies case/
  trailgraph anomalies ./AWSLogs --config anomalies.toml --format csv -o findings.csv
  trailgraph anomalies case/ --baseline-until 2024-07-01 --format ndjson
  trailgraph anomalies --print-config > anomalies.toml"
)]
pub struct AnomaliesArgs {
    #[command(flatten)]
    pub input: AnomaliesInput,
    #[command(flatten)]
    pub out: OutputArgs,
    /// Detector configuration (TOML); see --print-config
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print the default configuration (commented TOML) and exit
    #[arg(long)]
    pub print_config: bool,
    /// End of the learning period (default: 70% into the input's time span)
    #[arg(long, value_name = "T", value_parser = crate::cli::parse_when)]
    pub baseline_until: Option<i64>,
}

pub fn run(a: AnomaliesArgs) -> Result<u8> {
    if a.print_config {
        let mut w = crate::cli::open_output(a.out.output.as_deref())?;
        w.write_all(DEFAULT_TOML.as_bytes())?;
        w.flush()?;
        return Ok(0);
    }
    // Read the config before the (possibly long) load, so a typo fails fast.
    let mut cfg = load_config(a.config.as_deref())?;
    if a.baseline_until.is_some() {
        cfg.baseline_until = a.baseline_until;
    }
    let input = a.input.input_args();
    let (loaded, at, code) = crate::cli::load_attributed(&input)?;
    if code == 2 {
        return Ok(2);
    }
    let found = detect(&loaded.frames, &at, &cfg)?;
    let df = findings_frame(&found)?;
    crate::cli::emit(&df, &a.out)?;
    Ok(code)
}
