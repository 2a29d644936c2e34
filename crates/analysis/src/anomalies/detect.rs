//! The eleven detectors. Session-level detectors walk `graph.sessions` (thousands), caller
//! detectors walk the issuances frame, and the three use-based detectors share one pass over
//! the events in time order that keeps a little state per session, key or workload: nothing
//! is allocated per event.

use super::config::Config;
use super::net::{self, AwsRanges, Class};
use super::values::glob;
use super::{baseline_end, Finding, Kind, Severity};
use anyhow::Result;
use polars::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};
use std::net::IpAddr;
use trailgraph_graph::attribute::{single_chunk, Attributed, Cols};
use trailgraph_graph::graph::{Link, Session};
use trailgraph_log::model::{arn_account, format_time, role_name, IssuanceKind, Millis};
use trailgraph_store::Frames;

const NONE: u32 = u32::MAX;

/// What an allow-list is checked against, per finding.
#[derive(Default)]
struct Involved<'a> {
    principals: Vec<&'a str>,
    roles: Vec<&'a str>,
    accounts: Vec<&'a str>,
    addresses: Vec<&'a str>,
}

impl Config {
    fn allowed(&self, inv: &Involved) -> bool {
        let a = &self.allow;
        inv.principals
            .iter()
            .any(|p| a.principals.iter().any(|g| glob(g, p)))
            || inv.roles.iter().any(|r| role_allowed(&a.roles, r))
            || inv
                .accounts
                .iter()
                .any(|x| a.accounts.iter().any(|g| glob(g, x)))
            || inv
                .addresses
                .iter()
                .any(|x| net::any_contains(&a.addresses, x))
    }
}

fn role_allowed(patterns: &[String], role_arn: &str) -> bool {
    let name = role_name(role_arn);
    patterns.iter().any(|g| glob(g, name) || glob(g, role_arn))
}

/// A role for explanations: `role Name in account 111111111111`.
fn role_disp(role_arn: &str) -> String {
    match arn_account(role_arn) {
        Some(a) => format!("role {} in account {a}", role_name(role_arn)),
        None => format!("role {}", role_name(role_arn)),
    }
}

/// `who` for explanations: the acting principal, plus its origin when that differs.
fn who_disp(principal: Option<&str>, origin: &str) -> String {
    match principal {
        Some(p) if p != origin && !origin.is_empty() => format!("{p} (origin {origin})"),
        Some(p) => p.to_string(),
        None => or_unknown(origin).to_string(),
    }
}

fn or_unknown(s: &str) -> &str {
    if s.is_empty() {
        "an unknown origin"
    } else {
        s
    }
}

/// The session's subject: its issued key, else its session id.
fn session_subject(s: &Session) -> String {
    s.issued_key.clone().unwrap_or_else(|| s.id.clone())
}

/// The issuance event ids of a session (both cross-account copies), in evidence order.
fn issuance_ids(s: &Session) -> impl Iterator<Item = String> + '_ {
    s.issuance.iter().filter_map(|e| e.event_id.clone())
}

fn first_issuance_id(s: &Session) -> String {
    issuance_ids(s).next().unwrap_or_default()
}

fn push_unique(v: &mut Vec<String>, id: String) {
    if !id.is_empty() && !v.contains(&id) {
        v.push(id);
    }
}

fn caller_is_service(s: &Session) -> bool {
    s.parent.is_none() && matches!(&s.caller, Link::Origin(o, _) if o.starts_with("service:"))
}

fn caller_account(s: &Session) -> Option<&str> {
    let c = &s.caller_identity;
    c.account
        .as_deref()
        .or_else(|| c.arn.as_deref().and_then(arn_account))
        .filter(|a| !a.is_empty())
}

/// The principal that made the issuance call (ARN, else principalId).
fn caller_principal(s: &Session) -> Option<&str> {
    s.caller_identity
        .arn
        .as_deref()
        .or(s.caller_identity.principal_id.as_deref())
}

fn is_role_assumption(s: &Session) -> bool {
    s.kind.is_some_and(IssuanceKind::is_role_assumption)
}

struct Out<'c> {
    cfg: &'c Config,
    v: Vec<Finding>,
}

impl Out<'_> {
    #[allow(clippy::too_many_arguments)]
    fn add(
        &mut self,
        kind: Kind,
        severity: Severity,
        inv: &Involved,
        subject: String,
        origin: &str,
        first_event_id: String,
        time: Option<Millis>,
        event_ids: Vec<String>,
        explanation: String,
    ) {
        if self.cfg.allowed(inv) {
            return;
        }
        self.v.push(Finding {
            kind,
            severity,
            subject,
            origin: origin.to_string(),
            first_event_id,
            time,
            event_ids,
            explanation,
        });
    }
}

