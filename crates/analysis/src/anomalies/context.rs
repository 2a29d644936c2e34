//! What every detector is given (`Context`: the attributed input and the facts several
//! detectors need, computed once) and where its findings go (`Out`, which drops what the
//! allow-lists cover and stamps each finding with the detector's kind and severity), plus the
//! helpers the detectors share for subjects, evidence and explanations.

use super::config::{Allow, Config};
use super::events::{Position, Rows};
use super::values::glob;
use super::{baseline_end, net, Finding, Kind, Severity};
use anyhow::Result;
use polars::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};
use trailgraph_graph::attribute::Cols;
use trailgraph_graph::graph::{Attribution, Link, Session, SessionGraph};
use trailgraph_log::model::{arn_account, role_name, IssuanceKind, Millis, OriginKind};
use trailgraph_log::table::{event, issuance};

/// The input as the detectors see it. Built once per run, before any detector; the facts
/// (`baseline_end`, `recipients`, `denied`) are gathered in the pass over the events
/// (`Facts`) and set before any detector's `detect` or `Reader::finish` runs.
pub struct Context<'a> {
    /// The session graph (`sessions` is its sessions).
    pub graph: &'a SessionGraph,
    pub sessions: &'a [Session],
    /// The distinct attributions (what `Rows::attribution` indexes).
    pub table: &'a [Attribution],
    /// The issuance calls (denied ones too), by column.
    pub iss: IssCols<'a>,
    pub allow: &'a Allow,
    /// End of the learning period (None: no event has a time).
    pub baseline_end: Option<Millis>,
    /// Accounts whose logs are in the input (the events' recipient accounts).
    pub recipients: FxHashSet<String>,
    /// Denied AssumeRole events: (recipient, event id) → attribution index.
    pub denied: FxHashMap<(String, String), u32>,
}

impl<'a> Context<'a> {
    /// The context before the pass over the events (no facts yet). `issuances` is the frame
    /// with one chunk per column.
    pub fn new(
        graph: &'a SessionGraph,
        table: &'a [Attribution],
        issuances: &'a DataFrame,
        cfg: &'a Config,
    ) -> Result<Context<'a>> {
        Ok(Context {
            graph,
            sessions: &graph.sessions,
            table,
            iss: IssCols::new(issuances)?,
            allow: &cfg.allow,
            baseline_end: None,
            recipients: FxHashSet::default(),
            denied: FxHashMap::default(),
        })
    }

    /// The facts gathered from the events.
    pub fn set_facts(&mut self, f: Facts, cfg: &Config) {
        self.baseline_end = baseline_end(cfg, f.min_time, f.max_time);
        self.recipients = f.recipients;
        self.denied = f.denied.into_iter().map(|(k, (_, a))| (k, a)).collect();
    }
}

/// The facts several detectors need, gathered a slice at a time: the time span, the recipient
/// accounts, the denied AssumeRole events (a few per cent of the events at most). Memory grows
/// with accounts and denied calls, not with events.
#[derive(Default)]
pub struct Facts {
    min_time: Option<Millis>,
    max_time: Option<Millis>,
    recipients: FxHashSet<String>,
    /// (recipient, event id) → (position, attribution index); the last in canonical order wins.
    denied: FxHashMap<(String, String), (Position, u32)>,
}

impl Facts {
    /// The events columns `visit` reads.
    pub const COLUMNS: &'static [&'static str] = &[
        event::event_time,
        event::event_id,
        event::recipient_account,
        event::event_source,
        event::event_name,
        event::error_code,
    ];

    pub fn visit(&mut self, rows: &Rows) -> Result<()> {
        let c = Cols::new(rows.events);
        let times = c.t(event::event_time)?;
        let eids = c.s(event::event_id)?;
        let rcpt = c.s(event::recipient_account)?;
        let src = c.s(event::event_source)?;
        let names = c.s(event::event_name)?;
        let errs = c.s(event::error_code)?;
        let mut last_recip: &str = "\u{0}";
        for i in 0..rows.height() {
            if let Some(r) = rcpt.get(i) {
                if r != last_recip {
                    if !self.recipients.contains(r) {
                        self.recipients.insert(r.to_string());
                    }
                    last_recip = r;
                }
            }
            let Some(t) = times.get(i) else {
                continue;
            };
            self.min_time = Some(self.min_time.map_or(t, |m| m.min(t)));
            self.max_time = Some(self.max_time.map_or(t, |m| m.max(t)));
            // Denied AssumeRole events (for the origin of enumeration findings).
            if errs.get(i).is_some()
                && names.get(i) == Some("AssumeRole")
                && src.get(i) == Some("sts.amazonaws.com")
            {
                if let Some(e) = eids.get(i) {
                    let (p, a) = (rows.position(i), rows.attribution(i));
                    let k = (rcpt.get(i).unwrap_or("").to_string(), e.to_string());
                    let v = self.denied.entry(k).or_insert((p, a));
                    if p > v.0 {
                        *v = (p, a);
                    }
                }
            }
        }
        Ok(())
    }
}

