//! Answers over the attributed input: `who` (provenance of one event, key, session or
//! principal), `trace` (blast radius of an identity), and the `sessions` / `chains` listings.

use anyhow::Result;
use polars::prelude::*;
use serde::{Serialize, Serializer};
use std::collections::{BTreeMap, BTreeSet};
use trailgraph_graph::attribute::{Attributed, Cols};
use trailgraph_graph::graph::{Attribution, Link, Session, SessionGraph};
use trailgraph_graph::scan::Scan;
use trailgraph_log::model::{format_time, Confidence, IssuanceKind, Millis};
use trailgraph_log::table::event;
use trailgraph_store::spill::{Key, Spill};
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

impl Usage {
    pub fn new(sessions: usize) -> Usage {
        Usage {
            events: vec![0; sessions],
            first: vec![None; sessions],
            last: vec![None; sessions],
        }
    }

    /// Counts one event of `session` at `t`.
    pub fn add(&mut self, session: usize, t: Option<Millis>) {
        self.events[session] += 1;
        if let Some(t) = t {
            let (f, l) = (&mut self.first[session], &mut self.last[session]);
            *f = Some(f.map_or(t, |f| f.min(t)));
            *l = Some(l.map_or(t, |l| l.max(t)));
        }
    }
}

/// The use of every session, from one pass over the events.
pub fn usage(scan: &Scan) -> Result<Usage> {
    let mut u = Usage::new(scan.graph.sessions.len());
    scan.for_each(&[event::event_time], |sl| {
        let times = Cols::new(sl.events).t(event::event_time)?;
        for (i, t) in times.iter().enumerate() {
            if let Some(s) = sl.of(i).session {
                u.add(s, t);
            }
        }
        Ok(())
    })?;
    Ok(u)
}

/// `usage` of events held in memory.
pub fn usage_in_memory(frames: &Frames, at: &Attributed) -> Result<Usage> {
    let mut u = Usage::new(at.graph.sessions.len());
    let times = Cols::new(&frames.events).t(event::event_time)?;
    for (i, t) in times.iter().enumerate() {
        if let Some(s) = at.of(i).session {
            u.add(s, t);
        }
    }
    Ok(u)
}

fn opt_time(t: Option<Millis>) -> Option<String> {
    t.map(format_time)
}

trailgraph_log::column_names!(
    /// The columns of `sessions_frame`, in order.
    pub mod session_columns {
        session_id,
        kind,
        issued_at,
        expires_at,
        origin,
        chain,
        depth,
        confidence,
        role_arn,
        session_name,
        account,
        issued_key,
        source_identity,
        mfa,
        cross_account,
        cycle,
        source_ip,
        events,
        first_use,
        last_use,
        issuance_event_ids,
    }
);

trailgraph_log::column_names!(
    /// The columns of `chains_frame`, in order.
    pub mod chain_columns {
        origin,
        chain,
        depth,
        sessions,
        events,
        first_seen,
        last_seen,
        accounts,
        confidence,
        cross_account,
        cycle,
    }
);

/// The `sessions` listing.
pub fn sessions_frame(graph: &SessionGraph, u: &Usage, f: &SessionFilter) -> Result<DataFrame> {
    let mut idx: Vec<usize> = (0..graph.sessions.len())
        .filter(|&i| f.accepts(&graph.sessions[i]))
        .collect();
    idx.sort_by(|&a, &b| {
        let (x, y) = (&graph.sessions[a], &graph.sessions[b]);
        (x.issued_at, &x.id).cmp(&(y.issued_at, &y.id))
    });
    let s = |i: &usize| &graph.sessions[*i];
    macro_rules! col {
        ($name:expr, $f:expr) => {
            Column::new($name.into(), idx.iter().map($f).collect::<Vec<_>>())
        };
    }
    let cols = vec![
        col!(session_columns::session_id, |i| s(i).id.clone()),
        col!(session_columns::kind, |i| s(i)
            .kind
            .map(|k| k.as_str().to_string())
            .or(Some("(issuance not in input)".to_string()))),
        col!(session_columns::issued_at, |i| opt_time(s(i).issued_at)),
        col!(session_columns::expires_at, |i| opt_time(s(i).expiration)),
        col!(session_columns::origin, |i| s(i).origin.clone()),
        col!(session_columns::chain, |i| s(i).chain.join(">")),
        col!(session_columns::depth, |i| s(i).chain.len() as u32),
        col!(session_columns::confidence, |i| s(i)
            .confidence
            .as_str()
            .to_string()),
        col!(session_columns::role_arn, |i| s(i).role_arn.clone()),
        col!(session_columns::session_name, |i| s(i).session_name.clone()),
        col!(session_columns::account, |i| s(i).account.clone()),
        col!(session_columns::issued_key, |i| s(i).issued_key.clone()),
        col!(session_columns::source_identity, |i| s(i)
            .source_identity
            .clone()),
        col!(session_columns::mfa, |i| s(i).mfa),
        col!(session_columns::cross_account, |i| is_cross_account(s(i))),
        col!(session_columns::cycle, |i| s(i).cycle),
        col!(session_columns::source_ip, |i| s(i).source_ip.clone()),
        col!(session_columns::events, |i| u.events[*i]),
        col!(session_columns::first_use, |i| opt_time(u.first[*i])),
        col!(session_columns::last_use, |i| opt_time(u.last[*i])),
        col!(session_columns::issuance_event_ids, |i| s(i)
            .issuance
            .iter()
            .filter_map(|e| e.event_id.clone())
            .collect::<Vec<_>>()
            .join(";")),
    ];
    Ok(DataFrame::new(idx.len(), cols)?)
}