/// Runs every enabled detector (unsorted).
pub(super) fn run(frames: &Frames, at: &Attributed, cfg: &Config) -> Result<Vec<Finding>> {
    let ranges = match &cfg.workload_credential_exfiltration.aws_ip_ranges {
        Some(p) if cfg.workload_credential_exfiltration.enabled => Some(AwsRanges::load(p)?),
        _ => None,
    };
    let ev = single_chunk(&frames.events);
    let iss = single_chunk(&frames.issuances);
    let mut out = Out { cfg, v: Vec::new() };
    let pass = event_pass(&ev, at, cfg, ranges.as_ref(), &mut out)?;
    let base = baseline_end(cfg, pass.min_time, pass.max_time);
    let sessions = &at.graph.sessions;
    if cfg.role_chain_depth.enabled {
        role_chain_depth(at, cfg, &mut out);
    }
    if cfg.role_cycle.enabled {
        role_cycle(at, &mut out);
    }
    if cfg.first_time_assumption.enabled {
        if let Some(b) = base {
            first_time_assumption(sessions, b, &mut out);
        }
    }
    if cfg.no_mfa_sensitive.enabled {
        no_mfa_sensitive(sessions, cfg, &mut out);
    }
    if cfg.off_hours.enabled {
        off_hours(sessions, cfg, &mut out);
    }
    if cfg.external_account_assumption.enabled {
        if let Some(b) = base {
            external_account(sessions, &pass.recipients, b, cfg, &mut out);
        }
    }
    let ic = IssCols::new(&iss)?;
    if cfg.assume_role_enumeration.enabled {
        assume_role_enumeration(&ic, &pass.denied_rows, at, cfg, &mut out);
    }
    if cfg.getsessiontoken_then_assume.enabled {
        gst_then_assume(&ic, sessions, &mut out);
    }
    Ok(out.v)
}

// ---------------------------------------------------------------------------------------------
// Session detectors

fn ancestry_ids(at: &Attributed, s: usize) -> Vec<String> {
    let mut v = Vec::new();
    for a in at.graph.ancestry(s) {
        for id in issuance_ids(&at.graph.sessions[a]) {
            push_unique(&mut v, id);
        }
    }
    v
}

fn session_involved(s: &Session) -> Involved<'_> {
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

/// 1. An issuance creating a session at chain depth exactly `min_depth`.
fn role_chain_depth(at: &Attributed, cfg: &Config, out: &mut Out) {
    let d = &cfg.role_chain_depth;
    for (i, s) in at.graph.sessions.iter().enumerate() {
        if s.kind.is_none() || s.chain.len() != d.min_depth {
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
        out.add(
            Kind::RoleChainDepth,
            d.severity,
            &session_involved(s),
            session_subject(s),
            &s.origin,
            first_issuance_id(s),
            s.issued_at,
            ancestry_ids(at, i),
            explanation,
        );
    }
}

/// 2. A role assumption whose role is already in the caller's chain, at the first repeat.
fn role_cycle(at: &Attributed, out: &mut Out) {
    let cfg = out.cfg;
    for (i, s) in at.graph.sessions.iter().enumerate() {
        if !is_role_assumption(s) || s.chain.len() < 2 {
            continue;
        }
        let (last, above) = s.chain.split_last().expect("len >= 2");
        if !above.contains(last) {
            continue;
        }
        // Only the first repeat of a chain: nothing above repeats.
        let mut seen = FxHashSet::default();
        if !above.iter().all(|r| seen.insert(r.as_str())) {
            continue;
        }
        let explanation = format!(
            "{} assumed {} again from a session whose chain already contains it ({}), a refresh loop that can outlive the one-hour role-chaining limit.",
            or_unknown(&s.origin),
            role_disp(last),
            s.chain.join(" > ")
        );
        out.add(
            Kind::RoleCycle,
            cfg.role_cycle.severity,
            &session_involved(s),
            session_subject(s),
            &s.origin,
            first_issuance_id(s),
            s.issued_at,
            ancestry_ids(at, i),
            explanation,
        );
    }
}

fn excluded_origin(o: &str) -> bool {
    o.is_empty() || o.starts_with("service:") || o.starts_with("unknown:")
}

/// 6. The first role assumption of an (origin, role) pair at or after the baseline end.
fn first_time_assumption(sessions: &[Session], base: Millis, out: &mut Out) {
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
    let cfg = out.cfg;
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
            Kind::FirstTimeAssumption,
            cfg.first_time_assumption.severity,
            &session_involved(s),
            origin.to_string(),
            origin,
            first_issuance_id(s),
            s.issued_at,
            issuance_ids(s).collect(),
            explanation,
        );
    }
}

