//! `workload_credential_exfiltration`: per session issued to an AWS service workload (or an
//! orphan that looks like one), its first event from a public address outside AWS.

use super::Detector;
use crate::anomalies::context::{
    issuance_ids, push_unique, row_str, row_time, session_involved, session_subject, Context,
    Draft, Out,
};
use crate::anomalies::net::{self, AwsRanges, Class};
use crate::anomalies::{values, Severity};
use anyhow::Result;
use polars::prelude::*;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use trailgraph_graph::attribute::Cols;
use trailgraph_graph::graph::Session;
use trailgraph_log::model::{arn_account, origin, role_name, Millis, OriginKind};
use trailgraph_log::table::event;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkloadCredentialExfiltration {
    #[serde(deserialize_with = "values::boolean")]
    pub enabled: bool,
    pub severity: Severity,
    /// A file in the public `ip-ranges.json` format (relative paths are resolved against the
    /// config file's directory).
    #[serde(
        deserialize_with = "values::file_path",
        skip_serializing_if = "Option::is_none"
    )]
    pub aws_ip_ranges: Option<PathBuf>,
    /// Count private (RFC 1918, ULA, …) addresses as outside addresses. Off by default: the
    /// issue says private addresses never count. Useful on anonymised lab data.
    #[serde(deserialize_with = "values::boolean")]
    pub include_private: bool,
}

impl Default for WorkloadCredentialExfiltration {
    fn default() -> Self {
        WorkloadCredentialExfiltration {
            enabled: true,
            severity: Severity::High,
            aws_ip_ranges: None,
            include_private: false,
        }
    }
}

/// No workload.
const NONE: u32 = u32::MAX;
/// An orphan session that is a workload if one of its events says so.
const MAYBE: u32 = NONE - 1;

/// Per workload (role + session name): the first counted address and its event row.
struct Workload {
    home: Option<(IpAddr, usize)>,
}

#[derive(Default)]
struct Workloads<'s> {
    index: FxHashMap<(&'s str, &'s str), u32>,
    list: Vec<Workload>,
}

impl<'s> Workloads<'s> {
    /// The workload of a session, added at its first session.
    fn id(&mut self, s: &'s Session) -> u32 {
        let key = (
            s.role_arn.as_deref().unwrap_or(""),
            s.session_name.as_deref().unwrap_or(""),
        );
        let list = &mut self.list;
        *self.index.entry(key).or_insert_with(|| {
            list.push(Workload { home: None });
            (list.len() - 1) as u32
        })
    }
}

fn looks_like_instance_id(name: &str) -> bool {
    let Some(hex) = name.strip_prefix("i-") else {
        return false;
    };
    (hex.len() == 8 || hex.len() == 17) && hex.bytes().all(|c| c.is_ascii_hexdigit())
}

