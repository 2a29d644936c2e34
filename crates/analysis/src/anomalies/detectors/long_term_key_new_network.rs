//! `long_term_key_new_network`: a long-term access key (`AKIA…`: an IAM user's or the root
//! user's) used from a network it did not use during the learning period.

use super::{Detector, Reader};
use crate::anomalies::config::Allow;
use crate::anomalies::context::{who_disp, Context, Draft, Involved, Out};
use crate::anomalies::events::{Position, Rows};
use crate::anomalies::net::{self, Class};
use crate::anomalies::{values, Severity};
use anyhow::Result;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use trailgraph_graph::attribute::Cols;
use trailgraph_log::model::{format_time, Millis};
use trailgraph_log::table::event;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LongTermKeyNewNetwork {
    #[serde(deserialize_with = "values::boolean")]
    pub enabled: bool,
    pub severity: Severity,
    #[serde(deserialize_with = "values::int::<_, _, 0, 32>")]
    pub ipv4_prefix_len: u8,
    #[serde(deserialize_with = "values::int::<_, _, 0, 128>")]
    pub ipv6_prefix_len: u8,
    /// Private addresses (RFC 1918, 100.64/10, IPv6 ULA) count as networks too.
    #[serde(deserialize_with = "values::boolean")]
    pub include_private: bool,
    /// A key with no use at all in the learning period: report its first use from each
    /// network (off: only keys with a learning-period history are judged).
    #[serde(deserialize_with = "values::boolean")]
    pub new_keys: bool,
}

impl Default for LongTermKeyNewNetwork {
    fn default() -> Self {
        LongTermKeyNewNetwork {
            enabled: true,
            severity: Severity::Medium,
            ipv4_prefix_len: 16,
            ipv6_prefix_len: 48,
            include_private: false,
            new_keys: false,
        }
    }
}

/// A network: an IPv4 or IPv6 prefix (the address with the host bits cleared).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Net {
    V4(u32),
    V6(u128),
}

impl LongTermKeyNewNetwork {
    fn net(&self, a: &IpAddr) -> Net {
        match a {
            IpAddr::V4(v) => Net::V4(mask32(u32::from(*v), self.ipv4_prefix_len)),
            IpAddr::V6(v) => match v.to_ipv4_mapped() {
                Some(m) => Net::V4(mask32(u32::from(m), self.ipv4_prefix_len)),
                None => Net::V6(mask128(u128::from(*v), self.ipv6_prefix_len)),
            },
        }
    }

    fn net_text(&self, n: Net) -> String {
        match n {
            Net::V4(a) => format!("{}/{}", Ipv4Addr::from(a), self.ipv4_prefix_len),
            Net::V6(a) => format!("{}/{}", Ipv6Addr::from(a), self.ipv6_prefix_len),
        }
    }
}

fn mask32(a: u32, len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        a & (u32::MAX << (32 - len as u32))
    }
}

fn mask128(a: u128, len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        a & (u128::MAX << (128 - len as u32))
    }
}

/// The earliest use of a key from a network.
struct Use {
    t: Millis,
    pos: Position,
    event_id: String,
    address: String,
    /// Attribution index.
    at: u32,
    identity_arn: Option<String>,
    recipient: Option<String>,
}

/// The reader: per (key, network), the earliest use. Memory: those pairs (the learning
/// period's end is only known after the pass, so every pair is kept until `finish`).
struct Networks<'a> {
    cfg: &'a LongTermKeyNewNetwork,
    allow: &'a Allow,
    /// Per key, per network.
    first: FxHashMap<String, FxHashMap<Net, Use>>,
}

impl Detector for LongTermKeyNewNetwork {
    const ABOUT: &'static str = "\
A long-term access key (AKIA..., an IAM user's or the root user's) used from a network
(/ipv4_prefix_len, /ipv6_prefix_len) it did not use during the learning period: its first use
from each new network. Service names and \"AWS Internal\" are not networks; private addresses
count only with include_private = true. new_keys = true: also judge keys with no use in the
learning period.";

    fn reader<'a>(&'a self, cx: &Context<'a>) -> Result<Option<Box<dyn Reader + 'a>>> {
        Ok(Some(Box::new(Networks {
            cfg: self,
            allow: cx.allow,
            first: FxHashMap::default(),
        })))
    }
}