/// 7. A successful AssumeRole of a sensitive role without MFA.
fn no_mfa_sensitive(sessions: &[Session], cfg: &Config, out: &mut Out) {
    let d = &cfg.no_mfa_sensitive;
    for s in sessions {
        if s.kind != Some(IssuanceKind::AssumeRole) || s.mfa || caller_is_service(s) {
            continue;
        }
        let Some(role) = s.role_arn.as_deref() else {
            continue;
        };
        let name = role_name(role);
        let Some(pat) = d.roles.iter().find(|g| glob(g, name)) else {
            continue;
        };
        let explanation = format!(
            "{} assumed the sensitive {} without MFA: no serialNumber in the request and the caller was not MFA-authenticated (the role name matches {pat:?}).",
            who_disp(caller_principal(s), &s.origin),
            role_disp(role)
        );
        out.add(
            Kind::NoMfaSensitive,
            d.severity,
            &session_involved(s),
            session_subject(s),
            &s.origin,
            first_issuance_id(s),
            s.issued_at,
            issuance_ids(s).collect(),
            explanation,
        );
    }
}

fn human_origin(o: &str) -> Option<&'static str> {
    if o.starts_with("saml:") {
        Some("SAML")
    } else if o.starts_with("idc:") {
        Some("Identity Center")
    } else if o.starts_with("arn:") && o.contains(":user/") {
        Some("IAM user")
    } else if o.starts_with("arn:") && o.ends_with(":root") {
        Some("root")
    } else {
        None
    }
}

/// 8. A role assumption made directly by an IAM user, root, or SAML/Identity Center origin
///    inside an off-hours window.
fn off_hours(sessions: &[Session], cfg: &Config, out: &mut Out) {
    let d = &cfg.off_hours;
    let off = d.timezone.offset_min as i64 * 60_000;
    for s in sessions {
        if !is_role_assumption(s) || s.chain.len() != 1 {
            continue;
        }
        let (Some(t), Some(what)) = (s.issued_at, human_origin(&s.origin)) else {
            continue;
        };
        let local = t + off;
        let days = local.div_euclid(86_400_000);
        let minute = (local.rem_euclid(86_400_000) / 60_000) as u32;
        let weekday = (days + 3).rem_euclid(7) as u32; // 1970-01-01 was a Thursday.
        let Some(w) = d.windows.iter().find(|w| w.contains(weekday, minute)) else {
            continue;
        };
        const NAMES: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
        let role = s.role_arn.as_deref().unwrap_or("?");
        let date = format_time(days * 86_400_000);
        let explanation = format!(
            "{what} {} assumed {} on {} {} {:02}:{:02} {}, inside the off-hours window {:?}.",
            s.origin,
            role_disp(role),
            NAMES[weekday as usize],
            &date[..10],
            minute / 60,
            minute % 60,
            d.timezone,
            w.text
        );
        out.add(
            Kind::OffHours,
            d.severity,
            &session_involved(s),
            s.origin.clone(),
            &s.origin,
            first_issuance_id(s),
            s.issued_at,
            issuance_ids(s).collect(),
            explanation,
        );
    }
}

