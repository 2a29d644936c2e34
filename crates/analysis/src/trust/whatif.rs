//! `whatif`: every observed assumption of the chosen roles judged again against its trust
//! policy hardened with new conditions (issue 16, point 4).
//!
//! The hardened policy is the policy in force at each call's time with every new condition
//! ANDed into every Allow statement (`harden`). `--hours` has no IAM form (`aws:CurrentTime`
//! compares absolute dates only): it is evaluated beside the policy and never written into it.
//! Failed calls (an error code) are listed, not judged.

use super::eval::{evaluate, harden, CallerKind, Decision, Verdict};
use super::observed::Assumption;
use super::policy::{Condition, Policy};
use super::roles::{role_matches, TrustInput};
use super::timeline::{role_key, At};
use crate::anomalies::{Cidr, TimeZone, Window};
use anyhow::Result;
use chrono::{Datelike, TimeZone as _, Timelike};
use polars::prelude::*;
use std::collections::BTreeMap;
use trailgraph_log::model::{format_time, Millis};

trailgraph_log::column_names!(
    /// The columns of `whatif`'s table (docs/trust.md).
    pub mod whatif_columns {
        role_arn,
        event_id,
        event_time,
        /// The human or workload at the top of the chain behind the caller.
        origin,
        /// The direct caller (userIdentity ARN), as IAM matches principals.
        caller_arn,
        /// The direct caller as a trust policy names it (user or role ARN, service, provider).
        caller_principal,
        source_ip,
        /// `allow`, `deny` or `unknown` under the hardened policy (and `--hours`); empty for a
        /// failed call (not judged).
        verdict,
        /// The deciding condition (operator and key), or the missing key or side.
        reason,
        /// With `--require-mfa`: what the other MFA reading (`Bool` / `BoolIfExists`) gives,
        /// where it differs.
        other_reading,
        /// The verdict of the policy in force, not hardened.
        current,
        /// Plain words: why.
        detail,
        /// Where the policy in force comes from.
        policy_source,
        /// The failed call's error code (such calls are not judged).
        error_code,
    }
);

/// How `--require-mfa` reads a missing `aws:MultiFactorAuthPresent`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mfa {
    /// `Bool`: a missing key (a long-term key without an MFA serial) denies.
    Bool,
    /// `BoolIfExists`: a missing key lets the call through.
    IfExists,
}

impl Mfa {
    pub fn condition(self) -> Condition {
        let op = match self {
            Mfa::Bool => "Bool",
            Mfa::IfExists => "BoolIfExists",
        };
        Condition::new(op, "aws:MultiFactorAuthPresent", &["true"])
    }

    fn other(self) -> Mfa {
        match self {
            Mfa::Bool => Mfa::IfExists,
            Mfa::IfExists => Mfa::Bool,
        }
    }
}

/// A time zone for `--hours`: an IANA name or a fixed offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zone {
    Named(chrono_tz::Tz),
    Fixed(TimeZone),
}

impl Zone {
    /// `Europe/Berlin`, `UTC`, `+02:00`, `UTC-05:00`.
    pub fn parse(s: &str) -> Result<Zone, String> {
        if let Some(z) = TimeZone::parse(s) {
            return Ok(Zone::Fixed(z));
        }
        s.trim().parse::<chrono_tz::Tz>().map(Zone::Named).map_err(|_| {
            format!("unknown time zone {s:?}: give an IANA name such as Europe/Berlin, or a fixed offset such as +02:00")
        })
    }

    /// (weekday 0 = Monday, minute of the day) of `t` in this zone.
    fn local(self, t: Millis) -> Option<(u32, u32)> {
        let utc = chrono::Utc.timestamp_millis_opt(t).single()?;
        let (wd, h, m) = match self {
            Zone::Named(tz) => {
                let l = utc.with_timezone(&tz);
                (l.weekday(), l.hour(), l.minute())
            }
            Zone::Fixed(z) => {
                let l = utc.with_timezone(&chrono::FixedOffset::east_opt(z.offset_min * 60)?);
                (l.weekday(), l.hour(), l.minute())
            }
        };
        Some((wd.num_days_from_monday(), h * 60 + m))
    }
}

impl std::fmt::Display for Zone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Zone::Named(tz) => write!(f, "{}", tz.name()),
            Zone::Fixed(z) => write!(f, "{z}"),
        }
    }
}

/// `--hours`: the allowed weekly window, in a time zone.
#[derive(Debug, Clone)]
pub struct Hours {
    pub window: Window,
    pub zone: Zone,
}

impl Hours {
    pub fn label(&self) -> String {
        format!("--hours {} ({})", self.window.text, self.zone)
    }

    /// Is `t` inside the window?
    pub fn allows(&self, t: Millis) -> bool {
        match self.zone.local(t) {
            Some((wd, minute)) => self.window.contains(wd, minute),
            None => false,
        }
    }
}

