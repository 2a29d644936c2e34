//! The identity map (`trailgraph resolve`): what `attribute` gives every event, as a table keyed
//! by identity signature (`identity_sig`) with validity intervals where the answer depends on
//! the time, plus the few per-event answers that do not follow from the signature. An engine
//! joins events to it (docs/resolve.md) and gets exactly `attribute`'s attribution.
//!
//! The case is read a row group at a time, only the columns attribution reads, and attributed
//! as the streamed `attribute` does (`Attributor::row_routed`, same order, same graph), so the
//! map cannot drift from it. Each event's rule says where its answer goes:
//!
//! * `Route::Signature`: memoised by the signature, the same at any time: one map row per
//!   signature, interval null–null.
//! * `Route::Timed`: an identity without a creationDate whose link depends on the time. After
//!   the scan its link is computed as a step function of the time over the whole graph
//!   (`SessionGraph::link_breakpoints`): one row per piece, `[valid_from, valid_to)`, the first
//!   from null (any earlier time), the last to null. Each such event's own answer (kept until
//!   then) is checked against its piece; an event whose answer differs (the graph grew orphan
//!   sessions between it and later events: order-dependent), or that has no time, gets a
//!   per-event row.
//! * `Route::Event`: issuance events (their caller), Identity Center portal calls (the SAML
//!   session they led to), resource-account copies of cross-account calls (their caller
//!   copy's identity at this event's time): a per-event row, unless the map row of the event's
//!   own signature gives the same answer.
//!
//! Memory: the session graph, the cross-account partner copies and Identity Center rows the
//! graph needs, one entry per distinct signature, the per-event candidates (issuance, Identity
//! Center and resource-account events) and the events of time-dependent identities (their
//! keys and times, until the intervals are known), and one row group.

use crate::attribute::{
    attribution_columns, cross_rows_filter, graph_and_context, AttributionState, Attributor,
    EventRule, Route, ATTRIBUTION_COLUMNS,
};
use crate::graph::{Attribution, Identity, SessionGraph};
use anyhow::{bail, Result};
use polars::prelude::*;
use rustc_hash::FxHashMap;
use std::path::Path;
use trailgraph_log::model::Millis;
use trailgraph_log::signature;
use trailgraph_log::table::event;
use trailgraph_store::pinned::Arr;
use trailgraph_store::{self as store, CaseEvents, Manifest};

trailgraph_log::column_names!(
    /// The validity interval of an identities row of the map (timestamp, UTC, ms; null: open).
    pub mod interval {
        /// The first instant the row holds for (inclusive); null: any time before `valid_to`.
        valid_from,
        /// The first instant it no longer holds for (exclusive); null: any time from
        /// `valid_from` on.
        valid_to,
    }
);

/// The events columns `resolve` reads.
pub fn resolve_columns() -> Vec<&'static str> {
    let mut c: Vec<&str> = ATTRIBUTION_COLUMNS.to_vec();
    c.push(event::identity_sig);
    c.sort_unstable();
    c.dedup();
    c
}

/// Why an event has a row of its own in the map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Why {
    Issuance,
    IdentityCenter,
    ResourceCopy,
    /// An event of a time-dependent identity whose answer its interval does not give (or that
    /// has no time).
    TimeDependent,
}

impl Why {
    pub fn as_str(self) -> &'static str {
        match self {
            Why::Issuance => "issuance",
            Why::IdentityCenter => "identity_center",
            Why::ResourceCopy => "resource_copy",
            Why::TimeDependent => "time_dependent",
        }
    }
}

/// An identities row: `identity_sig`, its interval, its attribution (index into `table`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityRow {
    pub sig: u128,
    pub from: Option<Millis>,
    pub to: Option<Millis>,
    pub attribution: u32,
}

/// A per-event row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventAnswer {
    pub recipient_account: Option<String>,
    pub event_id: Option<String>,
    pub attribution: u32,
    pub why: Why,
}

