//! `session_multi_ip`: a temporary key used from another /prefix_len network within `window`
//! of a use from its home address (the IPv4 address of its earliest event).

use super::Detector;
use crate::anomalies::context::{
    or_unknown, push_unique, row_str, row_time, Context, Draft, Involved, Out,
};
use crate::anomalies::net::{self, Class};
use crate::anomalies::{values, Severity};
use anyhow::Result;
use polars::prelude::*;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use trailgraph_graph::attribute::{Attributed, Cols};
use trailgraph_log::model::Millis;
use trailgraph_log::table::event;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SessionMultiIp {
    #[serde(deserialize_with = "values::boolean")]
    pub enabled: bool,
    pub severity: Severity,
    #[serde(deserialize_with = "values::int::<_, _, 0, 32>")]
    pub prefix_len: u8,
    #[serde(with = "values::duration")]
    pub window: Millis,
    /// Consider private IPv4 addresses too (off by default: VPC endpoint traffic of the same
    /// key shows the private address next to the public one).
    #[serde(deserialize_with = "values::boolean")]
    pub include_private: bool,
}

impl Default for SessionMultiIp {
    fn default() -> Self {
        SessionMultiIp {
            enabled: true,
            severity: Severity::Medium,
            prefix_len: 16,
            window: 10 * 60_000,
            include_private: false,
        }
    }
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

impl Detector for SessionMultiIp {
    const ABOUT: &'static str = "\
A temporary key used from another /prefix_len network within `window` of a use from its
home address (the IPv4 address of its earliest event). include_private = true: private IPv4
addresses count as home or other addresses.";

    fn detect(&self, cx: &Context, out: &mut Out) -> Result<()> {
        let ev = cx.events;
        let c = Cols::new(ev);
        let times = c.t(event::event_time)?;
        let ips = c.s(event::source_ip)?;
        let keys = c.s(event::access_key_id)?;
        let shift = 32 - self.prefix_len as u32;
        let net_of = |a: u32| if shift >= 32 { 0 } else { a >> shift };
        let mut key_ix: FxHashMap<&str, u32> = FxHashMap::default();
        let mut kst: Vec<KeyState> = Vec::new();

        // The events signed by temporary keys, in time order (ties keep the canonical order:
        // deterministic whatever the thread count).
        let mut todo: Vec<(Millis, u32)> = Vec::new();
        for i in 0..ev.height() {
            if let Some(t) = times.get(i) {
                if keys.get(i).is_some_and(|k| k.starts_with("ASIA")) {
                    todo.push((t, i as u32));
                }
            }
        }
        todo.sort_unstable();

        for &(t, i) in &todo {
            let i = i as usize;
            let (Some(k), Some(ip_text)) = (keys.get(i), ips.get(i)) else {
                continue;
            };
            let Some(a) = net::ipv4(ip_text) else {
                continue;
            };
            let counted = match net::class_v4(a) {
                Class::Public => true,
                Class::Private => self.include_private,
                Class::Other => false,
            };
            if counted && !cx.allow.address(ip_text) {
                self.step(&mut key_ix, &mut kst, k, a, t, i, &net_of, ev, cx.at, out)?;
            }
        }
        Ok(())
    }
}

impl SessionMultiIp {
    #[allow(clippy::too_many_arguments)]
    fn step<'a>(
        &self,
        key_ix: &mut FxHashMap<&'a str, u32>,
        kst: &mut Vec<KeyState>,
        k: &'a str,
        a: u32,
        t: Millis,
        i: usize,
        net_of: &dyn Fn(u32) -> u32,
        ev: &DataFrame,
        at: &Attributed,
        out: &mut Out,
    ) -> Result<()> {
        let window = self.window;
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
                return self.finding(k, row, other, home, first_home, i, ev, at, out);
            }
        } else if net_of(a) != net_of(st.home) {
            if t - st.last_home <= window {
                st.done = true;
                let (home, first_home, last) = (st.home, st.home_row, st.last_home_row);
                st.pending = Vec::new();
                return self.finding(k, i, a, home, first_home, last, ev, at, out);
            }
            st.pending.retain(|p| p.0 + window >= t);
            st.pending.push((t, i, a));
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn finding(
        &self,
        key: &str,
        row: usize,
        other: u32,
        home: u32,
        first_home_row: usize,
        home_row: usize,
        ev: &DataFrame,
        at: &Attributed,
        out: &mut Out,
    ) -> Result<()> {
        let a = at.of(row);
        let mut rows = vec![first_home_row, home_row, row];
        rows.sort_by_key(|&r| (row_time(ev, r).ok().flatten(), r));
        rows.dedup();
        let mut ids = Vec::new();
        for r in rows {
            if let Some(id) = row_str(ev, event::event_id, r)? {
                push_unique(&mut ids, id);
            }
        }
        let (other_s, home_s) = (fmt_v4(other), fmt_v4(home));
        let sess = a.session.map(|s| &at.graph.sessions[s]);
        let actor = sess
            .and_then(|s| s.session_arn.clone())
            .or(row_str(ev, event::identity_arn, row)?)
            .unwrap_or_else(|| or_unknown(&a.origin).to_string());
        let explanation = format!(
            "Temporary key {key} of {actor} (origin {}) was used from {other_s}, outside the /{} of its home address {home_s}, within {} of a use from {home_s}.",
            or_unknown(&a.origin),
            self.prefix_len,
            dur_text(self.window)
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
        let recipient = row_str(ev, event::recipient_account, row)?;
        if let Some(r) = &recipient {
            inv.accounts.push(r);
        }
        out.add(
            &inv,
            Draft {
                subject: key.to_string(),
                origin: a.origin.clone(),
                first_event_id: row_str(ev, event::event_id, row)?.unwrap_or_default(),
                time: row_time(ev, row)?,
                event_ids: ids,
                explanation,
            },
        );
        Ok(())
    }
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
