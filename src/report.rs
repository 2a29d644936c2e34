//! `trailgraph report`: a self-contained HTML report plus Markdown, CSV and JSON tables (issue 5).
//! STUB: being written.

use crate::cli::InputArgs;
use anyhow::Result;
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ReportArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Directory to write report.html, report.md and the tables into
    #[arg(short = 'o', long = "output", value_name = "DIR")]
    pub output: PathBuf,
}

pub fn run(a: ReportArgs) -> Result<u8> {
    anyhow::bail!("report: not implemented yet ({})", a.output.display())
}