/// What the map holds, counted (written to `resolve.json`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    /// Events read.
    pub events: u64,
    /// Sessions in the graph (orphans included).
    pub sessions: u64,
    /// Distinct signatures with identities rows.
    pub identities: u64,
    /// ... of which time-dependent.
    pub time_dependent_identities: u64,
    /// Identities rows (one per timeless identity, one per interval of the others).
    pub identity_rows: u64,
    /// Identities rows with a bounded interval (valid_from or valid_to set).
    pub intervals: u64,
    /// Events of time-dependent identities.
    pub time_dependent_events: u64,
    /// Per-event rows, by reason.
    pub event_rows: u64,
    pub event_rows_by_reason: Vec<(Why, u64)>,
    /// Events that took a per-event rule but whose signature's row gives the same answer (no
    /// row of their own).
    pub events_following_signature: u64,
    /// Per-event rows with a null `recipient_account` or `event_id`: the join cannot reach them
    /// (0 on every corpus tested).
    pub unjoinable_event_rows: u64,
    /// Per-event keys met twice with different answers (the first kept; 0 in a de-duplicated
    /// case).
    pub conflicting_event_rows: u64,
}

/// The identity map of a case.
pub struct IdentityMap {
    /// The session graph, settled.
    pub graph: SessionGraph,
    /// The distinct attributions (what the rows index).
    pub table: Vec<Attribution>,
    /// Sorted by (signature, valid_from), nulls first.
    pub identities: Vec<IdentityRow>,
    /// Sorted by (recipient_account, event_id).
    pub events: Vec<EventAnswer>,
    pub counts: Counts,
}

/// An event that may need a row of its own (decided once the intervals are known).
struct Candidate {
    rcpt: Option<String>,
    eid: Option<String>,
    at: Option<Millis>,
    sig: u128,
    attribution: u32,
    why: Why,
}

/// The stored signatures of a slice (an error naming the case when a value is missing or not
/// 32 hex digits).
fn stored_signatures(df: &DataFrame, dir: &Path) -> Result<Vec<u128>> {
    let Ok(c) = df.column(event::identity_sig) else {
        bail!(
            "{}: the events have no {} column (ingested by an older trailgraph); run `trailgraph ingest` on the logs again",
            dir.display(),
            event::identity_sig
        );
    };
    let a = Arr::of(c.str()?)?;
    (0..df.height())
        .map(|i| match a.get(i).and_then(signature::from_hex) {
            Some(s) => Ok(s),
            None => bail!(
                "{}: an event has {} {:?}, not 32 hex digits (run `trailgraph ingest` on the logs again)",
                dir.display(),
                event::identity_sig,
                a.get(i).unwrap_or("null")
            ),
        })
        .collect()
}

