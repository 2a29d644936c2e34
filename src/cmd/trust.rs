//! `trailgraph trust`: per role, who may assume it (its trust policy), who did (the observed
//! callers and their origins), and the findings.

use super::{ExitCode, Input, Output};
use anyhow::Result;
use std::io::Write;
use std::path::PathBuf;
use trailgraph_analysis::trust::{observed, trust_frame, Iam, TrustInput};
use trailgraph_log::escape::term;

pub struct Settings {
    pub input: Input,
    pub out: Output,
    /// `--iam` files and directories.
    pub iam: Vec<PathBuf>,
    /// A glob on the role name (or ARN).
    pub role: Option<String>,
}

pub fn run(a: Settings) -> Result<ExitCode> {
    let Some((input, code)) = open(&a.input, &a.iam)? else {
        return Ok(ExitCode::Fatal);
    };
    a.out.emit(&trust_frame(&input, a.role.as_deref())?)?;
    Ok(code)
}

/// Reads the IAM configuration (`--iam`, or the case's) and INPUT, and what `trust` and
/// `whatif` judge: the observed assumptions and the policy timelines, with the exit code so
/// far (None: a fatal problem, already told).
pub(crate) fn open(input: &Input, iam: &[PathBuf]) -> Result<Option<(TrustInput, ExitCode)>> {
    // The IAM files first: they are small, and a wrong path is told before the long read.
    let iam = Iam::read(&input.iam_paths(iam)?);
    let iam_code = report_iam(input, &iam);
    let opened = input.scan_with(&observed::columns())?;
    if opened.code == ExitCode::Fatal || iam_code == ExitCode::Fatal {
        return Ok(None);
    }
    let trust = TrustInput::new(&opened.scan, iam)?;
    let log_code = report_changes(input, &trust.observed.problems);
    Ok(Some((trust, opened.code.max(iam_code).max(log_code))))
}

/// Tells (on stderr) which IAM files and entries could not be used; the exit code that means.
pub(crate) fn report_iam(input: &Input, iam: &Iam) -> ExitCode {
    let mut err = std::io::stderr().lock();
    if !input.quiet {
        let _ = writeln!(
            err,
            "trailgraph: trust: --iam: {} file(s), {} role(s), {} user(s), identity policies of {} account(s), {} account(s) in organisations",
            iam.files.len(),
            iam.roles.len(),
            iam.users.len(),
            iam.identity_accounts.len(),
            iam.org_of.len()
        );
        for d in &iam.duplicates {
            let _ = writeln!(
                err,
                "  note: role met again (the first one is kept): {}",
                term(d)
            );
        }
    }
    if iam.problems.is_empty() {
        return ExitCode::Clean;
    }
    let _ = writeln!(err, "trailgraph: {} --iam problem(s):", iam.problems.len());
    for p in &iam.problems {
        let _ = writeln!(err, "  {}", term(&p.to_string()));
    }
    if input.strict {
        let _ = writeln!(
            err,
            "trailgraph: --strict: failing because of --iam problems"
        );
        ExitCode::Fatal
    } else {
        ExitCode::Skipped
    }
}

/// Trust-policy change events whose policy could not be read.
pub(crate) fn report_changes(input: &Input, problems: &[String]) -> ExitCode {
    if problems.is_empty() {
        return ExitCode::Clean;
    }
    let mut err = std::io::stderr().lock();
    let _ = writeln!(
        err,
        "trailgraph: {} trust-policy change event(s) could not be read:",
        problems.len()
    );
    for p in problems {
        let _ = writeln!(err, "  {}", term(p));
    }
    if input.strict {
        ExitCode::Fatal
    } else {
        ExitCode::Skipped
    }
}
