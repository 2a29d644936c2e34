//! Answers over the attributed input: `who` (provenance of one event, key, session or
//! principal), `trace` (blast radius of an identity), and the `sessions` / `chains` listings.

use anyhow::Result;
use polars::prelude::*;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use trailgraph_graph::attribute::{Attributed, Cols};
use trailgraph_graph::graph::Session;
use trailgraph_log::escape::term;
use trailgraph_log::model::{format_time, Millis};
use trailgraph_store::Frames;

/// Filters shared by `sessions`, `chains`, `trace` and `graph`.
#[derive(Debug, Clone, Default)]
pub struct SessionFilter {
    pub origin: Option<String>,
    pub role: Option<String>,
    pub account: Option<String>,
    pub min_depth: Option<usize>,
    pub cross_account: bool,
    pub since: Option<Millis>,
    pub until: Option<Millis>,
}

impl SessionFilter {
    pub fn accepts(&self, s: &Session) -> bool {
        if let Some(o) = &self.origin {
            if &s.origin != o {
                return false;
            }
        }
        if let Some(r) = &self.role {
            let hit = s
                .role_arn
                .as_deref()
                .is_some_and(|a| a == r || trailgraph_log::model::role_name(a) == r);
            if !hit {
                return false;
            }
        }
        if let Some(a) = &self.account {
            if s.account.as_deref() != Some(a) {
                return false;
            }
        }
        if let Some(d) = self.min_depth {
            if s.chain.len() < d {
                return false;
            }
        }
        if self.cross_account && !is_cross_account(s) {
            return false;
        }
        if let (Some(t), Some(since)) = (s.issued_at, self.since) {
            if t < since {
                return false;
            }
        }
        if let (Some(t), Some(until)) = (s.issued_at, self.until) {
            if t > until {
                return false;
            }
        }
        true
    }
}

/// A session whose caller lives in another account than the session.
pub fn is_cross_account(s: &Session) -> bool {
    let caller_acct = s.caller_identity.account.as_deref().or_else(|| {
        s.caller_identity
            .arn
            .as_deref()
            .and_then(trailgraph_log::model::arn_account)
    });
    matches!((caller_acct, s.account.as_deref()), (Some(a), Some(b)) if a != b)
}

/// Per-session use statistics: number of events signed, first and last use.
pub struct Usage {
    pub events: Vec<u64>,
    pub first: Vec<Option<Millis>>,
    pub last: Vec<Option<Millis>>,
}

pub fn usage(frames: &Frames, at: &Attributed) -> Result<Usage> {
    let n = at.graph.sessions.len();
    let mut u = Usage {
        events: vec![0; n],
        first: vec![None; n],
        last: vec![None; n],
    };
    let times = Cols::new(&frames.events).t("event_time")?;
    for (i, t) in times.iter().enumerate() {
        if let Some(s) = at.of(i).session {
            u.events[s] += 1;
            if let Some(t) = t {
                u.first[s] = Some(u.first[s].map_or(t, |f| f.min(t)));
                u.last[s] = Some(u.last[s].map_or(t, |l| l.max(t)));
            }
        }
    }
    Ok(u)
}

fn opt_time(t: Option<Millis>) -> Option<String> {
    t.map(format_time)
}

