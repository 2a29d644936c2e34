//! `hunt`: Sigma rules over every event, each hit with the origin, chain, depth and confidence
//! of the event's session (the human or workload behind it, not the role session name).
//!
//! Rules are parsed and compiled once by rsigma (`rsigma-parser`, `rsigma-eval`), whose rule
//! index evaluates for each event only the rules whose pinned literals (`eventName`,
//! `eventSource`, …) it can match. Events are read a slice at a time from the `Scan` (memory
//! grows with sessions and hits, not events) and evaluated in parallel within a slice; hits are
//! ordered by event time, then input position, then rule (the same whatever the thread count).

mod kept;
mod memo;
mod record;
mod rules;

pub use rules::{RuleInfo, RuleNote, RuleSet, Rules, SHIPPED};

use anyhow::Result;
use polars::prelude::*;
use rayon::prelude::*;
use rsigma_eval::event::Event;
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::BTreeSet;
use std::collections::BinaryHeap;
use trailgraph_graph::attribute::Cols;
use trailgraph_graph::scan::Scan;
use trailgraph_log::model::{format_time, Millis};
use trailgraph_log::table::event as ev;
use trailgraph_store::spill::{Key, Spill};

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
}

/// The events columns `hunt` reads with `rules`: those that answer the fields the rules name
/// (`record::columns_for`), and those of the output.
pub fn columns(rules: &RuleSet) -> Vec<&'static str> {
    let mut c = record::columns_for(&rules.needs);
    c.extend([
        ev::event_id,
        ev::event_time,
        ev::event_name,
        ev::event_source,
        ev::recipient_account,
        ev::aws_region,
        ev::source_ip,
        ev::user_agent,
        ev::error_code,
        ev::source_file,
        ev::record_index,
    ]);
    c.sort_unstable();
    c.dedup();
    c
}

/// How many hits `Hunted::top` keeps (the report shows them).
pub const TOP_HITS: usize = 100;

/// What the rules found: the roll-ups, the most severe hits, and every hit in a temporary
/// file (read back in order by `batches`). Memory grows with origins and rules, not hits.
pub struct Hunted {
    /// Hits in all.
    pub hits: u64,
    /// Per origin, most severe first (`by_origin`'s order).
    pub by_origin: Vec<OriginHits>,
    /// Per rule hit: (rule, hits, distinct origins), most severe first, then most hits.
    pub by_rule: Vec<(usize, u64, usize)>,
    /// The `TOP_HITS` most severe hits (earliest first within a level), most severe first.
    pub top: Vec<Hit>,
    spill: Spill,
    /// The rules' and attributions' columns the hits take (when they were kept).
    lookups: Option<kept::Lookups>,
    /// An empty `hits_frame` (the columns).
    template: DataFrame,
}

impl Hunted {
    /// Hands over every hit in order (event time, input position, rule), as frames of at most
    /// `n` rows with `hits_frame`'s columns; with no hit, one empty frame (the columns). Hits
    /// are there only when `hunt` was asked to keep them.
    pub fn frames(self, n: usize, mut f: impl FnMut(&DataFrame) -> Result<()>) -> Result<()> {
        let Some(lookups) = self.lookups.filter(|_| self.spill.rows() > 0) else {
            return f(&self.template);
        };
        let (mut buf, mut ends): (Vec<u8>, Vec<usize>) = (Vec::new(), Vec::new());
        let mut flush = |buf: &mut Vec<u8>, ends: &mut Vec<usize>| -> Result<()> {
            let (events, hits) = kept::decode(buf, ends)?;
            let df = kept::Hits {
                events: &events,
                rules: &lookups.rules,
                attributions: &lookups.attributions,
                hits: &hits,
            }
            .frame()?;
            buf.clear();
            ends.clear();
            f(&df)
        };
        self.spill.merge(|row| {
            buf.extend_from_slice(row);
            ends.push(buf.len());
            if ends.len() >= n.max(1) {
                flush(&mut buf, &mut ends)?;
            }
            Ok(())
        })?;
        if !ends.is_empty() {
            flush(&mut buf, &mut ends)?;
        }
        Ok(())
    }
}

/// Per-attribution and per-rule counts, kept as the hits come (keyed by the attribution's
/// index: no origin string is hashed per hit); folded per origin at the end.
#[derive(Default)]
struct Rollup {
    attributions: FxHashMap<u32, OriginAcc>,
    /// Per rule: hits and the distinct attributions hit.
    rules: FxHashMap<usize, (u64, FxHashSet<u32>)>,
}

