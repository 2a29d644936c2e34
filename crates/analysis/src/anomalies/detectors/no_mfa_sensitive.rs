//! `no_mfa_sensitive`: a successful AssumeRole of a sensitive role without MFA.

use super::Detector;
use crate::anomalies::context::{
    caller_is_service, caller_principal, first_issuance_id, issuance_ids, role_disp,
    session_involved, session_subject, who_disp, Context, Draft, Out,
};
use crate::anomalies::values::{self, glob};
use crate::anomalies::Severity;
use anyhow::Result;
use serde::{Deserialize, Serialize};
use trailgraph_log::model::{role_name, IssuanceKind};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NoMfaSensitive {
    #[serde(deserialize_with = "values::boolean")]
    pub enabled: bool,
    pub severity: Severity,
    /// Glob patterns on the role name (case-insensitive).
    #[serde(deserialize_with = "values::strings")]
    pub roles: Vec<String>,
}

impl Default for NoMfaSensitive {
    fn default() -> Self {
        NoMfaSensitive {
            enabled: true,
            severity: Severity::Medium,
            roles: vec!["*Admin*".into(), "BreakGlass*".into()],
        }
    }
}

impl Detector for NoMfaSensitive {
    const ABOUT: &'static str = "\
A successful AssumeRole of a sensitive role without MFA (no serialNumber in the request and
the caller not MFA-authenticated). Patterns match the role name.";

    fn detect(&self, cx: &Context, out: &mut Out) -> Result<()> {
        for s in cx.sessions {
            if s.kind != Some(IssuanceKind::AssumeRole) || s.mfa || caller_is_service(s) {
                continue;
            }
            let Some(role) = s.role_arn.as_deref() else {
                continue;
            };
            let name = role_name(role);
            let Some(pat) = self.roles.iter().find(|g| glob(g, name)) else {
                continue;
            };
            let explanation = format!(
                "{} assumed the sensitive {} without MFA: no serialNumber in the request and the caller was not MFA-authenticated (the role name matches {pat:?}).",
                who_disp(caller_principal(s), &s.origin),
                role_disp(role)
            );
            out.add(
                &session_involved(s),
                Draft {
                    subject: session_subject(s),
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