/// The `sessions` listing.
pub fn sessions_frame(frames: &Frames, at: &Attributed, f: &SessionFilter) -> Result<DataFrame> {
    let u = usage(frames, at)?;
    let mut idx: Vec<usize> = (0..at.graph.sessions.len())
        .filter(|&i| f.accepts(&at.graph.sessions[i]))
        .collect();
    idx.sort_by(|&a, &b| {
        let (x, y) = (&at.graph.sessions[a], &at.graph.sessions[b]);
        (x.issued_at, &x.id).cmp(&(y.issued_at, &y.id))
    });
    let s = |i: &usize| &at.graph.sessions[*i];
    macro_rules! col {
        ($name:expr, $f:expr) => {
            Column::new($name.into(), idx.iter().map($f).collect::<Vec<_>>())
        };
    }
    let cols = vec![
        col!("session_id", |i| s(i).id.clone()),
        col!("kind", |i| s(i)
            .kind
            .map(|k| k.as_str().to_string())
            .or(Some("(issuance not in input)".to_string()))),
        col!("issued_at", |i| opt_time(s(i).issued_at)),
        col!("expires_at", |i| opt_time(s(i).expiration)),
        col!("origin", |i| s(i).origin.clone()),
        col!("chain", |i| s(i).chain.join(">")),
        col!("depth", |i| s(i).chain.len() as u32),
        col!("confidence", |i| s(i).confidence.as_str().to_string()),
        col!("role_arn", |i| s(i).role_arn.clone()),
        col!("session_name", |i| s(i).session_name.clone()),
        col!("account", |i| s(i).account.clone()),
        col!("issued_key", |i| s(i).issued_key.clone()),
        col!("source_identity", |i| s(i).source_identity.clone()),
        col!("mfa", |i| s(i).mfa),
        col!("cross_account", |i| is_cross_account(s(i))),
        col!("cycle", |i| s(i).cycle),
        col!("source_ip", |i| s(i).source_ip.clone()),
        col!("events", |i| u.events[*i]),
        col!("first_use", |i| opt_time(u.first[*i])),
        col!("last_use", |i| opt_time(u.last[*i])),
        col!("issuance_event_ids", |i| s(i)
            .issuance
            .iter()
            .filter_map(|e| e.event_id.clone())
            .collect::<Vec<_>>()
            .join(";")),
    ];
    Ok(DataFrame::new(idx.len(), cols)?)
}

/// The `chains` listing: one row per distinct (origin, chain) path.
pub fn chains_frame(frames: &Frames, at: &Attributed, f: &SessionFilter) -> Result<DataFrame> {
    let u = usage(frames, at)?;
    #[derive(Default)]
    struct Agg {
        sessions: u64,
        events: u64,
        first: Option<Millis>,
        last: Option<Millis>,
        accounts: BTreeSet<String>,
        confidence: Option<trailgraph_log::model::Confidence>,
        cycle: bool,
        cross: bool,
    }
    let mut m: BTreeMap<(String, String), Agg> = BTreeMap::new();
    for (i, s) in at.graph.sessions.iter().enumerate() {
        if !f.accepts(s) || s.chain.is_empty() {
            continue;
        }
        let a = m.entry((s.origin.clone(), s.chain.join(">"))).or_default();
        a.sessions += 1;
        a.events += u.events[i];
        for t in [s.issued_at, u.first[i], u.last[i]].into_iter().flatten() {
            a.first = Some(a.first.map_or(t, |x| x.min(t)));
            a.last = Some(a.last.map_or(t, |x| x.max(t)));
        }
        for c in &s.chain {
            if let Some(acct) = trailgraph_log::model::arn_account(c) {
                a.accounts.insert(acct.to_string());
            }
        }
        a.confidence = Some(a.confidence.map_or(s.confidence, |c| c.min(s.confidence)));
        a.cycle |= s.cycle;
        a.cross |= is_cross_account(s);
    }
    let rows: Vec<_> = m.into_iter().collect();
    macro_rules! col {
        ($name:expr, $f:expr) => {
            Column::new($name.into(), rows.iter().map($f).collect::<Vec<_>>())
        };
    }
    let cols = vec![
        col!("origin", |(k, _)| k.0.clone()),
        col!("chain", |(k, _)| k.1.clone()),
        col!("depth", |(k, _)| k.1.split('>').count() as u32),
        col!("sessions", |(_, a)| a.sessions),
        col!("events", |(_, a)| a.events),
        col!("first_seen", |(_, a)| opt_time(a.first)),
        col!("last_seen", |(_, a)| opt_time(a.last)),
        col!("accounts", |(_, a)| a
            .accounts
            .iter()
            .cloned()
            .collect::<Vec<_>>()
            .join(";")),
        col!("confidence", |(_, a)| a
            .confidence
            .map(|c| c.as_str().to_string())),
        col!("cross_account", |(_, a)| a.cross),
        col!("cycle", |(_, a)| a.cycle),
    ];
    Ok(DataFrame::new(rows.len(), cols)?)
}

