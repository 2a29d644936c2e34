//! `hunt`: Sigma rules over every event, each hit with the origin, chain, depth and confidence
//! of the event's session (the human or workload behind it, not the role session name).
//!
//! Rules are parsed and compiled once by rsigma (`rsigma-parser`, `rsigma-eval`), whose rule
//! index evaluates for each event only the rules whose pinned literals (`eventName`,
//! `eventSource`, …) it can match. Events are read a slice at a time from the `Scan` (memory
//! grows with sessions and hits, not events) and evaluated in parallel within a slice; hits are
//! ordered by event time, then input position, then rule (the same whatever the thread count).

mod record;
mod rules;

pub use rules::{RuleInfo, RuleNote, RuleSet, Rules, SHIPPED};

use anyhow::Result;
use polars::prelude::*;
use rayon::prelude::*;
use rsigma_eval::event::Event;
use rustc_hash::FxHashMap;
use std::collections::BTreeSet;
use std::sync::Mutex;
use trailgraph_graph::attribute::Cols;
use trailgraph_graph::scan::Scan;
use trailgraph_log::model::{format_time, Millis};
use trailgraph_log::table::event as ev;

/// One event matched by one rule.
#[derive(Debug, Clone)]
pub struct Hit {
    /// Index into `RuleSet::rules`.
    pub rule: usize,
    pub event_id: Option<String>,
    pub event_time: Option<Millis>,
    pub event_name: Option<String>,
    pub event_source: Option<String>,
    pub recipient_account: Option<String>,
    pub aws_region: Option<String>,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    pub error_code: Option<String>,
    /// Where the event was read (the evidence).
    pub source_file: Option<String>,
    pub record_index: Option<u64>,
    /// Index into `Scan::table`.
    pub attribution: u32,
    /// Where the event stands in the input (for ordering).
    position: (u64, u64),
}

/// The events columns `hunt` reads.
pub fn columns() -> Vec<&'static str> {
    let mut c = record::columns();
    c.extend([
        ev::event_id,
        ev::event_time,
        ev::source_file,
        ev::record_index,
    ]);
    c.sort_unstable();
    c.dedup();
    c
}

/// Evaluates every rule on every event of `scan`.
pub fn hunt(scan: &Scan, rules: &RuleSet) -> Result<Vec<Hit>> {
    let found = Mutex::new(Vec::new());
    scan.for_each(&columns(), |slice| {
        let cols = record::Columns::new(slice.events)?;
        let c = Cols::new(slice.events);
        let (id, time, name, source) = (
            c.s(ev::event_id)?,
            c.t(ev::event_time)?,
            c.s(ev::event_name)?,
            c.s(ev::event_source)?,
        );
        let (account, region, ip) = (
            c.s(ev::recipient_account)?,
            c.s(ev::aws_region)?,
            c.s(ev::source_ip)?,
        );
        let (agent, error, file, record) = (
            c.s(ev::user_agent)?,
            c.s(ev::error_code)?,
            c.s(ev::source_file)?,
            c.u(ev::record_index)?,
        );
        let matched: Vec<(usize, usize)> = (0..slice.height())
            .into_par_iter()
            .with_min_len(512)
            .flat_map_iter(|i| {
                let r = record::Record::new(&cols, i);
                matches(rules, &r).into_iter().map(move |k| (i, k))
            })
            .collect();
        let own = |ca: &StringChunked, i: usize| ca.get(i).map(String::from);
        let mut out = found.lock().expect("no panic while held");
        for (i, rule) in matched {
            out.push(Hit {
                rule,
                event_id: own(id, i),
                event_time: time.get(i),
                event_name: own(name, i),
                event_source: own(source, i),
                recipient_account: own(account, i),
                aws_region: own(region, i),
                source_ip: own(ip, i),
                user_agent: own(agent, i),
                error_code: own(error, i),
                source_file: own(file, i),
                record_index: record.get(i),
                attribution: slice.attribution(i),
                position: slice.position(i),
            });
        }
        Ok(())
    })?;
    let mut hits = found.into_inner().expect("no panic while held");
    hits.sort_by(|a, b| {
        (a.event_time.is_none(), a.event_time, a.position, a.rule).cmp(&(
            b.event_time.is_none(),
            b.event_time,
            b.position,
            b.rule,
        ))
    });
    Ok(hits)
}

