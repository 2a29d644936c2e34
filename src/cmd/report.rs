//! `trailgraph report`: the HTML and Markdown report, with its CSV and JSON tables.

use super::{ExitCode, Input};
use anyhow::Result;
use std::path::PathBuf;
use trailgraph_analysis::hunt::{RuleSet, Rules};
use trailgraph_output::report::HuntInput;

pub struct Settings {
    pub input: Input,
    /// The directory to write into.
    pub output: PathBuf,
    /// Sigma rule files or folders (empty: the shipped rules).
    pub rules: Vec<PathBuf>,
    /// No Sigma rules at all (no Hunt section).
    pub no_rules: bool,
}

pub fn run(a: Settings) -> Result<ExitCode> {
    // Rules first, so that a typo in a rule path fails before the (possibly long) read.
    let rules = if a.no_rules {
        None
    } else {
        Some(RuleSet::load(if a.rules.is_empty() {
            Rules::Shipped
        } else {
            Rules::Paths(&a.rules)
        })?)
    };
    let rule_code = match &rules {
        Some(r) => super::hunt::report_rules(&a.input, r),
        None => ExitCode::Clean,
    };
    let opened = match &rules {
        Some(_) => a.input.scan_with(&trailgraph_analysis::hunt::columns())?,
        None => a.input.scan()?,
    };
    let code = opened.code.max(rule_code);
    if code == ExitCode::Fatal {
        return Ok(code);
    }
    let hunted = match &rules {
        Some(r) => Some(trailgraph_analysis::hunt::hunt(&opened.scan, r)?),
        None => None,
    };
    let findings = trailgraph_analysis::anomalies::detect(
        &opened.scan,
        &trailgraph_analysis::anomalies::load_config(None)?,
    )?;
    trailgraph_output::report::write_report(
        &opened.scan,
        &opened.stats,
        &opened.problems,
        findings,
        rules
            .as_ref()
            .zip(hunted)
            .map(|(rules, hunted)| HuntInput { rules, hunted }),
        &a.input.inputs,
        &a.output,
    )?;
    if !a.input.quiet {
        eprintln!(
            "trailgraph: report written to {} (report.html, report.md and tables)",
            a.output.display()
        );
    }
    Ok(code)
}