/// The `chains` listing: one row per distinct (origin, chain) path.
pub fn chains_frame(graph: &SessionGraph, u: &Usage, f: &SessionFilter) -> Result<DataFrame> {
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
    for (i, s) in graph.sessions.iter().enumerate() {
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
        col!(chain_columns::origin, |(k, _)| k.0.clone()),
        col!(chain_columns::chain, |(k, _)| k.1.clone()),
        col!(chain_columns::depth, |(k, _)| k.1.split('>').count() as u32),
        col!(chain_columns::sessions, |(_, a)| a.sessions),
        col!(chain_columns::events, |(_, a)| a.events),
        col!(chain_columns::first_seen, |(_, a)| opt_time(a.first)),
        col!(chain_columns::last_seen, |(_, a)| opt_time(a.last)),
        col!(chain_columns::accounts, |(_, a)| a
            .accounts
            .iter()
            .cloned()
            .collect::<Vec<_>>()
            .join(";")),
        col!(chain_columns::confidence, |(_, a)| a
            .confidence
            .map(|c| c.as_str().to_string())),
        col!(chain_columns::cross_account, |(_, a)| a.cross),
        col!(chain_columns::cycle, |(_, a)| a.cycle),
    ];
    Ok(DataFrame::new(rows.len(), cols)?)
}

// The answers of `who` and `trace` are typed. Their JSON (`--format json`) is their serde
// serialisation: every struct below declares its fields in alphabetical order, the order the
// JSON has always had (it was built as `serde_json::Value` maps, which sort their keys), and
// `tests::json_keys_sorted` checks it. Text is rendered by `trailgraph_output::text`.

/// `Some(t)` as `2024-03-01T12:00:00Z`, `None` as null.
fn time_json<S: Serializer>(t: &Option<Millis>, s: S) -> std::result::Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&format_time(*t)),
        None => s.serialize_none(),
    }
}

fn confidence_json<S: Serializer>(c: &Confidence, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(c.as_str())
}

fn kind_json<S: Serializer>(
    k: &Option<IssuanceKind>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    match k {
        Some(k) => s.serialize_str(k.as_str()),
        None => s.serialize_none(),
    }
}

/// One event's fields, as `who` shows them (null where the log has none).
#[derive(Debug, Clone, Serialize)]
pub struct EventFields {
    pub access_key_id: Option<String>,
    pub aws_region: Option<String>,
    pub error_code: Option<String>,
    pub event_id: Option<String>,
    pub event_name: Option<String>,
    pub event_source: Option<String>,
    #[serde(serialize_with = "time_json")]
    pub event_time: Option<Millis>,
    pub identity_arn: Option<String>,
    pub identity_type: Option<String>,
    pub read_only: Option<bool>,
    pub recipient_account: Option<String>,
    pub record_index: Option<u64>,
    pub source_file: Option<String>,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
}

impl EventFields {
    fn read(frames: &Frames, row: usize) -> Result<EventFields> {
        let c = Cols::new(&frames.events);
        let s = |n: &str| -> Result<Option<String>> { Ok(c.s(n)?.get(row).map(String::from)) };
        Ok(EventFields {
            access_key_id: s(event::access_key_id)?,
            aws_region: s(event::aws_region)?,
            error_code: s(event::error_code)?,
            event_id: s(event::event_id)?,
            event_name: s(event::event_name)?,
            event_source: s(event::event_source)?,
            event_time: c.t(event::event_time)?.get(row),
            identity_arn: s(event::identity_arn)?,
            identity_type: s(event::identity_type)?,
            read_only: c.b(event::read_only)?.get(row),
            recipient_account: s(event::recipient_account)?,
            record_index: c.u(event::record_index)?.get(row),
            source_file: s(event::source_file)?,
            source_ip: s(event::source_ip)?,
            user_agent: s(event::user_agent)?,
        })
    }
}

