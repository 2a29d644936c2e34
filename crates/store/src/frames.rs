use anyhow::Result;
use polars::prelude::*;
use trailgraph_log::table::{event, ColRef, Kind};

/// The tables of a case, in memory.
#[derive(Clone)]
pub struct Frames {
    pub events: DataFrame,
    pub issuances: DataFrame,
}

/// One batch's columns and the mask of rows to keep (None: all).
pub(crate) type Part<'a> = (Vec<(&'static str, ColRef<'a>)>, Option<&'a [bool]>);

/// Builds one column from the same column of several batches, keeping the rows `keep` selects.
pub(crate) fn build_column<'a>(name: &str, kind: Kind, parts: &[Part<'a>], idx: usize) -> Column {
    let name: PlSmallStr = name.into();
    match kind {
        Kind::Str => {
            let it = parts.iter().flat_map(move |(cols, keep)| {
                let ColRef::Str(c) = &cols[idx].1 else {
                    unreachable!("schema mismatch")
                };
                let c: &trailgraph_log::table::StrCol = c;
                c.iter()
                    .enumerate()
                    .filter(move |(i, _)| keep.is_none_or(|k| k[*i]))
                    .map(|(_, v)| v)
            });
            StringChunked::from_iter_options(name, it).into_column()
        }
        Kind::Time | Kind::Int => {
            let it = parts.iter().flat_map(move |(cols, keep)| {
                let c: &[Option<i64>] = match &cols[idx].1 {
                    ColRef::Time(c) | ColRef::Int(c) => c,
                    _ => unreachable!("schema mismatch"),
                };
                c.iter()
                    .enumerate()
                    .filter(move |(i, _)| keep.is_none_or(|k| k[*i]))
                    .map(|(_, v)| *v)
            });
            let ca = Int64Chunked::from_iter_options(name, it);
            if kind == Kind::Time {
                ca.into_datetime(TimeUnit::Milliseconds, Some(TimeZone::UTC))
                    .into_column()
            } else {
                ca.into_column()
            }
        }
        Kind::Bool => {
            let it = parts.iter().flat_map(move |(cols, keep)| {
                let ColRef::Bool(c) = &cols[idx].1 else {
                    unreachable!("schema mismatch")
                };
                c.iter()
                    .enumerate()
                    .filter(move |(i, _)| keep.is_none_or(|k| k[*i]))
                    .map(|(_, v)| *v)
            });
            BooleanChunked::from_iter_options(name, it).into_column()
        }
        Kind::U64 => {
            let it = parts.iter().flat_map(move |(cols, keep)| {
                let ColRef::U64(c) = &cols[idx].1 else {
                    unreachable!("schema mismatch")
                };
                c.iter()
                    .enumerate()
                    .filter(move |(i, _)| keep.is_none_or(|k| k[*i]))
                    .map(|(_, v)| Some(*v))
            });
            UInt64Chunked::from_iter_options(name, it).into_column()
        }
    }
}

pub(crate) fn frame_from(schema: &[(&'static str, Kind)], parts: &[Part<'_>]) -> Result<DataFrame> {
    use rayon::prelude::*;
    let cols: Vec<Column> = schema
        .par_iter()
        .enumerate()
        .map(|(i, (n, k))| build_column(n, *k, parts, i))
        .collect();
    Ok(DataFrame::new_infer_height(cols)?)
}

/// Puts rows in the canonical order, (source_file, record_index): the order a single ingest of
/// the same files produces (files by path, records by position), whatever the thread count, the
/// number of case parts or the order inputs were given in. Events or issuances (both tables
/// have these columns).
pub fn canonical_order(df: &DataFrame) -> Result<DataFrame> {
    Ok(df.sort(
        [event::source_file, event::record_index],
        SortMultipleOptions::default().with_maintain_order(true),
    )?)
}

/// The rows of a per-event frame by event time, as indices (stable: ties keep the frame's
/// order, nulls last), without moving any data.
pub fn event_time_order(df: &DataFrame) -> Result<Vec<IdxSize>> {
    let idx = df
        .column(event::event_time)?
        .as_materialized_series()
        .arg_sort(
            SortOptions::default()
                .with_nulls_last(true)
                .with_maintain_order(true),
        );
    Ok(idx.into_no_null_iter().collect())
}

/// Keeps only `columns` (in that order), or everything when None.
pub(crate) fn project(df: &DataFrame, columns: Option<&[&str]>) -> Result<DataFrame> {
    Ok(match columns {
        Some(c) => df.select(c.iter().copied())?,
        None => df.clone(),
    })
}

/// The de-duplication keys of a frame's events (for incremental ingest).
pub fn event_keys(events: &DataFrame) -> Result<trailgraph_log::ingest::SeenKeys> {
    let ids = events.column(event::event_id)?.str()?;
    let accts = events.column(event::recipient_account)?.str()?;
    Ok(ids
        .iter()
        .zip(accts.iter())
        .filter_map(|(id, a)| trailgraph_log::ingest::dedup_key(a, id))
        .collect())
}

/// True for the first row of each (recipient_account, event_id); rows without an eventID are kept.
/// Events or issuances (both tables have these columns).
pub(crate) fn first_occurrence(df: &DataFrame) -> Result<BooleanChunked> {
    let ids = df.column(event::event_id)?.str()?;
    let accts = df.column(event::recipient_account)?.str()?;
    let mut seen = trailgraph_log::ingest::SeenKeys::default();
    Ok(ids
        .iter()
        .zip(accts.iter())
        .map(|(id, a)| {
            Some(trailgraph_log::ingest::dedup_key(a, id).is_none_or(|k| seen.insert(k)))
        })
        .collect())
}

/// Concatenates frames (same schemas) and de-duplicates events across them, keeping the first.
pub fn concat(mut all: Vec<Frames>) -> Result<Frames> {
    if all.len() == 1 {
        return Ok(all.pop().expect("one"));
    }
    let mut it = all.into_iter();
    let mut acc = it.next().expect("at least one frame set");
    for f in it {
        acc.events.vstack_mut_owned(f.events)?;
        acc.issuances.vstack_mut_owned(f.issuances)?;
    }
    // Drop duplicate events (same recipient + eventID) that several cases or inputs share.
    acc.events = canonical_order(&acc.events.filter(&first_occurrence(&acc.events)?)?)?;
    acc.issuances = canonical_order(&acc.issuances.filter(&first_occurrence(&acc.issuances)?)?)?;
    Ok(acc)
}