/// 9. The first successful AssumeRole by a caller account whose logs are not in the input
///    and that is not known, when at or after the baseline end.
fn external_account(
    sessions: &[Session],
    recipients: &FxHashSet<String>,
    base: Millis,
    cfg: &Config,
    out: &mut Out,
) {
    let d = &cfg.external_account_assumption;
    let mut first: FxHashMap<&str, usize> = FxHashMap::default();
    for (i, s) in sessions.iter().enumerate() {
        if s.kind != Some(IssuanceKind::AssumeRole) || s.issued_at.is_none() {
            continue;
        }
        let Some(acct) = caller_account(s) else {
            continue;
        };
        if recipients.contains(acct) || d.known_accounts.iter().any(|k| k == acct) {
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
            Kind::ExternalAccountAssumption,
            d.severity,
            &inv,
            acct.to_string(),
            &s.origin,
            first_issuance_id(s),
            s.issued_at,
            issuance_ids(s).collect(),
            explanation,
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Issuance-call detectors

struct IssCols<'a> {
    n: usize,
    kind: &'a StringChunked,
    eid: &'a StringChunked,
    time: &'a Int64Chunked,
    rcpt: &'a StringChunked,
    err: &'a StringChunked,
    ip: &'a StringChunked,
    carn: &'a StringChunked,
    cpid: &'a StringChunked,
    cacct: &'a StringChunked,
    ckey: &'a StringChunked,
    ccd: &'a Int64Chunked,
    role: &'a StringChunked,
}

impl<'a> IssCols<'a> {
    fn new(df: &'a DataFrame) -> Result<Self> {
        let c = Cols::new(df);
        Ok(IssCols {
            n: df.height(),
            kind: c.s("kind")?,
            eid: c.s("event_id")?,
            time: c.t("event_time")?,
            rcpt: c.s("recipient_account")?,
            err: c.s("error_code")?,
            ip: c.s("source_ip")?,
            carn: c.s("caller_arn")?,
            cpid: c.s("caller_principal_id")?,
            cacct: c.s("caller_account")?,
            ckey: c.s("caller_access_key_id")?,
            ccd: c.t("caller_creation_date")?,
            role: c.s("role_arn")?,
        })
    }
}

/// 5. Denied AssumeRole calls per caller, split at gaps over `max_gap`.
fn assume_role_enumeration(
    ic: &IssCols,
    denied_rows: &FxHashMap<(&str, &str), usize>,
    at: &Attributed,
    cfg: &Config,
    out: &mut Out,
) {
    let d = &cfg.assume_role_enumeration;
    let mut by_caller: FxHashMap<String, Vec<usize>> = FxHashMap::default();
    for r in 0..ic.n {
        if ic.kind.get(r) != Some("AssumeRole")
            || !ic.err.get(r).is_some_and(|e| e.contains("AccessDenied"))
            || ic.time.get(r).is_none()
        {
            continue;
        }
        // Allow-listed roles and addresses are not counted at all.
        if ic
            .role
            .get(r)
            .is_some_and(|x| role_allowed(&cfg.allow.roles, x))
            || ic
                .ip
                .get(r)
                .is_some_and(|x| net::any_contains(&cfg.allow.addresses, x))
        {
            continue;
        }
        let caller = match (ic.carn.get(r), ic.cpid.get(r)) {
            (Some(a), _) => a.to_string(),
            (None, Some(p)) => format!("account:{}:{p}", ic.cacct.get(r).unwrap_or("")),
            (None, None) => continue,
        };
        by_caller.entry(caller).or_default().push(r);
    }
    let mut callers: Vec<_> = by_caller.into_iter().collect();
    callers.sort();
    for (caller, mut rows) in callers {
        rows.sort_by_key(|&r| (ic.time.get(r), ic.eid.get(r), ic.rcpt.get(r)));
        let mut start = 0;
        while start < rows.len() {
            let mut end = start + 1;
            while end < rows.len()
                && ic.time.get(rows[end]).unwrap_or(0) - ic.time.get(rows[end - 1]).unwrap_or(0)
                    <= d.max_gap
            {
                end += 1;
            }
            let group = &rows[start..end];
            start = end;
            let mut roles: FxHashSet<&str> = FxHashSet::default();
            let mut trigger = None;
            for (k, &r) in group.iter().enumerate() {
                if let Some(x) = ic.role.get(r) {
                    roles.insert(x);
                }
                if k + 1 >= d.min_failures && roles.len() >= d.min_roles {
                    trigger = Some(r);
                    break;
                }
            }
            let Some(tr) = trigger else {
                continue;
            };
            for &r in group {
                if let Some(x) = ic.role.get(r) {
                    roles.insert(x);
                }
            }
            let ids: Vec<String> = group
                .iter()
                .filter_map(|&r| ic.eid.get(r).map(String::from))
                .collect();
            let t0 = ic.time.get(group[0]).unwrap_or(0);
            let t1 = ic.time.get(group[group.len() - 1]).unwrap_or(0);
            let origin = ic
                .eid
                .get(tr)
                .and_then(|e| denied_rows.get(&(ic.rcpt.get(tr).unwrap_or(""), e)))
                .map(|&row| at.of(row).origin.clone())
                .unwrap_or_else(|| caller.clone());
            let explanation = format!(
                "{caller} was denied AssumeRole {} times on {} distinct roles between {} and {}.",
                group.len(),
                roles.len(),
                format_time(t0),
                format_time(t1)
            );
            let mut inv = Involved::default();
            inv.principals.push(&caller);
            inv.principals.push(&origin);
            if let Some(a) = ic.cacct.get(tr) {
                inv.accounts.push(a);
            }
            out.add(
                Kind::AssumeRoleEnumeration,
                d.severity,
                &inv,
                caller.clone(),
                &origin,
                ic.eid.get(tr).unwrap_or("").to_string(),
                ic.time.get(tr),
                ids,
                explanation,
            );
        }
    }
}

/// 10. The first AssumeRole* call (denied or not) signed by a key GetSessionToken issued.
fn gst_then_assume(ic: &IssCols, sessions: &[Session], out: &mut Out) {
    let mut gst: FxHashMap<&str, Vec<usize>> = FxHashMap::default();
    for (i, s) in sessions.iter().enumerate() {
        if s.kind == Some(IssuanceKind::GetSessionToken) {
            if let Some(k) = s.issued_key.as_deref() {
                gst.entry(k).or_default().push(i);
            }
        }
    }
    if gst.is_empty() {
        return;
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
    let cfg = out.cfg;
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
            Kind::GetSessionTokenThenAssume,
            cfg.getsessiontoken_then_assume.severity,
            &inv,
            key.to_string(),
            &se.origin,
            eid,
            ic.time.get(r),
            ids,
            explanation,
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The event pass: workload_credential_exfiltration, session_multi_ip,
// federation_token_persistence, plus the facts other detectors need.

struct Pass<'a> {
    min_time: Option<Millis>,
    max_time: Option<Millis>,
    recipients: FxHashSet<String>,
    /// Denied AssumeRole events: (recipient, event id) → event row.
    denied_rows: FxHashMap<(&'a str, &'a str), usize>,
}

/// Per workload (role + session name): the first counted address and its event row.
struct Workload {
    home: Option<(IpAddr, usize)>,
}

/// Per temporary key.
struct KeyState {
    home: u32,
    home_row: usize,
    last_home: Millis,
    last_home_row: usize,
    pending: Vec<(Millis, usize, u32)>,
    done: bool,
}

fn looks_like_instance_id(name: &str) -> bool {
    let Some(hex) = name.strip_prefix("i-") else {
        return false;
    };
    (hex.len() == 8 || hex.len() == 17) && hex.bytes().all(|c| c.is_ascii_hexdigit())
}

fn event_pass<'a>(
    ev: &'a DataFrame,
    at: &'a Attributed,
    cfg: &Config,
    ranges: Option<&AwsRanges>,
    out: &mut Out,
) -> Result<Pass<'a>> {
    let c = Cols::new(ev);
    let times = c.t("event_time")?;
    let eids = c.s("event_id")?;
    let rcpt = c.s("recipient_account")?;
    let src = c.s("event_source")?;
    let names = c.s("event_name")?;
    let errs = c.s("error_code")?;
    let ips = c.s("source_ip")?;
    let keys = c.s("access_key_id")?;
    let ec2d = c.s("ec2_role_delivery")?;
    let scope = c.s("in_scope_of_issued_to")?;
    let rkey = c.s("request_access_key_id")?;
    let rstat = c.s("request_key_status")?;
    let sessions = &at.graph.sessions;
    let ns = sessions.len();

    // --- workload sessions: issued by an AWS service, or orphans that look like one.
    let wx = &cfg.workload_credential_exfiltration;
    const MAYBE: u32 = NONE - 1;
    let mut wl_of: Vec<u32> = vec![NONE; ns];
    let mut wl_index: FxHashMap<(&str, &str), u32> = FxHashMap::default();
    let mut workloads: Vec<Workload> = Vec::new();
    let mut wl_id = |s: &'a Session, workloads: &mut Vec<Workload>| -> u32 {
        let key = (
            s.role_arn.as_deref().unwrap_or(""),
            s.session_name.as_deref().unwrap_or(""),
        );
        *wl_index.entry(key).or_insert_with(|| {
            workloads.push(Workload { home: None });
            (workloads.len() - 1) as u32
        })
    };
    if wx.enabled {
        for (i, s) in sessions.iter().enumerate() {
            if s.kind.is_some() {
                // Issued to a workload: by a service, or by a workload session (any depth).
                if s.origin.starts_with("service:") {
                    wl_of[i] = wl_id(s, &mut workloads);
                }
            } else if s.orphan {
                wl_of[i] = if s
                    .session_name
                    .as_deref()
                    .is_some_and(looks_like_instance_id)
                {
                    wl_id(s, &mut workloads)
                } else {
                    MAYBE
                };
            }
        }
    }
    let mut wl_fired = vec![false; ns];

    // --- federation tokens by the long-term key that requested them.
    let fx = &cfg.federation_token_persistence;
    let mut gft_by_key: FxHashMap<&str, Vec<usize>> = FxHashMap::default();
    if fx.enabled {
        for (i, s) in sessions.iter().enumerate() {
            if s.kind == Some(IssuanceKind::GetFederationToken) {
                if let Some(k) = s.caller_identity.access_key_id.as_deref() {
                    gft_by_key.entry(k).or_default().push(i);
                }
            }
        }
    }
    let mut revoked: Vec<Option<(Millis, usize)>> =
        vec![None; if gft_by_key.is_empty() { 0 } else { ns }];
    let mut gft_fired = vec![false; revoked.len()];

    // --- multi-IP per temporary key.
    let mx = &cfg.session_multi_ip;
    let shift = 32 - mx.prefix_len as u32;
    let net_of = |a: u32| if shift >= 32 { 0 } else { a >> shift };
    let mut key_ix: FxHashMap<&str, u32> = FxHashMap::default();
    let mut kst: Vec<KeyState> = Vec::new();

    let mut pass = Pass {
        min_time: None,
        max_time: None,
        recipients: FxHashSet::default(),
        denied_rows: FxHashMap::default(),
    };
    let mut recips: FxHashSet<&str> = FxHashSet::default();
    let mut last_recip: &str = "\u{0}";

    // 1. A linear pass in frame order (canonical, not time order): facts for the other
    //    detectors, and the rows the use-based detectors must see in time order.
    let want_multi = mx.enabled;
    let want_gft = !gft_by_key.is_empty();
    let mut todo: Vec<(Millis, u32)> = Vec::new();
    for i in 0..ev.height() {
        if let Some(r) = rcpt.get(i) {
            if r != last_recip {
                recips.insert(r);
                last_recip = r;
            }
        }
        let Some(t) = times.get(i) else {
            continue;
        };
        pass.min_time = Some(pass.min_time.map_or(t, |m| m.min(t)));
        pass.max_time = Some(pass.max_time.map_or(t, |m| m.max(t)));
        // Denied AssumeRole events (for the origin of enumeration findings).
        if errs.get(i).is_some()
            && names.get(i) == Some("AssumeRole")
            && src.get(i) == Some("sts.amazonaws.com")
        {
            if let Some(e) = eids.get(i) {
                pass.denied_rows.insert((rcpt.get(i).unwrap_or(""), e), i);
            }
        }
        let sess = at.of(i).session;
        let mut keep = false;
        if let Some(s) = sess {
            let w = wl_of[s];
            if w == MAYBE && (ec2d.get(i).is_some() || scope.get(i).is_some()) {
                wl_of[s] = wl_id(&sessions[s], &mut workloads);
            }
            keep |= w != NONE;
            keep |= want_gft && sessions[s].kind == Some(IssuanceKind::GetFederationToken);
        }
        keep |= want_gft && rkey.get(i).is_some();
        keep |= want_multi && keys.get(i).is_some_and(|k| k.starts_with("ASIA"));
        if keep {
            todo.push((t, i as u32));
        }
    }
    for w in wl_of.iter_mut() {
        if *w == MAYBE {
            *w = NONE;
        }
    }
    // Ties keep the canonical order: deterministic whatever the thread count.
    todo.sort_unstable();

    // 2. The ordered pass.
    for &(t, i) in &todo {
        let i = i as usize;
        let sess = at.of(i).session;

        // Access-key revocations, and federation tokens used after them.
        if want_gft {
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
            if let Some(s) = sess {
                if let Some((tr, rrow)) = revoked[s] {
                    if t > tr && !gft_fired[s] {
                        gft_fired[s] = true;
                        federation_finding(&sessions[s], i, rrow, t, tr, ev, out)?;
                    }
                }
            }
        }

        // Workload credentials used from outside.
        if let Some(s) = sess {
            let w = wl_of[s];
            if w != NONE && !wl_fired[s] {
                if let Some(ip_text) = ips.get(i) {
                    if let Some(a) = net::parse_addr(ip_text) {
                        let counted = match net::class(&a) {
                            Class::Public => true,
                            Class::Private => wx.include_private,
                            Class::Other => false,
                        };
                        if counted && !net::any_contains(&cfg.allow.addresses, ip_text) {
                            let wl = &mut workloads[w as usize];
                            let fire = match ranges {
                                Some(r) => !r.contains(&a),
                                None => match wl.home {
                                    None => {
                                        wl.home = Some((a, i));
                                        false
                                    }
                                    Some((h, _)) => h != a,
                                },
                            };
                            if fire {
                                wl_fired[s] = true;
                                let home = if ranges.is_some() { None } else { wl.home };
                                exfil_finding(
                                    &sessions[s],
                                    i,
                                    ip_text,
                                    home,
                                    ranges.is_some(),
                                    ev,
                                    out,
                                )?;
                            }
                        }
                    }
                }
            }
        }

        // One temporary key used from two networks at once.
        if want_multi {
            if let Some(k) = keys.get(i).filter(|k| k.starts_with("ASIA")) {
                if let Some(ip_text) = ips.get(i) {
                    if let Some(a) = net::ipv4(ip_text) {
                        let counted = match net::class_v4(a) {
                            Class::Public => true,
                            Class::Private => mx.include_private,
                            Class::Other => false,
                        };
                        if counted && !net::any_contains(&cfg.allow.addresses, ip_text) {
                            multi_ip_step(
                                &mut key_ix,
                                &mut kst,
                                k,
                                a,
                                t,
                                i,
                                mx.window,
                                &net_of,
                                ev,
                                at,
                                out,
                            )?;
                        }
                    }
                }
            }
        }
    }
    pass.recipients = recips.into_iter().map(String::from).collect();
    Ok(pass)
}