/// The identity that called the issuance of a session.
#[derive(Debug, Clone, Serialize)]
pub struct Caller {
    pub access_key_id: Option<String>,
    pub account: Option<String>,
    pub arn: Option<String>,
    pub principal_id: Option<String>,
    /// userIdentity.type.
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

/// An issuance event that proves a session (one per copy of a cross-account call).
#[derive(Debug, Clone, Serialize)]
pub struct IssuanceEvidence {
    pub event_id: Option<String>,
    pub recipient_account: Option<String>,
    pub record_index: u64,
    pub source_file: Option<String>,
}

/// One hop of a provenance chain: a session and how it was issued.
#[derive(Debug, Clone, Serialize)]
pub struct Hop {
    pub account: Option<String>,
    pub caller: Caller,
    /// The role of this session already appears higher up the chain.
    pub cycle: bool,
    pub evidence: Vec<IssuanceEvidence>,
    #[serde(serialize_with = "time_json")]
    pub expires_at: Option<Millis>,
    /// False for a session synthesised from its own events (issuance not in the input).
    pub issuance_in_input: bool,
    #[serde(serialize_with = "time_json")]
    pub issued_at: Option<Millis>,
    pub issued_key: Option<String>,
    #[serde(serialize_with = "kind_json")]
    pub kind: Option<IssuanceKind>,
    /// Confidence of the link from this session to its caller.
    #[serde(serialize_with = "confidence_json")]
    pub link: Confidence,
    pub mfa: bool,
    pub role_arn: Option<String>,
    pub session_arn: Option<String>,
    pub session_id: String,
    pub session_name: Option<String>,
    pub source_identity: Option<String>,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
}

impl Hop {
    fn of(s: &Session) -> Hop {
        let link = match &s.caller {
            Link::Session(_, c) | Link::Origin(_, c) => *c,
        };
        Hop {
            account: s.account.clone(),
            caller: Caller {
                access_key_id: s.caller_identity.access_key_id.clone(),
                account: s.caller_identity.account.clone(),
                arn: s.caller_identity.arn.clone(),
                principal_id: s.caller_identity.principal_id.clone(),
                kind: s.caller_identity.kind.clone(),
            },
            cycle: s.cycle,
            evidence: s
                .issuance
                .iter()
                .map(|e| IssuanceEvidence {
                    event_id: e.event_id.clone(),
                    recipient_account: e.recipient_account.clone(),
                    record_index: e.record_index,
                    source_file: e.source_file.clone(),
                })
                .collect(),
            expires_at: s.expiration,
            issuance_in_input: !s.orphan,
            issued_at: s.issued_at,
            issued_key: s.issued_key.clone(),
            kind: s.kind,
            link,
            mfa: s.mfa,
            role_arn: s.role_arn.clone(),
            session_arn: s.session_arn.clone(),
            session_id: s.id.clone(),
            session_name: s.session_name.clone(),
            source_identity: s.source_identity.clone(),
            source_ip: s.source_ip.clone(),
            user_agent: s.user_agent.clone(),
        }
    }
}

/// Who is behind a session or an event: the origin, then every hop down to the session.
#[derive(Debug, Clone, Serialize)]
pub struct Provenance {
    /// The chain of roles, `>`-separated (empty without a session).
    pub chain: String,
    #[serde(serialize_with = "confidence_json")]
    pub confidence: Confidence,
    pub depth: usize,
    /// Origin first; empty for an event signed without a session.
    pub hops: Vec<Hop>,
    pub origin: String,
    pub source_identity: Option<String>,
}

impl Provenance {
    /// The provenance of session `s`.
    fn of_session(at: &Attributed, s: usize) -> Provenance {
        let path = at.graph.ancestry(s);
        let top = &at.graph.sessions[path[0]];
        let se = &at.graph.sessions[s];
        Provenance {
            chain: se.chain.join(">"),
            confidence: se.confidence,
            depth: se.chain.len(),
            hops: path
                .iter()
                .map(|&i| Hop::of(&at.graph.sessions[i]))
                .collect(),
            origin: top.origin.clone(),
            source_identity: se.source_identity.clone(),
        }
    }

