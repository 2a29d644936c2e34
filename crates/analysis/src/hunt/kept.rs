//! How hits are kept between the pass over the events and their output in time order.
//!
//! The pass meets hits in the case's order (row groups in file order); output wants them by
//! event time. Each hit is kept small: the event's own fields of the output (id, time, name,
//! source, account, region, address) and the indexes of its rule and its attribution, spilled
//! as a sorted run per slice. The merge gives them back a batch at a time (`Hunted::frames`),
//! and only then are the rule's and the attribution's columns (the same for many hits) joined
//! in, by `Hits::frame`.

use super::{hit_columns, RuleSet};
use anyhow::{ensure, Result};
use polars::prelude::*;
use trailgraph_graph::scan::Scan;
use trailgraph_log::model::Millis;
use trailgraph_log::table::event as ev;

/// The event's columns a kept hit carries (strings; the time apart), in this order: the same
/// names in the events table and in `hit_columns`.
pub(super) const EVENT_STRINGS: [&str; 6] = [
    ev::event_id,
    ev::event_name,
    ev::event_source,
    ev::recipient_account,
    ev::aws_region,
    ev::source_ip,
];

const NULL: u32 = u32::MAX;

/// The columns of a slice a kept hit is read from: `EVENT_STRINGS` and `event_time`.
pub(super) struct EventCols<'a> {
    strings: Vec<&'a StringChunked>,
    time: &'a Int64Chunked,
}

impl<'a> EventCols<'a> {
    pub fn new(events: &'a DataFrame) -> Result<EventCols<'a>> {
        Ok(EventCols {
            strings: EVENT_STRINGS
                .iter()
                .map(|c| Ok(events.column(c)?.str()?))
                .collect::<Result<_>>()?,
            time: events.column(ev::event_time)?.datetime()?.physical(),
        })
    }

    /// Appends the hit of row `i` to `buf`: the `EVENT_STRINGS` (length + bytes, `u32::MAX`
    /// for null), the time (presence byte and 8 bytes), the rule and the attribution (4 bytes
    /// each).
    pub fn encode(&self, i: usize, rule: usize, attribution: u32, buf: &mut Vec<u8>) {
        for s in &self.strings {
            match s.get(i) {
                Some(s) => {
                    buf.extend_from_slice(&(s.len() as u32).to_le_bytes());
                    buf.extend_from_slice(s.as_bytes());
                }
                None => buf.extend_from_slice(&NULL.to_le_bytes()),
            }
        }
        let time = self.time.get(i);
        buf.push(time.is_some() as u8);
        buf.extend_from_slice(&time.unwrap_or(0).to_le_bytes());
        buf.extend_from_slice(&(rule as u32).to_le_bytes());
        buf.extend_from_slice(&attribution.to_le_bytes());
    }
}

/// A hit as `(rule, row of its event, attribution)`: indexes into the rules, the events and
/// the attributions a `Hits` takes its columns from.
pub(super) type HitRow = (usize, usize, u32);

/// A batch of kept hits (`rows[ends[k-1]..ends[k]]` is hit `k`) as the frame of their events'
/// columns (`EVENT_STRINGS` and `event_time`, one row per hit) and each hit's
/// `(rule, row, attribution)`.
pub(super) fn decode(rows: &[u8], ends: &[usize]) -> Result<(DataFrame, Vec<HitRow>)> {
    fn take<'r>(row: &mut &'r [u8], n: usize) -> Result<&'r [u8]> {
        ensure!(row.len() >= n, "a kept hit is cut short");
        let (head, rest) = row.split_at(n);
        *row = rest;
        Ok(head)
    }
    let mut strs: Vec<Vec<Option<&str>>> = (0..6).map(|_| Vec::with_capacity(ends.len())).collect();
    let mut times: Vec<Option<Millis>> = Vec::with_capacity(ends.len());
    let mut hits = Vec::with_capacity(ends.len());
    let mut start = 0;
    for (k, &end) in ends.iter().enumerate() {
        let mut row = &rows[start..end];
        start = end;
        for col in strs.iter_mut() {
            let len = u32::from_le_bytes(take(&mut row, 4)?.try_into()?);
            col.push(if len == NULL {
                None
            } else {
                Some(std::str::from_utf8(take(&mut row, len as usize)?)?)
            });
        }
        let set = take(&mut row, 1)?[0] != 0;
        let t = i64::from_le_bytes(take(&mut row, 8)?.try_into()?);
        times.push(set.then_some(t));
        let rule = u32::from_le_bytes(take(&mut row, 4)?.try_into()?) as usize;
        let at = u32::from_le_bytes(take(&mut row, 4)?.try_into()?);
        ensure!(row.is_empty(), "a kept hit is longer than its fields");
        hits.push((rule, k, at));
    }
    let mut cols: Vec<Column> = EVENT_STRINGS
        .iter()
        .zip(strs)
        .map(|(name, v)| Column::new((*name).into(), v))
        .collect();
    cols.push(
        Column::new(ev::event_time.into(), times)
            .cast(&DataType::Datetime(TimeUnit::Milliseconds, None))?,
    );
    Ok((DataFrame::new(ends.len(), cols)?, hits))
}