/// The rules (indexes into `rules.rules`) that match `event`, in rule order.
fn matches(rules: &RuleSet, event: &impl Event) -> Vec<usize> {
    let mut k: Vec<usize> = rules
        .engine
        .evaluate(event)
        .iter()
        .filter_map(|m| rules.by_id.get(m.header.rule_id.as_deref()?).copied())
        .collect();
    k.sort_unstable();
    k
}

trailgraph_log::column_names!(
    /// The columns of `hits_frame`, in order.
    pub mod hit_columns {
        rule_id,
        rule_title,
        /// The rule's `author` (the Detection Rule License asks that matches name it).
        rule_author,
        level,
        tags,
        event_id,
        event_time,
        event_name,
        event_source,
        recipient_account,
        aws_region,
        source_ip,
        session_id,
        origin,
        chain,
        depth,
        confidence,
    }
);

/// One row per hit (times as ISO text).
pub fn hits_frame(scan: &Scan, rules: &RuleSet, hits: &[Hit]) -> Result<DataFrame> {
    let s = |name: &str, f: &dyn Fn(&Hit) -> Option<String>| {
        Column::new(name.into(), hits.iter().map(f).collect::<Vec<_>>())
    };
    let rule = |h: &Hit| &rules.rules[h.rule];
    let at = |h: &Hit| &scan.table[h.attribution as usize];
    let cols = vec![
        s(hit_columns::rule_id, &|h| Some(rule(h).id.clone())),
        s(hit_columns::rule_title, &|h| Some(rule(h).title.clone())),
        s(hit_columns::rule_author, &|h| Some(rule(h).author.clone())),
        s(hit_columns::level, &|h| Some(rule(h).level.to_string())),
        s(hit_columns::tags, &|h| Some(rule(h).tags.join(" "))),
        s(hit_columns::event_id, &|h| h.event_id.clone()),
        s(hit_columns::event_time, &|h| h.event_time.map(format_time)),
        s(hit_columns::event_name, &|h| h.event_name.clone()),
        s(hit_columns::event_source, &|h| h.event_source.clone()),
        s(hit_columns::recipient_account, &|h| {
            h.recipient_account.clone()
        }),
        s(hit_columns::aws_region, &|h| h.aws_region.clone()),
        s(hit_columns::source_ip, &|h| h.source_ip.clone()),
        s(hit_columns::session_id, &|h| {
            at(h).session.map(|k| scan.graph.sessions[k].id.clone())
        }),
        s(hit_columns::origin, &|h| Some(at(h).origin.clone())),
        s(hit_columns::chain, &|h| Some(at(h).chain_string())),
        Column::new(
            hit_columns::depth.into(),
            hits.iter()
                .map(|h| at(h).depth() as u32)
                .collect::<Vec<u32>>(),
        ),
        s(hit_columns::confidence, &|h| {
            Some(at(h).confidence.as_str().to_string())
        }),
    ];
    Ok(DataFrame::new(hits.len(), cols)?)
}

trailgraph_log::column_names!(
    /// The columns of `by_origin_frame`, in order.
    pub mod origin_columns {
        origin,
        hits,
        /// Distinct rules hit.
        rules,
        /// The highest level among them.
        highest_level,
        /// The titles of the rules hit, most severe first.
        rule_titles,
        first_time,
        last_time,
        /// The accounts the hits were in (recipient accounts).
        accounts,
    }
);

/// The hits of one origin.
#[derive(Debug, Clone)]
pub struct OriginHits {
    pub origin: String,
    pub hits: u64,
    /// Indexes into `RuleSet::rules`, most severe first, then by title.
    pub rules: Vec<usize>,
    /// The highest level among them (`LEVELS`).
    pub highest_level: &'static str,
    pub first: Option<Millis>,
    pub last: Option<Millis>,
    /// Recipient accounts of the hits, sorted.
    pub accounts: Vec<String>,
}

