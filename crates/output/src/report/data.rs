//! The report's view model, built once in a few linear passes over the frames: coverage (days
//! with events per account and region, and the gaps between them), per-origin activity, the
//! anomalies with their evidence, the important events for the timeline, and the picture of
//! the chains. `Model` is plain values: `html` and `markdown` render it and read nothing else.
//! The CSV/JSON tables also need every row of the timeline and the frames behind it: that is
//! `TableSource`, which only `tables` reads.

use super::picture::{self, origin_labels, role_display, Picture};
use super::trust_picture::{self, TrustPicture};
use anyhow::Result;
use polars::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use trailgraph_analysis::anomalies::Finding;
use trailgraph_analysis::answer;
use trailgraph_analysis::hunt::{self, Hunted, OriginHits, RuleInfo, RuleSet};
use trailgraph_analysis::summary::Summary;
use trailgraph_analysis::summary::{SummaryBuilder, SUMMARY_COLUMNS};
use trailgraph_graph::attribute::{attributed, Cols};
use trailgraph_graph::graph::{Attribution, SessionGraph};
use trailgraph_graph::scan::{Scan, Slice};
use trailgraph_log::ingest::{Problem, Stats};
use trailgraph_log::model::{
    arn_account, format_time, Confidence, IssuanceKind, Millis, OriginKind,
};
use trailgraph_log::table::event;
use trailgraph_store::spill::{Key, Spill};

/// Rows shown in the HTML and Markdown tables; the CSV/JSON tables have everything.
pub(crate) const TIMELINE_ROWS: usize = 250;
pub(crate) const ORIGIN_ROWS: usize = 60;
pub(crate) const COVERAGE_ROWS: usize = 40;
pub(crate) const FINDINGS_SHOWN: usize = 100;
pub(crate) const EVIDENCE_ROWS: usize = 10;
pub(crate) const PROBLEMS_SHOWN: usize = 40;
pub(crate) const HUNT_ORIGIN_ROWS: usize = 40;

/// One day in milliseconds.
pub(crate) const DAY: i64 = 86_400_000;

/// `2024-03-01` for a day number (days since the epoch).
pub(crate) fn day_str(d: i64) -> String {
    format_time(d * DAY)[..10].to_string()
}

/// Days with events for one (account, region).
#[derive(Debug, Clone)]
pub(crate) struct Coverage {
    pub account: String,
    pub region: String,
    pub events: u64,
    /// Day numbers with at least one event, sorted, with their event counts.
    pub days: Vec<(i64, u64)>,
}

impl Coverage {
    pub fn first(&self) -> Option<i64> {
        self.days.first().map(|d| d.0)
    }
    pub fn last(&self) -> Option<i64> {
        self.days.last().map(|d| d.0)
    }
    /// Days between the first and the last day with events that have none.
    pub fn missing(&self) -> i64 {
        match (self.first(), self.last()) {
            (Some(a), Some(b)) => b - a + 1 - self.days.len() as i64,
            _ => 0,
        }
    }
    /// The runs of missing days, as inclusive (first, last) day numbers.
    pub fn gaps(&self) -> Vec<(i64, i64)> {
        gaps_of(self.days.iter().map(|d| d.0))
    }
}

/// Runs of missing days between consecutive present days.
pub(crate) fn gaps_of(days: impl Iterator<Item = i64>) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    let mut prev: Option<i64> = None;
    for d in days {
        if let Some(p) = prev {
            if d > p + 1 {
                out.push((p + 1, d - 1));
            }
        }
        prev = Some(d);
    }
    out
}

/// `2024-03-02..2024-03-04 (3 days)` or `2024-03-02 (1 day)`.
pub(crate) fn gap_str(g: (i64, i64)) -> String {
    let n = g.1 - g.0 + 1;
    if n == 1 {
        format!("{} (1 day)", day_str(g.0))
    } else {
        format!("{}..{} ({n} days)", day_str(g.0), day_str(g.1))
    }
}

/// Per-origin activity.
#[derive(Debug, Clone, Default)]
pub(crate) struct OriginRow {
    pub origin: String,
    pub kind: &'static str,
    pub events: u64,
    /// Events with readOnly = false.
    pub mutating: u64,
    /// Events with an access-denied style error code.
    pub denied: u64,
    /// Events with any error code.
    pub errors: u64,
    pub sessions: u64,
    /// Sessions at chain depth 2 or more.
    pub chained: u64,
    pub max_depth: usize,
    pub cross_account: u64,
    pub roles: BTreeSet<String>,
    pub accounts: BTreeSet<String>,
    pub first: Option<Millis>,
    pub last: Option<Millis>,
    pub findings: u64,
}

impl OriginRow {
    fn seen(&mut self, t: Option<Millis>) {
        if let Some(t) = t {
            self.first = Some(self.first.map_or(t, |f| f.min(t)));
            self.last = Some(self.last.map_or(t, |l| l.max(t)));
        }
    }
    /// How much this origin did: its events plus its sessions.
    pub fn activity(&self) -> u64 {
        self.events + self.sessions
    }
}

/// Why an event is on the timeline, most important first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Category {
    Anomaly,
    Denied,
    SignIn,
    Issuance,
    Mutating,
}

impl Category {
    pub const ALL: [Category; 5] = [
        Category::Anomaly,
        Category::Denied,
        Category::SignIn,
        Category::Issuance,
        Category::Mutating,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Anomaly => "anomaly",
            Category::Denied => "denied",
            Category::SignIn => "sign-in",
            Category::Issuance => "issuance",
            Category::Mutating => "mutating",
        }
    }
}

