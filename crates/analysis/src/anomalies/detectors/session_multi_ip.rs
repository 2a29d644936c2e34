//! `session_multi_ip`: a temporary key used from another /prefix_len network within `window`
//! of a use from its home address (the IPv4 address of its earliest event).

use super::{Detector, Reader};
use crate::anomalies::config::Allow;
use crate::anomalies::context::{or_unknown, push_unique, Context, Draft, Involved, Out};
use crate::anomalies::events::{Dec, Position, Rows, TimeOrdered};
use crate::anomalies::net::{self, Class};
use crate::anomalies::{values, Severity};
use anyhow::Result;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use trailgraph_graph::attribute::Cols;
use trailgraph_graph::graph::{Attribution, Session};
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

/// One use of a temporary key from a counted IPv4 address, as spilled (`S`: `&str` as read
/// back, `String` while pending).
#[derive(Clone)]
struct Use<S> {
    t: Millis,
    pos: Position,
    key: u32,
    ip: u32,
    /// Attribution index.
    at: u32,
    event_id: S,
    recipient: Option<S>,
    /// The identity ARN, only when the attribution's session has no session ARN (the finding's
    /// actor is one or the other).
    identity_arn: Option<S>,
}

impl<'b> Use<&'b str> {
    fn decode(mut d: Dec<'b>) -> Result<Self> {
        Ok(Use {
            t: d.i64()?,
            pos: (d.u64()?, d.u64()?),
            key: d.u32()?,
            ip: d.u32()?,
            at: d.u32()?,
            event_id: d.str()?.unwrap_or_default(),
            recipient: d.str()?,
            identity_arn: d.str()?,
        })
    }

    fn owned(&self) -> Use<String> {
        Use {
            t: self.t,
            pos: self.pos,
            key: self.key,
            ip: self.ip,
            at: self.at,
            event_id: self.event_id.to_string(),
            recipient: self.recipient.map(String::from),
            identity_arn: self.identity_arn.map(String::from),
        }
    }
}

/// An event of a key by its time, position and id (the evidence of a finding).
struct Seen {
    t: Millis,
    pos: Position,
    event_id: String,
}

impl Seen {
    fn of(u: &Use<&str>) -> Seen {
        Seen {
            t: u.t,
            pos: u.pos,
            event_id: u.event_id.to_string(),
        }
    }

    /// Becomes `u` (reusing its buffer: most uses are from the home address).
    fn set(&mut self, u: &Use<&str>) {
        self.t = u.t;
        self.pos = u.pos;
        self.event_id.clear();
        self.event_id.push_str(u.event_id);
    }
}

/// Per temporary key, in the walk.
struct KeyState {
    home: u32,
    first_home: Seen,
    last_home: Seen,
    /// Uses from another network since the last home use, within `window` (time order).
    pending: Vec<Use<String>>,
    done: bool,
}

/// The reader: the uses of temporary keys from counted IPv4 addresses, spilled; walked per key
/// in time order in `finish`. Memory: the keys (interned) and one slice's records.
struct MultiIp<'a> {
    cfg: &'a SessionMultiIp,
    allow: &'a Allow,
    sessions: &'a [Session],
    table: &'a [Attribution],
    key_ix: FxHashMap<String, u32>,
    keys: Vec<String>,
    uses: TimeOrdered,
}

impl Detector for SessionMultiIp {
    const ABOUT: &'static str = "\
A temporary key used from another /prefix_len network within `window` of a use from its
home address (the IPv4 address of its earliest event). include_private = true: private IPv4
addresses count as home or other addresses.";

    fn reader<'a>(&'a self, cx: &Context<'a>) -> Result<Option<Box<dyn Reader + 'a>>> {
        Ok(Some(Box::new(MultiIp {
            cfg: self,
            allow: cx.allow,
            sessions: cx.sessions,
            table: cx.table,
            key_ix: FxHashMap::default(),
            keys: Vec::new(),
            uses: TimeOrdered::new()?,
        })))
    }
}