/// The what-if: the conditions to add, and the hours.
#[derive(Debug, Clone, Default)]
pub struct Hardening {
    pub mfa: Option<Mfa>,
    pub source_ip: Vec<Cidr>,
    pub external_id: Option<String>,
    pub principal_org_id: Option<String>,
    pub principals: Vec<String>,
    pub hours: Option<Hours>,
}

impl Hardening {
    pub fn is_empty(&self) -> bool {
        self.conditions(self.mfa).is_empty() && self.hours.is_none()
    }

    /// The conditions ANDed into every Allow statement, with `mfa` as the MFA reading.
    pub fn conditions(&self, mfa: Option<Mfa>) -> Vec<Condition> {
        let mut v = Vec::new();
        if let Some(m) = mfa {
            v.push(m.condition());
        }
        if !self.source_ip.is_empty() {
            let ips: Vec<String> = self.source_ip.iter().map(|c| c.to_string()).collect();
            let refs: Vec<&str> = ips.iter().map(String::as_str).collect();
            v.push(Condition::new("IpAddress", "aws:SourceIp", &refs));
        }
        if let Some(x) = &self.external_id {
            v.push(Condition::new("StringEquals", "sts:ExternalId", &[x]));
        }
        if let Some(o) = &self.principal_org_id {
            v.push(Condition::new("StringEquals", "aws:PrincipalOrgID", &[o]));
        }
        if !self.principals.is_empty() {
            // aws:PrincipalArn is the direct caller: a user ARN, or the role ARN for any of its
            // sessions, as IAM matches a Principal element.
            let refs: Vec<&str> = self.principals.iter().map(String::as_str).collect();
            v.push(Condition::new("ArnLike", "aws:PrincipalArn", &refs));
        }
        v
    }

    /// Plain words: what is added.
    pub fn describe(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .conditions(self.mfa)
            .iter()
            .map(|c| c.to_string())
            .collect();
        if let Some(h) = &self.hours {
            v.push(h.label());
        }
        v
    }

    fn harden(&self, p: &Policy, mfa: Option<Mfa>) -> Policy {
        let mut h = p.clone();
        for c in self.conditions(mfa) {
            h = harden(&h, &c);
        }
        h
    }
}

/// One observed assumption, judged.
pub struct Judged<'a> {
    pub call: &'a Assumption,
    /// Under the hardened policy and `--hours`; None for a failed call (not judged).
    pub verdict: Option<Verdict>,
    /// The other MFA reading, when it differs.
    pub other: Option<Verdict>,
    /// Under the policy in force, not hardened.
    pub current: Option<Verdict>,
    pub policy_source: String,
}

/// One role's what-if.
pub struct RoleWhatif<'a> {
    pub arn: String,
    /// Time order (as observed).
    pub calls: Vec<Judged<'a>>,
    /// The latest policy hardened (IAM JSON), or why there is none; its source.
    pub hardened: Result<(String, serde_json::Value), String>,
}

/// The what-if of every role matching `pattern` (a glob on the role name, or on the ARN for a
/// pattern starting `arn:`) that was assumed in the input or has a known policy, sorted by role.
pub fn whatif<'a>(input: &'a TrustInput, pattern: &str, h: &Hardening) -> Vec<RoleWhatif<'a>> {
    let mut roles: BTreeMap<(String, String), (String, Vec<&Assumption>)> = BTreeMap::new();
    for (k, tl) in &input.timelines.roles {
        roles.insert(k.clone(), (tl.arn.clone(), Vec::new()));
    }
    for a in &input.observed.assumptions {
        let Some(k) = role_key(&a.role_arn) else {
            continue;
        };
        roles
            .entry(k)
            .or_insert_with(|| (a.role_arn.clone(), Vec::new()))
            .1
            .push(a);
    }
    let mut out = Vec::new();
    for (arn, calls) in roles.into_values() {
        if !role_matches(pattern, &arn) {
            continue;
        }
        let mut calls = calls;
        calls.sort_by(|a, b| (a.time, &a.event_id).cmp(&(b.time, &b.event_id)));
        let judged = calls.iter().map(|a| judge(input, a, h)).collect();
        let hardened = match input.timelines.role(&arn).and_then(|t| t.current()) {
            None => Err("no trust policy known for this role: give its IAM configuration with --iam (the logs hold no CreateRole or UpdateAssumeRolePolicy for it)".into()),
            Some(v) => h
                .harden(&v.policy, h.mfa)
                .to_json()
                .map(|j| (v.source.to_string(), j))
                .map_err(|e| format!("the hardened policy cannot be written: {e}")),
        };
        out.push(RoleWhatif {
            arn,
            calls: judged,
            hardened,
        });
    }
    out
}