/// The attribution of an event, as the report shows it.
#[derive(Debug, Clone)]
pub(crate) struct WhoView {
    pub origin: String,
    /// The origin's first display line (`picture::origin_labels`).
    pub label: String,
    /// The chain of roles, `>`-separated.
    pub chain: String,
    /// The last role of the chain, as shown in a box (`picture::role_display`).
    pub role: Option<String>,
    pub depth: usize,
    pub confidence: Confidence,
}

impl WhoView {
    fn of(a: &Attribution) -> WhoView {
        WhoView {
            origin: a.origin.clone(),
            label: origin_labels(&a.origin).0,
            chain: a.chain_string(),
            role: a.chain.last().map(|r| role_display(r)),
            depth: a.depth(),
            confidence: a.confidence,
        }
    }
}

/// One event as the report shows it: evidence of a finding or a timeline row.
#[derive(Debug, Clone)]
pub(crate) struct EventView {
    pub time: Option<Millis>,
    pub event_name: Option<String>,
    pub event_source: Option<String>,
    pub recipient_account: Option<String>,
    pub aws_region: Option<String>,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    pub error_code: Option<String>,
    pub event_id: Option<String>,
    pub source_file: Option<String>,
    pub record_index: Option<u64>,
    pub who: WhoView,
}

/// A finding with its evidence and the sessions it touches.
#[derive(Debug, Clone)]
pub(crate) struct FindingView {
    pub finding: Finding,
    /// Ids of the sessions of its evidence events (and of its subject, when a session).
    pub sessions: Vec<String>,
    /// The evidence events shown: the first `EVIDENCE_ROWS`, in event order, of the first
    /// `FINDINGS_SHOWN` findings (none for the others).
    pub evidence: Vec<EventView>,
    /// Evidence events among the events read (rows: both copies of a cross-account event).
    pub evidence_found: usize,
    /// Evidence event ids not among the events read.
    pub evidence_missing: usize,
}

/// One row of the timeline as shown.
#[derive(Debug, Clone)]
pub(crate) struct TimelineRow {
    pub category: Category,
    pub event: EventView,
    /// The kinds of the findings that start here, or what an issuance issued (role name).
    pub note: Option<String>,
}

/// The important events: how many per category, and the ones shown.
#[derive(Debug, Clone)]
pub(crate) struct TimelineView {
    /// Important events in all.
    pub total: usize,
    /// Important events per category.
    pub counts: BTreeMap<Category, u64>,
    /// At most `TIMELINE_ROWS`: the most important first, then by time; in time order.
    pub shown: Vec<TimelineRow>,
    /// Events left out of `shown`, per category.
    pub left_out: BTreeMap<Category, u64>,
}

/// Everything `report.html` and `report.md` show (and `summary.json` counts).
pub(crate) struct Model {
    /// The paths the user gave.
    pub inputs: Vec<PathBuf>,
    pub summary: Summary,
    /// Events read.
    pub events: usize,
    pub sessions: usize,
    /// Sessions at chain depth 2 or more.
    pub chained_sessions: usize,
    /// Sessions issued with a caller in another account.
    pub cross_account_sessions: usize,
    pub max_depth: usize,
    pub coverage: Vec<Coverage>,
    /// Distinct days with any event, sorted.
    pub all_days: Vec<i64>,
    /// Runs of days without any event between the first and the last day with events.
    pub gaps: Vec<(i64, i64)>,
    /// Days in `gaps`.
    pub missing_days: i64,
    /// Most active first.
    pub origins: Vec<OriginRow>,
    /// In the order of the detectors' output.
    pub findings: Vec<FindingView>,
    /// Findings per (kind, severity).
    pub finding_kinds: BTreeMap<(String, String), usize>,
    pub timeline: TimelineView,
    pub picture: Picture,
    /// What the Sigma rules found (None: the report was made with `--no-rules`).
    pub hunt: Option<HuntView>,
    /// Configured trust beside observed assumptions (None: no `--iam`).
    pub trust: Option<Vec<RoleTrust>>,
}

/// One role of the Trust section: who may assume it, who did, and the findings.
#[derive(Debug, Clone, Default)]
pub(crate) struct RoleTrust {
    pub role_arn: String,
    /// The principals of the latest trust policy, in the order written (empty: no policy known).
    pub trusted: Vec<Trusted>,
    /// The direct callers observed assuming the role, one per (caller, origin).
    pub observed: Vec<Observed>,
    pub findings: Vec<TrustFinding>,
    /// `RoleLastUsed` from the IAM snapshot, when given.
    pub last_used: String,
    /// Where the latest policy comes from (snapshot file, or the change event).
    pub policy_source: String,
    /// Why no principal is listed (`no trust policy known: …`), when none is.
    pub no_policy: String,
    /// The picture of the above (capped).
    pub picture: TrustPicture,
}

/// A trusted principal (a `trusted` row of `trust`).
#[derive(Debug, Clone, Default)]
pub(crate) struct Trusted {
    pub principal: String,
    /// The statement, readably (`Allow AWS arn:… (sts:AssumeRole) if …`).
    pub statement: String,
    /// From a Deny statement.
    pub deny: bool,
    /// The statement's condition keys, as written.
    pub condition_keys: Vec<String>,
}