#[allow(clippy::too_many_arguments)]
fn multi_ip_step<'a>(
    key_ix: &mut FxHashMap<&'a str, u32>,
    kst: &mut Vec<KeyState>,
    k: &'a str,
    a: u32,
    t: Millis,
    i: usize,
    window: Millis,
    net_of: &dyn Fn(u32) -> u32,
    ev: &DataFrame,
    at: &Attributed,
    out: &mut Out,
) -> Result<()> {
    let ix = *key_ix.entry(k).or_insert_with(|| {
        kst.push(KeyState {
            home: a,
            home_row: i,
            last_home: t,
            last_home_row: i,
            pending: Vec::new(),
            done: false,
        });
        (kst.len() - 1) as u32
    });
    let st = &mut kst[ix as usize];
    if st.done {
        return Ok(());
    }
    if a == st.home {
        st.last_home = t;
        st.last_home_row = i;
        st.pending.retain(|p| p.0 + window >= t);
        if let Some(&(_, row, other)) = st.pending.first() {
            st.done = true;
            let (home, first_home) = (st.home, st.home_row);
            st.pending = Vec::new();
            return multi_ip_finding(k, row, other, home, first_home, i, window, ev, at, out);
        }
    } else if net_of(a) != net_of(st.home) {
        if t - st.last_home <= window {
            st.done = true;
            let (home, first_home, last) = (st.home, st.home_row, st.last_home_row);
            st.pending = Vec::new();
            return multi_ip_finding(k, i, a, home, first_home, last, window, ev, at, out);
        }
        st.pending.retain(|p| p.0 + window >= t);
        st.pending.push((t, i, a));
    }
    Ok(())
}

