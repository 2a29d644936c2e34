//! `trailgraph timeline`: attributed events as a Timesketch timeline (issue 5). STUB.

use crate::cli::InputArgs;
use anyhow::Result;
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct TimelineArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Output file (default: standard output)
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

pub fn run(a: TimelineArgs) -> Result<u8> {
    anyhow::bail!("timeline: not implemented yet ({:?})", a.output)
}
