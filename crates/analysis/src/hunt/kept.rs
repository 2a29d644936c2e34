//! How hits are kept between the pass over the events and their output in time order.
//!
//! The pass meets hits in the case's order (row groups in file order); output wants them by
//! event time. Each slice's hits become a frame (`hits_frame`'s columns, rows in output order)
//! and then bytes per hit by a `Keep`, spilled as a sorted run; the merge hands the bytes back
//! in order. Text output keeps each hit as its rendered rows (rendered in parallel during the
//! pass; the merge only copies bytes); output that needs frames (the aligned table, Parquet)
//! keeps its cells (`Cells`) and gets frames back (`Hunted::frames`).

use super::{hit_columns, RuleSet};
use anyhow::{ensure, Context, Result};
use polars::prelude::*;
use trailgraph_graph::scan::Scan;
use trailgraph_log::model::format_time;
use trailgraph_log::table::event as ev;

/// Turns a frame of hits (`hit_columns`, rows in output order) into bytes per row: appends
/// row `i`'s bytes to `buf` and pushes `buf.len()` to `ends`, for every row in order.
pub trait Keep: Sync {
    fn keep(&self, hits: &DataFrame, buf: &mut Vec<u8>, ends: &mut Vec<usize>) -> Result<()>;
}

/// Keeps each hit's cells: strings as length + bytes (`u32::MAX` for null), `u32` columns as
/// a presence byte and 4 bytes. `cells_frame` reads them back.
pub struct Cells;

const NULL: u32 = u32::MAX;

impl Keep for Cells {
    fn keep(&self, hits: &DataFrame, buf: &mut Vec<u8>, ends: &mut Vec<usize>) -> Result<()> {
        enum C<'a> {
            S(&'a StringChunked),
            U(&'a UInt32Chunked),
        }
        let cols: Vec<C> = hits
            .columns()
            .iter()
            .map(|c| match c.dtype() {
                DataType::UInt32 => Ok(C::U(c.u32()?)),
                _ => Ok(C::S(c.str()?)),
            })
            .collect::<Result<_>>()?;
        for i in 0..hits.height() {
            for c in &cols {
                match c {
                    C::S(s) => match s.get(i) {
                        Some(v) => {
                            buf.extend_from_slice(&(v.len() as u32).to_le_bytes());
                            buf.extend_from_slice(v.as_bytes());
                        }
                        None => buf.extend_from_slice(&NULL.to_le_bytes()),
                    },
                    C::U(u) => {
                        let v = u.get(i);
                        buf.push(v.is_some() as u8);
                        buf.extend_from_slice(&v.unwrap_or(0).to_le_bytes());
                    }
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

    /// The frame of hits `(rule, row, attribution)` of `events` (a slice with the columns of
    /// `hunt::columns`), in the order given: what `hits_frame` makes of the same hits.
    pub fn frame(&self, events: &DataFrame, hits: &[(usize, usize, u32)]) -> Result<DataFrame> {
        let idx = |v: Vec<IdxSize>| IdxCa::from_vec("".into(), v);
        let rows = idx(hits.iter().map(|h| h.1 as IdxSize).collect());
        let rules = self
            .rules
            .take(&idx(hits.iter().map(|h| h.0 as IdxSize).collect()))?;
        let at = self
            .attributions
            .take(&idx(hits.iter().map(|h| h.2 as IdxSize).collect()))?;
        let from_events = [
            (ev::event_id, hit_columns::event_id),
            (ev::event_name, hit_columns::event_name),
            (ev::event_source, hit_columns::event_source),
            (ev::recipient_account, hit_columns::recipient_account),
            (ev::aws_region, hit_columns::aws_region),
            (ev::source_ip, hit_columns::source_ip),
        ];
        let picked = events
            .select(from_events.iter().map(|(e, _)| *e))?
            .take(&rows)?;
        let times = events
            .column(ev::event_time)?
            .datetime()?
            .physical()
            .take(&rows)?;
        let event = |name: &str| -> Result<Column> {
            let (e, h) = from_events
                .iter()
                .find(|(_, h)| *h == name)
                .context("an event column of the hits")?;
            Ok(picked.column(e)?.clone().with_name((*h).into()))
        };
        let mut cols: Vec<Column> = Vec::with_capacity(17);
        for name in hit_columns::ALL {
            cols.push(match *name {
                hit_columns::event_time => Column::new(
                    hit_columns::event_time.into(),
                    times.iter().map(|t| t.map(format_time)).collect::<Vec<_>>(),
                ),
                n if rules.schema().contains(n) => rules.column(n)?.clone(),
                n if at.schema().contains(n) => at.column(n)?.clone(),
                n => event(n)?,
            });
        }
        Ok(DataFrame::new(hits.len(), cols)?)
    }
}
