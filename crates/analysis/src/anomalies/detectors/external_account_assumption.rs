//! `external_account_assumption`: the first successful AssumeRole by a caller account whose logs
//! are not in the input and that is not known, at or after the end of the learning period.

use super::Detector;
use crate::anomalies::context::{
    caller_account, caller_principal, first_issuance_id, issuance_ids, role_disp, session_involved,
    who_disp, Context, Draft, Out,
};
use crate::anomalies::{values, Severity};
use anyhow::Result;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use trailgraph_log::model::IssuanceKind;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExternalAccountAssumption {
    #[serde(deserialize_with = "values::boolean")]
    pub enabled: bool,
    pub severity: Severity,
    #[serde(deserialize_with = "values::strings")]
    pub known_accounts: Vec<String>,
}

impl Default for ExternalAccountAssumption {
    fn default() -> Self {
        ExternalAccountAssumption {
            enabled: true,
            severity: Severity::High,
            known_accounts: Vec::new(),
        }
    }
}

impl Detector for ExternalAccountAssumption {
    const ABOUT: &'static str = "\
The first successful AssumeRole by a caller account whose logs are not in the input and
that is not in known_accounts (e.g. [\"111111111111\", \"222222222222\"]), at or after the end
of the learning period.";

    fn detect(&self, cx: &Context, out: &mut Out) -> Result<()> {
        let Some(base) = cx.baseline_end else {
            return Ok(());
        };
        let sessions = cx.sessions;
        let mut first: FxHashMap<&str, usize> = FxHashMap::default();
        for (i, s) in sessions.iter().enumerate() {
            if s.kind != Some(IssuanceKind::AssumeRole) || s.issued_at.is_none() {
                continue;
            }
            let Some(acct) = caller_account(s) else {
                continue;
            };
            if cx.recipients.contains(acct) || self.known_accounts.iter().any(|k| k == acct) {
                continue;
            }
            first
                .entry(acct)
                .and_modify(|j| {
                    let o = &sessions[*j];
                    if (s.issued_at, &s.id) < (o.issued_at, &o.id) {
                        *j = i;
                    }
                })
                .or_insert(i);
        }
        for (&acct, &i) in &first {
            let s = &sessions[i];
            if s.issued_at.is_none_or(|t| t < base) {
                continue;
            }
            let role = s.role_arn.as_deref().unwrap_or("?");
            let explanation = format!(
                "Account {acct}, whose logs are not in the input and which is not a known account, assumed a role for the first time after the learning period: {} assumed {}.",
                who_disp(caller_principal(s), &s.origin),
                role_disp(role)
            );
            let mut inv = session_involved(s);
            inv.accounts.push(acct);
            out.add(
                &inv,
                Draft {
                    subject: acct.to_string(),
                    origin: s.origin.clone(),
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