fn judge<'a>(input: &TrustInput, a: &'a Assumption, h: &Hardening) -> Judged<'a> {
    if !a.succeeded() {
        return Judged {
            call: a,
            verdict: None,
            other: None,
            current: None,
            policy_source: String::new(),
        };
    }
    let (current, source, policy) = match input.policy_at(&a.role_arn, a.time) {
        At::Policy(v) => (
            evaluate(&v.policy, &a.context),
            v.source.to_string(),
            Some(&v.policy),
        ),
        At::Missing(why) => (input.judge(a).0, why.to_string(), None),
    };
    let under = |mfa: Option<Mfa>| -> Verdict {
        let v = match policy {
            Some(p) => evaluate(&h.harden(p, mfa), &a.context),
            None => current.clone(),
        };
        match &h.hours {
            Some(hours) if v.decision != Decision::Deny && !hours.allows(a.time) => Verdict {
                decision: Decision::Deny,
                statement: None,
                sid: None,
                reason: hours.label(),
                detail: format!(
                    "{} is outside {} in {} (evaluated by trailgraph: no trust policy can express it)",
                    format_time(a.time),
                    hours.window.text,
                    hours.zone
                ),
                needs_identity: None,
            },
            _ => v,
        }
    };
    let verdict = under(h.mfa);
    let other = h
        .mfa
        .map(|m| under(Some(m.other())))
        .filter(|o| o.decision != verdict.decision);
    Judged {
        call: a,
        verdict: Some(verdict),
        other,
        current: Some(current),
        policy_source: source,
    }
}

/// `allow (BoolIfExists)`: the other reading's answer.
pub fn other_label(h: &Hardening, v: &Verdict) -> String {
    let op = match h.mfa.map(Mfa::other) {
        Some(Mfa::IfExists) => "BoolIfExists",
        _ => "Bool",
    };
    match v.decision {
        Decision::Allow => format!("allow with {op}"),
        d => format!("{} with {op}: {}", d.as_str(), v.reason),
    }
}

/// The per-role summary: "7 of 412 assumptions in 30 days would have been denied: all by X from
/// Y", then the unknowns, the services denied, the other MFA reading, the failed calls.
pub fn summary(
    r: &RoleWhatif,
    h: &Hardening,
    window: (Option<Millis>, Option<Millis>),
) -> Vec<String> {
    let judged: Vec<&Judged> = r.calls.iter().filter(|j| j.verdict.is_some()).collect();
    let failed = r.calls.len() - judged.len();
    let days = match window {
        (Some(a), Some(b)) => ((b - a) as f64 / 86_400_000.0).ceil().max(1.0) as i64,
        _ => 0,
    };
    let of = |d: Decision| -> Vec<&&Judged> {
        judged
            .iter()
            .filter(|j| j.verdict.as_ref().map(|v| v.decision) == Some(d))
            .collect()
    };
    let denied = of(Decision::Deny);
    let unknown = of(Decision::Unknown);
    let mut lines = Vec::new();
    let mut head = format!(
        "{} of {} assumption{} in {} day{} would have been denied",
        denied.len(),
        judged.len(),
        if judged.len() == 1 { "" } else { "s" },
        days,
        if days == 1 { "" } else { "s" }
    );
    if !denied.is_empty() {
        let mut by: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for j in &denied {
            by.entry(&j.call.caller_principal)
                .or_default()
                .push(j.call.source_ip.as_deref().unwrap_or("no address"));
        }
        let groups: Vec<String> = by
            .iter()
            .map(|(who, ips)| {
                let n = if by.len() > 1 {
                    format!(" ({})", ips.len())
                } else {
                    String::new()
                };
                format!("{who} from {}{n}", addresses(ips))
            })
            .collect();
        if groups.len() == 1 {
            head.push_str(&format!(": all by {}", groups[0]));
        } else {
            head.push_str(&format!(": by {}", groups.join("; by ")));
        }
        let already = denied
            .iter()
            .filter(|j| j.current.as_ref().map(|v| v.decision) == Some(Decision::Deny))
            .count();
        if already > 0 {
            head.push_str(&format!(
                " ({already} of them already denied by the policy in force)"
            ));
        }
    }
    lines.push(head);
    if !unknown.is_empty() {
        let mut by: BTreeMap<&str, usize> = BTreeMap::new();
        for j in &unknown {
            *by.entry(&j.verdict.as_ref().expect("judged").reason)
                .or_default() += 1;
        }
        let parts: Vec<String> = by.iter().map(|(r, n)| format!("{r} ({n})")).collect();
        lines.push(format!(
            "{} unknown (never counted as denied): {}",
            unknown.len(),
            parts.join(", ")
        ));
    }
    let mut services: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for j in &denied {
        let kind = match j.call.context.caller.kind {
            CallerKind::Service => "service",
            CallerKind::Saml | CallerKind::WebIdentity => "federated",
            _ => continue,
        };
        if j.current.as_ref().map(|v| v.decision) != Some(Decision::Deny) {
            *services
                .entry((kind, &j.call.caller_principal))
                .or_default() += 1;
        }
    }
    for ((kind, who), n) in services {
        lines.push(format!(
            "the hardened policy denies the {kind} principal {who} ({n} call{}): the new condition is ANDed into its Allow statement too",
            if n == 1 { "" } else { "s" }
        ));
    }
    if h.mfa.is_some() {
        let differ: Vec<&&Judged> = judged.iter().filter(|j| j.other.is_some()).collect();
        if !differ.is_empty() {
            let other = if h.mfa == Some(Mfa::Bool) {
                "BoolIfExists (--require-mfa=if-exists)"
            } else {
                "Bool (--require-mfa)"
            };
            let mut by: BTreeMap<&str, usize> = BTreeMap::new();
            for j in &differ {
                *by.entry(j.other.as_ref().expect("filtered").decision.as_str())
                    .or_default() += 1;
            }
            let parts: Vec<String> = by.iter().map(|(d, n)| format!("{n} {d}")).collect();
            lines.push(format!(
                "the other MFA reading, {other}, differs on {} call{}: {}",
                differ.len(),
                if differ.len() == 1 { "" } else { "s" },
                parts.join(", ")
            ));
        }
    }
    if failed > 0 {
        lines.push(format!(
            "{failed} failed assumption{} not judged (listed below)",
            if failed == 1 { "" } else { "s" }
        ));
    }
    lines
}