#[derive(Default)]
struct OriginAcc {
    hits: u64,
    rules: BTreeSet<usize>,
    first: Option<Millis>,
    last: Option<Millis>,
    accounts: BTreeSet<String>,
}

impl OriginAcc {
    fn fold(&mut self, o: OriginAcc) {
        self.hits += o.hits;
        self.rules.extend(o.rules);
        self.first = self.first.into_iter().chain(o.first).min();
        self.last = self.last.into_iter().chain(o.last).max();
        self.accounts.extend(o.accounts);
    }
}

impl Rollup {
    fn add(&mut self, attribution: u32, rule: usize, time: Option<Millis>, account: Option<&str>) {
        let a = self.attributions.entry(attribution).or_default();
        a.hits += 1;
        a.rules.insert(rule);
        if let Some(t) = time {
            a.first = Some(a.first.map_or(t, |f| f.min(t)));
            a.last = Some(a.last.map_or(t, |l| l.max(t)));
        }
        if let Some(acc) = account {
            if !a.accounts.contains(acc) {
                a.accounts.insert(acc.to_string());
            }
        }
        let r = self.rules.entry(rule).or_default();
        r.0 += 1;
        r.1.insert(attribution);
    }

    fn by_origin(
        self,
        scan: &Scan,
        rules: &RuleSet,
    ) -> (Vec<OriginHits>, Vec<(usize, u64, usize)>) {
        let origin_of = |k: u32| scan.table[k as usize].origin.as_str();
        let mut per_origin: FxHashMap<&str, OriginAcc> = FxHashMap::default();
        for (k, a) in self.attributions {
            per_origin.entry(origin_of(k)).or_default().fold(a);
        }
        let rank = |k: usize| level_rank(rules.rules[k].level);
        let mut origins: Vec<OriginHits> = per_origin
            .into_iter()
            .map(|(o, a)| {
                let mut r: Vec<usize> = a.rules.into_iter().collect();
                r.sort_by(|&x, &y| {
                    (rank(y), &rules.rules[x].title).cmp(&(rank(x), &rules.rules[y].title))
                });
                let top = r.first().map_or(0, |&k| rank(k));
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
        origins.sort_by(|a, b| {
            (level_rank(b.highest_level), b.hits, &a.origin).cmp(&(
                level_rank(a.highest_level),
                a.hits,
                &b.origin,
            ))
        });
        let mut by_rule: Vec<(usize, u64, usize)> = self
            .rules
            .into_iter()
            .map(|(k, (n, at))| {
                let o: FxHashSet<&str> = at.into_iter().map(origin_of).collect();
                (k, n, o.len())
            })
            .collect();
        by_rule.sort_by(|a, b| {
            (rank(b.0), b.1, &rules.rules[a.0].title).cmp(&(
                rank(a.0),
                a.1,
                &rules.rules[b.0].title,
            ))
        });
        (origins, by_rule)
    }
}

/// Where a hit stands for `Hunted::top`: most severe first, then by (time, position, rule).
type TopKey = (
    std::cmp::Reverse<usize>,
    bool,
    Option<Millis>,
    (u64, u64),
    usize,
);

fn top_key(level: usize, time: Option<Millis>, position: (u64, u64), rule: usize) -> TopKey {
    (
        std::cmp::Reverse(level),
        time.is_none(),
        time,
        position,
        rule,
    )
}

/// A hit with its `TopKey`, ordered by it.
struct ByLevel(TopKey, Hit);

impl PartialEq for ByLevel {
    fn eq(&self, o: &Self) -> bool {
        self.0 == o.0
    }
}
impl Eq for ByLevel {}
impl PartialOrd for ByLevel {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for ByLevel {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.0.cmp(&o.0)
    }
}

/// The columns of a slice a `Hit` is made of.
struct HitCols<'a> {
    id: &'a StringChunked,
    time: &'a Int64Chunked,
    name: &'a StringChunked,
    source: &'a StringChunked,
    account: &'a StringChunked,
    region: &'a StringChunked,
    ip: &'a StringChunked,
    agent: &'a StringChunked,
    error: &'a StringChunked,
    file: &'a StringChunked,
    record: &'a UInt64Chunked,
}

impl<'a> HitCols<'a> {
    fn new(events: &'a DataFrame) -> Result<HitCols<'a>> {
        let c = Cols::new(events);
        Ok(HitCols {
            id: c.s(ev::event_id)?,
            time: c.t(ev::event_time)?,
            name: c.s(ev::event_name)?,
            source: c.s(ev::event_source)?,
            account: c.s(ev::recipient_account)?,
            region: c.s(ev::aws_region)?,
            ip: c.s(ev::source_ip)?,
            agent: c.s(ev::user_agent)?,
            error: c.s(ev::error_code)?,
            file: c.s(ev::source_file)?,
            record: c.u(ev::record_index)?,
        })
    }

    /// The hit of `rule` on row `i`, whose attribution is `attribution`.
    fn hit(&self, i: usize, rule: usize, attribution: u32) -> Hit {
        let own = |ca: &StringChunked| ca.get(i).map(String::from);
        Hit {
            rule,
            event_id: own(self.id),
            event_time: self.time.get(i),
            event_name: own(self.name),
            event_source: own(self.source),
            recipient_account: own(self.account),
            aws_region: own(self.region),
            source_ip: own(self.ip),
            user_agent: own(self.agent),
            error_code: own(self.error),
            source_file: own(self.file),
            record_index: self.record.get(i),
            attribution,
        }
    }
}

/// Evaluates every rule on every event of `scan`. With `keep`, each slice's hits are sorted
/// and spilled as a run (`Hunted::frames` gives them back); without, only the roll-ups and
/// the most severe hits are kept, as they come.
pub fn hunt(scan: &Scan, rules: &RuleSet, keep: bool) -> Result<Hunted> {
    let mut spill = Spill::new()?;
    let mut rollup = Rollup::default();
    let mut top: BinaryHeap<ByLevel> = BinaryHeap::new();
    let mut total = 0u64;
    let memo = memo::Memo::new();
    let (mut buf, mut ends): (Vec<u8>, Vec<usize>) = (Vec::new(), Vec::new());
    // Time spent per phase (TRAILGRAPH_PROFILE): evaluating, spilling, rolling up.
    let mut took = [std::time::Duration::ZERO; 3];
    let t_all = std::time::Instant::now();
    scan.for_each(&columns(rules), |slice| {
        let t0 = std::time::Instant::now();
        let cols = record::Columns::new(slice.events)?;
        let hc = HitCols::new(slice.events)?;
        let matched: Vec<(usize, usize)> = (0..slice.height())
            .into_par_iter()
            .with_min_len(512)
            .flat_map_iter(|i| {
                let r = record::Record::new(&cols, i);
                memo.matches(rules, &r).into_iter().map(move |k| (i, k))
            })
            .collect();
        took[0] += t0.elapsed();
        if matched.is_empty() {
            return Ok(());
        }
        // Hits are encoded in the slice's order, where reading the columns is cheap, and
        // spilled in key order: by time and input position, an event's hits by rule (the merge
        // keeps a run's order for equal keys, and an event's hits are all in one run).
        let keyed: Vec<(Key, usize, usize)> = matched
            .into_iter()
            .map(|(i, rule)| {
                let t = hc.time.get(i);
                let p = slice.position(i);
                ((t.is_none(), t.unwrap_or(0), p.0, p.1), rule, i)
            })
            .collect();
        let t2 = std::time::Instant::now();
        if keep {
            buf.clear();
            ends.clear();
            let kept_cols = kept::EventCols::new(slice.events)?;
            for &(_, rule, i) in &keyed {
                kept_cols.encode(i, rule, slice.attribution(i), &mut buf);
                ends.push(buf.len());
            }
            let mut order: Vec<usize> = (0..keyed.len()).collect();
            order.sort_unstable_by_key(|&k| (keyed[k].0, keyed[k].1));
            spill.run(order.iter().map(|&k| {
                let start = if k == 0 { 0 } else { ends[k - 1] };
                (keyed[k].0, &buf[start..ends[k]])
            }))?;
        }
        took[1] += t2.elapsed();
        let t3 = std::time::Instant::now();
        total += keyed.len() as u64;
        for &((_, _, p0, p1), rule, i) in &keyed {
            rollup.add(
                slice.attribution(i),
                rule,
                hc.time.get(i),
                hc.account.get(i),
            );
            let key = top_key(
                level_rank(rules.rules[rule].level),
                hc.time.get(i),
                (p0, p1),
                rule,
            );
            if top.len() < TOP_HITS || top.peek().is_some_and(|worst| key < worst.0) {
                if top.len() >= TOP_HITS {
                    top.pop();
                }
                top.push(ByLevel(key, hc.hit(i, rule, slice.attribution(i))));
            }
        }
        took[2] += t3.elapsed();
        Ok(())
    })?;
    let profile = trailgraph_log::ingest::profile_took;
    profile("hunt: evaluate (in the pass)", took[0]);
    profile("hunt: spill the hits (in the pass)", took[1]);
    profile("hunt: roll up (in the pass)", took[2]);
    trailgraph_log::ingest::profile("hunt: the pass", t_all);
    let (by_origin, by_rule) = rollup.by_origin(scan, rules);
    Ok(Hunted {
        hits: total,
        by_origin,
        by_rule,
        top: top.into_sorted_vec().into_iter().map(|b| b.1).collect(),
        spill,
        lookups: if keep {
            Some(kept::Lookups::new(scan, rules)?)
        } else {
            None
        },
        template: hits_frame(scan, rules, &[])?,
    })
}

/// The rules (indexes into `rules.rules`) that match `event`, in rule order: the engine's own
/// verdict, which `memo::Memo::matches` gives faster (the tests compare them).
#[cfg(test)]
fn matches(rules: &RuleSet, event: &impl Event) -> Vec<usize> {
    let mut k: Vec<usize> = rules
        .groups
        .iter()
        .flat_map(|g| matches_in(rules, g, event))
        .collect();
    k.sort_unstable();
    k
}

/// The rules of `engine` (one of `rules`' engines) that match `event`, in rule order.
fn matches_in(rules: &RuleSet, engine: &rsigma_eval::Engine, event: &impl Event) -> Vec<usize> {
    if engine.rule_count() == 0 {
        return Vec::new();
    }
    let mut k: Vec<usize> = engine
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

/// One row per hit (the time as a timestamp: ISO text in text formats, typed in Parquet).
pub fn hits_frame(scan: &Scan, rules: &RuleSet, hits: &[Hit]) -> Result<DataFrame> {
    // Columns built from borrowed strings (polars copies them once into its arrays).
    fn s<'h>(name: &str, hits: &'h [Hit], f: impl Fn(&'h Hit) -> Option<&'h str>) -> Column {
        Column::new(name.into(), hits.iter().map(f).collect::<Vec<_>>())
    }
    let rule = |h: &Hit| &rules.rules[h.rule];
    let at = |h: &Hit| &scan.table[h.attribution as usize];
    // Per rule: its tags joined; per attribution met: its chain.
    let tags: Vec<String> = rules.rules.iter().map(|r| r.tags.join(" ")).collect();
    let mut chains: FxHashMap<u32, String> = FxHashMap::default();
    for h in hits {
        chains
            .entry(h.attribution)
            .or_insert_with(|| at(h).chain_string());
    }
    let cols = vec![
        s(hit_columns::rule_id, hits, |h| Some(rule(h).id.as_str())),
        s(hit_columns::rule_title, hits, |h| {
            Some(rule(h).title.as_str())
        }),
        s(hit_columns::rule_author, hits, |h| {
            Some(rule(h).author.as_str())
        }),
        s(hit_columns::level, hits, |h| Some(rule(h).level)),
        s(hit_columns::tags, hits, |h| Some(tags[h.rule].as_str())),
        s(hit_columns::event_id, hits, |h| h.event_id.as_deref()),
        Column::new(
            hit_columns::event_time.into(),
            hits.iter().map(|h| h.event_time).collect::<Vec<_>>(),
        )
        .cast(&DataType::Datetime(TimeUnit::Milliseconds, None))?,
        s(hit_columns::event_name, hits, |h| h.event_name.as_deref()),
        s(hit_columns::event_source, hits, |h| {
            h.event_source.as_deref()
        }),
        s(hit_columns::recipient_account, hits, |h| {
            h.recipient_account.as_deref()
        }),
        s(hit_columns::aws_region, hits, |h| h.aws_region.as_deref()),
        s(hit_columns::source_ip, hits, |h| h.source_ip.as_deref()),
        s(hit_columns::session_id, hits, |h| {
            at(h).session.map(|k| scan.graph.sessions[k].id.as_str())
        }),
        s(hit_columns::origin, hits, |h| Some(at(h).origin.as_str())),
        s(hit_columns::chain, hits, |h| {
            Some(chains[&h.attribution].as_str())
        }),
        Column::new(
            hit_columns::depth.into(),
            hits.iter()
                .map(|h| at(h).depth() as u32)
                .collect::<Vec<u32>>(),
        ),
        s(hit_columns::confidence, hits, |h| {
            Some(at(h).confidence.as_str())
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

/// `Hunted::by_origin` as a frame with the documented columns (times as ISO text).
pub fn by_origin_frame(rules: &RuleSet, rows: &[OriginHits]) -> Result<DataFrame> {
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
