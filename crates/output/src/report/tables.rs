//! The tables behind the report, written as CSV and JSON with `crate::render` (row by row),
//! plus `summary.json`. `render` writes frames, so the tables are built as frames: sessions
//! and chains by `trailgraph_analysis::answer`, origins and coverage from the model, the
//! timeline from the events frame (`TableSource`: every important event, not only those shown).

use super::data::{day_str, gap_str, Category, HuntTables, Model, TableSource, TimelineRows};
use crate::render::{self, Format};
use anyhow::{Context, Result};
use polars::prelude::*;
use serde_json::json;
use std::io::Write;
use std::path::Path;
use trailgraph_analysis::answer::{self, SessionFilter};
use trailgraph_log::model::format_time;

/// Writes every table as `NAME.csv` and `NAME.json`, and `summary.json`.
pub fn write_all(m: &Model, src: &TableSource, dir: &Path) -> Result<()> {
    let f = SessionFilter::default();
    both(
        dir,
        "sessions",
        &answer::sessions_frame(src.graph, &src.usage, &f)?,
    )?;
    both(
        dir,
        "chains",
        &answer::chains_frame(src.graph, &src.usage, &f)?,
    )?;
    let findings: Vec<_> = m.findings.iter().map(|v| v.finding.clone()).collect();
    both(
        dir,
        "anomalies",
        &trailgraph_analysis::anomalies::findings_frame(&findings)?,
    )?;
    if let Some(h) = &src.hunt {
        hunt_hits(dir, h)?;
        both(dir, "hunt_origins", &h.by_origin)?;
    }
    if let Some(t) = &src.trust {
        both(dir, "trust", t)?;
    }
    both(dir, "origins", &origins_frame(m)?)?;
    timeline(dir, &src.timeline)?;
    both(dir, "coverage", &coverage_frame(m)?)?;
    let path = dir.join("summary.json");
    let mut w = std::io::BufWriter::new(
        std::fs::File::create(&path)
            .with_context(|| format!("{}: cannot create", path.display()))?,
    );
    serde_json::to_writer_pretty(&mut w, &summary_json(m))?;
    writeln!(w)?;
    w.flush()?;
    Ok(())
}

/// `hunt.csv` and `hunt.json`: every hit, a batch at a time from the hunt's temporary file.
fn hunt_hits(dir: &Path, h: &HuntTables) -> Result<()> {
    let hunted = h.hunted.borrow_mut().take().expect("written once");
    let (csv, json) = (dir.join("hunt.csv"), dir.join("hunt.json"));
    let mut a = render::FrameWriter::new(Format::Csv, Some(&csv))?;
    let mut b = render::FrameWriter::new(Format::Json, Some(&json))?;
    hunted.frames(1 << 16, |df| {
        a.write(df)?;
        b.write(df)
    })?;
    a.finish()?;
    b.finish()
}

fn both(dir: &Path, name: &str, df: &DataFrame) -> Result<()> {
    let t0 = std::time::Instant::now();
    let r = both_inner(dir, name, df);
    trailgraph_log::ingest::profile(&format!("table {name}"), t0);
    r
}

fn both_inner(dir: &Path, name: &str, df: &DataFrame) -> Result<()> {
    // The two renderings at once: one's file writes overlap the other's rendering.
    let (a, b) = rayon::join(
        || one(dir, name, df, "csv", Format::Csv),
        || one(dir, name, df, "json", Format::Json),
    );
    a.and(b)
}

fn one(dir: &Path, name: &str, df: &DataFrame, ext: &str, fmt: Format) -> Result<()> {
    let path = dir.join(format!("{name}.{ext}"));
    let file = std::fs::File::create(&path)
        .with_context(|| format!("{}: cannot create", path.display()))?;
    let mut w = std::io::BufWriter::with_capacity(1 << 16, file);
    render::write(df, fmt, &mut w)?;
    w.flush()
        .with_context(|| format!("{}: cannot write", path.display()))?;
    Ok(())
}

fn opt_time(t: Option<i64>) -> Option<String> {
    t.map(format_time)
}

/// Per-origin activity, most active first.
pub(crate) fn origins_frame(m: &Model) -> Result<DataFrame> {
    let o = &m.origins;
    macro_rules! col {
        ($name:expr, $f:expr) => {
            Column::new($name.into(), o.iter().map($f).collect::<Vec<_>>())
        };
    }
    let cols = vec![
        col!("origin", |r| r.origin.clone()),
        col!("kind", |r| r.kind.to_string()),
        col!("events", |r| r.events),
        col!("mutating", |r| r.mutating),
        col!("denied", |r| r.denied),
        col!("errors", |r| r.errors),
        col!("sessions", |r| r.sessions),
        col!("chained_sessions", |r| r.chained),
        col!("max_depth", |r| r.max_depth as u32),
        col!("cross_account_sessions", |r| r.cross_account),
        col!("roles", |r| r.roles.len() as u32),
        col!("accounts", |r| r.accounts.len() as u32),
        col!("findings", |r| r.findings),
        col!("first_seen", |r| opt_time(r.first)),
        col!("last_seen", |r| opt_time(r.last)),
        col!("account_ids", |r| r
            .accounts
            .iter()
            .cloned()
            .collect::<Vec<_>>()
            .join(";")),
        col!("role_arns", |r| r
            .roles
            .iter()
            .cloned()
            .collect::<Vec<_>>()
            .join(";")),
    ];
    Ok(DataFrame::new(o.len(), cols)?)
}

