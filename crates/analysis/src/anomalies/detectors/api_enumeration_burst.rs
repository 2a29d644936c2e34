//! `api_enumeration_burst`: one caller (a session, or a long-term key or principal) whose
//! denied calls reach `min_failures` over `min_apis` distinct APIs within `window` (the
//! enumerate-iam / Pacu pattern).

use super::{Detector, Reader};
use crate::anomalies::config::Allow;
use crate::anomalies::context::{session_subject, who_disp, Context, Draft, Involved, Out};
use crate::anomalies::events::{Dec, Rows, TimeOrdered};
use crate::anomalies::values::format_duration;
use crate::anomalies::{values, Severity};
use anyhow::Result;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use trailgraph_graph::attribute::Cols;
use trailgraph_log::model::{format_time, Millis};
use trailgraph_log::table::event;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiEnumerationBurst {
    #[serde(deserialize_with = "values::boolean")]
    pub enabled: bool,
    pub severity: Severity,
    #[serde(deserialize_with = "values::int::<_, _, 1, 1_000_000>")]
    pub min_failures: u32,
    #[serde(deserialize_with = "values::int::<_, _, 1, 1_000_000>")]
    pub min_apis: u32,
    #[serde(with = "values::duration")]
    pub window: Millis,
}

impl Default for ApiEnumerationBurst {
    fn default() -> Self {
        ApiEnumerationBurst {
            enabled: true,
            severity: Severity::Medium,
            min_failures: 20,
            min_apis: 15,
            window: 2 * 60_000,
        }
    }
}

/// Is the errorCode a refusal of authorisation (`AccessDenied`, `AccessDeniedException`,
/// `UnauthorizedOperation`, `Client.UnauthorizedOperation`, `…NotAuthorized…`)?
pub(crate) fn is_denied(code: &str) -> bool {
    let c = code.strip_prefix("Client.").unwrap_or(code);
    c.starts_with("AccessDenied")
        || c == "UnauthorizedOperation"
        || c == "UnauthorizedAccess"
        || c.contains("NotAuthorized")
}

/// A caller: what a burst is counted per.
struct Caller {
    /// The finding's subject: the session's issued key (else its id), else the long-term key,
    /// else the identity ARN or principal id.
    subject: String,
    /// The identity ARN the caller acts as (for the explanation), when known.
    actor: Option<String>,
}

/// One denied call, as spilled.
struct Denied<'b> {
    t: Millis,
    caller: u32,
    api: u32,
    /// Attribution index.
    at: u32,
    event_id: &'b str,
    source_ip: Option<&'b str>,
}

impl<'b> Denied<'b> {
    fn decode(mut d: Dec<'b>) -> Result<Self> {
        Ok(Denied {
            t: d.i64()?,
            caller: d.u32()?,
            api: d.u32()?,
            at: d.u32()?,
            event_id: d.str()?.unwrap_or_default(),
            source_ip: d.str()?,
        })
    }
}

/// Per caller, in the walk: its denied calls within `window` of the latest, and their APIs.
#[derive(Default)]
struct Burst {
    recent: VecDeque<(Millis, u32, String)>,
    apis: FxHashMap<u32, u32>,
    /// Reported: quiet until a gap longer than `window` between two denied calls.
    fired: bool,
    last: Option<Millis>,
}

/// The reader: the denied calls, spilled; walked per caller in time order in `finish`.
/// Memory: the callers and the API names (interned), and per caller the denied calls of the
/// last `window` while walking.
struct Enumeration<'a> {
    cfg: &'a ApiEnumerationBurst,
    allow: &'a Allow,
    caller_ix: FxHashMap<String, u32>,
    callers: Vec<Caller>,
    api_ix: FxHashMap<String, u32>,
    apis: Vec<String>,
    denied: TimeOrdered,
}

impl Detector for ApiEnumerationBurst {
    const ABOUT: &'static str = "\
One caller (a session, else a long-term key or principal) with at least min_failures denied
calls (AccessDenied*, UnauthorizedOperation, *NotAuthorized*) on at least min_apis distinct
APIs (eventSource + eventName) within `window`: the enumerate-iam / Pacu pattern. One finding
per burst (a burst ends after a gap longer than `window`).";

    fn reader<'a>(&'a self, cx: &Context<'a>) -> Result<Option<Box<dyn Reader + 'a>>> {
        Ok(Some(Box::new(Enumeration {
            cfg: self,
            allow: cx.allow,
            caller_ix: FxHashMap::default(),
            callers: Vec::new(),
            api_ix: FxHashMap::default(),
            apis: Vec::new(),
            denied: TimeOrdered::new()?,
        })))
    }
}

fn intern(ix: &mut FxHashMap<String, u32>, n: usize, k: &str) -> (u32, bool) {
    match ix.get(k) {
        Some(&x) => (x, false),
        None => {
            let x = n as u32;
            ix.insert(k.to_string(), x);
            (x, true)
        }
    }
}