/// One event's fields for display.
fn event_json(frames: &Frames, row: usize) -> Result<Value> {
    let c = Cols::new(&frames.events);
    let s = |n: &str| -> Result<Option<String>> { Ok(c.s(n)?.get(row).map(String::from)) };
    Ok(json!({
        "event_id": s("event_id")?,
        "event_time": c.t("event_time")?.get(row).map(format_time),
        "event_name": s("event_name")?,
        "event_source": s("event_source")?,
        "recipient_account": s("recipient_account")?,
        "aws_region": s("aws_region")?,
        "source_ip": s("source_ip")?,
        "user_agent": s("user_agent")?,
        "identity_type": s("identity_type")?,
        "identity_arn": s("identity_arn")?,
        "access_key_id": s("access_key_id")?,
        "read_only": c.b("read_only")?.get(row),
        "error_code": s("error_code")?,
        "source_file": s("source_file")?,
        "record_index": c.u("record_index")?.get(row),
    }))
}

fn session_json(s: &Session) -> Value {
    json!({
        "session_id": s.id,
        "kind": s.kind.map(|k| k.as_str()),
        "issuance_in_input": !s.orphan,
        "issued_at": opt_time(s.issued_at),
        "expires_at": opt_time(s.expiration),
        "role_arn": s.role_arn,
        "session_arn": s.session_arn,
        "session_name": s.session_name,
        "account": s.account,
        "issued_key": s.issued_key,
        "caller": {
            "type": s.caller_identity.kind,
            "arn": s.caller_identity.arn,
            "principal_id": s.caller_identity.principal_id,
            "account": s.caller_identity.account,
            "access_key_id": s.caller_identity.access_key_id,
        },
        "source_ip": s.source_ip,
        "user_agent": s.user_agent,
        "mfa": s.mfa,
        "source_identity": s.source_identity,
        "link": match &s.caller { trailgraph_graph::graph::Link::Session(_, c) | trailgraph_graph::graph::Link::Origin(_, c) => c.as_str() },
        "cycle": s.cycle,
        "evidence": s.issuance.iter().map(|e| json!({
            "event_id": e.event_id,
            "recipient_account": e.recipient_account,
            "source_file": e.source_file,
            "record_index": e.record_index,
        })).collect::<Vec<_>>(),
    })
}

/// Provenance of one session: origin first, then every hop down to the session.
fn provenance_json(at: &Attributed, s: usize) -> Value {
    let path = at.graph.ancestry(s);
    let top = &at.graph.sessions[path[0]];
    json!({
        "origin": top.origin,
        "confidence": at.graph.sessions[s].confidence.as_str(),
        "chain": at.graph.sessions[s].chain.join(">"),
        "depth": at.graph.sessions[s].chain.len(),
        "source_identity": at.graph.sessions[s].source_identity,
        "hops": path.iter().map(|&i| session_json(&at.graph.sessions[i])).collect::<Vec<_>>(),
    })
}

/// The events columns `who` reads.
pub const WHO_COLUMNS: &[&str] = &[
    "event_name",
    "event_source",
    "aws_region",
    "source_ip",
    "user_agent",
    "read_only",
    "error_code",
];

/// Event rows `who` may need to attribute for `id`: those whose eventID, principalId or access
/// key id is `id`.
pub fn who_rows(frames: &Frames, id: &str) -> Result<Vec<usize>> {
    let c = Cols::new(&frames.events);
    let (eid, pid, key) = (
        c.s("event_id")?,
        c.s("principal_id")?,
        c.s("access_key_id")?,
    );
    Ok((0..frames.events.height())
        .filter(|&r| eid.get(r) == Some(id) || pid.get(r) == Some(id) || key.get(r) == Some(id))
        .collect())
}

/// What `who` found for an id.
pub struct WhoAnswer {
    pub query: String,
    pub matches: Vec<Value>,
}