/// The issuances frame's columns.
pub(crate) struct IssCols<'a> {
    pub n: usize,
    pub kind: &'a StringChunked,
    pub eid: &'a StringChunked,
    pub time: &'a Int64Chunked,
    pub rcpt: &'a StringChunked,
    pub err: &'a StringChunked,
    pub ip: &'a StringChunked,
    pub carn: &'a StringChunked,
    pub cpid: &'a StringChunked,
    pub cacct: &'a StringChunked,
    pub ckey: &'a StringChunked,
    pub ccd: &'a Int64Chunked,
    pub role: &'a StringChunked,
}

impl<'a> IssCols<'a> {
    fn new(df: &'a DataFrame) -> Result<Self> {
        let c = Cols::new(df);
        Ok(IssCols {
            n: df.height(),
            kind: c.s(issuance::kind)?,
            eid: c.s(issuance::event_id)?,
            time: c.t(issuance::event_time)?,
            rcpt: c.s(issuance::recipient_account)?,
            err: c.s(issuance::error_code)?,
            ip: c.s(issuance::source_ip)?,
            carn: c.s(issuance::caller_arn)?,
            cpid: c.s(issuance::caller_principal_id)?,
            cacct: c.s(issuance::caller_account)?,
            ckey: c.s(issuance::caller_access_key_id)?,
            ccd: c.t(issuance::caller_creation_date)?,
            role: c.s(issuance::role_arn)?,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Findings and allow-lists

/// A finding before the detector's kind and severity are put on it.
pub(crate) struct Draft {
    pub subject: String,
    pub origin: String,
    pub first_event_id: String,
    pub time: Option<Millis>,
    pub event_ids: Vec<String>,
    pub explanation: String,
}

/// What an allow-list is checked against, per finding.
#[derive(Default)]
pub(crate) struct Involved<'a> {
    pub principals: Vec<&'a str>,
    pub roles: Vec<&'a str>,
    pub accounts: Vec<&'a str>,
    pub addresses: Vec<&'a str>,
}

/// Where one detector's findings go.
pub(crate) struct Out<'a> {
    kind: Kind,
    severity: Severity,
    allow: &'a Allow,
    found: &'a mut Vec<Finding>,
}

impl<'a> Out<'a> {
    pub fn new(
        kind: Kind,
        severity: Severity,
        allow: &'a Allow,
        found: &'a mut Vec<Finding>,
    ) -> Out<'a> {
        Out {
            kind,
            severity,
            allow,
            found,
        }
    }

    /// Adds a finding, unless the allow-lists cover something it involves.
    pub fn add(&mut self, inv: &Involved, d: Draft) {
        if self.allow.covers(inv) {
            return;
        }
        self.found.push(Finding {
            kind: self.kind,
            severity: self.severity,
            subject: d.subject,
            origin: d.origin,
            first_event_id: d.first_event_id,
            time: d.time,
            event_ids: d.event_ids,
            explanation: d.explanation,
        });
    }
}

impl Allow {
    fn covers(&self, inv: &Involved) -> bool {
        inv.principals
            .iter()
            .any(|p| self.principals.iter().any(|g| glob(g, p)))
            || inv.roles.iter().any(|r| self.role(r))
            || inv
                .accounts
                .iter()
                .any(|x| self.accounts.iter().any(|g| glob(g, x)))
            || inv.addresses.iter().any(|x| self.address(x))
    }

    /// Is the role (an ARN) allow-listed, by name or ARN?
    pub fn role(&self, role_arn: &str) -> bool {
        let name = role_name(role_arn);
        self.roles
            .iter()
            .any(|g| glob(g, name) || glob(g, role_arn))
    }

