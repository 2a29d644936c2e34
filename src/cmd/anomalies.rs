//! `trailgraph anomalies`: findings on sessions and chains.

use super::{ExitCode, Input, Output};
use anyhow::Result;
use std::io::Write;
use std::path::PathBuf;
use trailgraph_analysis::anomalies::{default_toml, detect, findings_frame, load_config};
use trailgraph_output::render::open_output;

pub struct Settings {
    /// INPUT may be empty with `print_config`.
    pub input: Input,
    pub out: Output,
    /// The detector configuration (TOML).
    pub config: Option<PathBuf>,
    /// Print the default configuration and exit.
    pub print_config: bool,
    /// End of the learning period.
    pub baseline_until: Option<i64>,
}

pub fn run(a: Settings) -> Result<ExitCode> {
    if a.print_config {
        let mut w = open_output(a.out.path())?;
        w.write_all(default_toml().as_bytes())?;
        w.flush()?;
        return Ok(ExitCode::Clean);
    }
    // Read the config before the (possibly long) load, so a typo fails fast.
    let mut cfg = load_config(a.config.as_deref())?;
    if a.baseline_until.is_some() {
        cfg.baseline_until = a.baseline_until;
    }
    let opened = a.input.scan()?;
    let code = opened.code;
    if code == ExitCode::Fatal {
        return Ok(code);
    }
    let found = detect(&opened.scan, &cfg)?;
    a.out.emit(&findings_frame(&found)?)?;
    opened.scan.end();
    Ok(code)
}