/// Finds events, sessions or principals matching `id` and explains who is behind each.
pub fn who(frames: &Frames, at: &Attributed, id: &str) -> Result<WhoAnswer> {
    let c = Cols::new(&frames.events);
    let eid = c.s("event_id")?;
    let mut matches = Vec::new();
    // 1. An event id (both cross-account copies match).
    for (row, e) in eid.iter().enumerate() {
        if e == Some(id) {
            let a = at.of(row);
            let prov = match a.session {
                Some(s) => provenance_json(at, s),
                None => {
                    json!({"origin": a.origin, "confidence": a.confidence.as_str(), "chain": "", "depth": 0, "source_identity": a.source_identity, "hops": []})
                }
            };
            matches.push(json!({"match": "event", "event": event_json(frames, row)?, "attribution": {
                "origin": a.origin, "chain": a.chain_string(), "depth": a.depth(), "confidence": a.confidence.as_str(), "source_identity": a.source_identity,
                "session_id": a.session.map(|s| at.graph.sessions[s].id.clone()),
            }, "provenance": prov}));
        }
    }
    // 2. An issued key or a session ARN / session id.
    if matches.is_empty() {
        let mut ss: Vec<usize> = at.graph.sessions_with_key(id);
        ss.extend(at.graph.sessions_with_arn(id));
        ss.extend((0..at.graph.sessions.len()).filter(|&i| at.graph.sessions[i].id == id));
        ss.sort_unstable();
        ss.dedup();
        for s in ss {
            matches.push(json!({"match": "session", "provenance": provenance_json(at, s)}));
        }
    }
    // 3. A principalId or a long-term key seen on events: the distinct attributions behind it.
    if matches.is_empty() {
        let pid = c.s("principal_id")?;
        let key = c.s("access_key_id")?;
        let mut seen = BTreeSet::new();
        for row in 0..frames.events.height() {
            if pid.get(row) == Some(id) || key.get(row) == Some(id) {
                let a = at.of(row);
                if seen.insert((a.session, a.origin.clone())) {
                    let prov = match a.session {
                        Some(s) => provenance_json(at, s),
                        None => {
                            json!({"origin": a.origin, "confidence": a.confidence.as_str(), "chain": "", "depth": 0, "source_identity": a.source_identity, "hops": []})
                        }
                    };
                    matches.push(json!({"match": "principal", "example_event": event_json(frames, row)?, "provenance": prov}));
                }
            }
        }
    }
    Ok(WhoAnswer {
        query: id.to_string(),
        matches,
    })
}

/// A JSON value as terminal-safe text (`-` for null).
fn text(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => term(s).into_owned(),
        other => term(&other.to_string()).into_owned(),
    }
}

/// Renders a `who` answer as a readable tree.
pub fn write_who_text(a: &WhoAnswer, out: &mut dyn Write) -> std::io::Result<()> {
    let t = text;
    for (n, m) in a.matches.iter().enumerate() {
        if n > 0 {
            writeln!(out)?;
        }
        let prov = &m["provenance"];
        if let Some(ev) = m.get("event").or_else(|| m.get("example_event")) {
            writeln!(
                out,
                "{} {} {} by {} in account {} ({}) at {}",
                if m["match"] == "event" {
                    "event"
                } else {
                    "example event"
                },
                t(&ev["event_id"]),
                t(&ev["event_name"]),
                t(&ev["identity_arn"]),
                t(&ev["recipient_account"]),
                t(&ev["aws_region"]),
                t(&ev["event_time"])
            )?;
            writeln!(
                out,
                "  from {}  user agent {}  key {}",
                t(&ev["source_ip"]),
                t(&ev["user_agent"]),
                t(&ev["access_key_id"])
            )?;
            writeln!(
                out,
                "  evidence: {}#{}",
                t(&ev["source_file"]),
                t(&ev["record_index"])
            )?;
        }
        writeln!(
            out,
            "WHO: {}   (confidence {}, depth {})",
            t(&prov["origin"]),
            t(&prov["confidence"]),
            t(&prov["depth"])
        )?;
        if let Some(si) = prov["source_identity"].as_str() {
            writeln!(out, "  sourceIdentity: {}", term(si))?;
        }
        writeln!(out, "{}", t(&prov["origin"]))?;
        let hops = prov["hops"].as_array().cloned().unwrap_or_default();
        for (d, h) in hops.iter().enumerate() {
            let ind = "   ".repeat(d);
            let orphan = h["issuance_in_input"] == Value::Bool(false);
            let what = if orphan {
                "session whose issuance is not in the input".to_string()
            } else {
                format!("{} at {}", t(&h["kind"]), t(&h["issued_at"]))
            };
            writeln!(out, "{ind}└─ {what} → {}", t(&h["role_arn"]))?;
            if orphan {
                writeln!(
                    out,
                    "{ind}     session {}  key {}  issued at {} (creationDate on its events)",
                    t(&h["session_name"]),
                    t(&h["issued_key"]),
                    t(&h["issued_at"])
                )?;
                continue;
            }
            writeln!(
                out,
                "{ind}     session {}  key {}  expires {}",
                t(&h["session_name"]),
                t(&h["issued_key"]),
                t(&h["expires_at"])
            )?;
            writeln!(
                out,
                "{ind}     caller {} from {}  user agent {}",
                t(&h["caller"]["arn"]),
                t(&h["source_ip"]),
                t(&h["user_agent"])
            )?;
            writeln!(
                out,
                "{ind}     MFA {}  sourceIdentity {}  link {}{}",
                if h["mfa"] == Value::Bool(true) {
                    "yes"
                } else {
                    "no"
                },
                t(&h["source_identity"]),
                t(&h["link"]),
                if h["cycle"] == Value::Bool(true) {
                    "  (role repeats higher in the chain)"
                } else {
                    ""
                }
            )?;
            for e in h["evidence"].as_array().into_iter().flatten() {
                writeln!(
                    out,
                    "{ind}     proof: eventID {} (account {}) in {}#{}",
                    t(&e["event_id"]),
                    t(&e["recipient_account"]),
                    t(&e["source_file"]),
                    t(&e["record_index"])
                )?;
            }
        }
    }
    Ok(())
}