    /// The provenance of an event: its session's, or its origin's when it has none.
    fn of_event(at: &Attributed, a: &Attribution) -> Provenance {
        match a.session {
            Some(s) => Provenance::of_session(at, s),
            None => Provenance {
                chain: String::new(),
                confidence: a.confidence,
                depth: 0,
                hops: Vec::new(),
                origin: a.origin.clone(),
                source_identity: a.source_identity.clone(),
            },
        }
    }
}

/// The attribution of one event.
#[derive(Debug, Clone, Serialize)]
pub struct EventAttribution {
    pub chain: String,
    #[serde(serialize_with = "confidence_json")]
    pub confidence: Confidence,
    pub depth: usize,
    pub origin: String,
    pub session_id: Option<String>,
    pub source_identity: Option<String>,
}

/// One thing `who` found for an id. JSON: an object whose `match` is `event`, `session` or
/// `principal`.
#[derive(Debug, Clone)]
pub enum WhoMatch {
    /// The id is an event id (both copies of a cross-account event match).
    Event {
        event: EventFields,
        attribution: EventAttribution,
        provenance: Provenance,
    },
    /// The id is an issued key, a session ARN or a session id.
    Session { provenance: Provenance },
    /// The id is a principalId or a long-term key seen on events: one match per distinct
    /// attribution behind it, with an example event.
    Principal {
        example_event: EventFields,
        provenance: Provenance,
    },
}

impl WhoMatch {
    pub fn provenance(&self) -> &Provenance {
        match self {
            WhoMatch::Event { provenance, .. }
            | WhoMatch::Session { provenance }
            | WhoMatch::Principal { provenance, .. } => provenance,
        }
    }
}

impl Serialize for WhoMatch {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        // Keys in alphabetical order, as everywhere in the JSON answers.
        match self {
            WhoMatch::Event {
                event,
                attribution,
                provenance,
            } => {
                let mut m = s.serialize_struct("WhoMatch", 4)?;
                m.serialize_field("attribution", attribution)?;
                m.serialize_field("event", event)?;
                m.serialize_field("match", "event")?;
                m.serialize_field("provenance", provenance)?;
                m.end()
            }
            WhoMatch::Session { provenance } => {
                let mut m = s.serialize_struct("WhoMatch", 2)?;
                m.serialize_field("match", "session")?;
                m.serialize_field("provenance", provenance)?;
                m.end()
            }
            WhoMatch::Principal {
                example_event,
                provenance,
            } => {
                let mut m = s.serialize_struct("WhoMatch", 3)?;
                m.serialize_field("example_event", example_event)?;
                m.serialize_field("match", "principal")?;
                m.serialize_field("provenance", provenance)?;
                m.end()
            }
        }
    }
}

/// What `who` found for an id.
#[derive(Debug, Clone, Serialize)]
pub struct WhoAnswer {
    pub matches: Vec<WhoMatch>,
    pub query: String,
}

/// The events columns `who` reads.
pub const WHO_COLUMNS: &[&str] = &[
    event::event_name,
    event::event_source,
    event::aws_region,
    event::source_ip,
    event::user_agent,
    event::read_only,
    event::error_code,
];

/// Event rows `who` may need to attribute for `id`: those whose eventID, principalId or access
/// key id is `id`.
pub fn who_rows(frames: &Frames, id: &str) -> Result<Vec<usize>> {
    let c = Cols::new(&frames.events);
    let (eid, pid, key) = (
        c.s(event::event_id)?,
        c.s(event::principal_id)?,
        c.s(event::access_key_id)?,
    );
    Ok((0..frames.events.height())
        .filter(|&r| eid.get(r) == Some(id) || pid.get(r) == Some(id) || key.get(r) == Some(id))
        .collect())
}

/// Finds events, sessions or principals matching `id` and explains who is behind each.
pub fn who(frames: &Frames, at: &Attributed, id: &str) -> Result<WhoAnswer> {
    let c = Cols::new(&frames.events);
    let eid = c.s(event::event_id)?;
    let mut matches = Vec::new();
    // 1. An event id (both cross-account copies match).
    for (row, e) in eid.iter().enumerate() {
        if e == Some(id) {
            let a = at.of(row);
            matches.push(WhoMatch::Event {
                event: EventFields::read(frames, row)?,
                attribution: EventAttribution {
                    chain: a.chain_string(),
                    confidence: a.confidence,
                    depth: a.depth(),
                    origin: a.origin.clone(),
                    session_id: a.session.map(|s| at.graph.sessions[s].id.clone()),
                    source_identity: a.source_identity.clone(),
                },
                provenance: Provenance::of_event(at, a),
            });
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
            matches.push(WhoMatch::Session {
                provenance: Provenance::of_session(at, s),
            });
        }
    }
    // 3. A principalId or a long-term key seen on events: the distinct attributions behind it.
    if matches.is_empty() {
        let pid = c.s(event::principal_id)?;
        let key = c.s(event::access_key_id)?;
        let mut seen = BTreeSet::new();
        for row in 0..frames.events.height() {
            if pid.get(row) == Some(id) || key.get(row) == Some(id) {
                let a = at.of(row);
                if seen.insert((a.session, a.origin.clone())) {
                    matches.push(WhoMatch::Principal {
                        example_event: EventFields::read(frames, row)?,
                        provenance: Provenance::of_event(at, a),
                    });
                }
            }
        }
    }
    Ok(WhoAnswer {
        matches,
        query: id.to_string(),
    })
}
/// The target of a `trace`.
pub enum TraceTarget {
    Origin(String),
    Sessions(Vec<usize>),
}

