//! `trailgraph query`: polars SQL over the case tables (issue 5). STUB: being written.

use crate::cli::{InputArgs, OutputArgs};
use anyhow::Result;
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct QueryArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub out: OutputArgs,
    /// SQL to run over the tables events, issuances, sessions, attribution, anomalies
    #[arg(long, value_name = "SQL")]
    pub sql: Option<String>,
    /// Run a query file (e.g. queries/cross_account_assumptions.sql)
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
}

pub fn run(a: QueryArgs) -> Result<u8> {
    anyhow::bail!("query: not implemented yet ({:?})", a.sql)
}