/// A direct caller and the origin behind it (an `observed` row of `trust`).
#[derive(Debug, Clone, Default)]
pub(crate) struct Observed {
    pub caller: String,
    pub origin: String,
    pub assumptions: u64,
    pub first: String,
    pub last: String,
    /// `allow 3, deny 1`.
    pub verdicts: String,
    /// The trusted principals that named the caller (`matched_principal`), most calls first.
    pub matched: Vec<String>,
}

/// A finding of `trust`: its kind, the principal (and origin) it is about, why.
#[derive(Debug, Clone, Default)]
pub(crate) struct TrustFinding {
    pub kind: String,
    pub principal: String,
    pub origin: String,
    pub detail: String,
}

/// The Sigma rules' hits, as the report shows them.
#[derive(Debug, Clone)]
pub(crate) struct HuntView {
    /// The rules evaluated (their `rule` indexes are into this).
    pub rules: Vec<RuleInfo>,
    /// Rules skipped (not for CloudTrail, or below --min-level) and rules with problems.
    pub skipped: usize,
    pub problems: usize,
    pub hits: u64,
    /// Most severe origin first.
    pub by_origin: Vec<OriginHits>,
    /// (rule, hits, distinct origins): most severe first, then most hits.
    pub by_rule: Vec<(usize, u64, usize)>,
    /// The hits shown, with their rule: the most severe first, then in time order.
    pub shown: Vec<(usize, EventView)>,
}

/// The trust table (`trailgraph trust`'s rows) as the report's roles, each with its picture.
fn trust_view(df: &DataFrame) -> Result<Vec<RoleTrust>> {
    use trailgraph_analysis::trust::roles::trust_columns as t;
    let c = Cols::new(df);
    let (arn, row, finding, principal, origin) = (
        c.s(t::role_arn)?,
        c.s(t::row)?,
        c.s(t::finding)?,
        c.s(t::principal)?,
        c.s(t::origin)?,
    );
    let (first, last, verdicts, detail, used, source) = (
        c.s(t::first_time)?,
        c.s(t::last_time)?,
        c.s(t::verdicts)?,
        c.s(t::detail)?,
        c.s(t::role_last_used)?,
        c.s(t::policy_source)?,
    );
    let (matched, keys) = (c.s(t::matched_principal)?, c.s(t::condition_keys)?);
    let n = c.u(t::assumptions)?;
    let text = |ca: &StringChunked, i: usize| ca.get(i).unwrap_or("").to_string();
    let list = |ca: &StringChunked, i: usize, sep: &str| -> Vec<String> {
        ca.get(i)
            .unwrap_or("")
            .split(sep)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    };
    let mut roles: Vec<RoleTrust> = Vec::new();
    for i in 0..df.height() {
        let a = text(arn, i);
        if roles.last().is_none_or(|r| r.role_arn != a) {
            roles.push(RoleTrust {
                role_arn: a,
                last_used: text(used, i),
                ..RoleTrust::default()
            });
        }
        let r = roles.last_mut().expect("pushed");
        match row.get(i) {
            Some("trusted") => {
                let p = text(principal, i);
                if p.is_empty() {
                    r.no_policy = text(detail, i);
                    continue;
                }
                if r.policy_source.is_empty() {
                    r.policy_source = text(source, i);
                }
                let statement = text(detail, i);
                r.trusted.push(Trusted {
                    principal: p,
                    deny: statement.starts_with("Deny"),
                    statement,
                    condition_keys: list(keys, i, ", "),
                })
            }
            Some("observed") => r.observed.push(Observed {
                caller: text(principal, i),
                origin: text(origin, i),
                assumptions: n.get(i).unwrap_or(0),
                first: text(first, i),
                last: text(last, i),
                verdicts: text(verdicts, i),
                matched: list(matched, i, "; "),
            }),
            _ => r.findings.push(TrustFinding {
                kind: text(finding, i),
                principal: text(principal, i),
                origin: text(origin, i),
                detail: text(detail, i),
            }),
        }
    }
    for r in &mut roles {
        r.picture = trust_picture::build(r);
    }
    Ok(roles)
}

/// The hunt's rules and what they found, for the report.
pub struct HuntInput<'a> {
    pub rules: &'a RuleSet,
    pub hunted: Hunted,
}

/// What the CSV/JSON tables read besides the model: the session graph and its use, and the
/// timeline table's rows (every important event, not only those shown), rendered during the
/// pass over the events and spilled in input order.
pub(crate) struct TableSource<'a> {
    pub graph: &'a SessionGraph,
    pub usage: answer::Usage,
    pub timeline: TimelineRows,
    /// `hunt.csv|json` (every hit, read back from the hunt's temporary file) and
    /// `hunt_origins.csv|json` (as `trailgraph hunt` and `--by origin`).
    pub hunt: Option<HuntTables>,
    /// `trust.csv|json` (as `trailgraph trust`), with `--iam`.
    pub trust: Option<DataFrame>,
}

/// What the hunt tables are written from.
pub(crate) struct HuntTables {
    /// Taken when `hunt.csv|json` are written.
    pub hunted: std::cell::RefCell<Option<Hunted>>,
    pub by_origin: DataFrame,
}

/// The rows of `timeline.csv` and `timeline.json`, rendered, in a temporary file.
pub(crate) struct TimelineRows {
    /// Each row as (CSV length: u32, CSV bytes, JSON bytes), keyed by input position.
    pub spill: std::cell::RefCell<Option<Spill>>,
    pub csv_header: Vec<u8>,
    pub json_header: Vec<u8>,
    pub rows: usize,
}