/// The target of a `trace`.
pub enum TraceTarget {
    Origin(String),
    Sessions(Vec<usize>),
}

/// Resolves a trace argument: an origin string, an access key id, or an IAM user ARN.
pub fn trace_target(frames: &Frames, at: &Attributed, arg: &str) -> Result<Option<TraceTarget>> {
    if at.graph.origins().contains(&arg) || at.table.iter().any(|a| a.origin == arg) {
        return Ok(Some(TraceTarget::Origin(arg.to_string())));
    }
    let ss = at.graph.sessions_with_key(arg);
    if !ss.is_empty() {
        return Ok(Some(TraceTarget::Sessions(ss)));
    }
    // A long-term key: the origin of the events it signed.
    let key = Cols::new(&frames.events).s("access_key_id")?;
    for row in 0..frames.events.height() {
        if key.get(row) == Some(arg) {
            return Ok(Some(TraceTarget::Origin(at.of(row).origin.clone())));
        }
    }
    Ok(None)
}

/// Blast radius: every session descending from the target, every account and role reached, and
/// the timeline of every action they took.
pub fn trace_json(
    frames: &Frames,
    at: &Attributed,
    target: &TraceTarget,
    since: Option<Millis>,
    until: Option<Millis>,
) -> Result<Value> {
    let sessions: Vec<usize> = match target {
        TraceTarget::Origin(o) => at.graph.sessions_of_origin(o),
        TraceTarget::Sessions(ss) => {
            let mut v: Vec<usize> = ss.clone();
            for &s in ss {
                v.extend(at.graph.descendants(s));
            }
            v.sort_unstable();
            v.dedup();
            v
        }
    };
    let set: BTreeSet<usize> = sessions.iter().copied().collect();
    let origin = match target {
        TraceTarget::Origin(o) => Some(o.as_str()),
        TraceTarget::Sessions(_) => None,
    };
    let c = Cols::new(&frames.events);
    let (et, name, src, acct, region, ip, ro, err, eid) = (
        c.t("event_time")?,
        c.s("event_name")?,
        c.s("event_source")?,
        c.s("recipient_account")?,
        c.s("aws_region")?,
        c.s("source_ip")?,
        c.b("read_only")?,
        c.s("error_code")?,
        c.s("event_id")?,
    );
    let mut timeline = Vec::new();
    let mut accounts = BTreeSet::new();
    let mut roles = BTreeSet::new();
    let mut mutating = 0u64;
    for s in &sessions {
        let se = &at.graph.sessions[*s];
        if let Some(a) = &se.account {
            accounts.insert(a.clone());
        }
        if let Some(r) = &se.role_arn {
            roles.insert(r.clone());
        }
    }
    for row in 0..frames.events.height() {
        let a = at.of(row);
        let hit = match a.session {
            Some(s) => set.contains(&s),
            None => origin == Some(a.origin.as_str()),
        };
        if !hit {
            continue;
        }
        let t = et.get(row);
        if let (Some(t), Some(s)) = (t, since) {
            if t < s {
                continue;
            }
        }
        if let (Some(t), Some(u)) = (t, until) {
            if t > u {
                continue;
            }
        }
        let mutates = ro.get(row) == Some(false);
        if mutates {
            mutating += 1;
        }
        if let Some(a) = acct.get(row) {
            accounts.insert(a.to_string());
        }
        timeline.push(json!({
            "event_time": t.map(format_time),
            "event_id": eid.get(row),
            "event_name": name.get(row),
            "event_source": src.get(row),
            "recipient_account": acct.get(row),
            "aws_region": region.get(row),
            "source_ip": ip.get(row),
            "mutating": mutates,
            "error_code": err.get(row),
            "session_id": a.session.map(|s| at.graph.sessions[s].id.clone()),
            "chain": a.chain_string(),
        }));
    }
    let tree: Vec<Value> = sessions
        .iter()
        .map(|&s| {
            let se = &at.graph.sessions[s];
            json!({
                "session_id": se.id,
                "parent": se.parent.map(|p| at.graph.sessions[p].id.clone()),
                "depth": se.chain.len(),
                "role_arn": se.role_arn,
                "account": se.account,
                "issued_at": opt_time(se.issued_at),
                "expires_at": opt_time(se.expiration),
                "confidence": se.confidence.as_str(),
                "cross_account": is_cross_account(se),
            })
        })
        .collect();
    Ok(json!({
        "target": match target { TraceTarget::Origin(o) => o.clone(), TraceTarget::Sessions(ss) => ss.iter().map(|&s| at.graph.sessions[s].id.clone()).collect::<Vec<_>>().join(";") },
        "sessions": tree,
        "accounts": accounts,
        "roles": roles,
        "events": timeline.len(),
        "mutating_events": mutating,
        "timeline": timeline,
    }))
}

