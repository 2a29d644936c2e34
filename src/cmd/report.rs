//! `trailgraph report`: the HTML and Markdown report, with its CSV and JSON tables.

use super::{ExitCode, Input};
use anyhow::Result;
use std::path::PathBuf;
use trailgraph_analysis::trust::{observed, trust_frame, Iam, TrustInput};
use trailgraph_output::report::{HuntInput, Sections};

pub struct Settings {
    pub input: Input,
    /// The directory to write into.
    pub output: PathBuf,
    /// Sigma rule files or folders (empty: the shipped rules).
    pub rules: Vec<PathBuf>,
    /// No Sigma rules at all (no Hunt section).
    pub no_rules: bool,
    /// Only Sigma rules of this level or above.
    pub min_level: Option<&'static str>,
    /// `--iam` files and directories (empty: no Trust section).
    pub iam: Vec<PathBuf>,
}

pub fn run(a: Settings) -> Result<ExitCode> {
    // Rules first, so that a typo in a rule path fails before the (possibly long) read.
    let rules = if a.no_rules {
        None
    } else {
        Some(super::hunt::load_rules(&a.rules, a.min_level)?)
    };
    let rule_code = match &rules {
        Some(r) => super::hunt::report_rules(&a.input, r),
        None => ExitCode::Clean,
    };
    let iam_paths = a.input.iam_paths(&a.iam)?;
    let iam = (!iam_paths.is_empty()).then(|| Iam::read(&iam_paths));
    let iam_code = match &iam {
        Some(iam) => super::trust::report_iam(&a.input, iam),
        None => ExitCode::Clean,
    };
    let mut columns: Vec<&'static str> = Vec::new();
    if let Some(r) = &rules {
        columns.extend(trailgraph_analysis::hunt::columns(r));
    }
    if iam.is_some() {
        columns.extend(observed::columns());
    }
    let opened = a.input.scan_with(&columns)?;
    let mut code = opened.code.max(rule_code).max(iam_code);
    if code == ExitCode::Fatal {
        return Ok(code);
    }
    let hunted = match &rules {
        Some(r) => Some(trailgraph_analysis::hunt::hunt(&opened.scan, r, true)?),
        None => None,
    };
    let trust = match iam {
        Some(iam) => {
            let input = TrustInput::new(&opened.scan, iam)?;
            code = code.max(super::trust::report_changes(
                &a.input,
                &input.observed.problems,
            ));
            Some(trust_frame(&input, None)?)
        }
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
        Sections {
            findings,
            hunt: rules
                .as_ref()
                .zip(hunted)
                .map(|(rules, hunted)| HuntInput { rules, hunted }),
            trust,
        },
        &a.input.inputs,
        &a.output,
    )?;
    if !a.input.quiet {
        eprintln!(
            "trailgraph: report written to {} (report.html, report.md and tables)",
            a.output.display()
        );
    }
    opened.scan.end();
    Ok(code)
}
