//! `trailgraph sessions` (one row per issued session) and `trailgraph chains` (one row per
//! distinct role chain).

use super::{ExitCode, Input, Output};
use anyhow::Result;
use trailgraph_analysis::answer::{self, SessionFilter};

pub struct Settings {
    pub input: Input,
    pub out: Output,
    pub filter: SessionFilter,
    /// `chains` rather than `sessions`.
    pub chains: bool,
}

pub fn run(a: Settings) -> Result<ExitCode> {
    let opened = a.input.scan()?;
    let code = opened.code;
    if code == ExitCode::Fatal {
        return Ok(code);
    }
    let scan = &opened.scan;
    let usage = answer::usage(scan)?;
    let f = &a.filter;
    let df = if a.chains {
        answer::chains_frame(&scan.graph, &usage, f)?
    } else {
        answer::sessions_frame(&scan.graph, &usage, f)?
    };
    a.out.emit(&df)?;
    Ok(code)
}