impl Detector for WorkloadCredentialExfiltration {
    const ABOUT: &'static str = "\
A session issued to an AWS service workload (EC2 instance profile, Lambda, ECS, ...) used
from a public address outside AWS (first such event per session).
aws_ip_ranges: a file in the public ip-ranges.json format
(https://ip-ranges.amazonaws.com/ip-ranges.json), relative to this file's directory, e.g.
  aws_ip_ranges = \"ip-ranges.json\"
Unset: any public address other than the first public address the workload (same role +
session name) used counts as outside. include_private = true: private addresses count too
(anonymised lab data).";

    fn resolve_paths(&mut self, base: &Path) {
        if let Some(p) = self.aws_ip_ranges.as_mut().filter(|p| p.is_relative()) {
            *p = base.join(&*p);
        }
    }

    fn detect(&self, cx: &Context, out: &mut Out) -> Result<()> {
        let ranges = match &self.aws_ip_ranges {
            Some(p) => Some(AwsRanges::load(p)?),
            None => None,
        };
        let ev = cx.events;
        let c = Cols::new(ev);
        let times = c.t(event::event_time)?;
        let ips = c.s(event::source_ip)?;
        let ec2d = c.s("ec2_role_delivery")?;
        let scope = c.s(event::in_scope_of_issued_to)?;
        let sessions = cx.sessions;

        // Workload sessions: issued by an AWS service, or orphans that look like one.
        let mut wl_of: Vec<u32> = vec![NONE; sessions.len()];
        let mut workloads = Workloads::default();
        for (i, s) in sessions.iter().enumerate() {
            if s.kind.is_some() {
                // Issued to a workload: by a service, or by a workload session (any depth).
                if OriginKind::of(&s.origin) == OriginKind::Service {
                    wl_of[i] = workloads.id(s);
                }
            } else if s.orphan {
                wl_of[i] = if s
                    .session_name
                    .as_deref()
                    .is_some_and(looks_like_instance_id)
                {
                    workloads.id(s)
                } else {
                    MAYBE
                };
            }
        }

        // The events of (maybe) workload sessions, in frame order; then in time order (ties
        // keep the canonical order: deterministic whatever the thread count).
        let mut todo: Vec<(Millis, u32)> = Vec::new();
        for i in 0..ev.height() {
            let (Some(t), Some(s)) = (times.get(i), cx.at.of(i).session) else {
                continue;
            };
            let w = wl_of[s];
            if w == MAYBE && (ec2d.get(i).is_some() || scope.get(i).is_some()) {
                wl_of[s] = workloads.id(&sessions[s]);
            }
            if w != NONE {
                todo.push((t, i as u32));
            }
        }
        for w in wl_of.iter_mut() {
            if *w == MAYBE {
                *w = NONE;
            }
        }
        todo.sort_unstable();

        let mut fired = vec![false; sessions.len()];
        for &(_, i) in &todo {
            let i = i as usize;
            let Some(s) = cx.at.of(i).session else {
                continue;
            };
            let w = wl_of[s];
            if w == NONE || fired[s] {
                continue;
            }
            let Some(ip_text) = ips.get(i) else {
                continue;
            };
            let Some(a) = net::parse_addr(ip_text) else {
                continue;
            };
            let counted = match net::class(&a) {
                Class::Public => true,
                Class::Private => self.include_private,
                Class::Other => false,
            };
            if !counted || cx.allow.address(ip_text) {
                continue;
            }
            let wl = &mut workloads.list[w as usize];
            let fire = match &ranges {
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
                fired[s] = true;
                let home = if ranges.is_some() { None } else { wl.home };
                finding(&sessions[s], i, ip_text, home, ranges.is_some(), ev, out)?;
            }
        }
        Ok(())
    }
}

fn finding(
    s: &Session,
    row: usize,
    ip: &str,
    home: Option<(IpAddr, usize)>,
    with_ranges: bool,
    ev: &DataFrame,
    out: &mut Out,
) -> Result<()> {
    let mut ids: Vec<String> = issuance_ids(s).collect();
    if let Some((_, hr)) = home {
        if let Some(id) = row_str(ev, event::event_id, hr)? {
            push_unique(&mut ids, id);
        }
    }
    let eid = row_str(ev, event::event_id, row)?.unwrap_or_default();
    push_unique(&mut ids, eid.clone());
    let role = s.role_arn.as_deref().unwrap_or("?");
    let name = s.session_name.as_deref().unwrap_or("?");
    let svc = origin::parse_service(&s.origin).unwrap_or(&s.origin);
    let issued = if s.orphan {
        "its issuance is not in the input".to_string()
    } else if s.parent.is_some() {
        format!("assumed by a session of {svc}")
    } else {
        format!("issued by {svc}")
    };
    let event = row_str(ev, event::event_name, row)?.unwrap_or_default();
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
        &inv,
        Draft {
            subject: session_subject(s),
            origin: s.origin.clone(),
            first_event_id: eid,
            time: row_time(ev, row)?,
            event_ids: ids,
            explanation,
        },
    );
    Ok(())
}
