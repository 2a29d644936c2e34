//! `persistence_credential_created`: an access key or a console password created (or a console
//! password changed) for an IAM user other than the caller's own origin.

use super::{Detector, Reader};
use crate::anomalies::config::Allow;
use crate::anomalies::context::{who_disp, Context, Draft, Involved, Out};
use crate::anomalies::events::{Position, Rows};
use crate::anomalies::{values, Severity};
use anyhow::Result;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use trailgraph_graph::attribute::Cols;
use trailgraph_log::model::{
    arn_account, arn_resource, format_time, iam_user_arn, IdentityType, Millis, OriginKind,
};
use trailgraph_log::table::event;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PersistenceCredentialCreated {
    #[serde(deserialize_with = "values::boolean")]
    pub enabled: bool,
    pub severity: Severity,
}

impl Default for PersistenceCredentialCreated {
    fn default() -> Self {
        PersistenceCredentialCreated {
            enabled: true,
            severity: Severity::High,
        }
    }
}

/// The calls that give an IAM user a credential, and what each does, for explanations.
const CALLS: [(&str, &str); 3] = [
    ("CreateAccessKey", "created an access key for"),
    (
        "CreateLoginProfile",
        "created a console password (login profile) for",
    ),
    (
        "UpdateLoginProfile",
        "changed the console password (login profile) of",
    ),
];

/// (origin, account, target user, call): what one finding is about.
type PairKey = (String, String, String, &'static str);

/// The earliest call of a pair, and how many there are.
struct Call {
    t: Millis,
    pos: Position,
    event_id: String,
    /// Attribution index.
    at: u32,
    caller: Option<String>,
    source_ip: Option<String>,
    count: u64,
}

/// The reader: per (origin, account, target user, call), its earliest successful call. Memory:
/// those pairs.
struct Created<'a> {
    allow: &'a Allow,
    pairs: FxHashMap<PairKey, Call>,
}

impl Detector for PersistenceCredentialCreated {
    const ABOUT: &'static str = "\
A successful CreateAccessKey, CreateLoginProfile or UpdateLoginProfile (iam.amazonaws.com)
whose requestParameters.userName is an IAM user other than the caller's origin: a credential
made for someone else. Calls that name no user act on the caller and are not checked.";

    fn reader<'a>(&'a self, cx: &Context<'a>) -> Result<Option<Box<dyn Reader + 'a>>> {
        Ok(Some(Box::new(Created {
            allow: cx.allow,
            pairs: FxHashMap::default(),
        })))
    }
}

/// Is IAM user `target` of `account` the origin itself, or the IAM user that signed the call?
fn is_self(
    origin: &str,
    account: &str,
    target: &str,
    identity_type: Option<&str>,
    user_name: Option<&str>,
    identity_account: Option<&str>,
) -> bool {
    let origin_is_target = OriginKind::of(origin) == OriginKind::IamUser
        && arn_account(origin) == Some(account)
        && arn_resource(origin)
            .and_then(|r| r.rsplit('/').next())
            .is_some_and(|name| name == target);
    let signer_is_target = IdentityType::IAMUser.matches(identity_type)
        && user_name == Some(target)
        && identity_account.is_none_or(|a| a == account);
    origin_is_target || signer_is_target
}

impl Reader for Created<'_> {
    fn columns(&self) -> &'static [&'static str] {
        &[
            event::event_time,
            event::event_name,
            event::event_source,
            event::error_code,
            event::request_user_name,
            event::identity_type,
            event::identity_arn,
            event::identity_account,
            event::user_name,
            event::recipient_account,
            event::source_ip,
            event::event_id,
        ]
    }

    fn visit(&mut self, rows: &Rows) -> Result<()> {
        let c = Cols::new(rows.events);
        let times = c.t(event::event_time)?;
        let names = c.s(event::event_name)?;
        let src = c.s(event::event_source)?;
        let errs = c.s(event::error_code)?;
        let targets = c.s(event::request_user_name)?;
        let types = c.s(event::identity_type)?;
        let arns = c.s(event::identity_arn)?;
        let accts = c.s(event::identity_account)?;
        let users = c.s(event::user_name)?;
        let rcpt = c.s(event::recipient_account)?;
        let ips = c.s(event::source_ip)?;
        let eids = c.s(event::event_id)?;
        for i in 0..rows.height() {
            // request_user_name is only set on IAM user calls: the cheap test first.
            let Some(target) = targets.get(i) else {
                continue;
            };
            let Some(&(call, _)) = CALLS.iter().find(|(n, _)| names.get(i) == Some(*n)) else {
                continue;
            };
            if src.get(i) != Some("iam.amazonaws.com") || errs.get(i).is_some() {
                continue;
            }
            let Some(t) = times.get(i) else {
                continue;
            };
            let account = rcpt.get(i).or(accts.get(i)).unwrap_or("");
            let origin = &rows.of(i).origin;
            if is_self(
                origin,
                account,
                target,
                types.get(i),
                users.get(i),
                accts.get(i),
            ) {
                continue;
            }
            if ips.get(i).is_some_and(|ip| self.allow.address(ip)) {
                continue;
            }
            let pos = rows.position(i);
            let new = || Call {
                t,
                pos,
                event_id: eids.get(i).unwrap_or_default().to_string(),
                at: rows.attribution(i),
                caller: arns.get(i).map(String::from),
                source_ip: ips.get(i).map(String::from),
                count: 0,
            };
            let key = (
                origin.clone(),
                account.to_string(),
                target.to_string(),
                call,
            );
            let e = self.pairs.entry(key).or_insert_with(new);
            e.count += 1;
            if (t, pos) < (e.t, e.pos) {
                let count = e.count;
                *e = new();
                e.count = count;
            }
        }
        Ok(())
    }

    fn finish(self: Box<Self>, cx: &Context, out: &mut Out) -> Result<()> {
        for ((origin, account, target, call), c) in self.pairs {
            let a = &cx.table[c.at as usize];
            let what = CALLS
                .iter()
                .find(|(n, _)| *n == call)
                .map_or(call, |(_, w)| w);
            let user = iam_user_arn(&account, &target);
            let more = if c.count > 1 {
                format!(" ({} such calls)", c.count)
            } else {
                String::new()
            };
            let explanation = format!(
                "{} {what} IAM user {target} in account {account} with {call} at {}{more}.",
                who_disp(c.caller.as_deref(), &origin),
                format_time(c.t)
            );
            let mut inv = Involved::default();
            if !origin.is_empty() {
                inv.principals.push(&origin);
            }
            if let Some(p) = &c.caller {
                inv.principals.push(p);
            }
            if let Some(s) = a.session.map(|s| &cx.sessions[s]) {
                if let Some(r) = &s.role_arn {
                    inv.roles.push(r);
                }
            }
            if !account.is_empty() {
                inv.accounts.push(&account);
            }
            if let Some(ip) = &c.source_ip {
                inv.addresses.push(ip);
            }
            out.add(
                &inv,
                Draft {
                    subject: user,
                    origin: origin.clone(),
                    first_event_id: c.event_id.clone(),
                    time: Some(c.t),
                    event_ids: vec![c.event_id],
                    explanation,
                },
            );
        }
        Ok(())
    }
}