fn row_str(ev: &DataFrame, col: &str, row: usize) -> Result<Option<String>> {
    Ok(ev.column(col)?.str()?.get(row).map(String::from))
}

fn row_time(ev: &DataFrame, row: usize) -> Result<Option<Millis>> {
    Ok(Cols::new(ev).t("event_time")?.get(row))
}

fn fmt_v4(a: u32) -> String {
    std::net::Ipv4Addr::from(a).to_string()
}

fn dur_text(ms: Millis) -> String {
    if ms % 3_600_000 == 0 {
        format!("{} h", ms / 3_600_000)
    } else if ms % 60_000 == 0 {
        format!("{} min", ms / 60_000)
    } else {
        format!("{} s", ms / 1000)
    }
}

#[allow(clippy::too_many_arguments)]
fn multi_ip_finding(
    key: &str,
    row: usize,
    other: u32,
    home: u32,
    first_home_row: usize,
    home_row: usize,
    window: Millis,
    ev: &DataFrame,
    at: &Attributed,
    out: &mut Out,
) -> Result<()> {
    let cfg = out.cfg;
    let mx = &cfg.session_multi_ip;
    let a = at.of(row);
    let mut rows = vec![first_home_row, home_row, row];
    rows.sort_by_key(|&r| (row_time(ev, r).ok().flatten(), r));
    rows.dedup();
    let mut ids = Vec::new();
    for r in rows {
        if let Some(id) = row_str(ev, "event_id", r)? {
            push_unique(&mut ids, id);
        }
    }
    let (other_s, home_s) = (fmt_v4(other), fmt_v4(home));
    let sess = a.session.map(|s| &at.graph.sessions[s]);
    let actor = sess
        .and_then(|s| s.session_arn.clone())
        .or(row_str(ev, "identity_arn", row)?)
        .unwrap_or_else(|| or_unknown(&a.origin).to_string());
    let explanation = format!(
        "Temporary key {key} of {actor} (origin {}) was used from {other_s}, outside the /{} of its home address {home_s}, within {} of a use from {home_s}.",
        or_unknown(&a.origin),
        mx.prefix_len,
        dur_text(window)
    );
    let mut inv = Involved::default();
    inv.principals.push(&a.origin);
    inv.principals.push(&actor);
    if let Some(s) = sess {
        if let Some(r) = &s.role_arn {
            inv.roles.push(r);
        }
        if let Some(x) = &s.account {
            inv.accounts.push(x);
        }
    }
    let recipient = row_str(ev, "recipient_account", row)?;
    if let Some(r) = &recipient {
        inv.accounts.push(r);
    }
    out.add(
        Kind::SessionMultiIp,
        mx.severity,
        &inv,
        key.to_string(),
        &a.origin,
        row_str(ev, "event_id", row)?.unwrap_or_default(),
        row_time(ev, row)?,
        ids,
        explanation,
    );
    Ok(())
}