impl Reader for Enumeration<'_> {
    fn columns(&self) -> &'static [&'static str] {
        &[
            event::event_time,
            event::error_code,
            event::event_source,
            event::event_name,
            event::access_key_id,
            event::identity_arn,
            event::principal_id,
            event::event_id,
            event::source_ip,
        ]
    }

    fn visit(&mut self, rows: &Rows) -> Result<()> {
        let c = Cols::new(rows.events);
        let times = c.t(event::event_time)?;
        let errs = c.s(event::error_code)?;
        let src = c.s(event::event_source)?;
        let names = c.s(event::event_name)?;
        let keys = c.s(event::access_key_id)?;
        let arns = c.s(event::identity_arn)?;
        let pids = c.s(event::principal_id)?;
        let eids = c.s(event::event_id)?;
        let ips = c.s(event::source_ip)?;
        let mut api_name = String::new();
        for i in 0..rows.height() {
            if !errs.get(i).is_some_and(is_denied) {
                continue;
            }
            let Some(t) = times.get(i) else {
                continue;
            };
            let ip = ips.get(i);
            if ip.is_some_and(|ip| self.allow.address(ip)) {
                continue;
            }
            let at = rows.attribution(i);
            let a = rows.of(i);
            // The caller: its session, else its key, else its principal.
            let (caller_key, subject) = match a.session {
                Some(s) => (format!("s{s}"), None),
                None => match keys
                    .get(i)
                    .or(arns.get(i))
                    .or(pids.get(i))
                    .filter(|k| !k.is_empty())
                {
                    Some(k) => (format!("k{k}"), Some(k)),
                    None => continue,
                },
            };
            let (caller, new) = intern(&mut self.caller_ix, self.callers.len(), &caller_key);
            if new {
                self.callers.push(Caller {
                    subject: subject.map(String::from).unwrap_or_default(),
                    actor: arns.get(i).map(String::from),
                });
            }
            api_name.clear();
            api_name.push_str(src.get(i).unwrap_or(""));
            api_name.push(':');
            api_name.push_str(names.get(i).unwrap_or(""));
            let (api, new) = intern(&mut self.api_ix, self.apis.len(), &api_name);
            if new {
                self.apis.push(api_name.clone());
            }
            let p = rows.position(i);
            self.denied
                .record(t, p)?
                .i64(t)
                .u32(caller)
                .u32(api)
                .u32(at)
                .str(eids.get(i))
                .str(ip);
        }
        self.denied.end_run()
    }

    fn finish(self: Box<Self>, cx: &Context, out: &mut Out) -> Result<()> {
        let Enumeration {
            cfg,
            callers,
            apis,
            denied,
            ..
        } = *self;
        let window = cfg.window;
        let mut bursts: Vec<Burst> = Vec::new();
        bursts.resize_with(callers.len(), Burst::default);
        denied.merge(|d| {
            let x = Denied::decode(d)?;
            let b = &mut bursts[x.caller as usize];
            let gap = b.last.is_none_or(|l| x.t - l > window);
            b.last = Some(x.t);
            if b.fired {
                if !gap {
                    return Ok(());
                }
                b.fired = false;
            }
            b.recent.push_back((x.t, x.api, x.event_id.to_string()));
            *b.apis.entry(x.api).or_default() += 1;
            while let Some(&(t0, api0, _)) = b.recent.front() {
                if t0 >= x.t - window {
                    break;
                }
                b.recent.pop_front();
                if let Some(n) = b.apis.get_mut(&api0) {
                    *n -= 1;
                    if *n == 0 {
                        b.apis.remove(&api0);
                    }
                }
            }
            if b.recent.len() >= cfg.min_failures as usize && b.apis.len() >= cfg.min_apis as usize
            {
                b.fired = true;
                let recent = std::mem::take(&mut b.recent);
                let distinct = std::mem::take(&mut b.apis);
                cfg.finding(
                    &callers[x.caller as usize],
                    &x,
                    recent,
                    distinct,
                    &apis,
                    cx,
                    out,
                );
            }
            Ok(())
        })
    }
}

impl ApiEnumerationBurst {
    /// The finding on `caller`: its denied call `x` completes the burst `recent` (time order)
    /// over the APIs `distinct`.
    #[allow(clippy::too_many_arguments)]
    fn finding(
        &self,
        caller: &Caller,
        x: &Denied,
        recent: VecDeque<(Millis, u32, String)>,
        distinct: FxHashMap<u32, u32>,
        apis: &[String],
        cx: &Context,
        out: &mut Out,
    ) {
        let a = &cx.table[x.at as usize];
        let sess = a.session.map(|s| &cx.sessions[s]);
        let subject = match sess {
            Some(s) => session_subject(s),
            None => caller.subject.clone(),
        };
        let actor = sess
            .and_then(|s| s.session_arn.as_deref())
            .or(caller.actor.as_deref());
        let first_t = recent.front().map_or(x.t, |r| r.0);
        let mut names: Vec<&str> = distinct
            .keys()
            .map(|&i| apis[i as usize].as_str())
            .collect();
        names.sort_unstable();
        let shown = names.len().min(5);
        let etc = if names.len() > shown { ", …" } else { "" };
        let explanation = format!(
            "{} made {} denied calls on {} distinct APIs ({}{etc}) between {} and {} (within {}): enumeration of its permissions.",
            who_disp(actor, &a.origin),
            recent.len(),
            names.len(),
            names[..shown].join(", "),
            format_time(first_t),
            format_time(x.t),
            format_duration(self.window)
        );
        let mut inv = Involved::default();
        if !a.origin.is_empty() {
            inv.principals.push(&a.origin);
        }
        if let Some(p) = actor {
            inv.principals.push(p);
        }
        if let Some(s) = sess {
            if let Some(r) = &s.role_arn {
                inv.roles.push(r);
            }
            if let Some(acct) = &s.account {
                inv.accounts.push(acct);
            }
        }
        if let Some(ip) = x.source_ip {
            inv.addresses.push(ip);
        }
        out.add(
            &inv,
            Draft {
                subject,
                origin: a.origin.clone(),
                first_event_id: x.event_id.to_string(),
                time: Some(x.t),
                event_ids: recent.into_iter().map(|r| r.2).collect(),
                explanation,
            },
        );
    }
}