    /// Is the address text inside an allow-listed block?
    pub fn address(&self, addr: &str) -> bool {
        net::any_contains(&self.addresses, addr)
    }
}

// ---------------------------------------------------------------------------------------------
// Shared helpers

/// A role for explanations: `role Name in account 111111111111`.
pub(crate) fn role_disp(role_arn: &str) -> String {
    match arn_account(role_arn) {
        Some(a) => format!("role {} in account {a}", role_name(role_arn)),
        None => format!("role {}", role_name(role_arn)),
    }
}

/// `who` for explanations: the acting principal, plus its origin when that differs.
pub(crate) fn who_disp(principal: Option<&str>, origin: &str) -> String {
    match principal {
        Some(p) if p != origin && !origin.is_empty() => format!("{p} (origin {origin})"),
        Some(p) => p.to_string(),
        None => or_unknown(origin).to_string(),
    }
}

pub(crate) fn or_unknown(s: &str) -> &str {
    if s.is_empty() {
        "an unknown origin"
    } else {
        s
    }
}

/// The session's subject: its issued key, else its session id.
pub(crate) fn session_subject(s: &Session) -> String {
    s.issued_key.clone().unwrap_or_else(|| s.id.clone())
}

/// The issuance event ids of a session (both cross-account copies), in evidence order.
pub fn issuance_ids(s: &Session) -> impl Iterator<Item = String> + '_ {
    s.issuance.iter().filter_map(|e| e.event_id.clone())
}

pub(crate) fn first_issuance_id(s: &Session) -> String {
    issuance_ids(s).next().unwrap_or_default()
}

/// A finding on session `i` of a chain: its subject and origin, evidenced by the issuances of
/// every session down to it (what the chain detectors report).
pub(crate) fn chain_session_finding(
    out: &mut Out,
    graph: &SessionGraph,
    i: usize,
    explanation: String,
) {
    let s = &graph.sessions[i];
    out.add(
        &session_involved(s),
        Draft {
            subject: session_subject(s),
            origin: s.origin.clone(),
            first_event_id: first_issuance_id(s),
            time: s.issued_at,
            event_ids: ancestry_ids(graph, i),
            explanation,
        },
    );
}

/// The issuances of every session of the chain down to session `s`, top down.
pub(crate) fn ancestry_ids(graph: &SessionGraph, s: usize) -> Vec<String> {
    let mut v = Vec::new();
    for a in graph.ancestry(s) {
        for id in issuance_ids(&graph.sessions[a]) {
            push_unique(&mut v, id);
        }
    }
    v
}

pub(crate) fn push_unique(v: &mut Vec<String>, id: String) {
    if !id.is_empty() && !v.contains(&id) {
        v.push(id);
    }
}

pub(crate) fn caller_is_service(s: &Session) -> bool {
    s.parent.is_none()
        && matches!(&s.caller, Link::Origin(o, _) if OriginKind::of(o) == OriginKind::Service)
}

pub fn caller_account(s: &Session) -> Option<&str> {
    let c = &s.caller_identity;
    c.account
        .as_deref()
        .or_else(|| c.arn.as_deref().and_then(arn_account))
        .filter(|a| !a.is_empty())
}

/// The principal that made the issuance call (ARN, else principalId).
pub(crate) fn caller_principal(s: &Session) -> Option<&str> {
    s.caller_identity
        .arn
        .as_deref()
        .or(s.caller_identity.principal_id.as_deref())
}

pub fn is_role_assumption(s: &Session) -> bool {
    s.kind.is_some_and(IssuanceKind::is_role_assumption)
}

/// What a finding about a session involves: its origin, caller, role, accounts and address.
pub(crate) fn session_involved(s: &Session) -> Involved<'_> {
    let mut inv = Involved::default();
    if !s.origin.is_empty() {
        inv.principals.push(&s.origin);
    }
    if let Some(p) = caller_principal(s) {
        inv.principals.push(p);
    }
    if let Some(r) = &s.role_arn {
        inv.roles.push(r);
    }
    if let Some(a) = &s.account {
        inv.accounts.push(a);
    }
    if let Some(a) = caller_account(s) {
        inv.accounts.push(a);
    }
    if let Some(ip) = &s.source_ip {
        inv.addresses.push(ip);
    }
    inv
}