fn exfil_finding(
    s: &Session,
    row: usize,
    ip: &str,
    home: Option<(IpAddr, usize)>,
    with_ranges: bool,
    ev: &DataFrame,
    out: &mut Out,
) -> Result<()> {
    let cfg = out.cfg;
    let mut ids: Vec<String> = issuance_ids(s).collect();
    if let Some((_, hr)) = home {
        if let Some(id) = row_str(ev, "event_id", hr)? {
            push_unique(&mut ids, id);
        }
    }
    let eid = row_str(ev, "event_id", row)?.unwrap_or_default();
    push_unique(&mut ids, eid.clone());
    let role = s.role_arn.as_deref().unwrap_or("?");
    let name = s.session_name.as_deref().unwrap_or("?");
    let svc = s.origin.trim_start_matches("service:");
    let issued = if s.orphan {
        "its issuance is not in the input".to_string()
    } else if s.parent.is_some() {
        format!("assumed by a session of {svc}")
    } else {
        format!("issued by {svc}")
    };
    let event = row_str(ev, "event_name", row)?.unwrap_or_default();
    let why = match home {
        _ if with_ranges => "an address outside the AWS ranges".to_string(),
        Some((h, _)) => format!("an address the workload did not use first (its first was {h})"),
        None => "an outside address".to_string(),
    };
    let (rname, racct) = (role_name(role), arn_account(role).unwrap_or("?"));
    let explanation = format!(
        "Credentials of workload {name} (role {rname} in account {racct}, {issued}) were used for {event} from {ip}, {why}."
    );
    let mut inv = session_involved(s);
    inv.principals.extend(s.session_arn.as_deref());
    inv.addresses.clear();
    inv.addresses.push(ip);
    out.add(
        Kind::WorkloadCredentialExfiltration,
        cfg.workload_credential_exfiltration.severity,
        &inv,
        session_subject(s),
        &s.origin,
        eid,
        row_time(ev, row)?,
        ids,
        explanation,
    );
    Ok(())
}

