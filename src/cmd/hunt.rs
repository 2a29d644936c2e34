//! `trailgraph hunt`: Sigma rules over every event, each hit attributed.

use super::{ExitCode, Input, Output};
use anyhow::Result;
use polars::prelude::*;
use std::io::Write;
use std::path::PathBuf;
use trailgraph_analysis::hunt::{by_origin_frame, columns, hunt, RuleSet, Rules};
use trailgraph_log::escape::term;
use trailgraph_output::render::FrameWriter;

pub struct Settings {
    /// INPUT may be empty with `list_rules`.
    pub input: Input,
    pub out: Output,
    /// Rule files or folders (empty: the shipped rules).
    pub rules: Vec<PathBuf>,
    /// One row per origin instead of one per hit.
    pub by_origin: bool,
    /// List the rules and exit.
    pub list_rules: bool,
    /// Only rules of this level or above.
    pub min_level: Option<&'static str>,
}

pub fn run(a: Settings) -> Result<ExitCode> {
    // Rules first, so that a typo in a rule path fails before the (possibly long) read.
    let rules = load_rules(&a.rules, a.min_level)?;
    if a.list_rules {
        a.out.emit(&rules_frame(&rules)?)?;
        return Ok(ExitCode::Clean);
    }
    let rule_code = report_rules(&a.input, &rules);
    let opened = a.input.scan_with(&columns(&rules))?;
    if opened.code == ExitCode::Fatal || rule_code == ExitCode::Fatal {
        return Ok(ExitCode::Fatal);
    }
    let scan = &opened.scan;
    let hunted = hunt(scan, &rules, !a.by_origin)?;
    if a.by_origin {
        a.out.emit(&by_origin_frame(&rules, &hunted.by_origin)?)?;
    } else {
        // Every hit, read back in time order from the temporary file a batch at a time.
        let t0 = std::time::Instant::now();
        let mut w = FrameWriter::new(a.out.format, a.out.path())?;
        hunted.frames(1 << 16, |df| w.write(df))?;
        w.finish()?;
        trailgraph_log::ingest::profile("hunt: merge and write the hits", t0);
    }
    let code = opened.code.max(rule_code);
    opened.scan.end();
    Ok(code)
}

/// Tells (on stderr) what was skipped and what could not be read; the exit code that means.
/// The rules in `paths` (none: the shipped ones), of `min_level` or above when given.
pub(super) fn load_rules(paths: &[PathBuf], min_level: Option<&str>) -> Result<RuleSet> {
    RuleSet::load_with(
        if paths.is_empty() {
            Rules::Shipped
        } else {
            Rules::Paths(paths)
        },
        min_level,
    )
}

pub(super) fn report_rules(input: &Input, rules: &RuleSet) -> ExitCode {
    let mut err = std::io::stderr().lock();
    if !input.quiet {
        let _ = writeln!(
            err,
            "trailgraph: hunt: {} rule(s) evaluated, {} skipped (not for CloudTrail, or below --min-level; --list-rules says why)",
            rules.rules.len(),
            rules.skipped.len()
        );
        for w in &rules.warnings {
            let _ = writeln!(err, "  note: {}", term(&w.to_string()));
        }
    }
    if rules.problems.is_empty() {
        return ExitCode::Clean;
    }
    let _ = writeln!(err, "trailgraph: {} rule problem(s):", rules.problems.len());
    for p in &rules.problems {
        let _ = writeln!(err, "  {}", term(&p.to_string()));
    }
    if input.strict {
        let _ = writeln!(
            err,
            "trailgraph: --strict: failing because of rule problems"
        );
        ExitCode::Fatal
    } else {
        ExitCode::Skipped
    }
}

/// Every rule met: evaluated, skipped or with a problem, and why.
fn rules_frame(rules: &RuleSet) -> Result<DataFrame> {
    let mut rows: Vec<[String; 7]> = Vec::new();
    for r in &rules.rules {
        rows.push([
            "evaluated".into(),
            r.file.clone(),
            r.id.clone(),
            r.title.clone(),
            r.level.into(),
            r.author.clone(),
            String::new(),
        ]);
    }
    for (status, notes) in [
        ("skipped", &rules.skipped),
        ("problem", &rules.problems),
        ("note", &rules.warnings),
    ] {
        for n in notes {
            rows.push([
                status.into(),
                n.file.clone(),
                String::new(),
                n.rule.clone().unwrap_or_default(),
                String::new(),
                String::new(),
                n.reason.clone(),
            ]);
        }
    }
    let names = [
        "status",
        "file",
        "rule_id",
        "rule_title",
        "level",
        "author",
        "reason",
    ];
    let cols = names
        .iter()
        .enumerate()
        .map(|(k, n)| {
            Column::new(
                (*n).into(),
                rows.iter().map(|r| r[k].as_str()).collect::<Vec<_>>(),
            )
        })
        .collect();
    Ok(DataFrame::new(rows.len(), cols)?)
}