/// Error codes that mean "not allowed" (AccessDenied, UnauthorizedOperation, …).
pub(crate) fn is_denied(code: &str) -> bool {
    let c = code.to_ascii_lowercase();
    c.contains("accessdenied")
        || c.contains("unauthorized")
        || c.contains("notauthorized")
        || c.contains("forbidden")
        || c == "authfailure"
        || c.contains("invalidclienttokenid")
        || c.contains("signaturedoesnotmatch")
}

/// One important event met during the pass: enough to choose and show the timeline's rows.
struct Important {
    rank: u8,
    position: (u64, u64),
    category: Category,
    view: EventView,
    note: Option<String>,
}

/// An evidence event of some finding.
struct Evidence {
    position: (u64, u64),
    view: EventView,
    session: Option<usize>,
}

/// Builds the model in one pass over the events (with `summary`, completed from the same pass,
/// and the detectors' `findings`): memory grows with sessions, origins, days and findings, not
/// with events.
pub fn build<'a>(
    scan: &'a Scan,
    stats: &Stats,
    problems: &[Problem],
    findings: Vec<Finding>,
    hunt: Option<HuntInput<'a>>,
    trust: Option<DataFrame>,
    inputs: &[PathBuf],
) -> Result<(Model, TableSource<'a>)> {
    let mut summary = SummaryBuilder::default();
    let graph = &scan.graph;
    let sessions = &graph.sessions;
    let cross_account: Vec<bool> = sessions.iter().map(answer::is_cross_account).collect();

    // Origins: every attribution and every session.
    let mut origins: Vec<OriginRow> = Vec::new();
    let mut origin_index: FxHashMap<String, usize> = FxHashMap::default();
    let mut intern = |o: &str, origins: &mut Vec<OriginRow>| -> usize {
        if let Some(&i) = origin_index.get(o) {
            return i;
        }
        origins.push(OriginRow {
            origin: o.to_string(),
            kind: trailgraph_log::model::origin_kind(o),
            ..Default::default()
        });
        origin_index.insert(o.to_string(), origins.len() - 1);
        origins.len() - 1
    };
    let table_origin: Vec<usize> = scan
        .table
        .iter()
        .map(|a| intern(&a.origin, &mut origins))
        .collect();
    let session_origin: Vec<usize> = sessions
        .iter()
        .map(|s| intern(&s.origin, &mut origins))
        .collect();

    // Findings: the event ids of their evidence, and the finding kinds that start at an event.
    let mut wanted: FxHashSet<&str> = FxHashSet::default();
    let mut first_kinds: FxHashMap<&str, Vec<String>> = FxHashMap::default();
    for f in &findings {
        wanted.insert(f.first_event_id.as_str());
        wanted.extend(f.event_ids.iter().map(String::as_str));
        first_kinds
            .entry(f.first_event_id.as_str())
            .or_default()
            .push(f.kind.to_string());
    }
    for v in first_kinds.values_mut() {
        v.sort();
        v.dedup();
    }

    // Sessions per origin.
    let mut max_depth = 0;
    for (i, s) in sessions.iter().enumerate() {
        let o = &mut origins[session_origin[i]];
        o.sessions += 1;
        let d = s.chain.len();
        if d >= 2 {
            o.chained += 1;
        }
        o.max_depth = o.max_depth.max(d);
        max_depth = max_depth.max(d);
        if cross_account[i] {
            o.cross_account += 1;
        }
        if let Some(r) = &s.role_arn {
            o.roles.insert(r.clone());
        }
        if let Some(a) = &s.account {
            o.accounts.insert(a.clone());
        }
        o.seen(s.issued_at);
    }

    // Issuance events → the session they issued.
    let mut issued_by_event: FxHashMap<(Option<String>, String), usize> = FxHashMap::default();
    for (i, s) in sessions.iter().enumerate() {
        for e in &s.issuance {
            if let Some(id) = &e.event_id {
                issued_by_event.insert((e.recipient_account.clone(), id.clone()), i);
            }
        }
    }
    let notes = Notes {
        graph,
        issued_by_event: &issued_by_event,
        first_kinds: &first_kinds,
    };

    // One pass over the events: summary, session use, coverage, per-origin activity, evidence,
    // and the timeline (its table rows spilled; the rows shown chosen as they come).
    // The events columns read: the timeline table's, the category's and the summary's.
    let mut columns: Vec<&str> = TIMELINE_EVENT_COLS.to_vec();
    columns.push(event::event_type);
    columns.extend_from_slice(SUMMARY_COLUMNS);
    let mut usage = answer::Usage::new(sessions.len());
    let mut cov: FxHashMap<(Option<String>, Option<String>), FxHashMap<i64, u64>> =
        FxHashMap::default();
    let mut origin_accounts: Vec<FxHashSet<String>> = vec![FxHashSet::default(); origins.len()];
    let mut counts: BTreeMap<Category, u64> = BTreeMap::new();
    let mut shown: std::collections::BinaryHeap<ByRank> = std::collections::BinaryHeap::new();
    let mut evidence_events: Vec<(String, Evidence)> = Vec::new();
    let by_attribution = AttributionColumns::new(&scan.table, graph);
    let mut spill = Spill::new()?;
    let mut headers: Option<(Vec<u8>, Vec<u8>)> = None;
    let mut total = 0usize;
    scan.for_each(&columns, |sl| {
        summary.add(sl.events)?;
        let c = Cols::new(sl.events);
        let (time, acct, region, eid) = (
            c.t(event::event_time)?,
            c.s(event::recipient_account)?,
            c.s(event::aws_region)?,
            c.s(event::event_id)?,
        );
        let (ro, err, etype, esrc, ename) = (
            c.b(event::read_only)?,
            c.s(event::error_code)?,
            c.s(event::event_type)?,
            c.s(event::event_source)?,
            c.s(event::event_name)?,
        );
        let ec = EventCols::new(sl.events)?;
        let mut last_cov: Option<(Option<&str>, Option<&str>, i64)> = None;
        let mut cov_run = 0u64;
        let mut flush_cov = |k: (Option<&str>, Option<&str>, i64), n: u64| {
            *cov.entry((k.0.map(String::from), k.1.map(String::from)))
                .or_default()
                .entry(k.2)
                .or_default() += n;
        };
        let mut items: Vec<(usize, Category)> = Vec::new();
        for row in 0..sl.height() {
            let t = time.get(row);
            let (a, r) = (acct.get(row), region.get(row));
            if let Some(t) = t {
                let d = t.div_euclid(DAY);
                // Consecutive rows of one (account, region, day) are counted at once.
                match last_cov {
                    Some((la, lr, ld)) if la == a && lr == r && ld == d => cov_run += 1,
                    _ => {
                        if let Some(k) = last_cov {
                            flush_cov(k, cov_run);
                        }
                        last_cov = Some((a, r, d));
                        cov_run = 1;
                    }
                }
            }
            let att = sl.of(row);
            if let Some(s) = att.session {
                usage.add(s, t);
            }
            let oi = table_origin[sl.attribution(row) as usize];
            let o = &mut origins[oi];
            o.events += 1;
            o.seen(t);
            if let Some(a) = a {
                if !origin_accounts[oi].contains(a) {
                    origin_accounts[oi].insert(a.to_string());
                }
            }
            let mutating = ro.get(row) == Some(false);
            if mutating {
                o.mutating += 1;
            }
            let code = err.get(row);
            let denied = code.is_some_and(is_denied);
            if code.is_some() {
                o.errors += 1;
            }
            if denied {
                o.denied += 1;
            }
            let id = eid.get(row);
            if let Some(e) = id.filter(|e| wanted.contains(e)) {
                evidence_events.push((
                    e.to_string(),
                    Evidence {
                        position: sl.position(row),
                        view: ec.view(sl, row),
                        session: att.session,
                    },
                ));
            }
            let service = OriginKind::of(&att.origin) == OriginKind::Service;
            let category = if id.is_some_and(|e| first_kinds.contains_key(e)) {
                Some((Category::Anomaly, 0))
            } else if denied {
                Some((Category::Denied, 1))
            } else if etype.get(row) == Some("AwsConsoleSignIn") {
                Some((Category::SignIn, 2))
            } else if IssuanceKind::from_event(esrc.get(row), ename.get(row)).is_some() {
                Some((Category::Issuance, if service { 5 } else { 3 }))
            } else if mutating {
                Some((Category::Mutating, if service { 6 } else { 4 }))
            } else {
                None
            };
            if let Some((category, rank)) = category {
                *counts.entry(category).or_default() += 1;
                items.push((row, category));
                let position = sl.position(row);
                let key = (rank, position);
                if shown.len() < TIMELINE_ROWS || shown.peek().is_some_and(|m| key < m.key()) {
                    shown.push(ByRank(Important {
                        rank,
                        position,
                        category,
                        view: ec.view(sl, row),
                        note: notes.of(category, acct.get(row), id, true),
                    }));
                    if shown.len() > TIMELINE_ROWS {
                        shown.pop();
                    }
                }
            }
        }
        if let Some(k) = last_cov {
            flush_cov(k, cov_run);
        }
        // The slice's rows of the timeline table, rendered now and spilled by position.
        total += items.len();
        let frame = timeline_frame(sl, &items, &by_attribution, &notes)?;
        let (csv, json) = (
            crate::render::RowText::new(&frame, crate::render::Format::Csv)?,
            crate::render::RowText::new(&frame, crate::render::Format::Json)?,
        );
        if headers.is_none() {
            headers = Some((csv.header(), json.header()));
        }
        let mut run: Vec<(Key, Vec<u8>)> = Vec::with_capacity(items.len());
        for (j, &(row, _)) in items.iter().enumerate() {
            let mut b = vec![0u8; 4];
            csv.row(j, &mut b);
            let n = (b.len() - 4) as u32;
            b[..4].copy_from_slice(&n.to_le_bytes());
            json.row(j, &mut b);
            let p = sl.position(row);
            run.push(((false, 0, p.0, p.1), b));
        }
        run.sort_by_key(|(k, _)| *k);
        spill.run(run.iter().map(|(k, b)| (*k, &b[..])))
    })?;
    let summary = summary.finish(&scan.issuances, stats, problems)?;
    let (csv_header, json_header) = match headers {
        Some(h) => h,
        None => {
            // No slice at all: the header still comes from an (empty) frame.
            let frame = empty_timeline_frame()?;
            (
                crate::render::RowText::new(&frame, crate::render::Format::Csv)?.header(),
                crate::render::RowText::new(&frame, crate::render::Format::Json)?.header(),
            )
        }
    };
    for (o, accts) in origins.iter_mut().zip(origin_accounts) {
        o.accounts.extend(accts);
    }
    // Chains also reach the accounts of their roles.
    for o in origins.iter_mut() {
        let extra: Vec<String> = o
            .roles
            .iter()
            .filter_map(|r| arn_account(r).map(String::from))
            .collect();
        o.accounts.extend(extra);
    }

    // Evidence: per finding, the events of its ids in input order, and their sessions.
    evidence_events.sort_by_key(|(_, e)| e.position);
    let mut rows_of: FxHashMap<&str, Vec<usize>> = FxHashMap::default();
    for (k, (id, _)) in evidence_events.iter().enumerate() {
        rows_of.entry(id.as_str()).or_default().push(k);
    }
    let session_by_id: FxHashMap<&str, usize> = if findings.is_empty() {
        FxHashMap::default()
    } else {
        sessions
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id.as_str(), i))
            .collect()
    };
    let mut session_findings: Vec<Vec<u32>> = vec![Vec::new(); sessions.len()];
    let mut evidence: Vec<(Vec<usize>, Vec<usize>)> = Vec::with_capacity(findings.len());
    for (fi, f) in findings.iter().enumerate() {
        let mut rows: Vec<usize> = std::iter::once(&f.first_event_id)
            .chain(f.event_ids.iter())
            .filter_map(|e| rows_of.get(e.as_str()))
            .flatten()
            .copied()
            .collect();
        rows.sort_unstable();
        rows.dedup();
        let mut ss: Vec<usize> = rows
            .iter()
            .filter_map(|&r| evidence_events[r].1.session)
            .collect();
        if let Some(&s) = session_by_id.get(f.subject.as_str()) {
            ss.push(s);
        }
        ss.sort_unstable();
        ss.dedup();
        for &s in &ss {
            session_findings[s].push(fi as u32);
        }
        let oi = intern(&f.origin, &mut origins);
        origins[oi].findings += 1;
        evidence.push((rows, ss));
    }

    let mut all_days: BTreeSet<i64> = BTreeSet::new();
    let mut coverage: Vec<Coverage> = cov
        .into_iter()
        .map(|((a, r), days)| {
            let mut days: Vec<(i64, u64)> = days.into_iter().collect();
            days.sort_unstable();
            all_days.extend(days.iter().map(|d| d.0));
            Coverage {
                account: a.unwrap_or_default(),
                region: r.unwrap_or_default(),
                events: days.iter().map(|d| d.1).sum(),
                days,
            }
        })
        .collect();
    coverage.sort_by(|x, y| (&x.account, &x.region).cmp(&(&y.account, &y.region)));

    origins.sort_by(|a, b| {
        b.activity()
            .cmp(&a.activity())
            .then_with(|| a.origin.cmp(&b.origin))
    });
    let origin_index: FxHashMap<String, usize> = origins
        .iter()
        .enumerate()
        .map(|(i, o)| (o.origin.clone(), i))
        .collect();
    let picture = picture::build(&picture::Inputs {
        graph,
        session_events: &usage.events,
        session_findings: &session_findings,
        cross_account: &cross_account,
        origins: &origins,
        origin_index: &origin_index,
    });

    let mut finding_kinds: BTreeMap<(String, String), usize> = BTreeMap::new();
    let findings: Vec<FindingView> = findings
        .into_iter()
        .zip(evidence)
        .enumerate()
        .map(|(fi, (finding, (rows, ss)))| {
            *finding_kinds
                .entry((
                    finding.kind.as_str().to_string(),
                    finding.severity.as_str().to_string(),
                ))
                .or_default() += 1;
            let found: BTreeSet<&str> = rows
                .iter()
                .filter_map(|&r| evidence_events[r].1.view.event_id.as_deref())
                .collect();
            let evidence_missing = finding
                .event_ids
                .iter()
                .filter(|e| !found.contains(e.as_str()))
                .count();
            let shown = if fi < FINDINGS_SHOWN {
                EVIDENCE_ROWS
            } else {
                0
            };
            FindingView {
                sessions: ss.iter().map(|&s| sessions[s].id.clone()).collect(),
                evidence: rows
                    .iter()
                    .take(shown)
                    .map(|&r| evidence_events[r].1.view.clone())
                    .collect(),
                evidence_found: rows.len(),
                evidence_missing,
                finding,
            }
        })
        .collect();

    // The timeline shown: the most important first, then in input order; shown in input order.
    let mut shown: Vec<Important> = shown.into_iter().map(|b| b.0).collect();
    shown.sort_by_key(|i| i.position);
    let mut left_out = counts.clone();
    for i in &shown {
        *left_out.get_mut(&i.category).expect("counted") -= 1;
    }
    left_out.retain(|_, n| *n > 0);
    let timeline = TimelineView {
        total,
        counts,
        shown: shown
            .into_iter()
            .map(|i| TimelineRow {
                category: i.category,
                event: i.view,
                note: i.note,
            })
            .collect(),
        left_out,
    };
    let all_days: Vec<i64> = all_days.into_iter().collect();
    let gaps = gaps_of(all_days.iter().copied());
    let model = Model {
        inputs: inputs.to_vec(),
        summary,
        events: scan.rows() as usize,
        sessions: sessions.len(),
        chained_sessions: sessions.iter().filter(|s| s.chain.len() >= 2).count(),
        cross_account_sessions: cross_account.iter().filter(|&&b| b).count(),
        max_depth,
        coverage,
        missing_days: gaps.iter().map(|g| g.1 - g.0 + 1).sum(),
        gaps,
        all_days,
        origins,
        findings,
        finding_kinds,
        timeline,
        picture,
        hunt: hunt.as_ref().map(|h| hunt_view(scan, h)),
        trust: trust.as_ref().map(trust_view).transpose()?,
    };
    let hunt_tables = match hunt {
        Some(h) => Some(HuntTables {
            by_origin: hunt::by_origin_frame(h.rules, &h.hunted.by_origin)?,
            hunted: std::cell::RefCell::new(Some(h.hunted)),
        }),
        None => None,
    };
    let source = TableSource {
        graph,
        usage,
        hunt: hunt_tables,
        trust,
        timeline: TimelineRows {
            spill: std::cell::RefCell::new(Some(spill)),
            csv_header,
            json_header,
            rows: total,
        },
    };
    Ok((model, source))
}

