//! `assume_role_enumeration`: denied AssumeRole calls per caller, split at gaps over `max_gap`;
//! a group with enough failures on enough distinct roles.

use super::Detector;
use crate::anomalies::context::{Context, Draft, Involved, Out};
use crate::anomalies::{values, Severity};
use anyhow::Result;
use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};
use trailgraph_log::model::{format_time, origin, Millis};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AssumeRoleEnumeration {
    #[serde(deserialize_with = "values::boolean")]
    pub enabled: bool,
    pub severity: Severity,
    #[serde(with = "values::duration")]
    pub max_gap: Millis,
    #[serde(deserialize_with = "values::int::<_, _, 1, { i64::MAX }>")]
    pub min_failures: usize,
    #[serde(deserialize_with = "values::int::<_, _, 0, { i64::MAX }>")]
    pub min_roles: usize,
}

impl Default for AssumeRoleEnumeration {
    fn default() -> Self {
        AssumeRoleEnumeration {
            enabled: true,
            severity: Severity::Medium,
            max_gap: 5 * 60_000,
            min_failures: 10,
            min_roles: 5,
        }
    }
}

impl Detector for AssumeRoleEnumeration {
    const ABOUT: &'static str = "\
Denied (AccessDenied) AssumeRole calls per caller ARN, split where the gap exceeds max_gap:
a group of at least min_failures failures on at least min_roles distinct roles.";

    fn detect(&self, cx: &Context, out: &mut Out) -> Result<()> {
        let ic = &cx.iss;
        let mut by_caller: FxHashMap<String, Vec<usize>> = FxHashMap::default();
        for r in 0..ic.n {
            if ic.kind.get(r) != Some("AssumeRole")
                || !ic.err.get(r).is_some_and(|e| e.contains("AccessDenied"))
                || ic.time.get(r).is_none()
            {
                continue;
            }
            // Allow-listed roles and addresses are not counted at all.
            if ic.role.get(r).is_some_and(|x| cx.allow.role(x))
                || ic.ip.get(r).is_some_and(|x| cx.allow.address(x))
            {
                continue;
            }
            let caller = match (ic.carn.get(r), ic.cpid.get(r)) {
                (Some(a), _) => a.to_string(),
                (None, Some(p)) => origin::account(ic.cacct.get(r).unwrap_or(""), p),
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
                        <= self.max_gap
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
                    if k + 1 >= self.min_failures && roles.len() >= self.min_roles {
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
                    .and_then(|e| {
                        let k = (ic.rcpt.get(tr).unwrap_or("").to_string(), e.to_string());
                        cx.denied.get(&k)
                    })
                    .map(|&a| cx.table[a as usize].origin.clone())
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
                    &inv,
                    Draft {
                        subject: caller.clone(),
                        origin: origin.clone(),
                        first_event_id: ic.eid.get(tr).unwrap_or("").to_string(),
                        time: ic.time.get(tr),
                        event_ids: ids,
                        explanation,
                    },
                );
            }
        }
        Ok(())
    }
}