/// Renders a trace as text.
pub fn write_trace_text(v: &Value, out: &mut dyn Write) -> std::io::Result<()> {
    let t = text;
    writeln!(out, "TRACE {}", t(&v["target"]))?;
    let sessions = v["sessions"].as_array().cloned().unwrap_or_default();
    writeln!(out, "sessions ({}):", sessions.len())?;
    let ids: BTreeSet<String> = sessions.iter().map(|s| t(&s["session_id"])).collect();
    fn walk(
        out: &mut dyn Write,
        sessions: &[Value],
        parent: Option<&str>,
        depth: usize,
        ids: &BTreeSet<String>,
        t: &dyn Fn(&Value) -> String,
    ) -> std::io::Result<()> {
        for s in sessions {
            let p = s["parent"].as_str();
            let is_root = parent.is_none() && p.is_none_or(|p| !ids.contains(p));
            if (parent.is_none() && is_root) || (parent.is_some() && p == parent) {
                writeln!(
                    out,
                    "{}└─ {} → {} in {} at {} ({}{})",
                    "   ".repeat(depth),
                    t(&s["session_id"]),
                    t(&s["role_arn"]),
                    t(&s["account"]),
                    t(&s["issued_at"]),
                    t(&s["confidence"]),
                    if s["cross_account"] == Value::Bool(true) {
                        ", cross-account"
                    } else {
                        ""
                    }
                )?;
                let id = s["session_id"].as_str().unwrap_or("");
                walk(out, sessions, Some(id), depth + 1, ids, t)?;
            }
        }
        Ok(())
    }
    walk(out, &sessions, None, 0, &ids, &t)?;
    writeln!(
        out,
        "accounts reached: {}",
        v["accounts"]
            .as_array()
            .map(|a| a.iter().map(&t).collect::<Vec<_>>().join(", "))
            .unwrap_or_default()
    )?;
    writeln!(
        out,
        "roles reached: {}",
        v["roles"]
            .as_array()
            .map(|a| a.iter().map(&t).collect::<Vec<_>>().join(", "))
            .unwrap_or_default()
    )?;
    writeln!(
        out,
        "timeline ({} events, {} mutating, marked *):",
        t(&v["events"]),
        t(&v["mutating_events"])
    )?;
    for e in v["timeline"].as_array().into_iter().flatten() {
        writeln!(
            out,
            "  {} {} {}:{} {} {} from {}{}",
            if e["mutating"] == Value::Bool(true) {
                "*"
            } else {
                " "
            },
            t(&e["event_time"]),
            t(&e["event_source"]).trim_end_matches(".amazonaws.com"),
            t(&e["event_name"]),
            t(&e["recipient_account"]),
            t(&e["aws_region"]),
            t(&e["source_ip"]),
            if e["error_code"].is_null() {
                String::new()
            } else {
                format!(" [{}]", t(&e["error_code"]))
            }
        )?;
    }
    Ok(())
}