/// The hunt as shown: roll-ups per origin and per rule, and the most severe hits with their
/// evidence (the hits carry it: file and record).
fn hunt_view(scan: &Scan, h: &HuntInput<'_>) -> HuntView {
    let hd = &h.hunted;
    let shown = hd
        .top
        .iter()
        .map(|hit| {
            (
                hit.rule,
                EventView {
                    time: hit.event_time,
                    event_name: hit.event_name.clone(),
                    event_source: hit.event_source.clone(),
                    recipient_account: hit.recipient_account.clone(),
                    aws_region: hit.aws_region.clone(),
                    source_ip: hit.source_ip.clone(),
                    user_agent: hit.user_agent.clone(),
                    error_code: hit.error_code.clone(),
                    event_id: hit.event_id.clone(),
                    source_file: hit.source_file.clone(),
                    record_index: hit.record_index,
                    who: WhoView::of(&scan.table[hit.attribution as usize]),
                },
            )
        })
        .collect();
    HuntView {
        rules: h.rules.rules.clone(),
        skipped: h.rules.skipped.len(),
        problems: h.rules.problems.len(),
        hits: hd.hits,
        by_origin: hd.by_origin.clone(),
        by_rule: hd.by_rule.clone(),
        shown,
    }
}

/// A timeline candidate ordered by (rank, position): the heap of the rows shown keeps the
/// smallest, its top is the first to go.
struct ByRank(Important);

