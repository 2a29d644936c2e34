//! How hits are kept between the pass over the events and their output in time order.
//!
//! The pass meets hits in the case's order (row groups in file order); output wants them by
//! event time. Each slice's hits become a frame (`hits_frame`'s columns, rows in output order)
//! and then bytes per hit by a `Keep`, spilled as a sorted run; the merge hands the bytes back
//! in order. Text output keeps each hit as its rendered rows (rendered in parallel during the
//! pass; the merge only copies bytes); output that needs frames (the aligned table, Parquet)
//! keeps its cells (`Cells`) and gets frames back (`Hunted::frames`).

use super::{hit_columns, RuleSet};
use anyhow::{ensure, Result};
use polars::prelude::*;
use trailgraph_graph::scan::Scan;
use trailgraph_log::model::format_time_into;

/// Turns a slice's hits (rows in output order) into bytes per hit: appends hit `k`'s bytes to
/// `buf` and pushes `buf.len()` to `ends`, for every hit in order.
pub trait Keep: Sync {
    fn keep(&self, hits: &Hits<'_>, buf: &mut Vec<u8>, ends: &mut Vec<usize>) -> Result<()>;
}

/// Where a column of a hit comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The event's row in the slice.
    Event,
    /// The rule.
    Rule,
    /// The event's attribution.
    Attribution,
}

/// A slice's hits, in output order, and where their columns come from: hit `k` is
/// `(rule, row, attribution)`; its `hit_columns` are taken from `rules` (by rule),
/// `attributions` (by attribution index) and `events` (by row), without building a frame of
/// the hits. `hits_frame` of the same hits has the same columns and values (`event_time` is
/// the event's time there, written as text).
pub struct Hits<'a> {
    pub events: &'a DataFrame,
    pub rules: &'a DataFrame,
    pub attributions: &'a DataFrame,
    pub hits: &'a [(usize, usize, u32)],
}

impl<'a> Hits<'a> {
    /// `hit_columns`, in order: each one's source and column (single-chunk).
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

    pub fn len(&self) -> usize {
        self.hits.len()
    }

    pub fn is_empty(&self) -> bool {
        self.hits.is_empty()
    }
}

/// Keeps each hit's cells: strings as length + bytes (`u32::MAX` for null), `u32` columns as
/// a presence byte and 4 bytes. `cells_frame` reads them back.
pub struct Cells;

const NULL: u32 = u32::MAX;

impl Keep for Cells {
    fn keep(&self, hits: &Hits<'_>, buf: &mut Vec<u8>, ends: &mut Vec<usize>) -> Result<()> {
        enum C<'a> {
            S(&'a StringChunked),
            T(&'a Int64Chunked),
            U(&'a UInt32Chunked),
        }
        let cols: Vec<(Source, C)> = hits
            .columns()?
            .into_iter()
            .map(|(src, c)| {
                Ok((
                    src,
                    match c.dtype() {
                        DataType::UInt32 => C::U(c.u32()?),
                        DataType::Datetime(_, _) => C::T(c.datetime()?.physical()),
                        _ => C::S(c.str()?),
                    },
                ))
            })
            .collect::<Result<_>>()?;
        let mut text = Vec::with_capacity(24);
        for k in 0..hits.len() {
            for (src, c) in &cols {
                let i = hits.row(k, *src);
                let s = match c {
                    C::S(s) => s.get(i),
                    C::T(t) => t.get(i).map(|t| {
                        text.clear();
                        format_time_into(t, &mut text);
                        std::str::from_utf8(&text).expect("ASCII")
                    }),
                    C::U(u) => {
                        let v = u.get(i);
                        buf.push(v.is_some() as u8);
                        buf.extend_from_slice(&v.unwrap_or(0).to_le_bytes());
                        continue;
                    }
                };
                match s {
                    Some(v) => {
                        buf.extend_from_slice(&(v.len() as u32).to_le_bytes());
                        buf.extend_from_slice(v.as_bytes());
                    }
                    None => buf.extend_from_slice(&NULL.to_le_bytes()),
                }
            }
            ends.push(buf.len());
        }
        Ok(())
    }
}

/// The frame of rows kept by `Cells` (`rows[ends[k-1]..ends[k]]` is row `k`), with the
/// columns and types of `template` (an empty `hits_frame`).
pub(super) fn cells_frame(template: &DataFrame, rows: &[u8], ends: &[usize]) -> Result<DataFrame> {
    fn take<'r>(row: &mut &'r [u8], n: usize) -> Result<&'r [u8]> {
        ensure!(row.len() >= n, "a kept hit is cut short");
        let (head, rest) = row.split_at(n);
        *row = rest;
        Ok(head)
    }
    let kinds: Vec<bool> = template
        .columns()
        .iter()
        .map(|c| c.dtype() == &DataType::UInt32)
        .collect();
    let mut strs: Vec<Vec<Option<&str>>> = vec![Vec::with_capacity(ends.len()); kinds.len()];
    let mut nums: Vec<Vec<Option<u32>>> = vec![Vec::with_capacity(ends.len()); kinds.len()];
    let mut start = 0;
    for &end in ends {
        let mut row = &rows[start..end];
        start = end;
        for (k, &num) in kinds.iter().enumerate() {
            if num {
                let set = take(&mut row, 1)?[0] != 0;
                let v = u32::from_le_bytes(take(&mut row, 4)?.try_into()?);
                nums[k].push(set.then_some(v));
            } else {
                let len = u32::from_le_bytes(take(&mut row, 4)?.try_into()?);
                strs[k].push(if len == NULL {
                    None
                } else {
                    Some(std::str::from_utf8(take(&mut row, len as usize)?)?)
                });
            }
        }
        ensure!(row.is_empty(), "a kept hit is longer than its columns");
    }
    let cols = template
        .columns()
        .iter()
        .zip(&kinds)
        .enumerate()
        .map(|(k, (c, &num))| {
            if num {
                Column::new(c.name().clone(), std::mem::take(&mut nums[k]))
            } else {
                Column::new(c.name().clone(), std::mem::take(&mut strs[k]))
            }
        })
        .collect();
    Ok(DataFrame::new(ends.len(), cols)?)
}

/// What a hit row takes from its rule and from its attribution, as frames indexed by rule and
/// by attribution (`Scan::table`), built once per hunt: a slice's hits take from them.
pub(super) struct Lookups {
    rules: DataFrame,
    attributions: DataFrame,
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

    /// The hits `(rule, row, attribution)` of `events` (a slice with the columns of
    /// `hunt::columns`), in the order given.
    pub fn hits<'a>(&'a self, events: &'a DataFrame, hits: &'a [(usize, usize, u32)]) -> Hits<'a> {
        Hits {
            events,
            rules: &self.rules,
            attributions: &self.attributions,
            hits,
        }
    }
}
