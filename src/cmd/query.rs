//! `trailgraph query`: SQL over the case's tables, or one of the shipped queries.

use super::{ExitCode, Input, Output};
use anyhow::{bail, Result};
use std::io::Write;
use std::path::PathBuf;
use trailgraph_analysis::query::{
    execute, needs_attribution, referenced_tables, resolve_sql, write_list,
};

pub struct Settings {
    pub input: Input,
    pub out: Output,
    /// SQL text.
    pub sql: Option<String>,
    /// A query file, or a shipped query's name.
    pub file: Option<PathBuf>,
    /// List the shipped queries and exit.
    pub list: bool,
}

pub fn run(a: Settings) -> Result<ExitCode> {
    if a.list {
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        write_list(&mut out)?;
        out.flush()?;
        return Ok(ExitCode::Clean);
    }
    let sql = resolve_sql(a.sql.as_deref(), a.file.as_deref())?;
    if sql.trim().is_empty() {
        bail!("query: the SQL is empty");
    }
    // Attribution is the expensive part: only when a table that needs it is named.
    let (loaded, at, code) = if needs_attribution(&referenced_tables(&sql)) {
        let (loaded, at, code) = a.input.load_attributed_all()?;
        (loaded, Some(at), code)
    } else {
        let loaded = a.input.load()?;
        let code = a.input.report_problems(&loaded.problems);
        (loaded, None, code)
    };
    if code == ExitCode::Fatal {
        return Ok(code);
    }
    let df = execute(&loaded, at.as_ref(), &sql)?;
    a.out.emit(&df)?;
    Ok(code)
}