impl ByRank {
    fn key(&self) -> (u8, (u64, u64)) {
        (self.0.rank, self.0.position)
    }
}

impl PartialEq for ByRank {
    fn eq(&self, o: &Self) -> bool {
        self.key() == o.key()
    }
}
impl Eq for ByRank {}
impl PartialOrd for ByRank {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for ByRank {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.key().cmp(&o.key())
    }
}

/// What the notes of timeline rows are made from.
struct Notes<'a> {
    graph: &'a SessionGraph,
    /// Per issuance event (recipient account, event id): the session it issued.
    issued_by_event: &'a FxHashMap<(Option<String>, String), usize>,
    /// Per event id: the kinds of the findings whose first event it is.
    first_kinds: &'a FxHashMap<&'a str, Vec<String>>,
}

impl Notes<'_> {
    /// The note of an event of `category` (`brief`: as shown on the page; else as in the table).
    fn of(
        &self,
        category: Category,
        recipient: Option<&str>,
        id: Option<&str>,
        brief: bool,
    ) -> Option<String> {
        match category {
            Category::Anomaly => self.first_kinds.get(id?).map(|k| {
                if brief {
                    format!("first event of {}", k.join(", "))
                } else {
                    format!("first event of: {}", k.join(", "))
                }
            }),
            Category::Issuance => self.issuance(recipient, id?, brief),
            _ => None,
        }
    }

    /// A short description of what an issuance event issued (`brief`: role name only).
    fn issuance(&self, recipient: Option<&str>, id: &str, brief: bool) -> Option<String> {
        let &s = self
            .issued_by_event
            .get(&(recipient.map(String::from), id.to_string()))?;
        let se = &self.graph.sessions[s];
        let what = se
            .role_arn
            .as_deref()
            .or(se.session_arn.as_deref())
            .unwrap_or("?");
        let what = if brief {
            role_display(what)
        } else {
            what.to_string()
        };
        Some(match &se.session_name {
            Some(n) => format!("→ {what} as {n}"),
            None => format!("→ {what}"),
        })
    }
}

