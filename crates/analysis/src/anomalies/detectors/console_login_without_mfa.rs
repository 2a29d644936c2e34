//! `console_login_without_mfa`: a successful console sign-in of an IAM user or the root user
//! without MFA, per (principal, source address).

use super::{Detector, Reader};
use crate::anomalies::context::{Context, Draft, Involved, Out};
use crate::anomalies::events::{Position, Rows};
use crate::anomalies::{values, Severity};
use anyhow::Result;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use trailgraph_graph::attribute::Cols;
use trailgraph_log::model::{format_time, IdentityType, Millis};
use trailgraph_log::table::event;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsoleLoginWithoutMfa {
    #[serde(deserialize_with = "values::boolean")]
    pub enabled: bool,
    pub severity: Severity,
}

impl Default for ConsoleLoginWithoutMfa {
    fn default() -> Self {
        ConsoleLoginWithoutMfa {
            enabled: true,
            severity: Severity::Medium,
        }
    }
}

/// The earliest login of a (principal, address) pair, and how many there are.
struct Login {
    t: Millis,
    pos: Position,
    event_id: String,
    /// Attribution index.
    at: u32,
    root: bool,
    recipient: Option<String>,
    count: u64,
    last: Millis,
}

/// The reader: per (principal, address), its earliest successful login without MFA. Memory:
/// the pairs.
struct Logins<'a> {
    allow: &'a crate::anomalies::config::Allow,
    pairs: FxHashMap<(String, String), Login>,
}

impl Detector for ConsoleLoginWithoutMfa {
    const ABOUT: &'static str = "\
A successful ConsoleLogin of an IAM user or the root user with MFAUsed \"No\", once per
(principal, source address) at its earliest login. Federated and Identity Center console
sign-ins are not IAM-user logins and are not checked.";

    fn reader<'a>(&'a self, cx: &Context<'a>) -> Result<Option<Box<dyn Reader + 'a>>> {
        Ok(Some(Box::new(Logins {
            allow: cx.allow,
            pairs: FxHashMap::default(),
        })))
    }
}

impl Reader for Logins<'_> {
    fn columns(&self) -> &'static [&'static str] {
        &[
            event::event_time,
            event::event_name,
            event::console_login_result,
            event::console_mfa_used,
            event::identity_type,
            event::identity_arn,
            event::principal_id,
            event::source_ip,
            event::event_id,
            event::recipient_account,
        ]
    }

    fn visit(&mut self, rows: &Rows) -> Result<()> {
        let c = Cols::new(rows.events);
        let times = c.t(event::event_time)?;
        let names = c.s(event::event_name)?;
        let result = c.s(event::console_login_result)?;
        let mfa = c.s(event::console_mfa_used)?;
        let types = c.s(event::identity_type)?;
        let arns = c.s(event::identity_arn)?;
        let pids = c.s(event::principal_id)?;
        let ips = c.s(event::source_ip)?;
        let eids = c.s(event::event_id)?;
        let rcpt = c.s(event::recipient_account)?;
        for i in 0..rows.height() {
            if names.get(i) != Some("ConsoleLogin")
                || result.get(i) != Some("Success")
                || !mfa.get(i).is_some_and(|m| m.eq_ignore_ascii_case("No"))
            {
                continue;
            }
            let ty = types.get(i);
            let root = IdentityType::Root.matches(ty);
            if !root && !IdentityType::IAMUser.matches(ty) {
                continue;
            }
            let Some(t) = times.get(i) else {
                continue;
            };
            let Some(who) = arns.get(i).or(pids.get(i)).filter(|s| !s.is_empty()) else {
                continue;
            };
            let ip = ips.get(i).unwrap_or("");
            if self.allow.address(ip) {
                continue;
            }
            let pos = rows.position(i);
            let new = || Login {
                t,
                pos,
                event_id: eids.get(i).unwrap_or_default().to_string(),
                at: rows.attribution(i),
                root,
                recipient: rcpt.get(i).map(String::from),
                count: 0,
                last: t,
            };
            let l = self
                .pairs
                .entry((who.to_string(), ip.to_string()))
                .or_insert_with(new);
            l.count += 1;
            l.last = l.last.max(t);
            if (t, pos) < (l.t, l.pos) {
                let (count, last) = (l.count, l.last);
                *l = new();
                l.count = count;
                l.last = last;
            }
        }
        Ok(())
    }

    fn finish(self: Box<Self>, cx: &Context, out: &mut Out) -> Result<()> {
        for ((who, ip), l) in self.pairs {
            let a = &cx.table[l.at as usize];
            let principal = if l.root { "root user" } else { "IAM user" };
            let from = if ip.is_empty() {
                "an unknown address".to_string()
            } else {
                ip.clone()
            };
            let more = match l.count {
                1 => String::new(),
                n => format!(
                    " ({} successful logins without MFA from there until {})",
                    n,
                    format_time(l.last)
                ),
            };
            let explanation = format!(
                "The {principal} {who} signed in to the console from {from} without MFA (MFAUsed \"No\") at {}{more}.",
                format_time(l.t)
            );
            let mut inv = Involved::default();
            inv.principals.push(&who);
            if !a.origin.is_empty() {
                inv.principals.push(&a.origin);
            }
            if let Some(r) = &l.recipient {
                inv.accounts.push(r);
            }
            if !ip.is_empty() {
                inv.addresses.push(&ip);
            }
            let origin = if a.origin.is_empty() {
                who.clone()
            } else {
                a.origin.clone()
            };
            out.add(
                &inv,
                Draft {
                    subject: who.clone(),
                    origin,
                    first_event_id: l.event_id.clone(),
                    time: Some(l.t),
                    event_ids: vec![l.event_id],
                    explanation,
                },
            );
        }
        Ok(())
    }
}