impl Reader for MultiIp<'_> {
    fn columns(&self) -> &'static [&'static str] {
        &[
            event::event_time,
            event::source_ip,
            event::access_key_id,
            event::event_id,
            event::recipient_account,
            event::identity_arn,
        ]
    }

    fn visit(&mut self, rows: &Rows) -> Result<()> {
        let c = Cols::new(rows.events);
        let times = c.t(event::event_time)?;
        let ips = c.s(event::source_ip)?;
        let keys = c.s(event::access_key_id)?;
        let eids = c.s(event::event_id)?;
        let rcpt = c.s(event::recipient_account)?;
        let arns = c.s(event::identity_arn)?;
        for i in 0..rows.height() {
            let Some(t) = times.get(i) else {
                continue;
            };
            let Some(k) = keys.get(i).filter(|k| k.starts_with("ASIA")) else {
                continue;
            };
            let Some(ip_text) = ips.get(i) else {
                continue;
            };
            let Some(a) = net::ipv4(ip_text) else {
                continue;
            };
            let counted = match net::class_v4(a) {
                Class::Public => true,
                Class::Private => self.cfg.include_private,
                Class::Other => false,
            };
            if !counted || self.allow.address(ip_text) {
                continue;
            }
            let key = match self.key_ix.get(k) {
                Some(&x) => x,
                None => {
                    let x = self.keys.len() as u32;
                    self.keys.push(k.to_string());
                    self.key_ix.insert(k.to_string(), x);
                    x
                }
            };
            let (p, at) = (rows.position(i), rows.attribution(i));
            let has_session_arn = self.table[at as usize]
                .session
                .is_some_and(|s| self.sessions[s].session_arn.is_some());
            self.uses
                .record(t, p)?
                .i64(t)
                .u64(p.0)
                .u64(p.1)
                .u32(key)
                .u32(a)
                .u32(at)
                .str(eids.get(i))
                .str(rcpt.get(i))
                .str(if has_session_arn { None } else { arns.get(i) });
        }
        self.uses.end_run()
    }

    fn finish(self: Box<Self>, cx: &Context, out: &mut Out) -> Result<()> {
        let MultiIp {
            cfg, keys, uses, ..
        } = *self;
        let shift = 32 - cfg.prefix_len as u32;
        let net_of = |a: u32| if shift >= 32 { 0 } else { a >> shift };
        let window = cfg.window;
        let mut kst: Vec<Option<KeyState>> = Vec::new();
        kst.resize_with(keys.len(), || None);
        // Every key's uses in time order (ties in canonical order).
        uses.merge(|d| {
            let u = Use::decode(d)?;
            let st = kst[u.key as usize].get_or_insert_with(|| KeyState {
                home: u.ip,
                first_home: Seen::of(&u),
                last_home: Seen::of(&u),
                pending: Vec::new(),
                done: false,
            });
            if st.done {
                return Ok(());
            }
            let t = u.t;
            if u.ip == st.home {
                st.last_home.set(&u);
                st.pending.retain(|p| p.t + window >= t);
                if !st.pending.is_empty() {
                    st.done = true;
                    let other = std::mem::take(&mut st.pending).swap_remove(0);
                    let k = &keys[u.key as usize];
                    cfg.finding(k, &other, st.home, &st.first_home, &st.last_home, cx, out);
                }
            } else if net_of(u.ip) != net_of(st.home) {
                if t - st.last_home.t <= window {
                    st.done = true;
                    st.pending = Vec::new();
                    let k = &keys[u.key as usize];
                    let row = u.owned();
                    cfg.finding(k, &row, st.home, &st.first_home, &st.last_home, cx, out);
                    return Ok(());
                }
                st.pending.retain(|p| p.t + window >= t);
                st.pending.push(u.owned());
            }
            Ok(())
        })
    }
}

impl SessionMultiIp {
    /// The finding on `key`: its use `row` from another network, its first and its last home
    /// use (`last_home` is the one within the window of `row`).
    #[allow(clippy::too_many_arguments)]
    fn finding(
        &self,
        key: &str,
        row: &Use<String>,
        home: u32,
        first_home: &Seen,
        last_home: &Seen,
        cx: &Context,
        out: &mut Out,
    ) {
        let a = &cx.table[row.at as usize];
        let mut seen = [
            (first_home.t, first_home.pos, &first_home.event_id),
            (last_home.t, last_home.pos, &last_home.event_id),
            (row.t, row.pos, &row.event_id),
        ];
        seen.sort_by_key(|&(t, p, _)| (t, p));
        let mut ids = Vec::new();
        for (_, _, id) in seen {
            push_unique(&mut ids, id.clone());
        }
        let (other_s, home_s) = (fmt_v4(row.ip), fmt_v4(home));
        let sess = a.session.map(|s| &cx.sessions[s]);
        let actor = sess
            .and_then(|s| s.session_arn.clone())
            .or(row.identity_arn.clone())
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
        if let Some(r) = &row.recipient {
            inv.accounts.push(r);
        }
        out.add(
            &inv,
            Draft {
                subject: key.to_string(),
                origin: a.origin.clone(),
                first_event_id: row.event_id.clone(),
                time: Some(row.t),
                event_ids: ids,
                explanation,
            },
        );
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
