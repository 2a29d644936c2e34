//! `workload_credential_exfiltration`: per session issued to an AWS service workload (or an
//! orphan that looks like one), its first event from a public address outside AWS.

use super::{Detector, Reader};
use crate::anomalies::config::Allow;
use crate::anomalies::context::{
    issuance_ids, push_unique, session_involved, session_subject, Context, Draft, Out,
};
use crate::anomalies::events::{Position, Rows};
use crate::anomalies::net::{self, AwsRanges, Class};
use crate::anomalies::{values, Severity};
use anyhow::Result;
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

/// The workloads (role + session name), numbered as they are met.
#[derive(Default)]
struct Workloads<'s> {
    index: FxHashMap<(&'s str, &'s str), u32>,
}

impl<'s> Workloads<'s> {
    /// The workload of a session, added at its first session.
    fn id(&mut self, s: &'s Session) -> u32 {
        let key = (
            s.role_arn.as_deref().unwrap_or(""),
            s.session_name.as_deref().unwrap_or(""),
        );
        let n = self.index.len() as u32;
        *self.index.entry(key).or_insert(n)
    }

    fn len(&self) -> usize {
        self.index.len()
    }
}

fn looks_like_instance_id(name: &str) -> bool {
    let Some(hex) = name.strip_prefix("i-") else {
        return false;
    };
    (hex.len() == 8 || hex.len() == 17) && hex.bytes().all(|c| c.is_ascii_hexdigit())
}

/// A counted use of a session: when and where, and what a finding prints of it.
struct Use {
    t: Millis,
    pos: Position,
    addr: IpAddr,
    ip: String,
    event_id: Option<String>,
    event_name: Option<String>,
}

impl Use {
    fn before(&self, t: Millis, pos: Position) -> bool {
        (self.t, self.pos) < (t, pos)
    }
}

/// Per (maybe) workload session: its earliest counted use (with `aws_ip_ranges`: its earliest
/// from outside the ranges), and its earliest from another address than that one's. Whatever
/// address turns out to be its workload's first, the session's first use from another address
/// is one of the two.
#[derive(Default)]
struct Uses {
    first: Option<Use>,
    other: Option<Use>,
}

impl Uses {
    /// Takes one more use into account (uses come in any order).
    fn add(&mut self, t: Millis, pos: Position, addr: IpAddr, make: impl FnOnce() -> Use) {
        match &self.first {
            None => self.first = Some(make()),
            Some(f) if !f.before(t, pos) => {
                // The earliest use from another address than the new first is the old first
                // (when its address differs), else unchanged.
                let old = self.first.replace(make()).expect("some");
                if old.addr != addr {
                    self.other = Some(old);
                }
            }
            Some(f) => {
                if f.addr != addr && self.other.as_ref().is_none_or(|o| !o.before(t, pos)) {
                    self.other = Some(make());
                }
            }
        }
    }
}

/// The reader: the counted uses of the sessions of workloads (and of orphans that may be
/// workloads), two per session at most. Memory grows with sessions, not events.
struct Exfil<'a> {
    cfg: &'a WorkloadCredentialExfiltration,
    allow: &'a Allow,
    sessions: &'a [Session],
    ranges: Option<AwsRanges>,
    /// Per session: its workload, `MAYBE` or `NONE`.
    wl_of: Vec<u32>,
    workloads: Workloads<'a>,
    uses: FxHashMap<usize, Uses>,
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

    fn reader<'a>(&'a self, cx: &Context<'a>) -> Result<Option<Box<dyn Reader + 'a>>> {
        let ranges = match &self.aws_ip_ranges {
            Some(p) => Some(AwsRanges::load(p)?),
            None => None,
        };
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
        Ok(Some(Box::new(Exfil {
            cfg: self,
            allow: cx.allow,
            sessions,
            ranges,
            wl_of,
            workloads,
            uses: FxHashMap::default(),
        })))
    }
}

