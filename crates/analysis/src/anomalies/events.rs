//! How the detectors read the events: a slice at a time (`Rows`), in whatever order the slices
//! come, with each row's attribution and its position in the input's canonical order; and, for
//! a detector whose algorithm walks events in time order, `TimeOrdered`: the few fields it needs
//! of each event it follows, spilled as sorted runs and merged back by (time, position).

use anyhow::{Context as _, Result};
use polars::prelude::DataFrame;
use trailgraph_graph::graph::Attribution;
use trailgraph_graph::scan::Slice;
use trailgraph_log::model::Millis;
use trailgraph_store::spill::{Key, Spill};

/// One slice of the events.
pub(crate) struct Rows<'a> {
    /// The rows, one chunk per column, with (at least) the columns asked for.
    pub events: &'a DataFrame,
    table: &'a [Attribution],
    src: Src<'a>,
}

enum Src<'a> {
    /// A slice of a `Scan`.
    Slice(&'a Slice<'a>),
    /// A frame held in memory and its attribution per row (positions are the row numbers).
    Memory(&'a [u32]),
}

/// Where a row stands in the input's canonical order (only for comparing).
pub(crate) type Position = (u64, u64);

impl<'a> Rows<'a> {
    pub fn of_slice(slice: &'a Slice<'a>, table: &'a [Attribution]) -> Rows<'a> {
        Rows {
            events: slice.events,
            table,
            src: Src::Slice(slice),
        }
    }

    /// All the events of a frame held in memory, whose row `i` has attribution `per_event[i]`.
    pub fn of_frame(
        events: &'a DataFrame,
        per_event: &'a [u32],
        table: &'a [Attribution],
    ) -> Rows<'a> {
        Rows {
            events,
            table,
            src: Src::Memory(per_event),
        }
    }

    pub fn height(&self) -> usize {
        self.events.height()
    }

    /// Row `i`'s index into the attribution table.
    pub fn attribution(&self, i: usize) -> u32 {
        match &self.src {
            Src::Slice(s) => s.attribution(i),
            Src::Memory(p) => p[i],
        }
    }

    /// Row `i`'s attribution.
    pub fn of(&self, i: usize) -> &'a Attribution {
        &self.table[self.attribution(i) as usize]
    }

    /// Row `i`'s position in the canonical order: the order of the in-memory frame's rows,
    /// whatever slice a row comes in.
    pub fn position(&self, i: usize) -> Position {
        match &self.src {
            Src::Slice(s) => s.position(i),
            Src::Memory(_) => (0, i as u64),
        }
    }
}

/// The spill key of an event with a time: by time, ties in canonical order.
pub(crate) fn key(t: Millis, p: Position) -> Key {
    (false, t, p.0, p.1)
}

/// Records of the events a detector follows, to be walked in (time, position) order: they are
/// sorted into runs of at most `RUN` records (a slice's at most) and spilled; `merge` walks them
/// all in order. Memory holds one run.
pub(crate) struct TimeOrdered {
    spill: Spill,
    /// The records of the run: key, start and end in `bytes`.
    run: Vec<(Key, usize, usize)>,
    bytes: Vec<u8>,
}

/// Records per run at most.
const RUN: usize = 1 << 16;

impl TimeOrdered {
    pub fn new() -> Result<TimeOrdered> {
        Ok(TimeOrdered {
            spill: Spill::new()?,
            run: Vec::new(),
            bytes: Vec::new(),
        })
    }

    /// Starts the record of the event at time `t`, position `p` (one record per event): its
    /// fields are written to the `Enc` returned.
    pub fn record(&mut self, t: Millis, p: Position) -> Result<Enc<'_>> {
        if self.run.len() >= RUN {
            self.end_run()?;
        }
        self.close_last();
        let at = self.bytes.len();
        self.run.push((key(t, p), at, at));
        Ok(Enc(&mut self.bytes))
    }

    /// The last record ends where the bytes end.
    fn close_last(&mut self) {
        if let Some(last) = self.run.last_mut() {
            last.2 = self.bytes.len();
        }
    }

    /// Ends a run (at the end of each slice: what the slice's order gives is sorted already).
    pub fn end_run(&mut self) -> Result<()> {
        self.close_last();
        self.run.sort_unstable_by_key(|r| r.0);
        let bytes = &self.bytes;
        self.spill
            .run(self.run.iter().map(|&(k, a, b)| (k, &bytes[a..b])))?;
        self.run.clear();
        self.bytes.clear();
        Ok(())
    }

    /// Hands every record to `f` in (time, position) order.
    pub fn merge(mut self, mut f: impl FnMut(Dec<'_>) -> Result<()>) -> Result<()> {
        self.end_run()?;
        self.spill.merge(|b| f(Dec(b)))
    }
}

/// Writes a record's fields (read back with `Dec`, in the same order).
pub(crate) struct Enc<'a>(&'a mut Vec<u8>);

impl Enc<'_> {
    pub fn u32(self, v: u32) -> Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn i64(self, v: i64) -> Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn u64(self, v: u64) -> Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn str(self, v: Option<&str>) -> Self {
        match v {
            None => self.0.extend_from_slice(&u32::MAX.to_le_bytes()),
            Some(s) => {
                self.0.extend_from_slice(&(s.len() as u32).to_le_bytes());
                self.0.extend_from_slice(s.as_bytes());
            }
        }
        self
    }
}

/// Reads a record written by `Enc`.
pub(crate) struct Dec<'b>(&'b [u8]);

impl<'b> Dec<'b> {
    fn take(&mut self, n: usize) -> Result<&'b [u8]> {
        anyhow::ensure!(self.0.len() >= n, "anomalies: a temporary record cut short");
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
    pub fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }
    pub fn i64(&mut self) -> Result<i64> {
        Ok(i64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }
    pub fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }
    pub fn str(&mut self) -> Result<Option<&'b str>> {
        let n = self.u32()?;
        if n == u32::MAX {
            return Ok(None);
        }
        let b = self.take(n as usize)?;
        Ok(Some(
            std::str::from_utf8(b).context("anomalies: a temporary record is not UTF-8")?,
        ))
    }
}