/// The addresses of a group: one, a shared IPv4 /24, or a list.
fn addresses(ips: &[&str]) -> String {
    let mut d: Vec<&str> = ips.to_vec();
    d.sort_unstable();
    d.dedup();
    if d.len() == 1 {
        return d[0].to_string();
    }
    let net = |ip: &str| -> Option<String> {
        let a: std::net::Ipv4Addr = ip.parse().ok()?;
        let o = a.octets();
        Some(format!("{}.{}.{}.0/24", o[0], o[1], o[2]))
    };
    let nets: Vec<Option<String>> = d.iter().map(|ip| net(ip)).collect();
    if nets[0].is_some() && nets.iter().all(|n| n == &nets[0]) {
        return nets[0].clone().expect("checked");
    }
    if d.len() <= 3 {
        return d.join(", ");
    }
    format!("{}, and {} more", d[..3].join(", "), d.len() - 3)
}

/// The table: one row per observed assumption of the roles (failed ones with their error code
/// and no verdict).
pub fn whatif_frame(roles: &[RoleWhatif], h: &Hardening) -> Result<DataFrame> {
    use whatif_columns as c;
    let rows: Vec<&Judged> = roles.iter().flat_map(|r| r.calls.iter()).collect();
    let s = |f: &dyn Fn(&Judged) -> String| -> Vec<String> { rows.iter().map(|j| f(j)).collect() };
    let o = |f: &dyn Fn(&Judged) -> Option<String>| -> Vec<Option<String>> {
        rows.iter().map(|j| f(j)).collect()
    };
    let cols = vec![
        Column::new(c::role_arn.into(), s(&|j| j.call.role_arn.clone())),
        Column::new(c::event_id.into(), s(&|j| j.call.event_id.clone())),
        Column::new(c::event_time.into(), s(&|j| format_time(j.call.time))),
        Column::new(c::origin.into(), s(&|j| j.call.origin.clone())),
        Column::new(c::caller_arn.into(), o(&|j| j.call.caller_arn.clone())),
        Column::new(
            c::caller_principal.into(),
            s(&|j| j.call.caller_principal.clone()),
        ),
        Column::new(c::source_ip.into(), o(&|j| j.call.source_ip.clone())),
        Column::new(
            c::verdict.into(),
            o(&|j| j.verdict.as_ref().map(|v| v.decision.as_str().to_string())),
        ),
        Column::new(
            c::reason.into(),
            o(&|j| j.verdict.as_ref().map(|v| v.reason.clone())),
        ),
        Column::new(
            c::other_reading.into(),
            o(&|j| j.other.as_ref().map(|v| other_label(h, v))),
        ),
        Column::new(
            c::current.into(),
            o(&|j| j.current.as_ref().map(|v| v.decision.as_str().to_string())),
        ),
        Column::new(
            c::detail.into(),
            o(&|j| j.verdict.as_ref().map(|v| v.detail.clone())),
        ),
        Column::new(c::policy_source.into(), s(&|j| j.policy_source.clone())),
        Column::new(c::error_code.into(), o(&|j| j.call.error_code.clone())),
    ];
    Ok(DataFrame::new(rows.len(), cols)?)
}