/// Builds the identity map of the case in `dir` (`events` opened on it with `resolve_columns`).
pub fn resolve_case(dir: &Path, manifest: &Manifest, events: &CaseEvents) -> Result<IdentityMap> {
    let t0 = std::time::Instant::now();
    let issuances = store::load_case_issuances(dir, manifest)?;
    let (graph, cross) = graph_and_context(&issuances, || events.filtered(cross_rows_filter()))?;
    drop(issuances);
    trailgraph_log::ingest::profile("build session graph", t0);
    let t0 = std::time::Instant::now();
    let mut state = AttributionState::new(graph);
    let mut by_sig: FxHashMap<u128, u32> = FxHashMap::default();
    let mut timed: FxHashMap<u128, Identity> = FxHashMap::default();
    let mut candidates: Vec<Candidate> = Vec::new();
    let mut counts = Counts::default();
    for g in events.row_groups() {
        let df = events.slice(g)?;
        let sigs = stored_signatures(&df, dir)?;
        let c = crate::attribute::Cols::new(&df);
        let (rcpt, eid, et) = (
            Arr::of(c.s(event::recipient_account)?)?,
            Arr::of(c.s(event::event_id)?)?,
            Arr::of(c.t(event::event_time)?)?,
        );
        let mut at =
            Attributor::with_state(&df, state, Some(&cross))?.with_stored_signatures(sigs.clone());
        for (i, &own_sig) in sigs.iter().enumerate() {
            let (idx, route) = at.row_routed(i);
            let candidate = |sig: u128, why: Why| Candidate {
                rcpt: rcpt.get(i).map(String::from),
                eid: eid.get(i).map(String::from),
                at: et.get(i),
                sig,
                attribution: idx,
                why,
            };
            match route {
                Route::Signature(sig) => {
                    let first = *by_sig.entry(sig).or_insert(idx);
                    debug_assert_eq!(first, idx, "a memoised signature has one answer");
                }
                Route::Timed(sig) => {
                    timed.entry(sig).or_insert_with(|| at.identity(i));
                    counts.time_dependent_events += 1;
                    candidates.push(candidate(sig, Why::TimeDependent));
                }
                Route::Event(rule) => {
                    let why = match rule {
                        EventRule::Issuance => Why::Issuance,
                        EventRule::IdentityCenter => Why::IdentityCenter,
                        EventRule::ResourceCopy => Why::ResourceCopy,
                    };
                    candidates.push(candidate(own_sig, why));
                }
            }
        }
        counts.events += df.height() as u64;
        state = at.into_state();
    }
    trailgraph_log::ingest::profile("attribute events (resolve)", t0);
    debug_assert!(timed.keys().all(|s| !by_sig.contains_key(s)));

    // Each time-dependent identity's link as a step function of the time, over the whole
    // graph: (start, attribution) pieces, the first from any earlier time.
    let mut timed: Vec<(u128, Identity)> = timed.into_iter().collect();
    timed.sort_unstable_by_key(|(s, _)| *s);
    let mut pieces: FxHashMap<u128, Vec<(Option<Millis>, u32)>> = FxHashMap::default();
    for (sig, id) in &timed {
        let starts = state.graph.link_breakpoints(id);
        let mut v: Vec<(Option<Millis>, u32)> = Vec::new();
        for start in std::iter::once(None).chain(starts.into_iter().map(Some)) {
            let link = state.graph.link(id, Some(start.unwrap_or(Millis::MIN)));
            let idx = state.put_link(link, id);
            if v.last().is_none_or(|l| l.1 != idx) {
                v.push((start, idx));
            }
        }
        pieces.insert(*sig, v);
    }
    // What the identities rows answer for an event of signature `sig` at `at`.
    let answer = |sig: u128, at: Option<Millis>| -> Option<u32> {
        if let Some(&t) = by_sig.get(&sig) {
            return Some(t);
        }
        let p = pieces.get(&sig)?;
        match at {
            // A null time is in an interval only when it is null–null.
            None => (p.len() == 1).then(|| p[0].1),
            Some(t) => {
                let k = p.partition_point(|(s, _)| s.is_none_or(|s| s <= t));
                Some(p[k - 1].1)
            }
        }
    };
    let mut rows: Vec<EventAnswer> = Vec::new();
    for c in candidates {
        if answer(c.sig, c.at) == Some(c.attribution) {
            counts.events_following_signature += 1;
            continue;
        }
        rows.push(EventAnswer {
            recipient_account: c.rcpt,
            event_id: c.eid,
            attribution: c.attribution,
            why: c.why,
        });
    }
    rows.sort_by(|a, b| {
        (&a.recipient_account, &a.event_id).cmp(&(&b.recipient_account, &b.event_id))
    });
    let mut events_rows: Vec<EventAnswer> = Vec::with_capacity(rows.len());
    for r in rows {
        if let Some(last) = events_rows.last() {
            if (&last.recipient_account, &last.event_id) == (&r.recipient_account, &r.event_id)
                && r.recipient_account.is_some()
                && r.event_id.is_some()
            {
                if last.attribution != r.attribution {
                    counts.conflicting_event_rows += 1;
                }
                continue;
            }
        }
        events_rows.push(r);
    }

    let mut identities: Vec<IdentityRow> = by_sig
        .iter()
        .map(|(&sig, &attribution)| IdentityRow {
            sig,
            from: None,
            to: None,
            attribution,
        })
        .collect();
    for (sig, _) in &timed {
        let p = &pieces[sig];
        for (k, &(from, attribution)) in p.iter().enumerate() {
            let to = p.get(k + 1).and_then(|n| n.0);
            counts.intervals += (from.is_some() || to.is_some()) as u64;
            identities.push(IdentityRow {
                sig: *sig,
                from,
                to,
                attribution,
            });
        }
    }
    identities.sort_unstable_by_key(|r| (r.sig, r.from));

    counts.identities = (by_sig.len() + timed.len()) as u64;
    counts.time_dependent_identities = timed.len() as u64;
    counts.identity_rows = identities.len() as u64;
    counts.event_rows = events_rows.len() as u64;
    let mut by_why: std::collections::BTreeMap<Why, u64> = Default::default();
    for r in &events_rows {
        *by_why.entry(r.why).or_default() += 1;
        counts.unjoinable_event_rows +=
            (r.recipient_account.is_none() || r.event_id.is_none()) as u64;
    }
    counts.event_rows_by_reason = by_why.into_iter().collect();
    // Settles the graph (orphans met in the events resolved).
    let at = state.finish(Vec::new());
    counts.sessions = at.graph.sessions.len() as u64;
    Ok(IdentityMap {
        graph: at.graph,
        table: at.table,
        identities,
        events: events_rows,
        counts,
    })
}