/// The columns of the timeline table taken from the events, in order.
pub(crate) const TIMELINE_EVENT_COLS: [&str; 14] = [
    event::event_time,
    event::event_name,
    event::event_source,
    event::recipient_account,
    event::aws_region,
    event::identity_arn,
    event::access_key_id,
    event::source_ip,
    event::user_agent,
    event::error_code,
    event::read_only,
    event::event_id,
    event::source_file,
    event::record_index,
];

/// The timeline table's rows of the important events `items` (row, category) of a slice, with
/// their attribution.
fn timeline_frame(
    sl: &Slice<'_>,
    items: &[(usize, Category)],
    by_attribution: &AttributionColumns,
    notes: &Notes<'_>,
) -> Result<DataFrame> {
    let idx = IdxCa::from_vec("idx".into(), items.iter().map(|t| t.0 as IdxSize).collect());
    let ev = sl.events.select(TIMELINE_EVENT_COLS)?.take(&idx)?;
    let n = items.len();
    let c = Cols::new(sl.events);
    let (eid, acct) = (c.s(event::event_id)?, c.s(event::recipient_account)?);
    let category: Vec<&str> = items.iter().map(|t| t.1.as_str()).collect();
    let note: Vec<Option<String>> = items
        .iter()
        .map(|&(row, cat)| notes.of(cat, acct.get(row), eid.get(row), false))
        .collect();
    let per_item = IdxCa::from_vec(
        "per_item".into(),
        items
            .iter()
            .map(|&(row, _)| sl.attribution(row) as IdxSize)
            .collect(),
    );
    let att = |c: &Column| -> Result<Column> { Ok(c.take(&per_item)?) };
    let get = |name: &str| -> Result<Column> { Ok(ev.column(name)?.clone()) };
    let cols = vec![
        get(event::event_time)?,
        Column::new("category".into(), category),
        get(event::event_name)?,
        get(event::event_source)?,
        get(event::recipient_account)?,
        get(event::aws_region)?,
        att(&by_attribution.origin)?,
        att(&by_attribution.chain)?,
        Column::new(
            attributed::depth.into(),
            items
                .iter()
                .map(|&(row, _)| sl.of(row).depth() as u32)
                .collect::<Vec<_>>(),
        ),
        att(&by_attribution.confidence)?,
        att(&by_attribution.session_id)?,
        get(event::identity_arn)?,
        get(event::access_key_id)?,
        get(event::source_ip)?,
        get(event::user_agent)?,
        get(event::error_code)?,
        get(event::read_only)?,
        Column::new("note".into(), note),
        get(event::event_id)?,
        get(event::source_file)?,
        get(event::record_index)?,
    ];
    Ok(DataFrame::new(n, cols)?)
}