/// Where a column of a hit comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Source {
    /// The event.
    Event,
    /// The rule.
    Rule,
    /// The event's attribution.
    Attribution,
}

/// Hits, in output order, and where their columns come from: hit `k` is
/// `(rule, row, attribution)`; its `hit_columns` are taken from `rules` (by rule),
/// `attributions` (by attribution index) and `events` (by row).
pub(super) struct Hits<'a> {
    pub events: &'a DataFrame,
    pub rules: &'a DataFrame,
    pub attributions: &'a DataFrame,
    pub hits: &'a [HitRow],
}

impl<'a> Hits<'a> {
    /// `hit_columns`, in order: each one's source and column.
    pub fn columns(&self) -> Result<Vec<(Source, &'a Column)>> {
        hit_columns::ALL
            .iter()
            .map(|&name| {
                Ok(if let Ok(c) = self.rules.column(name) {
                    (Source::Rule, c)
                } else if let Ok(c) = self.attributions.column(name) {
                    (Source::Attribution, c)
                } else {
                    (Source::Event, self.events.column(name)?)
                })
            })
            .collect()
    }

    /// The row of `source` that hit `k` takes its columns from.
    pub fn row(&self, k: usize, source: Source) -> usize {
        let (rule, row, at) = self.hits[k];
        match source {
            Source::Event => row,
            Source::Rule => rule,
            Source::Attribution => at as usize,
        }
    }

    /// The frame of the hits: `hits_frame`'s columns and values.
    pub fn frame(&self) -> Result<DataFrame> {
        let n = self.hits.len();
        let cols = self
            .columns()?
            .into_iter()
            .map(|(src, c)| {
                let idx: Vec<IdxSize> = (0..n).map(|k| self.row(k, src) as IdxSize).collect();
                Ok(c.take(&IdxCa::from_vec("".into(), idx))?)
            })
            .collect::<Result<Vec<Column>>>()?;
        Ok(DataFrame::new(n, cols)?)
    }
}

/// What a hit row takes from its rule and from its attribution, as frames indexed by rule and
/// by attribution (`Scan::table`), built once per hunt: a slice's hits take from them.
pub(super) struct Lookups {
    pub rules: DataFrame,
    pub attributions: DataFrame,
}

impl Lookups {
    pub fn new(scan: &Scan, rules: &RuleSet) -> Result<Lookups> {
        let r = &rules.rules;
        let rules = DataFrame::new(
            r.len(),
            vec![
                Column::new(
                    hit_columns::rule_id.into(),
                    r.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
                ),
                Column::new(
                    hit_columns::rule_title.into(),
                    r.iter().map(|r| r.title.as_str()).collect::<Vec<_>>(),
                ),
                Column::new(
                    hit_columns::rule_author.into(),
                    r.iter().map(|r| r.author.as_str()).collect::<Vec<_>>(),
                ),
                Column::new(
                    hit_columns::level.into(),
                    r.iter().map(|r| r.level).collect::<Vec<_>>(),
                ),
                Column::new(
                    hit_columns::tags.into(),
                    r.iter().map(|r| r.tags.join(" ")).collect::<Vec<_>>(),
                ),
            ],
        )?;
        let t = &scan.table;
        let attributions = DataFrame::new(
            t.len(),
            vec![
                Column::new(
                    hit_columns::session_id.into(),
                    t.iter()
                        .map(|a| a.session.map(|k| scan.graph.sessions[k].id.as_str()))
                        .collect::<Vec<_>>(),
                ),
                Column::new(
                    hit_columns::origin.into(),
                    t.iter().map(|a| a.origin.as_str()).collect::<Vec<_>>(),
                ),
                Column::new(
                    hit_columns::chain.into(),
                    t.iter().map(|a| a.chain_string()).collect::<Vec<_>>(),
                ),
                Column::new(
                    hit_columns::depth.into(),
                    t.iter().map(|a| a.depth() as u32).collect::<Vec<u32>>(),
                ),
                Column::new(
                    hit_columns::confidence.into(),
                    t.iter().map(|a| a.confidence.as_str()).collect::<Vec<_>>(),
                ),
            ],
        )?;
        Ok(Lookups {
            rules,
            attributions,
        })
    }
}
