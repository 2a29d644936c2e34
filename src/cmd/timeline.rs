//! `trailgraph timeline`: the attributed events as a Timesketch timeline.

use super::{ExitCode, Input};
use anyhow::Result;
use std::io::Write;
use std::path::PathBuf;
use trailgraph_output::render::open_output;
use trailgraph_output::timeline::{write_timeline, TimelineFormat};

pub struct Settings {
    pub input: Input,
    pub format: TimelineFormat,
    pub output: Option<PathBuf>,
}

pub fn run(a: Settings) -> Result<ExitCode> {
    let opened = a.input.scan()?;
    let code = opened.code;
    if code == ExitCode::Fatal {
        return Ok(code);
    }
    let mut out = open_output(a.output.as_deref())?;
    let skipped = write_timeline(&opened.scan, a.format, &mut out)?;
    out.flush()?;
    if skipped > 0 {
        eprintln!(
            "trailgraph: timeline: {skipped} event(s) without an event time left out (a timeline needs a time)"
        );
    }
    Ok(code)
}
