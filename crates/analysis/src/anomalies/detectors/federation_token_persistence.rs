//! `federation_token_persistence`: a GetFederationToken session used after the long-term key
//! that requested it was deactivated or deleted.

use super::Detector;
use crate::anomalies::context::{
    issuance_ids, or_unknown, push_unique, row_str, session_involved, session_subject, Context,
    Draft, Out,
};
use crate::anomalies::{values, Severity};
use anyhow::Result;
use polars::prelude::*;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use trailgraph_graph::attribute::Cols;
use trailgraph_graph::graph::Session;
use trailgraph_log::model::{format_time, IssuanceKind, Millis};
use trailgraph_log::table::event;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FederationTokenPersistence {
    #[serde(deserialize_with = "values::boolean")]
    pub enabled: bool,
    pub severity: Severity,
}

impl Default for FederationTokenPersistence {
    fn default() -> Self {
        FederationTokenPersistence {
            enabled: true,
            severity: Severity::High,
        }
    }
}

impl Detector for FederationTokenPersistence {
    const ABOUT: &'static str = "\
A GetFederationToken session used after the long-term key that requested it was deactivated
(UpdateAccessKey Inactive) or deleted (DeleteAccessKey).";

    fn detect(&self, cx: &Context, out: &mut Out) -> Result<()> {
        let sessions = cx.sessions;
        // Federation tokens by the long-term key that requested them.
        let mut gft_by_key: FxHashMap<&str, Vec<usize>> = FxHashMap::default();
        for (i, s) in sessions.iter().enumerate() {
            if s.kind == Some(IssuanceKind::GetFederationToken) {
                if let Some(k) = s.caller_identity.access_key_id.as_deref() {
                    gft_by_key.entry(k).or_default().push(i);
                }
            }
        }
        if gft_by_key.is_empty() {
            return Ok(());
        }
        let ev = cx.events;
        let c = Cols::new(ev);
        let times = c.t(event::event_time)?;
        let names = c.s(event::event_name)?;
        let errs = c.s(event::error_code)?;
        let rkey = c.s(event::request_access_key_id)?;
        let rstat = c.s(event::request_key_status)?;

        // Access-key changes and the federation sessions' events, in time order (ties keep
        // the canonical order: deterministic whatever the thread count).
        let mut todo: Vec<(Millis, u32)> = Vec::new();
        for i in 0..ev.height() {
            let Some(t) = times.get(i) else {
                continue;
            };
            let federated = cx
                .at
                .of(i)
                .session
                .is_some_and(|s| sessions[s].kind == Some(IssuanceKind::GetFederationToken));
            if federated || rkey.get(i).is_some() {
                todo.push((t, i as u32));
            }
        }
        todo.sort_unstable();

        let mut revoked: Vec<Option<(Millis, usize)>> = vec![None; sessions.len()];
        let mut fired = vec![false; sessions.len()];
        for &(t, i) in &todo {
            let i = i as usize;
            if let Some(k) = rkey.get(i) {
                let revokes = errs.get(i).is_none()
                    && match names.get(i) {
                        Some("DeleteAccessKey") => true,
                        Some("UpdateAccessKey") => rstat
                            .get(i)
                            .is_some_and(|s| s.eq_ignore_ascii_case("Inactive")),
                        _ => false,
                    };
                if revokes {
                    if let Some(list) = gft_by_key.get(k) {
                        for &s in list {
                            if revoked[s].is_none() && sessions[s].issued_at.is_none_or(|a| a <= t)
                            {
                                revoked[s] = Some((t, i));
                            }
                        }
                    }
                }
            }
            if let Some(s) = cx.at.of(i).session {
                if let Some((tr, rrow)) = revoked[s] {
                    if t > tr && !fired[s] {
                        fired[s] = true;
                        finding(&sessions[s], i, rrow, t, tr, ev, out)?;
                    }
                }
            }
        }
        Ok(())
    }
}

fn finding(
    s: &Session,
    row: usize,
    revoke_row: usize,
    t: Millis,
    revoked_at: Millis,
    ev: &DataFrame,
    out: &mut Out,
) -> Result<()> {
    let mut ids: Vec<String> = issuance_ids(s).collect();
    if let Some(id) = row_str(ev, event::event_id, revoke_row)? {
        push_unique(&mut ids, id);
    }
    let eid = row_str(ev, event::event_id, row)?.unwrap_or_default();
    push_unique(&mut ids, eid.clone());
    let parent = s.caller_identity.access_key_id.as_deref().unwrap_or("?");
    let how = match row_str(ev, event::event_name, revoke_row)?.as_deref() {
        Some("DeleteAccessKey") => "deleted",
        _ => "deactivated",
    };
    let event = row_str(ev, event::event_name, row)?.unwrap_or_default();
    let fed = s.session_arn.as_deref().unwrap_or("a federated user");
    let explanation = format!(
        "Federated session {} ({fed}) of {} was still used for {event} at {} after its parent key {parent} was {how} at {}.",
        session_subject(s),
        or_unknown(&s.origin),
        format_time(t),
        format_time(revoked_at)
    );
    let mut inv = session_involved(s);
    inv.addresses.clear();
    let ip = row_str(ev, event::source_ip, row)?;
    if let Some(ip) = &ip {
        inv.addresses.push(ip);
    }
    out.add(
        &inv,
        Draft {
            subject: session_subject(s),
            origin: s.origin.clone(),
            first_event_id: eid,
            time: Some(t),
            event_ids: ids,
            explanation,
        },
    );
    Ok(())
}
