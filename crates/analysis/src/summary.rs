//! `trailgraph summary`: what is in the input — files, records, time range, accounts, regions,
//! event types, top event names and principals, issuances by kind — and what is missing.

use anyhow::Result;
use polars::prelude::*;
use rustc_hash::FxHashMap;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use trailgraph_log::ingest::{Problem, Stats};
use trailgraph_log::model::{format_time, IssuanceKind};
use trailgraph_log::table::{event, issuance};
use trailgraph_store::Frames;

/// Event names and principals kept (most frequent first).
pub const TOP: usize = 10;

/// Everything `summary` reports.
pub struct Summary {
    pub stats: Stats,
    pub problems: Vec<Problem>,
    pub first: Option<i64>,
    pub last: Option<i64>,
    pub accounts: Vec<(String, u64)>,
    pub regions: Vec<(String, u64)>,
    pub event_types: Vec<(String, u64)>,
    pub top_event_names: Vec<(String, u64)>,
    pub top_principals: Vec<(String, u64)>,
    pub issuances: BTreeMap<&'static str, u64>,
    pub issuances_failed: BTreeMap<&'static str, u64>,
    pub warnings: Vec<String>,
}

fn count_str(df: &DataFrame, col: &str) -> Result<Vec<(String, u64)>> {
    let mut m: FxHashMap<&str, u64> = FxHashMap::default();
    let ca = df.column(col)?.str()?;
    for v in ca.iter() {
        *m.entry(v.unwrap_or("")).or_default() += 1;
    }
    Ok(sorted_counts(
        m.into_iter().map(|(k, v)| (k.to_string(), v)),
    ))
}

fn sorted_counts(it: impl Iterator<Item = (String, u64)>) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = it.collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v
}

impl Summary {
    pub fn compute(frames: &Frames, stats: &Stats, problems: &[Problem]) -> Result<Summary> {
        let ev = &frames.events;
        let times = ev.column(event::event_time)?.datetime()?.physical().clone();
        let first = times.min();
        let last = times.max();
        let accounts = count_str(ev, event::recipient_account)?;
        let regions = count_str(ev, event::aws_region)?;
        let event_types = count_str(ev, event::event_type)?;
        let mut names: FxHashMap<String, u64> = FxHashMap::default();
        let src = ev.column(event::event_source)?.str()?;
        let nm = ev.column(event::event_name)?.str()?;
        for (s, n) in src.iter().zip(nm.iter()) {
            let s = s.unwrap_or("").trim_end_matches(".amazonaws.com");
            *names
                .entry(format!("{}:{}", s, n.unwrap_or("")))
                .or_default() += 1;
        }
        let mut top_event_names = sorted_counts(names.into_iter());
        top_event_names.truncate(TOP);
        let mut who: FxHashMap<&str, u64> = FxHashMap::default();
        let arn = ev.column(event::identity_arn)?.str()?;
        let pid = ev.column(event::principal_id)?.str()?;
        let inv = ev.column(event::invoked_by)?.str()?;
        let typ = ev.column(event::identity_type)?.str()?;
        for (((a, p), i), t) in arn.iter().zip(pid.iter()).zip(inv.iter()).zip(typ.iter()) {
            let k = a.or(p).or(i).or(t).unwrap_or("(no identity)");
            *who.entry(k).or_default() += 1;
        }
        let mut top_principals = sorted_counts(who.into_iter().map(|(k, v)| (k.to_string(), v)));
        top_principals.truncate(TOP);

        let mut issuances = BTreeMap::new();
        let mut issuances_failed = BTreeMap::new();
        for k in IssuanceKind::ALL {
            issuances.insert(k.as_str(), 0);
            issuances_failed.insert(k.as_str(), 0);
        }
        let iss = &frames.issuances;
        let kinds = iss.column(issuance::kind)?.str()?;
        let errs = iss.column(issuance::error_code)?.str()?;
        for (k, e) in kinds.iter().zip(errs.iter()) {
            if let Some(k) = k.and_then(IssuanceKind::parse) {
                *issuances.get_mut(k.as_str()).expect("all kinds") += 1;
                if e.is_some() {
                    *issuances_failed.get_mut(k.as_str()).expect("all kinds") += 1;
                }
            }
        }
        let mut warnings = Vec::new();
        let role_assumptions: u64 = IssuanceKind::ALL
            .iter()
            .filter(|k| k.is_role_assumption())
            .map(|k| issuances[k.as_str()])
            .sum();
        if role_assumptions == 0 && ev.height() > 0 {
            warnings.push(
                "no AssumeRole, AssumeRoleWithSAML or AssumeRoleWithWebIdentity event in the input: \
                 these calls are read-only, so a trail that logs write events only drops them, and \
                 role sessions cannot be traced back to who started them"
                    .to_string(),
            );
        }
        if stats.records_skipped > 0 || !problems.is_empty() {
            warnings.push(format!(
                "{} problem(s) while reading the input; see the problems list",
                problems.len()
            ));
        }
        Ok(Summary {
            stats: stats.clone(),
            problems: problems.to_vec(),
            first,
            last,
            accounts,
            regions,
            event_types,
            top_event_names,
            top_principals,
            issuances,
            issuances_failed,
            warnings,
        })
    }

    pub fn to_json(&self) -> Value {
        let s = &self.stats;
        let pairs = |v: &[(String, u64)]| -> Value {
            Value::Array(
                v.iter()
                    .map(|(k, n)| json!({"name": k, "count": n}))
                    .collect(),
            )
        };
        json!({
            "files": {
                "read": s.files_read,
                "skipped": s.files_skipped,
                "skipped_by_reason": s.files_skipped_by_reason,
            },
            "records": {
                "read": s.records_read,
                "events": s.events,
                "duplicates": s.duplicates,
                "skipped": s.records_skipped,
                "skipped_by_reason": s.records_skipped_by_reason,
                "non_record_objects": s.non_record_objects,
            },
            "bytes": {"stored": s.bytes_stored, "decompressed": s.bytes_raw},
            "time_range": {
                "first": self.first.map(format_time),
                "last": self.last.map(format_time),
            },
            "accounts": pairs(&self.accounts),
            "regions": pairs(&self.regions),
            "event_types": pairs(&self.event_types),
            "top_event_names": pairs(&self.top_event_names),
            "top_principals": pairs(&self.top_principals),
            "issuances": self.issuances,
            "issuances_failed": self.issuances_failed,
            "problems": self.problems.iter().map(|p| json!({"file": p.file, "position": p.position, "reason": p.reason})).collect::<Vec<_>>(),
            "warnings": self.warnings,
        })
    }
}