/// The attribution columns of the timeline table, one row per distinct attribution
/// (`Scan::table`): each slice takes its rows from them (views of the same strings).
struct AttributionColumns {
    origin: Column,
    chain: Column,
    confidence: Column,
    session_id: Column,
}

impl AttributionColumns {
    fn new(table: &[Attribution], graph: &SessionGraph) -> AttributionColumns {
        let col = |name: &str, f: &dyn Fn(&Attribution) -> Option<String>| {
            Column::new(name.into(), table.iter().map(f).collect::<Vec<_>>())
        };
        AttributionColumns {
            origin: col(attributed::origin, &|a| Some(a.origin.clone())),
            chain: col(attributed::chain, &|a| Some(a.chain_string())),
            confidence: col(attributed::confidence, &|a| {
                Some(a.confidence.as_str().to_string())
            }),
            session_id: col(attributed::session_id, &|a| {
                a.session.map(|s| graph.sessions[s].id.clone())
            }),
        }
    }
}

/// The timeline table with no rows (for its header, which is all it gives, when no slice came).
fn empty_timeline_frame() -> Result<DataFrame> {
    let mut names: Vec<&str> = TIMELINE_EVENT_COLS.to_vec();
    names.splice(1..1, ["category"]);
    names.splice(
        6..6,
        [
            attributed::origin,
            attributed::chain,
            attributed::depth,
            attributed::confidence,
            attributed::session_id,
        ],
    );
    names.insert(names.len() - 3, "note");
    let cols = names
        .into_iter()
        .map(|n| Column::new(n.into(), Vec::<Option<String>>::new()))
        .collect();
    Ok(DataFrame::new(0, cols)?)
}

/// The event columns an `EventView` shows.
struct EventCols<'a> {
    time: &'a Int64Chunked,
    name: &'a StringChunked,
    src: &'a StringChunked,
    acct: &'a StringChunked,
    region: &'a StringChunked,
    ip: &'a StringChunked,
    ua: &'a StringChunked,
    err: &'a StringChunked,
    eid: &'a StringChunked,
    file: &'a StringChunked,
    idx: &'a UInt64Chunked,
}

impl<'a> EventCols<'a> {
    fn new(events: &'a DataFrame) -> Result<EventCols<'a>> {
        let c = Cols::new(events);
        Ok(EventCols {
            time: c.t(event::event_time)?,
            name: c.s(event::event_name)?,
            src: c.s(event::event_source)?,
            acct: c.s(event::recipient_account)?,
            region: c.s(event::aws_region)?,
            ip: c.s(event::source_ip)?,
            ua: c.s(event::user_agent)?,
            err: c.s(event::error_code)?,
            eid: c.s(event::event_id)?,
            file: c.s(event::source_file)?,
            idx: c.u(event::record_index)?,
        })
    }

    fn view(&self, sl: &Slice<'_>, row: usize) -> EventView {
        let s = |c: &StringChunked| c.get(row).map(String::from);
        EventView {
            time: self.time.get(row),
            event_name: s(self.name),
            event_source: s(self.src),
            recipient_account: s(self.acct),
            aws_region: s(self.region),
            source_ip: s(self.ip),
            user_agent: s(self.ua),
            error_code: s(self.err),
            event_id: s(self.eid),
            source_file: s(self.file),
            record_index: self.idx.get(row),
            who: WhoView::of(sl.of(row)),
        }
    }
}

impl Model {
    /// The first and last event time.
    pub fn time_range(&self) -> (Option<Millis>, Option<Millis>) {
        (self.summary.first, self.summary.last)
    }

    /// Origins with at least one session.
    pub(crate) fn origins_with_sessions(&self) -> usize {
        self.origins.iter().filter(|o| o.sessions > 0).count()
    }
}
