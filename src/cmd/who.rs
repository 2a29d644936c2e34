//! `trailgraph who`: the provenance of one event id, access key id, session ARN or principalId.

use super::{ExitCode, Input};
use anyhow::Result;
use std::io::Write;
use std::path::PathBuf;
use trailgraph_analysis::answer;
use trailgraph_log::escape::term;
use trailgraph_log::model::IdentityType;
use trailgraph_log::table::event;
use trailgraph_output::render::open_output;
use trailgraph_store::{self as store, load::Loaded};

pub struct Settings {
    pub input: Input,
    /// The id to explain.
    pub id: String,
    /// JSON instead of the text tree.
    pub json: bool,
    pub output: Option<PathBuf>,
}

pub fn run(a: Settings) -> Result<ExitCode> {
    let (input, id) = (&a.input, &a.id);
    let columns: Vec<&str> = trailgraph_graph::attribute::ATTRIBUTION_COLUMNS
        .iter()
        .chain(answer::WHO_COLUMNS)
        .copied()
        .collect();
    let t0 = std::time::Instant::now();
    // Log files too large to hold go through a scratch case, then the case's fast path.
    let found = trailgraph_log::discover::discover(&input.inputs)?;
    let mut scratch = None;
    let mut ingest_problems = None;
    if found.cases.is_empty()
        && !found.files.is_empty()
        && !super::fits_in_memory(
            &found.files,
            input.in_memory_limit,
            super::ANALYSIS_IN_MEMORY_LIMIT,
        )
    {
        let dir = trailgraph_store::spill::ScratchDir::new()?;
        let ing = store::scratch_case(dir.path(), &found.files, &input.ingest_options(), &columns)?;
        ingest_problems = Some((ing.stats, ing.problems));
        scratch = Some(dir);
    }
    let fast = match &scratch {
        Some(dir) => {
            let manifest = store::Manifest::scratch();
            let mut l = fast_load_case(dir.path(), &manifest, id, &columns)?;
            if let Some((stats, problems)) = ingest_problems.take() {
                (l.stats, l.problems) = (stats, problems);
            }
            Some(l)
        }
        None => fast_load(input, id, &columns)?,
    };
    let (mut loaded, fast) = match fast {
        Some(l) => (l, true),
        None => (
            trailgraph_store::load::load_columns(
                &input.inputs,
                &input.ingest_options(),
                Some(&columns),
            )?,
            false,
        ),
    };
    trailgraph_log::ingest::profile("load", t0);
    let code = input.report_problems(&loaded.problems);
    if code == ExitCode::Fatal {
        return Ok(code);
    }
    loaded.frames.events = trailgraph_graph::attribute::single_chunk(&loaded.frames.events);
    // Attribute only the rows that can answer: `who` on a large case stays fast.
    let t0 = std::time::Instant::now();
    let rows = answer::who_rows(&loaded.frames, id)?;
    trailgraph_log::ingest::profile("find rows", t0);
    let t0 = std::time::Instant::now();
    let at = if fast {
        // Only the issuances on the matched events' chains: the graph stays tiny.
        let iss = trailgraph_graph::attribute::ancestry_issuances(
            &loaded.frames.issuances,
            &loaded.frames.events,
            id,
        )?;
        let mut a =
            trailgraph_graph::attribute::Attributor::with_issuances(&loaded.frames.events, iss)?;
        let mut per_event = vec![u32::MAX; loaded.frames.events.height()];
        for &r in &rows {
            per_event[r] = a.row(r);
        }
        a.finish(per_event)
    } else {
        trailgraph_graph::attribute::attribute_rows(&loaded.frames, &rows)?
    };
    trailgraph_log::ingest::profile("graph + attribute rows", t0);
    let ans = answer::who(&loaded.frames, &at, id)?;
    if ans.matches.is_empty() {
        eprintln!(
            "trailgraph: no event id, access key id, session ARN, session id or principalId {:?} in the input",
            term(id)
        );
        return Ok(ExitCode::Skipped);
    }
    let mut out = open_output(a.output.as_deref())?;
    match a.json {
        false => trailgraph_output::text::write_who(&ans, &mut out)?,
        true => {
            serde_json::to_writer_pretty(&mut out, &ans)?;
            writeln!(out)?;
        }
    }
    out.flush()?;
    Ok(code)
}

/// `who` on one case directory: scan only the events that can matter (those carrying the id,
/// the other copies of cross-account ones, and Identity Center portal calls) instead of loading
/// every event. None when INPUT is not a single case directory.
fn fast_load(input: &Input, id: &str, columns: &[&str]) -> Result<Option<Loaded>> {
    let [dir] = &input.inputs[..] else {
        return Ok(None);
    };
    if !dir.is_dir() || !trailgraph_log::discover::is_case_dir(dir) {
        return Ok(None);
    }
    let manifest = store::read_manifest(dir)?;
    fast_load_case(dir, &manifest, id, columns).map(Some)
}

/// `fast_load` of the case in `dir`.
fn fast_load_case(
    dir: &std::path::Path,
    manifest: &store::Manifest,
    id: &str,
    columns: &[&str],
) -> Result<Loaded> {
    use polars::prelude::{col, lit};
    let issuances = store::load_case_issuances(dir, manifest)?;
    // A key or session ARN that an issuance in the input issued is answered from the session
    // graph (`who` step 2): the events signed with it are not read (a busy session's are many).
    // Anything else may be an event id, or a principal or long-term key whose events answer.
    let issued = {
        use trailgraph_log::table::issuance;
        let key = issuances.column(issuance::issued_access_key_id)?.str()?;
        let arn = issuances.column(issuance::assumed_role_arn)?.str()?;
        key.iter().any(|k| k == Some(id)) || arn.iter().any(|a| a == Some(id))
    };
    let mut hit = col(event::event_id).eq(lit(id));
    if !issued {
        hit = hit
            .or(col(event::principal_id).eq(lit(id)))
            .or(col(event::access_key_id).eq(lit(id)));
    }
    let mut events = store::scan_case_events(dir, manifest, columns, hit)?;
    // The other copy of a cross-account action attributes the resource-account copy.
    let kinds = events.column(event::identity_type)?.str()?.clone();
    let shared: Vec<String> = kinds
        .iter()
        .zip(events.column(event::shared_event_id)?.str()?.iter())
        .filter(|(k, _)| IdentityType::AWSAccount.matches(*k))
        .filter_map(|(_, s)| s.map(String::from))
        .collect();
    let mut extra = Vec::new();
    for s in shared {
        extra.push(store::scan_case_events(
            dir,
            manifest,
            columns,
            col(event::shared_event_id).eq(lit(s)),
        )?);
    }
    if kinds
        .iter()
        .any(|k| IdentityType::IdentityCenterUser.matches(k))
    {
        extra.push(store::scan_case_events(
            dir,
            manifest,
            columns,
            col(event::identity_type).eq(lit(IdentityType::IdentityCenterUser.as_str())),
        )?);
    }
    for e in extra {
        events.vstack_mut_owned(e)?;
    }
    let events = store::canonical_order(&events)?;
    // Rows pulled in twice (a hit that is also a partner) are one event.
    let events = events.unique_stable(
        Some(&[
            event::source_file.to_string(),
            event::record_index.to_string(),
        ]),
        polars::prelude::UniqueKeepStrategy::First,
        None,
    )?;
    Ok(Loaded {
        frames: store::Frames { events, issuances },
        stats: manifest.stats(),
        problems: manifest.problems(),
    })
}
