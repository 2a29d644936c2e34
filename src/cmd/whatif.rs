//! `trailgraph whatif`: every observed assumption of the chosen roles judged against its trust
//! policy hardened with new conditions; per role a summary and the hardened policy.

use super::{ExitCode, Input, Output};
use anyhow::Result;
use std::path::PathBuf;
use trailgraph_analysis::trust::{whatif, whatif_frame, Hardening};
use trailgraph_output::render::{open_output, Format};

pub struct Settings {
    pub input: Input,
    pub out: Output,
    pub iam: Vec<PathBuf>,
    /// A glob on the role name (or ARN, for a pattern starting `arn:`).
    pub role: String,
    pub hardening: Hardening,
}

pub fn run(a: Settings) -> Result<ExitCode> {
    anyhow::ensure!(
        !a.hardening.is_empty(),
        "whatif: nothing to add: give one or more of --require-mfa, --source-ip, --external-id, --principal-org-id, --principals, --hours"
    );
    let Some((input, code)) = super::trust::open(&a.input, &a.iam)? else {
        return Ok(ExitCode::Fatal);
    };
    let roles = whatif(&input, &a.role, &a.hardening);
    if a.out.format == Format::Table {
        let mut w = open_output(a.out.path())?;
        trailgraph_output::text::write_whatif(&roles, &a.hardening, input.observed.window, &mut w)?;
        w.flush()?;
    } else {
        a.out.emit(&whatif_frame(&roles, &a.hardening)?)?;
    }
    Ok(code)
}