/// Resolves a trace argument: an origin string, an access key id, or an IAM user ARN.
pub fn trace_target(scan: &Scan, arg: &str) -> Result<Option<TraceTarget>> {
    if scan.graph.origins().contains(&arg) || scan.table.iter().any(|a| a.origin == arg) {
        return Ok(Some(TraceTarget::Origin(arg.to_string())));
    }
    let ss = scan.graph.sessions_with_key(arg);
    if !ss.is_empty() {
        return Ok(Some(TraceTarget::Sessions(ss)));
    }
    // A long-term key: the origin of the first event (in input order) it signed.
    let mut first: Option<((u64, u64), u32)> = None;
    scan.for_each(&[event::access_key_id], |sl| {
        let key = Cols::new(sl.events).s(event::access_key_id)?;
        for (i, k) in key.iter().enumerate() {
            if k == Some(arg) {
                let p = sl.position(i);
                if first.is_none_or(|(q, _)| p < q) {
                    first = Some((p, sl.attribution(i)));
                }
            }
        }
        Ok(())
    })?;
    Ok(first.map(|(_, a)| TraceTarget::Origin(scan.table[a as usize].origin.clone())))
}

/// One session of a trace.
#[derive(Debug, Clone, Serialize)]
pub struct TraceSession {
    pub account: Option<String>,
    #[serde(serialize_with = "confidence_json")]
    pub confidence: Confidence,
    pub cross_account: bool,
    pub depth: usize,
    #[serde(serialize_with = "time_json")]
    pub expires_at: Option<Millis>,
    #[serde(serialize_with = "time_json")]
    pub issued_at: Option<Millis>,
    /// The session id of the parent session.
    pub parent: Option<String>,
    pub role_arn: Option<String>,
    pub session_id: String,
}

/// One event of a trace's timeline.
#[derive(Debug, Clone, Serialize)]
pub struct TraceEvent {
    pub aws_region: Option<String>,
    pub chain: String,
    pub error_code: Option<String>,
    pub event_id: Option<String>,
    pub event_name: Option<String>,
    pub event_source: Option<String>,
    #[serde(serialize_with = "time_json")]
    pub event_time: Option<Millis>,
    /// readOnly is false.
    pub mutating: bool,
    pub recipient_account: Option<String>,
    pub session_id: Option<String>,
    pub source_ip: Option<String>,
}

/// The blast radius of an identity.
#[derive(Debug, Serialize)]
pub struct Trace {
    /// Every account reached: the sessions' accounts and the events' recipient accounts.
    pub accounts: BTreeSet<String>,
    /// Events on the timeline.
    pub events: usize,
    pub mutating_events: u64,
    pub roles: BTreeSet<String>,
    /// The sessions descending from the target, in session order.
    pub sessions: Vec<TraceSession>,
    /// The origin, or the `;`-separated ids of the target sessions.
    pub target: String,
    /// Every action they took, by time (then event id).
    pub timeline: TraceTimeline,
}

/// The events of a trace by time, then event id (events without a time last, in input order),
/// kept in a temporary file: a trace of a busy origin holds every one of its events. Read once,
/// by `for_each` or by serialising it.
pub struct TraceTimeline {
    spill: std::cell::RefCell<Option<Spill>>,
}

impl std::fmt::Debug for TraceTimeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TraceTimeline")
    }
}

impl TraceTimeline {
    /// A timeline of `events` (in any order).
    pub fn of(events: Vec<TraceEvent>) -> Result<TraceTimeline> {
        let mut run: Vec<(Key, Vec<u8>)> = events
            .iter()
            .enumerate()
            .map(|(i, e)| {
                (
                    trace_key(e.event_time, (0, i as u64)),
                    encode_trace_event(e),
                )
            })
            .collect();
        run.sort_by_key(|(k, _)| *k);
        let mut spill = Spill::new()?;
        spill.run(run.iter().map(|(k, p)| (*k, &p[..])))?;
        Ok(TraceTimeline {
            spill: std::cell::RefCell::new(Some(spill)),
        })
    }

