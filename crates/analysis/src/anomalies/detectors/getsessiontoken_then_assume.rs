//! `getsessiontoken_then_assume`: the first AssumeRole* call (denied or not) signed by a key
//! that GetSessionToken issued.

use super::Detector;
use crate::anomalies::context::{
    issuance_ids, or_unknown, push_unique, role_disp, session_involved, Context, Draft, Out,
};
use crate::anomalies::{values, Severity};
use anyhow::Result;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use trailgraph_log::model::IssuanceKind;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GetSessionTokenThenAssume {
    #[serde(deserialize_with = "values::boolean")]
    pub enabled: bool,
    pub severity: Severity,
}

impl Default for GetSessionTokenThenAssume {
    fn default() -> Self {
        GetSessionTokenThenAssume {
            enabled: true,
            severity: Severity::Medium,
        }
    }
}

impl Detector for GetSessionTokenThenAssume {
    const ABOUT: &'static str = "\
The first AssumeRole* call (denied or not) signed by a key that GetSessionToken issued.";

    fn detect(&self, cx: &Context, out: &mut Out) -> Result<()> {
        let (ic, sessions) = (&cx.iss, cx.sessions);
        let mut gst: FxHashMap<&str, Vec<usize>> = FxHashMap::default();
        for (i, s) in sessions.iter().enumerate() {
            if s.kind == Some(IssuanceKind::GetSessionToken) {
                if let Some(k) = s.issued_key.as_deref() {
                    gst.entry(k).or_default().push(i);
                }
            }
        }
        if gst.is_empty() {
            return Ok(());
        }
        // key → (row, session)
        let mut first: FxHashMap<&str, (usize, usize)> = FxHashMap::default();
        for r in 0..ic.n {
            let Some(kind) = ic.kind.get(r).and_then(IssuanceKind::parse) else {
                continue;
            };
            if !kind.is_role_assumption() {
                continue;
            }
            let (Some(key), Some(t)) = (ic.ckey.get(r), ic.time.get(r)) else {
                continue;
            };
            let Some(cands) = gst.get(key) else {
                continue;
            };
            let cd = ic.ccd.get(r);
            let Some(&s) = cands.iter().find(|&&s| {
                let se = &sessions[s];
                se.issued_at.is_some_and(|i| i <= t) && cd.is_none_or(|c| Some(c) == se.issued_at)
            }) else {
                continue;
            };
            let better = |o: &(usize, usize)| {
                (ic.time.get(r), ic.eid.get(r), ic.rcpt.get(r))
                    < (ic.time.get(o.0), ic.eid.get(o.0), ic.rcpt.get(o.0))
            };
            match first.get(key) {
                Some(o) if !better(o) => {}
                _ => {
                    first.insert(key, (r, s));
                }
            }
        }
        for (key, (r, s)) in first {
            let se = &sessions[s];
            let mut ids: Vec<String> = issuance_ids(se).collect();
            let eid = ic.eid.get(r).unwrap_or("").to_string();
            push_unique(&mut ids, eid.clone());
            let role = ic.role.get(r).unwrap_or("?");
            let kind = ic.kind.get(r).unwrap_or("AssumeRole");
            let result = match ic.err.get(r) {
                Some(e) => format!(" (denied: {e})"),
                None => String::new(),
            };
            let explanation = format!(
                "{} called {kind} on {} with the temporary key {key} that GetSessionToken had issued{result}.",
                or_unknown(&se.origin),
                role_disp(role)
            );
            let mut inv = session_involved(se);
            inv.roles.push(role);
            if let Some(ip) = ic.ip.get(r) {
                inv.addresses.push(ip);
            }
            out.add(
                &inv,
                Draft {
                    subject: key.to_string(),
                    origin: se.origin.clone(),
                    first_event_id: eid,
                    time: ic.time.get(r),
                    event_ids: ids,
                    explanation,
                },
            );
        }
        Ok(())
    }
}