/// Sigma levels, least to most severe (empty: no level).
pub const LEVELS: &[&str] = &["", "informational", "low", "medium", "high", "critical"];

/// A level's rank in `LEVELS` (0 for none or unknown).
pub fn level_rank(l: &str) -> usize {
    LEVELS.iter().position(|x| *x == l).unwrap_or(0)
}

/// The hits rolled up per origin: most severe first, then most hits, then origin.
pub fn by_origin(scan: &Scan, rules: &RuleSet, hits: &[Hit]) -> Vec<OriginHits> {
    #[derive(Default)]
    struct Acc {
        hits: u64,
        rules: BTreeSet<usize>,
        first: Option<Millis>,
        last: Option<Millis>,
        accounts: BTreeSet<String>,
    }
    let mut per: FxHashMap<&str, Acc> = FxHashMap::default();
    for h in hits {
        let a = per
            .entry(scan.table[h.attribution as usize].origin.as_str())
            .or_default();
        a.hits += 1;
        a.rules.insert(h.rule);
        if let Some(t) = h.event_time {
            a.first = Some(a.first.map_or(t, |f| f.min(t)));
            a.last = Some(a.last.map_or(t, |l| l.max(t)));
        }
        if let Some(acc) = &h.recipient_account {
            a.accounts.insert(acc.clone());
        }
    }
    let mut rows: Vec<OriginHits> = per
        .into_iter()
        .map(|(o, a)| {
            let mut r: Vec<usize> = a.rules.into_iter().collect();
            r.sort_by(|&x, &y| {
                let (x, y) = (&rules.rules[x], &rules.rules[y]);
                (level_rank(y.level), &x.title).cmp(&(level_rank(x.level), &y.title))
            });
            let top = r.first().map_or(0, |&k| level_rank(rules.rules[k].level));
            OriginHits {
                origin: o.to_string(),
                hits: a.hits,
                rules: r,
                highest_level: LEVELS[top],
                first: a.first,
                last: a.last,
                accounts: a.accounts.into_iter().collect(),
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        (level_rank(b.highest_level), b.hits, &a.origin).cmp(&(
            level_rank(a.highest_level),
            a.hits,
            &b.origin,
        ))
    });
    rows
}

/// `by_origin` as a frame with the documented columns (times as ISO text).
pub fn by_origin_frame(scan: &Scan, rules: &RuleSet, hits: &[Hit]) -> Result<DataFrame> {
    let rows = by_origin(scan, rules, hits);
    let titles = |r: &OriginHits| {
        r.rules
            .iter()
            .map(|&k| rules.rules[k].title.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    };
    let cols = vec![
        Column::new(
            origin_columns::origin.into(),
            rows.iter().map(|r| r.origin.as_str()).collect::<Vec<_>>(),
        ),
        Column::new(
            origin_columns::hits.into(),
            rows.iter().map(|r| r.hits).collect::<Vec<_>>(),
        ),
        Column::new(
            origin_columns::rules.into(),
            rows.iter()
                .map(|r| r.rules.len() as u32)
                .collect::<Vec<_>>(),
        ),
        Column::new(
            origin_columns::highest_level.into(),
            rows.iter().map(|r| r.highest_level).collect::<Vec<_>>(),
        ),
        Column::new(
            origin_columns::rule_titles.into(),
            rows.iter().map(titles).collect::<Vec<_>>(),
        ),
        Column::new(
            origin_columns::first_time.into(),
            rows.iter()
                .map(|r| r.first.map(format_time))
                .collect::<Vec<_>>(),
        ),
        Column::new(
            origin_columns::last_time.into(),
            rows.iter()
                .map(|r| r.last.map(format_time))
                .collect::<Vec<_>>(),
        ),
        Column::new(
            origin_columns::accounts.into(),
            rows.iter()
                .map(|r| r.accounts.join(" "))
                .collect::<Vec<_>>(),
        ),
    ];
    Ok(DataFrame::new(rows.len(), cols)?)
}

#[cfg(test)]
mod tests;
