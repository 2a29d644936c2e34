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

/// Counts of distinct values (memory grows with the distinct values, not the rows).
#[derive(Default)]
struct Counts(FxHashMap<String, u64>);

impl Counts {
    fn add(&mut self, k: &str) {
        match self.0.get_mut(k) {
            Some(n) => *n += 1,
            None => {
                self.0.insert(k.to_string(), 1);
            }
        }
    }

    fn add_column(&mut self, df: &DataFrame, col: &str) -> Result<()> {
        for v in df.column(col)?.str()?.iter() {
            self.add(v.unwrap_or(""));
        }
        Ok(())
    }

    fn sorted(self) -> Vec<(String, u64)> {
        sorted_counts(self.0.into_iter())
    }
}

fn sorted_counts(it: impl Iterator<Item = (String, u64)>) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = it.collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v
}

/// Builds a `Summary` from the events a slice at a time (`add`), then the issuances (`finish`).
#[derive(Default)]
pub struct SummaryBuilder {
    events: u64,
    first: Option<i64>,
    last: Option<i64>,
    accounts: Counts,
    regions: Counts,
    event_types: Counts,
    names: Counts,
    principals: Counts,
}

/// The events columns `SummaryBuilder::add` reads.
pub const SUMMARY_COLUMNS: &[&str] = &[
    event::event_time,
    event::recipient_account,
    event::aws_region,
    event::event_type,
    event::event_source,
    event::event_name,
    event::identity_arn,
    event::principal_id,
    event::invoked_by,
    event::identity_type,
];

impl SummaryBuilder {
    /// Counts the events of `ev` (with `SUMMARY_COLUMNS`).
    pub fn add(&mut self, ev: &DataFrame) -> Result<()> {
        self.events += ev.height() as u64;
        let times = ev.column(event::event_time)?.datetime()?.physical();
        if let Some(t) = times.min() {
            self.first = Some(self.first.map_or(t, |f| f.min(t)));
        }
        if let Some(t) = times.max() {
            self.last = Some(self.last.map_or(t, |l| l.max(t)));
        }
        self.accounts.add_column(ev, event::recipient_account)?;
        self.regions.add_column(ev, event::aws_region)?;
        self.event_types.add_column(ev, event::event_type)?;
        let src = ev.column(event::event_source)?.str()?;
        let nm = ev.column(event::event_name)?.str()?;
        let mut name = String::new();
        for (s, n) in src.iter().zip(nm.iter()) {
            let s = s.unwrap_or("").trim_end_matches(".amazonaws.com");
            name.clear();
            name.push_str(s);
            name.push(':');
            name.push_str(n.unwrap_or(""));
            self.names.add(&name);
        }
        let arn = ev.column(event::identity_arn)?.str()?;
        let pid = ev.column(event::principal_id)?.str()?;
        let inv = ev.column(event::invoked_by)?.str()?;
        let typ = ev.column(event::identity_type)?.str()?;
        for (((a, p), i), t) in arn.iter().zip(pid.iter()).zip(inv.iter()).zip(typ.iter()) {
            self.principals
                .add(a.or(p).or(i).or(t).unwrap_or("(no identity)"));
        }
        Ok(())
    }

    /// The summary of the events added, the `issuances` and how the input was read.
    pub fn finish(
        self,
        issuances_frame: &DataFrame,
        stats: &Stats,
        problems: &[Problem],
    ) -> Result<Summary> {
        let mut top_event_names = self.names.sorted();
        top_event_names.truncate(TOP);
        let mut top_principals = self.principals.sorted();
        top_principals.truncate(TOP);
        let mut issuances = BTreeMap::new();
        let mut issuances_failed = BTreeMap::new();
        for k in IssuanceKind::ALL {
            issuances.insert(k.as_str(), 0);
            issuances_failed.insert(k.as_str(), 0);
        }
        let kinds = issuances_frame.column(issuance::kind)?.str()?;
        let errs = issuances_frame.column(issuance::error_code)?.str()?;
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
        if role_assumptions == 0 && self.events > 0 {
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
            first: self.first,
            last: self.last,
            accounts: self.accounts.sorted(),
            regions: self.regions.sorted(),
            event_types: self.event_types.sorted(),
            top_event_names,
            top_principals,
            issuances,
            issuances_failed,
            warnings,
        })
    }
}

impl Summary {
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
