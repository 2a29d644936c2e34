//! `role_chain_depth`: an issuance that creates a session at chain depth exactly `min_depth`.

use super::Detector;
use crate::anomalies::context::{chain_session_finding, or_unknown, role_disp, Context, Out};
use crate::anomalies::{values, Severity};
use anyhow::Result;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RoleChainDepth {
    #[serde(deserialize_with = "values::boolean")]
    pub enabled: bool,
    pub severity: Severity,
    #[serde(deserialize_with = "values::int::<_, _, 1, 1000>")]
    pub min_depth: usize,
}

impl Default for RoleChainDepth {
    fn default() -> Self {
        RoleChainDepth {
            enabled: true,
            severity: Severity::Medium,
            min_depth: 4,
        }
    }
}

impl Detector for RoleChainDepth {
    const ABOUT: &'static str = "\
An issuance that creates a session at chain depth exactly min_depth (deeper sessions of the
same chain are not reported again).";

    fn detect(&self, cx: &Context, out: &mut Out) -> Result<()> {
        for (i, s) in cx.sessions.iter().enumerate() {
            if s.kind.is_none() || s.chain.len() != self.min_depth {
                continue;
            }
            let role = s.role_arn.as_deref().unwrap_or("?");
            let explanation = format!(
                "{} reached role chain depth {} when it assumed {} through the chain {}.",
                or_unknown(&s.origin),
                s.chain.len(),
                role_disp(role),
                s.chain.join(" > ")
            );
            chain_session_finding(out, cx.graph, i, explanation);
        }
        Ok(())
    }
}
