//! `role_cycle`: a role assumption whose role is already in the caller's chain, once per chain
//! at the first repeat.

use super::Detector;
use crate::anomalies::context::{
    chain_session_finding, is_role_assumption, or_unknown, role_disp, Context, Out,
};
use crate::anomalies::{values, Severity};
use anyhow::Result;
use rustc_hash::FxHashSet;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RoleCycle {
    #[serde(deserialize_with = "values::boolean")]
    pub enabled: bool,
    pub severity: Severity,
}

impl Default for RoleCycle {
    fn default() -> Self {
        RoleCycle {
            enabled: true,
            severity: Severity::High,
        }
    }
}

impl Detector for RoleCycle {
    const ABOUT: &'static str = "\
A role assumption whose role is already in the caller's chain (A>B>A refresh loops), once
per chain at the first repeat.";

    fn detect(&self, cx: &Context, out: &mut Out) -> Result<()> {
        for (i, s) in cx.sessions.iter().enumerate() {
            if !is_role_assumption(s) || s.chain.len() < 2 {
                continue;
            }
            let (last, above) = s.chain.split_last().expect("len >= 2");
            if !above.contains(last) {
                continue;
            }
            // Only the first repeat of a chain: nothing above repeats.
            let mut seen = FxHashSet::default();
            if !above.iter().all(|r| seen.insert(r.as_str())) {
                continue;
            }
            let explanation = format!(
                "{} assumed {} again from a session whose chain already contains it ({}), a refresh loop that can outlive the one-hour role-chaining limit.",
                or_unknown(&s.origin),
                role_disp(last),
                s.chain.join(" > ")
            );
            chain_session_finding(out, cx.graph, i, explanation);
        }
        Ok(())
    }
}