fn federation_finding(
    s: &Session,
    row: usize,
    revoke_row: usize,
    t: Millis,
    revoked_at: Millis,
    ev: &DataFrame,
    out: &mut Out,
) -> Result<()> {
    let cfg = out.cfg;
    let mut ids: Vec<String> = issuance_ids(s).collect();
    if let Some(id) = row_str(ev, "event_id", revoke_row)? {
        push_unique(&mut ids, id);
    }
    let eid = row_str(ev, "event_id", row)?.unwrap_or_default();
    push_unique(&mut ids, eid.clone());
    let parent = s.caller_identity.access_key_id.as_deref().unwrap_or("?");
    let how = match row_str(ev, "event_name", revoke_row)?.as_deref() {
        Some("DeleteAccessKey") => "deleted",
        _ => "deactivated",
    };
    let event = row_str(ev, "event_name", row)?.unwrap_or_default();
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
    let ip = row_str(ev, "source_ip", row)?;
    if let Some(ip) = &ip {
        inv.addresses.push(ip);
    }
    out.add(
        Kind::FederationTokenPersistence,
        cfg.federation_token_persistence.severity,
        &inv,
        session_subject(s),
        &s.origin,
        eid,
        Some(t),
        ids,
        explanation,
    );
    Ok(())
}
