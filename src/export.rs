//! `trailgraph graph`: export the identity/session graph as DOT, GraphML, JSON or Neo4j CSV
//! (issue 5). STUB: being written.

use crate::cli::{FilterArgs, InputArgs};
use anyhow::Result;
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct GraphArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Output file (for neo4j: a directory)
    #[arg(short = 'o', long = "output", value_name = "PATH")]
    pub output: Option<PathBuf>,
}

pub fn run(a: GraphArgs) -> Result<u8> {
    anyhow::bail!("graph: not implemented yet ({:?})", a.output)
}
