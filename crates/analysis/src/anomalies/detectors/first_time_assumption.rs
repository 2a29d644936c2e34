//! `first_time_assumption`: the first role assumption of an (origin, role) pair at or after the
//! end of the learning period.

use super::Detector;
use crate::anomalies::context::{
    first_issuance_id, is_role_assumption, issuance_ids, role_disp, session_involved, Context,
    Draft, Out,
};
use crate::anomalies::{values, Severity};
use anyhow::Result;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use trailgraph_log::model::{format_time, OriginKind};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FirstTimeAssumption {
    #[serde(deserialize_with = "values::boolean")]
    pub enabled: bool,
    pub severity: Severity,
}

impl Default for FirstTimeAssumption {
    fn default() -> Self {
        FirstTimeAssumption {
            enabled: true,
            severity: Severity::Low,
        }
    }
}

fn excluded_origin(o: &str) -> bool {
    o.is_empty() || matches!(OriginKind::of(o), OriginKind::Service | OriginKind::Unknown)
}

impl Detector for FirstTimeAssumption {
    const ABOUT: &'static str = "\
The first role assumption of an (origin, role) pair, at or after the end of the learning
period (service: and unknown: origins excluded).";

    fn detect(&self, cx: &Context, out: &mut Out) -> Result<()> {
        let Some(base) = cx.baseline_end else {
            return Ok(());
        };
        let sessions = cx.sessions;
        let mut first: FxHashMap<(&str, &str), usize> = FxHashMap::default();
        for (i, s) in sessions.iter().enumerate() {
            if !is_role_assumption(s) || excluded_origin(&s.origin) {
                continue;
            }
            let (Some(role), Some(_)) = (s.role_arn.as_deref(), s.issued_at) else {
                continue;
            };
            first
                .entry((s.origin.as_str(), role))
                .and_modify(|j| {
                    let o = &sessions[*j];
                    if (s.issued_at, &s.id) < (o.issued_at, &o.id) {
                        *j = i;
                    }
                })
                .or_insert(i);
        }
        for (&(origin, role), &i) in &first {
            let s = &sessions[i];
            if s.issued_at.is_none_or(|t| t < base) {
                continue;
            }
            let explanation = format!(
                "{origin} assumed {} for the first time in the input, after the learning period that ended {}.",
                role_disp(role),
                format_time(base)
            );
            out.add(
                &session_involved(s),
                Draft {
                    subject: origin.to_string(),
                    origin: origin.to_string(),
                    first_event_id: first_issuance_id(s),
                    time: s.issued_at,
                    event_ids: issuance_ids(s).collect(),
                    explanation,
                },
            );
        }
        Ok(())
    }
}
