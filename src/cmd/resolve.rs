//! `trailgraph resolve CASE -o MAP`: the identity map (`trailgraph_graph::resolve`) written as
//! `MAP/identities.parquet`, `MAP/events.parquet` and `MAP/resolve.json`. A case is read a row
//! group at a time; log files go through a scratch case first (as a large `attribute` does).

use super::{ExitCode, Input};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use trailgraph_graph::resolve::{resolve_case, resolve_columns, Counts, IdentityMap};
use trailgraph_store::{self as store, CaseEvents, Manifest};

pub struct Settings {
    pub input: Input,
    /// The map directory.
    pub output: PathBuf,
}

/// The files of a map, by name.
pub const IDENTITIES: &str = "identities.parquet";
pub const EVENTS: &str = "events.parquet";
pub const SUMMARY: &str = "resolve.json";

pub fn run(a: Settings) -> Result<ExitCode> {
    let columns = resolve_columns();
    let found = trailgraph_log::discover::discover(&a.input.inputs)?;
    let scratch: trailgraph_store::spill::ScratchDir;
    let (dir, manifest, code) = match (&found.cases[..], found.files.is_empty()) {
        ([dir], true) => {
            let manifest = store::read_manifest(dir)?;
            let code = a.input.report_problems(&manifest.problems());
            (dir.clone(), manifest, code)
        }
        ([], false) => {
            scratch = trailgraph_store::spill::ScratchDir::new()?;
            let dir = scratch.path().to_path_buf();
            let ing =
                store::scratch_case(&dir, &found.files, &a.input.ingest_options(), &columns)?;
            let code = a.input.report_problems(&ing.problems);
            (dir, Manifest::scratch(), code)
        }
        ([], true) => bail!("no input found: give a case directory or log files"),
        _ => bail!("resolve takes one case directory, or log files (not several cases, nor a case and logs)"),
    };
    if code == ExitCode::Fatal {
        return Ok(code);
    }
    let events = CaseEvents::open(&dir, &manifest, &columns)?;
    let map = resolve_case(&dir, &manifest, &events)?;
    a.input.note_loops(&map.graph);
    write_map(&a.output, &map, &a.input.inputs, &manifest)?;
    if !a.input.quiet {
        let c = &map.counts;
        eprintln!(
            "resolve: {} events, {} identities ({} time-dependent), {} identities rows ({} with an interval), {} events rows -> {}",
            c.events,
            c.identities,
            c.time_dependent_identities,
            c.identity_rows,
            c.intervals,
            c.event_rows,
            trailgraph_log::escape::term(&a.output.display().to_string())
        );
    }
    // The process ends after the command: its memory goes back to the system at once.
    std::mem::forget(map);
    Ok(code)
}

/// Writes the map's files into `out` (created): each under a temporary name, then renamed;
/// `resolve.json` (removed first) last, so a map with a `resolve.json` is complete.
fn write_map(out: &Path, map: &IdentityMap, inputs: &[PathBuf], manifest: &Manifest) -> Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("{}: cannot create", out.display()))?;
    let summary = out.join(SUMMARY);
    if summary.exists() {
        std::fs::remove_file(&summary)
            .with_context(|| format!("{}: cannot replace", summary.display()))?;
    }
    let place = |name: &str, write: &dyn Fn(&Path) -> Result<()>| -> Result<()> {
        let tmp = out.join(format!(".{name}.tmp"));
        write(&tmp)?;
        let to = out.join(name);
        std::fs::rename(&tmp, &to).with_context(|| format!("{}: cannot write", to.display()))
    };
    let parquet = |df: polars::prelude::DataFrame| {
        move |p: &Path| {
            trailgraph_output::render::emit(
                &df,
                trailgraph_output::render::Format::Parquet,
                Some(p),
            )
        }
    };
    place(IDENTITIES, &parquet(map.identities_frame()?))?;
    place(EVENTS, &parquet(map.events_frame()?))?;
    let json = summary_json(&map.counts, inputs, manifest);
    place(SUMMARY, &|p: &Path| {
        let mut text = serde_json::to_string_pretty(&json)?;
        text.push('\n');
        std::fs::write(p, text).with_context(|| format!("{}: cannot write", p.display()))
    })
}

fn summary_json(c: &Counts, inputs: &[PathBuf], manifest: &Manifest) -> serde_json::Value {
    let by_reason: serde_json::Map<String, serde_json::Value> = c
        .event_rows_by_reason
        .iter()
        .map(|(w, n)| (w.as_str().to_string(), (*n).into()))
        .collect();
    serde_json::json!({
        "tool_version": env!("CARGO_PKG_VERSION"),
        "inputs": inputs.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
        "case": {
            "version": manifest.version,
            "runs": manifest.runs,
        },
        "files": { "identities": IDENTITIES, "events": EVENTS },
        "counts": {
            "events": c.events,
            "sessions": c.sessions,
            "identities": c.identities,
            "time_dependent_identities": c.time_dependent_identities,
            "identity_rows": c.identity_rows,
            "interval_rows": c.intervals,
            "time_dependent_events": c.time_dependent_events,
            "event_rows": c.event_rows,
            "event_rows_by_reason": by_reason,
            "events_following_signature": c.events_following_signature,
            "unjoinable_event_rows": c.unjoinable_event_rows,
            "conflicting_event_rows": c.conflicting_event_rows,
        },
    })
}