    /// Hands each event to `f`, in timeline order. Once: a second call sees no events.
    pub fn for_each(&self, mut f: impl FnMut(&TraceEvent) -> Result<()>) -> Result<()> {
        let Some(spill) = self.spill.borrow_mut().take() else {
            return Ok(());
        };
        // Events at the same time (in input order from the merge) go out by event id.
        let mut same: Vec<TraceEvent> = Vec::new();
        let flush = |same: &mut Vec<TraceEvent>, f: &mut dyn FnMut(&TraceEvent) -> Result<()>| {
            same.sort_by(|a, b| a.event_id.cmp(&b.event_id));
            for e in same.drain(..) {
                f(&e)?;
            }
            Ok::<(), anyhow::Error>(())
        };
        spill.merge(|row| {
            let e = decode_trace_event(row)?;
            if same
                .first()
                .is_some_and(|s| s.event_time != e.event_time || e.event_time.is_none())
            {
                flush(&mut same, &mut f)?;
            }
            same.push(e);
            Ok(())
        })?;
        flush(&mut same, &mut f)
    }
}

impl Serialize for TraceTimeline {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::{Error, SerializeSeq};
        let mut seq = s.serialize_seq(None)?;
        let mut failed: Option<S::Error> = None;
        let r = self.for_each(|e| {
            seq.serialize_element(e).map_err(|err| {
                let msg = err.to_string();
                failed = Some(err);
                anyhow::anyhow!(msg)
            })
        });
        if let Some(e) = failed {
            return Err(e);
        }
        r.map_err(S::Error::custom)?;
        seq.end()
    }
}

/// The merge key of a timeline event: by time (nulls last), then input position.
fn trace_key(t: Option<Millis>, position: (u64, u64)) -> Key {
    (t.is_none(), t.unwrap_or(0), position.0, position.1)
}

fn put_str(buf: &mut Vec<u8>, s: &Option<String>) {
    match s {
        None => buf.extend_from_slice(&u32::MAX.to_le_bytes()),
        Some(s) => {
            buf.extend_from_slice(&(s.len() as u32).to_le_bytes());
            buf.extend_from_slice(s.as_bytes());
        }
    }
}

fn get_str(buf: &mut &[u8]) -> Result<Option<String>> {
    anyhow::ensure!(buf.len() >= 4, "a trace event cut short");
    let n = u32::from_le_bytes(buf[..4].try_into().expect("4 bytes"));
    *buf = &buf[4..];
    if n == u32::MAX {
        return Ok(None);
    }
    let n = n as usize;
    anyhow::ensure!(buf.len() >= n, "a trace event cut short");
    let s = std::str::from_utf8(&buf[..n])?.to_string();
    *buf = &buf[n..];
    Ok(Some(s))
}

fn encode_trace_event(e: &TraceEvent) -> Vec<u8> {
    let mut b = Vec::with_capacity(256);
    for s in [
        &e.aws_region,
        &Some(e.chain.clone()),
        &e.error_code,
        &e.event_id,
        &e.event_name,
        &e.event_source,
        &e.recipient_account,
        &e.session_id,
        &e.source_ip,
    ] {
        put_str(&mut b, s);
    }
    b.push(u8::from(e.event_time.is_some()));
    b.extend_from_slice(&e.event_time.unwrap_or(0).to_le_bytes());
    b.push(u8::from(e.mutating));
    b
}

fn decode_trace_event(mut b: &[u8]) -> Result<TraceEvent> {
    let buf = &mut b;
    let aws_region = get_str(buf)?;
    let chain = get_str(buf)?.unwrap_or_default();
    let (error_code, event_id, event_name, event_source) =
        (get_str(buf)?, get_str(buf)?, get_str(buf)?, get_str(buf)?);
    let (recipient_account, session_id, source_ip) = (get_str(buf)?, get_str(buf)?, get_str(buf)?);
    anyhow::ensure!(buf.len() == 10, "a trace event of the wrong length");
    let t = i64::from_le_bytes(buf[1..9].try_into().expect("8 bytes"));
    Ok(TraceEvent {
        aws_region,
        chain,
        error_code,
        event_id,
        event_name,
        event_source,
        event_time: (buf[0] != 0).then_some(t),
        mutating: buf[9] != 0,
        recipient_account,
        session_id,
        source_ip,
    })
}

