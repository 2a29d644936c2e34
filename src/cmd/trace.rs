//! `trailgraph trace`: the blast radius of an identity: every session descending from it, and
//! what they did.

use super::{ExitCode, Input};
use anyhow::Result;
use std::io::Write;
use std::path::PathBuf;
use trailgraph_analysis::answer;
use trailgraph_log::escape::term;
use trailgraph_output::render::open_output;

pub struct Settings {
    pub input: Input,
    /// An origin string, an access key id or an IAM user ARN.
    pub target: String,
    pub since: Option<i64>,
    pub until: Option<i64>,
    /// JSON instead of the text tree.
    pub json: bool,
    pub output: Option<PathBuf>,
}

pub fn run(a: Settings) -> Result<ExitCode> {
    let target = &a.target;
    let opened = a.input.scan()?;
    let code = opened.code;
    if code == ExitCode::Fatal {
        return Ok(code);
    }
    let Some(t) = answer::trace_target(&opened.scan, target)? else {
        eprintln!(
            "trailgraph: {:?} is not an origin, access key id or IAM user ARN seen in the input (try `trailgraph sessions` to list origins)",
            term(target)
        );
        return Ok(ExitCode::Skipped);
    };
    let v = answer::trace(&opened.scan, &t, a.since, a.until)?;
    let mut out = open_output(a.output.as_deref())?;
    match a.json {
        false => trailgraph_output::text::write_trace(&v, &mut out)?,
        true => {
            serde_json::to_writer_pretty(&mut out, &v)?;
            writeln!(out)?;
        }
    }
    out.flush()?;
    Ok(code)
}
