//! `trailgraph graph`: the identity/session graph as DOT, GraphML, JSON or Neo4j import CSV.

use super::{ExitCode, Input};
use anyhow::{bail, Result};
use std::io::Write;
use std::path::PathBuf;
use trailgraph_analysis::answer::{self, SessionFilter};
use trailgraph_output::export::{
    write_dot, write_graphml, write_json, write_neo4j, ExportGraph, GraphFormat, NEO4J_IMPORT,
};
use trailgraph_output::render::open_output;

pub struct Settings {
    pub input: Input,
    pub filter: SessionFilter,
    pub format: GraphFormat,
    /// A file (a directory for Neo4j, required); None: standard output.
    pub output: Option<PathBuf>,
}

pub fn run(a: Settings) -> Result<ExitCode> {
    if a.format == GraphFormat::Neo4j && a.output.is_none() {
        bail!("--format neo4j writes several files: add -o DIR");
    }
    let opened = a.input.scan()?;
    let code = opened.code;
    if code == ExitCode::Fatal {
        return Ok(code);
    }
    let usage = answer::usage(&opened.scan)?;
    let g = ExportGraph::build(&opened.scan.graph.sessions, &usage.events, &a.filter);
    match a.format {
        GraphFormat::Neo4j => {
            let dir = a.output.as_deref().expect("checked above");
            write_neo4j(&g, dir)?;
            if !a.input.quiet {
                eprintln!(
                    "trailgraph: wrote {} origin(s), {} session(s), {} role(s) to {}; import with (from inside that directory):\n  {NEO4J_IMPORT}",
                    g.origins.len(),
                    g.sessions.len(),
                    g.roles.len(),
                    dir.display()
                );
            }
        }
        f => {
            let mut w = open_output(a.output.as_deref())?;
            match f {
                GraphFormat::Dot => write_dot(&g, &mut w)?,
                GraphFormat::Graphml => write_graphml(&g, &mut w)?,
                GraphFormat::Json => write_json(&g, &mut w)?,
                GraphFormat::Neo4j => unreachable!(),
            }
            w.flush()?;
        }
    }
    Ok(code)
}