/// Blast radius: every session descending from the target, every account and role reached, and
/// the timeline of every action they took.
pub fn trace(
    scan: &Scan,
    target: &TraceTarget,
    since: Option<Millis>,
    until: Option<Millis>,
) -> Result<Trace> {
    let graph = &scan.graph;
    let sessions: Vec<usize> = match target {
        TraceTarget::Origin(o) => graph.sessions_of_origin(o),
        TraceTarget::Sessions(ss) => {
            let mut v: Vec<usize> = ss.clone();
            for &s in ss {
                v.extend(graph.descendants(s));
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
    let mut accounts = BTreeSet::new();
    let mut roles = BTreeSet::new();
    let mut mutating = 0u64;
    let mut events = 0usize;
    for s in &sessions {
        let se = &graph.sessions[*s];
        if let Some(a) = &se.account {
            accounts.insert(a.clone());
        }
        if let Some(r) = &se.role_arn {
            roles.insert(r.clone());
        }
    }
    let mut spill = Spill::new()?;
    let columns = [
        event::event_time,
        event::event_name,
        event::event_source,
        event::recipient_account,
        event::aws_region,
        event::source_ip,
        event::read_only,
        event::error_code,
        event::event_id,
    ];
    scan.for_each(&columns, |sl| {
        let c = Cols::new(sl.events);
        let (et, name, src, acct, region, ip, ro, err, eid) = (
            c.t(event::event_time)?,
            c.s(event::event_name)?,
            c.s(event::event_source)?,
            c.s(event::recipient_account)?,
            c.s(event::aws_region)?,
            c.s(event::source_ip)?,
            c.b(event::read_only)?,
            c.s(event::error_code)?,
            c.s(event::event_id)?,
        );
        let own = |v: Option<&str>| v.map(String::from);
        let mut run: Vec<(Key, Vec<u8>)> = Vec::new();
        for row in 0..sl.height() {
            let a = sl.of(row);
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
            events += 1;
            let e = TraceEvent {
                aws_region: own(region.get(row)),
                chain: a.chain_string(),
                error_code: own(err.get(row)),
                event_id: own(eid.get(row)),
                event_name: own(name.get(row)),
                event_source: own(src.get(row)),
                event_time: t,
                mutating: mutates,
                recipient_account: own(acct.get(row)),
                session_id: a.session.map(|s| graph.sessions[s].id.clone()),
                source_ip: own(ip.get(row)),
            };
            run.push((trace_key(t, sl.position(row)), encode_trace_event(&e)));
        }
        run.sort_by_key(|(k, _)| *k);
        spill.run(run.iter().map(|(k, p)| (*k, &p[..])))
    })?;
    let tree: Vec<TraceSession> = sessions
        .iter()
        .map(|&s| {
            let se = &graph.sessions[s];
            TraceSession {
                account: se.account.clone(),
                confidence: se.confidence,
                cross_account: is_cross_account(se),
                depth: se.chain.len(),
                expires_at: se.expiration,
                issued_at: se.issued_at,
                parent: se.parent.map(|p| graph.sessions[p].id.clone()),
                role_arn: se.role_arn.clone(),
                session_id: se.id.clone(),
            }
        })
        .collect();
    Ok(Trace {
        accounts,
        events,
        mutating_events: mutating,
        roles,
        sessions: tree,
        target: match target {
            TraceTarget::Origin(o) => o.clone(),
            TraceTarget::Sessions(ss) => ss
                .iter()
                .map(|&s| graph.sessions[s].id.clone())
                .collect::<Vec<_>>()
                .join(";"),
        },
        timeline: TraceTimeline {
            spill: std::cell::RefCell::new(Some(spill)),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The JSON of `x` as serde writes it and as a `serde_json::Value` (sorted keys) writes it.
    fn assert_keys_sorted<T: Serialize>(x: &T) {
        let direct = serde_json::to_string_pretty(x).unwrap();
        let value = serde_json::to_string_pretty(&serde_json::to_value(x).unwrap()).unwrap();
        assert_eq!(direct, value);
    }

    fn event() -> EventFields {
        EventFields {
            access_key_id: Some("AKIA".into()),
            aws_region: Some("us-east-1".into()),
            error_code: None,
            event_id: Some("e1".into()),
            event_name: Some("GetObject".into()),
            event_source: Some("s3.amazonaws.com".into()),
            event_time: Some(0),
            identity_arn: None,
            identity_type: Some("IAMUser".into()),
            read_only: Some(true),
            recipient_account: Some("111111111111".into()),
            record_index: Some(3),
            source_file: Some("f.json".into()),
            source_ip: None,
            user_agent: None,
        }
    }

    fn provenance() -> Provenance {
        Provenance {
            chain: "arn:aws:iam::1:role/a".into(),
            confidence: Confidence::Exact,
            depth: 1,
            hops: vec![Hop {
                account: Some("1".into()),
                caller: Caller {
                    access_key_id: None,
                    account: Some("1".into()),
                    arn: Some("arn:aws:iam::1:user/u".into()),
                    principal_id: None,
                    kind: Some("IAMUser".into()),
                },
                cycle: false,
                evidence: vec![IssuanceEvidence {
                    event_id: Some("e0".into()),
                    recipient_account: None,
                    record_index: 0,
                    source_file: Some("f.json".into()),
                }],
                expires_at: Some(1),
                issuance_in_input: true,
                issued_at: None,
                issued_key: Some("ASIA".into()),
                kind: Some(IssuanceKind::ALL[0]),
                link: Confidence::Exact,
                mfa: true,
                role_arn: None,
                session_arn: None,
                session_id: "ASIA@x".into(),
                session_name: None,
                source_identity: None,
                source_ip: None,
                user_agent: None,
            }],
            origin: "arn:aws:iam::1:user/u".into(),
            source_identity: None,
        }
    }

    /// The answers' fields are declared in alphabetical order: their JSON is what it was when
    /// they were `serde_json::Value` maps.
    #[test]
    fn json_keys_sorted() {
        // Value maps sort their keys (serde_json without `preserve_order`).
        let v = serde_json::json!({"b": 1, "a": 2});
        assert_eq!(serde_json::to_string(&v).unwrap(), r#"{"a":2,"b":1}"#);
        let who = WhoAnswer {
            matches: vec![
                WhoMatch::Event {
                    event: event(),
                    attribution: EventAttribution {
                        chain: String::new(),
                        confidence: Confidence::Exact,
                        depth: 0,
                        origin: "o".into(),
                        session_id: None,
                        source_identity: Some("s".into()),
                    },
                    provenance: provenance(),
                },
                WhoMatch::Session {
                    provenance: provenance(),
                },
                WhoMatch::Principal {
                    example_event: event(),
                    provenance: provenance(),
                },
            ],
            query: "q".into(),
        };
        assert_keys_sorted(&who);
        let trace = || Trace {
            accounts: ["1".to_string()].into(),
            events: 1,
            mutating_events: 0,
            roles: BTreeSet::new(),
            sessions: vec![TraceSession {
                account: None,
                confidence: Confidence::Exact,
                cross_account: false,
                depth: 1,
                expires_at: None,
                issued_at: Some(0),
                parent: None,
                role_arn: None,
                session_id: "s".into(),
            }],
            target: "t".into(),
            timeline: TraceTimeline::of(vec![TraceEvent {
                aws_region: None,
                chain: String::new(),
                error_code: None,
                event_id: Some("e".into()),
                event_name: None,
                event_source: None,
                event_time: Some(0),
                mutating: true,
                recipient_account: None,
                session_id: None,
                source_ip: None,
            }])
            .unwrap(),
        };
        // The timeline is read once: serialise two copies.
        let (direct, value) = (trace(), trace());
        assert_eq!(
            serde_json::to_string_pretty(&direct).unwrap(),
            serde_json::to_string_pretty(&serde_json::to_value(&value).unwrap()).unwrap()
        );
        assert!(serde_json::to_string(&direct)
            .unwrap()
            .contains("\"timeline\":[]"));
    }

    #[test]
    fn trace_timeline_by_time_then_event_id() {
        let ev = |t: Option<i64>, id: &str| TraceEvent {
            aws_region: Some("r".into()),
            chain: "a>b".into(),
            error_code: None,
            event_id: Some(id.into()),
            event_name: Some("N".into()),
            event_source: None,
            event_time: t,
            mutating: id.starts_with('m'),
            recipient_account: None,
            session_id: Some("s".into()),
            source_ip: None,
        };
        // Input order: late, untimed, ties at 5 in reverse id order, early.
        let tl = TraceTimeline::of(vec![
            ev(Some(9), "a"),
            ev(None, "z"),
            ev(Some(5), "c"),
            ev(Some(5), "b"),
            ev(None, "y"),
            ev(Some(5), "m1"),
            ev(Some(1), "x"),
        ])
        .unwrap();
        let mut got = Vec::new();
        tl.for_each(|e| {
            got.push((
                e.event_time,
                e.event_id.clone().unwrap(),
                e.mutating,
                e.chain.clone(),
            ));
            Ok(())
        })
        .unwrap();
        let order: Vec<(Option<i64>, &str)> =
            got.iter().map(|(t, id, _, _)| (*t, id.as_str())).collect();
        assert_eq!(
            order,
            [
                (Some(1), "x"),
                (Some(5), "b"),
                (Some(5), "c"),
                (Some(5), "m1"),
                (Some(9), "a"),
                // Untimed last, in input order.
                (None, "z"),
                (None, "y"),
            ]
        );
        assert!(got.iter().all(|g| g.3 == "a>b"));
        assert!(got.iter().any(|g| g.2));
        // Read once.
        let mut again = 0;
        tl.for_each(|_| {
            again += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(again, 0);
    }
}
