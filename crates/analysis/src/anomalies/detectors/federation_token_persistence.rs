//! `federation_token_persistence`: a GetFederationToken session used after the long-term key
//! that requested it was deactivated or deleted.

use super::{Detector, Reader};
use crate::anomalies::context::{
    issuance_ids, or_unknown, push_unique, session_involved, session_subject, Context, Draft, Out,
};
use crate::anomalies::events::{Dec, Rows, TimeOrdered};
use crate::anomalies::{values, Severity};
use anyhow::Result;
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

/// No session (in a spilled record).
const NO_SESSION: u32 = u32::MAX;

/// An event the detector follows, as spilled: a revocation of a key that requested federation
/// tokens, an event of a federation session, or both.
struct Followed<'b> {
    t: Millis,
    /// The federation session the event is attributed to, else `NO_SESSION`.
    session: u32,
    /// The key revoked (DeleteAccessKey, or UpdateAccessKey to Inactive, successful).
    revoked_key: Option<&'b str>,
    event_id: Option<&'b str>,
    event_name: Option<&'b str>,
    source_ip: Option<&'b str>,
}

impl<'b> Followed<'b> {
    fn decode(mut d: Dec<'b>) -> Result<Followed<'b>> {
        Ok(Followed {
            t: d.i64()?,
            session: d.u32()?,
            revoked_key: d.str()?,
            event_id: d.str()?,
            event_name: d.str()?,
            source_ip: d.str()?,
        })
    }
}

/// A session's revocation: its time, event id and whether the key was deleted.
struct Revoked {
    t: Millis,
    event_id: Option<String>,
    deleted: bool,
}

/// The reader: the revocations of the keys that requested federation tokens and the events of
/// the federation sessions, spilled; walked in time order in `finish`. Memory: the federation
/// sessions by key, and one slice's records.
struct Federation<'a> {
    sessions: &'a [Session],
    /// Federation tokens by the long-term key that requested them.
    gft_by_key: FxHashMap<&'a str, Vec<usize>>,
    followed: TimeOrdered,
}

impl Detector for FederationTokenPersistence {
    const ABOUT: &'static str = "\
A GetFederationToken session used after the long-term key that requested it was deactivated
(UpdateAccessKey Inactive) or deleted (DeleteAccessKey).";

    fn reader<'a>(&'a self, cx: &Context<'a>) -> Result<Option<Box<dyn Reader + 'a>>> {
        let sessions = cx.sessions;
        let mut gft_by_key: FxHashMap<&str, Vec<usize>> = FxHashMap::default();
        for (i, s) in sessions.iter().enumerate() {
            if s.kind == Some(IssuanceKind::GetFederationToken) {
                if let Some(k) = s.caller_identity.access_key_id.as_deref() {
                    gft_by_key.entry(k).or_default().push(i);
                }
            }
        }
        if gft_by_key.is_empty() {
            return Ok(None);
        }
        Ok(Some(Box::new(Federation {
            sessions,
            gft_by_key,
            followed: TimeOrdered::new()?,
        })))
    }
}

impl Reader for Federation<'_> {
    fn columns(&self) -> &'static [&'static str] {
        &[
            event::event_time,
            event::event_name,
            event::error_code,
            event::request_access_key_id,
            event::request_key_status,
            event::event_id,
            event::source_ip,
        ]
    }

    fn visit(&mut self, rows: &Rows) -> Result<()> {
        let c = Cols::new(rows.events);
        let times = c.t(event::event_time)?;
        let names = c.s(event::event_name)?;
        let errs = c.s(event::error_code)?;
        let rkey = c.s(event::request_access_key_id)?;
        let rstat = c.s(event::request_key_status)?;
        let eids = c.s(event::event_id)?;
        let ips = c.s(event::source_ip)?;
        for i in 0..rows.height() {
            let Some(t) = times.get(i) else {
                continue;
            };
            let session = rows
                .of(i)
                .session
                .filter(|&s| self.sessions[s].kind == Some(IssuanceKind::GetFederationToken));
            // Only revocations of keys that requested federation tokens change anything.
            let revoked_key = rkey.get(i).filter(|k| {
                self.gft_by_key.contains_key(k)
                    && errs.get(i).is_none()
                    && match names.get(i) {
                        Some("DeleteAccessKey") => true,
                        Some("UpdateAccessKey") => rstat
                            .get(i)
                            .is_some_and(|s| s.eq_ignore_ascii_case("Inactive")),
                        _ => false,
                    }
            });
            if session.is_none() && revoked_key.is_none() {
                continue;
            }
            self.followed
                .record(t, rows.position(i))?
                .i64(t)
                .u32(session.map_or(NO_SESSION, |s| s as u32))
                .str(revoked_key)
                .str(eids.get(i))
                .str(names.get(i))
                .str(session.and(ips.get(i)));
        }
        self.followed.end_run()
    }

    fn finish(self: Box<Self>, _cx: &Context, out: &mut Out) -> Result<()> {
        let Federation {
            sessions,
            gft_by_key,
            followed,
            ..
        } = *self;
        let mut revoked: Vec<Option<Revoked>> = Vec::new();
        revoked.resize_with(sessions.len(), || None);
        let mut fired = vec![false; sessions.len()];
        // Revocations and federation sessions' events in time order (ties in canonical order).
        followed.merge(|d| {
            let f = Followed::decode(d)?;
            let t = f.t;
            if let Some(list) = f.revoked_key.and_then(|k| gft_by_key.get(k)) {
                for &s in list {
                    if revoked[s].is_none() && sessions[s].issued_at.is_none_or(|a| a <= t) {
                        revoked[s] = Some(Revoked {
                            t,
                            event_id: f.event_id.map(String::from),
                            deleted: f.event_name == Some("DeleteAccessKey"),
                        });
                    }
                }
            }
            if f.session != NO_SESSION {
                let s = f.session as usize;
                if let Some(r) = &revoked[s] {
                    if t > r.t && !fired[s] {
                        fired[s] = true;
                        finding(&sessions[s], &f, r, out);
                    }
                }
            }
            Ok(())
        })
    }
}

/// The finding on federation session `s`: its event `f`, after its parent key's revocation `r`.
fn finding(s: &Session, f: &Followed, r: &Revoked, out: &mut Out) {
    let mut ids: Vec<String> = issuance_ids(s).collect();
    if let Some(id) = &r.event_id {
        push_unique(&mut ids, id.clone());
    }
    let eid = f.event_id.unwrap_or_default().to_string();
    push_unique(&mut ids, eid.clone());
    let parent = s.caller_identity.access_key_id.as_deref().unwrap_or("?");
    let how = if r.deleted { "deleted" } else { "deactivated" };
    let event = f.event_name.unwrap_or_default();
    let fed = s.session_arn.as_deref().unwrap_or("a federated user");
    let explanation = format!(
        "Federated session {} ({fed}) of {} was still used for {event} at {} after its parent key {parent} was {how} at {}.",
        session_subject(s),
        or_unknown(&s.origin),
        format_time(f.t),
        format_time(r.t)
    );
    let mut inv = session_involved(s);
    inv.addresses.clear();
    if let Some(ip) = f.source_ip {
        inv.addresses.push(ip);
    }
    out.add(
        &inv,
        Draft {
            subject: session_subject(s),
            origin: s.origin.clone(),
            first_event_id: eid,
            time: Some(f.t),
            event_ids: ids,
            explanation,
        },
    );
}