/// The events time type (timestamp, ms, UTC).
fn time_dtype() -> DataType {
    DataType::Datetime(TimeUnit::Milliseconds, Some(TimeZone::UTC))
}

impl IdentityMap {
    fn chains(&self) -> Vec<String> {
        self.table.iter().map(|a| a.chain_string()).collect()
    }

    /// `identities.parquet`: `identity_sig, valid_from, valid_to`, then the attribution
    /// columns exactly as `attribute` writes them.
    pub fn identities_frame(&self) -> Result<DataFrame> {
        let mut buf = [0u8; 32];
        let sig = StringChunked::from_iter_values(
            event::identity_sig.into(),
            self.identities
                .iter()
                .map(|r| signature::to_hex(r.sig, &mut buf).to_string()),
        );
        let time = |name: &str, f: &dyn Fn(&IdentityRow) -> Option<Millis>| -> Result<Column> {
            Ok(
                Int64Chunked::from_iter_options(name.into(), self.identities.iter().map(f))
                    .into_column()
                    .cast(&time_dtype())?,
            )
        };
        let mut cols = vec![
            sig.into_column(),
            time(interval::valid_from, &|r| r.from)?,
            time(interval::valid_to, &|r| r.to)?,
        ];
        let pe: Vec<u32> = self.identities.iter().map(|r| r.attribution).collect();
        cols.extend(attribution_columns(
            &self.graph,
            &self.table,
            &self.chains(),
            &pe,
        ));
        Ok(DataFrame::new(pe.len(), cols)?)
    }

    /// `events.parquet`: `recipient_account, event_id`, then the attribution columns.
    pub fn events_frame(&self) -> Result<DataFrame> {
        let mut cols = vec![
            StringChunked::from_iter_options(
                event::recipient_account.into(),
                self.events.iter().map(|r| r.recipient_account.as_deref()),
            )
            .into_column(),
            StringChunked::from_iter_options(
                event::event_id.into(),
                self.events.iter().map(|r| r.event_id.as_deref()),
            )
            .into_column(),
        ];
        let pe: Vec<u32> = self.events.iter().map(|r| r.attribution).collect();
        cols.extend(attribution_columns(
            &self.graph,
            &self.table,
            &self.chains(),
            &pe,
        ));
        Ok(DataFrame::new(pe.len(), cols)?)
    }
}