impl Reader for Exfil<'_> {
    fn columns(&self) -> &'static [&'static str] {
        &[
            event::event_time,
            event::source_ip,
            event::ec2_role_delivery,
            event::in_scope_of_issued_to,
            event::event_id,
            event::event_name,
        ]
    }

    fn visit(&mut self, rows: &Rows) -> Result<()> {
        let c = Cols::new(rows.events);
        let times = c.t(event::event_time)?;
        let ips = c.s(event::source_ip)?;
        let ec2d = c.s(event::ec2_role_delivery)?;
        let scope = c.s(event::in_scope_of_issued_to)?;
        let eids = c.s(event::event_id)?;
        let names = c.s(event::event_name)?;
        for i in 0..rows.height() {
            let (Some(t), Some(s)) = (times.get(i), rows.of(i).session) else {
                continue;
            };
            let w = self.wl_of[s];
            // An orphan is a workload if one of its events says so.
            if w == MAYBE && (ec2d.get(i).is_some() || scope.get(i).is_some()) {
                self.wl_of[s] = self.workloads.id(&self.sessions[s]);
            }
            if w == NONE {
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
                Class::Private => self.cfg.include_private,
                Class::Other => false,
            };
            if !counted || self.allow.address(ip_text) {
                continue;
            }
            if self.ranges.as_ref().is_some_and(|r| r.contains(&a)) {
                continue;
            }
            let pos = rows.position(i);
            self.uses.entry(s).or_default().add(t, pos, a, || Use {
                t,
                pos,
                addr: a,
                ip: ip_text.to_string(),
                event_id: eids.get(i).map(String::from),
                event_name: names.get(i).map(String::from),
            });
        }
        Ok(())
    }

    fn finish(self: Box<Self>, _cx: &Context, out: &mut Out) -> Result<()> {
        let Exfil {
            sessions,
            ranges,
            wl_of,
            workloads,
            uses,
            ..
        } = *self;
        // Orphans none of whose events said so are not workloads.
        let workload = |s: usize| Some(wl_of[s]).filter(|&w| w != NONE && w != MAYBE);
        let mut uses: Vec<(usize, Uses)> = uses
            .into_iter()
            .filter(|(s, _)| workload(*s).is_some())
            .collect();
        uses.sort_unstable_by_key(|(s, _)| *s);
        if ranges.is_some() {
            // The first use of each session from outside the AWS ranges.
            for (s, u) in &uses {
                if let Some(f) = &u.first {
                    finding(&sessions[*s], f, None, true, out);
                }
            }
            return Ok(());
        }
        // Each workload's first counted use (its home), over all its sessions.
        let mut home: Vec<Option<&Use>> = vec![None; workloads.len()];
        for (s, u) in &uses {
            let (Some(w), Some(f)) = (workload(*s), &u.first) else {
                continue;
            };
            let h = &mut home[w as usize];
            if h.is_none_or(|h| f.before(h.t, h.pos)) {
                *h = Some(f);
            }
        }
        // Each session's first use from another address than its workload's home.
        for (s, u) in &uses {
            let (Some(w), Some(f)) = (workload(*s), &u.first) else {
                continue;
            };
            let h = home[w as usize].expect("a workload with a use has a home");
            let row = if f.addr != h.addr {
                Some(f)
            } else {
                u.other.as_ref()
            };
            if let Some(row) = row {
                finding(&sessions[*s], row, Some(h), false, out);
            }
        }
        Ok(())
    }
}

fn finding(s: &Session, row: &Use, home: Option<&Use>, with_ranges: bool, out: &mut Out) {
    let mut ids: Vec<String> = issuance_ids(s).collect();
    if let Some(h) = home {
        if let Some(id) = &h.event_id {
            push_unique(&mut ids, id.clone());
        }
    }
    let eid = row.event_id.clone().unwrap_or_default();
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
    let event = row.event_name.as_deref().unwrap_or_default();
    let ip = row.ip.as_str();
    let why = match home {
        _ if with_ranges => "an address outside the AWS ranges".to_string(),
        Some(h) => format!(
            "an address the workload did not use first (its first was {})",
            h.addr
        ),
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
            time: Some(row.t),
            event_ids: ids,
            explanation,
        },
    );
}