/// Writes `timeline.csv` and `timeline.json` from the rows rendered during the pass over the
/// events, merged back into input order: row by row, whatever their number.
fn timeline(dir: &Path, rows: &TimelineRows) -> Result<()> {
    let t0 = std::time::Instant::now();
    let open = |ext: &str| -> Result<(std::path::PathBuf, std::io::BufWriter<std::fs::File>)> {
        let path = dir.join(format!("timeline.{ext}"));
        let file = std::fs::File::create(&path)
            .with_context(|| format!("{}: cannot create", path.display()))?;
        Ok((path, std::io::BufWriter::with_capacity(1 << 16, file)))
    };
    let ((csv_path, mut csv), (json_path, mut json)) = (open("csv")?, open("json")?);
    csv.write_all(&rows.csv_header)?;
    json.write_all(&rows.json_header)?;
    let spill = rows
        .spill
        .borrow_mut()
        .take()
        .expect("the timeline is written once");
    let mut k = 0usize;
    spill.merge(|b| {
        let n = u32::from_le_bytes(b[..4].try_into().expect("4 bytes")) as usize;
        csv.write_all(&b[4..4 + n])?;
        json.write_all(render::separator(Format::Json, k == 0))?;
        json.write_all(&b[4 + n..])?;
        k += 1;
        Ok(())
    })?;
    debug_assert_eq!(k, rows.rows);
    json.write_all(render::footer(Format::Json, k))?;
    csv.flush()
        .with_context(|| format!("{}: cannot write", csv_path.display()))?;
    json.flush()
        .with_context(|| format!("{}: cannot write", json_path.display()))?;
    trailgraph_log::ingest::profile("table timeline", t0);
    Ok(())
}

/// Days with events per account and region, and the gaps between them.
pub(crate) fn coverage_frame(m: &Model) -> Result<DataFrame> {
    let c = &m.coverage;
    macro_rules! col {
        ($name:expr, $f:expr) => {
            Column::new($name.into(), c.iter().map($f).collect::<Vec<_>>())
        };
    }
    let cols = vec![
        col!("account", |r| r.account.clone()),
        col!("region", |r| r.region.clone()),
        col!("events", |r| r.events),
        col!("first_day", |r| r.first().map(day_str)),
        col!("last_day", |r| r.last().map(day_str)),
        col!("days_present", |r| r.days.len() as u64),
        col!("days_missing", |r| r.missing()),
        col!("gaps", |r| r
            .gaps()
            .into_iter()
            .map(gap_str)
            .collect::<Vec<_>>()
            .join("; ")),
    ];
    Ok(DataFrame::new(c.len(), cols)?)
}

/// `summary.json`: the `summary` command's JSON plus coverage and report totals.
pub fn summary_json(m: &Model) -> serde_json::Value {
    let mut v = m.summary.to_json();
    let days = &m.all_days;
    let (gaps, counts, pic) = (&m.gaps, &m.timeline.counts, &m.picture);
    v["inputs"] = json!(m
        .inputs
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>());
    v["coverage"] = json!({
        "first_day": days.first().copied().map(day_str),
        "last_day": days.last().copied().map(day_str),
        "days_present": days.len(),
        "days_missing": m.missing_days,
        "gaps": gaps.iter().map(|&g| json!({"first": day_str(g.0), "last": day_str(g.1), "days": g.1 - g.0 + 1})).collect::<Vec<_>>(),
        "accounts_regions": m.coverage.len(),
    });
    v["report"] = json!({
        "events": m.events,
        "sessions": m.sessions,
        "origins": m.origins.len(),
        "origins_with_sessions": m.origins_with_sessions(),
        "max_depth": m.max_depth,
        "cross_account_sessions": m.cross_account_sessions,
        "findings": m.findings.len(),
        "timeline": Category::ALL.iter().map(|c| (c.as_str().to_string(), json!(counts.get(c).copied().unwrap_or(0)))).collect::<serde_json::Map<_, _>>(),
        "picture": {
            "origins_shown": pic.origins_shown,
            "origins_total": pic.origins_total,
            "sessions_shown": pic.sessions_shown,
            "sessions_total": pic.sessions_total,
        },
    });
    v
}
