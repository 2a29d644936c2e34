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
    let (loaded, at, code) = a.input.load_attributed()?;
    if code == ExitCode::Fatal {
        return Ok(code);
    }
    let f = &a.filter;
    let df = if a.chains {
        answer::chains_frame(&loaded.frames, &at, f)?
    } else {
        answer::sessions_frame(&loaded.frames, &at, f)?
    };
    a.out.emit(&df)?;
    Ok(code)
}