impl Reader for Networks<'_> {
    fn columns(&self) -> &'static [&'static str] {
        &[
            event::event_time,
            event::access_key_id,
            event::source_ip,
            event::event_id,
            event::identity_arn,
            event::recipient_account,
        ]
    }

    fn visit(&mut self, rows: &Rows) -> Result<()> {
        let c = Cols::new(rows.events);
        let times = c.t(event::event_time)?;
        let keys = c.s(event::access_key_id)?;
        let ips = c.s(event::source_ip)?;
        let eids = c.s(event::event_id)?;
        let arns = c.s(event::identity_arn)?;
        let rcpt = c.s(event::recipient_account)?;
        for i in 0..rows.height() {
            let Some(k) = keys.get(i).filter(|k| k.starts_with("AKIA")) else {
                continue;
            };
            let Some(t) = times.get(i) else {
                continue;
            };
            let Some(ip_text) = ips.get(i) else {
                continue;
            };
            // Service names (`ec2.amazonaws.com`) and `AWS Internal` do not parse.
            let Some(addr) = net::parse_addr(ip_text) else {
                continue;
            };
            let counted = match net::class(&addr) {
                Class::Public => true,
                Class::Private => self.cfg.include_private,
                Class::Other => false,
            };
            if !counted || self.allow.address(ip_text) {
                continue;
            }
            let n = self.cfg.net(&addr);
            let pos = rows.position(i);
            let new = || Use {
                t,
                pos,
                event_id: eids.get(i).unwrap_or_default().to_string(),
                address: ip_text.to_string(),
                at: rows.attribution(i),
                identity_arn: arns.get(i).map(String::from),
                recipient: rcpt.get(i).map(String::from),
            };
            // Most events repeat a key already seen: look up before allocating.
            let nets = match self.first.get_mut(k) {
                Some(m) => m,
                None => self.first.entry(k.to_string()).or_default(),
            };
            match nets.get_mut(&n) {
                Some(u) => {
                    if (t, pos) < (u.t, u.pos) {
                        *u = new();
                    }
                }
                None => {
                    nets.insert(n, new());
                }
            }
        }
        Ok(())
    }

    fn finish(self: Box<Self>, cx: &Context, out: &mut Out) -> Result<()> {
        let Some(base) = cx.baseline_end else {
            return Ok(());
        };
        let cfg = self.cfg;
        for (k, nets) in &self.first {
            // The key's learning-period networks (sorted) and its earliest use then.
            let mut old: Vec<Net> = Vec::new();
            let mut first: Option<&Use> = None;
            for (n, u) in nets {
                if u.t < base {
                    old.push(*n);
                    if first.is_none_or(|f| (u.t, u.pos) < (f.t, f.pos)) {
                        first = Some(u);
                    }
                }
            }
            if first.is_none() && !cfg.new_keys {
                continue;
            }
            old.sort_unstable();
            for (n, u) in nets {
                if u.t >= base {
                    cfg.finding(k, *n, u, &old, first, base, cx, out);
                }
            }
        }
        Ok(())
    }
}

impl LongTermKeyNewNetwork {
    /// The finding on key `k`: its first use `u` from network `n`, after the learning period
    /// (ended `base`) in which it used the networks `old`, first with `first`.
    #[allow(clippy::too_many_arguments)]
    fn finding(
        &self,
        k: &str,
        n: Net,
        u: &Use,
        old: &[Net],
        first: Option<&Use>,
        base: Millis,
        cx: &Context,
        out: &mut Out,
    ) {
        let cfg = self;
        let known = first.map(|f| (old, f));
        let a = &cx.table[u.at as usize];
        let mut ids = Vec::new();
        let before = match known {
            Some((nets, first)) => {
                ids.push(first.event_id.clone());
                let shown: Vec<String> = nets.iter().take(3).map(|&m| cfg.net_text(m)).collect();
                let etc = if nets.len() > 3 { ", …" } else { "" };
                format!(
                    "it was used from {} other network{} then ({}{etc})",
                    nets.len(),
                    if nets.len() == 1 { "" } else { "s" },
                    shown.join(", ")
                )
            }
            None => "it was not used at all then".to_string(),
        };
        if !ids.contains(&u.event_id) {
            ids.push(u.event_id.clone());
        }
        ids.retain(|s| !s.is_empty());
        let explanation = format!(
                "Long-term key {k} of {} was used from {} (network {}) at {}, a network it did not use in the learning period that ended {}: {before}.",
                who_disp(u.identity_arn.as_deref(), &a.origin),
                u.address,
                cfg.net_text(n),
                format_time(u.t),
                format_time(base)
            );
        let mut inv = Involved::default();
        if !a.origin.is_empty() {
            inv.principals.push(&a.origin);
        }
        if let Some(p) = &u.identity_arn {
            inv.principals.push(p);
        }
        if let Some(r) = &u.recipient {
            inv.accounts.push(r);
        }
        inv.addresses.push(&u.address);
        out.add(
            &inv,
            Draft {
                subject: k.to_string(),
                origin: a.origin.clone(),
                first_event_id: u.event_id.clone(),
                time: Some(u.t),
                event_ids: ids,
                explanation,
            },
        );
    }
}
