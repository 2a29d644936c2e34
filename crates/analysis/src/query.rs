//! `trailgraph query`: polars SQL over the case tables.
//!
//! Tables (registered lazily, and built only when the SQL names them, so a query over
//! `events` never pays for attribution):
//!
//! - `events`: the events frame as stored (`table::EventBatch::SCHEMA`), one row per distinct
//!   event, `event_time` / `creation_date` typed as UTC datetimes.
//! - `issuances`: one row per STS issuance call, failed ones included, and both copies of a
//!   cross-account call (`table::IssuanceBatch::SCHEMA`).
//! - `sessions`: one row per issued session: the `sessions` command's columns, with the
//!   times (`issued_at`, `expires_at`, `first_use`, `last_use`) as UTC datetimes, plus
//!   `session_arn`, `caller_type`, `caller_arn`, `caller_account`, `parent_session_id`,
//!   `issuance_in_input` and `user_agent`.
//! - `attribution`: one row per event: the `attribute` command's columns plus event_type,
//!   event_category, read_only, management_event, error_code, error_message, identity_type,
//!   identity_arn, principal_id, user_agent, mfa_authenticated, shared_event_id, source_file,
//!   record_index.
//! - `anomalies`: one row per finding (the `anomalies` command's columns, `time` as a UTC
//!   datetime).
//!
//! The shipped queries in `queries/` are embedded in the binary (see [`QUERIES`]).
//!
//! Two ways to run a query: [`execute_case`] over a case on disk, read lazily (the events and
//! issuances as Parquet scans, the attribution spilled a slice at a time to a temporary Parquet
//! file and scanned; memory grows with sessions and with what the query keeps, not with
//! events), and [`execute`] over frames in memory (several inputs to combine, small log
//! files). Both give the same rows in the same order.

use anyhow::{anyhow, bail, Context, Result};
use polars::prelude::*;
use polars::sql::SQLContext;
use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;
use trailgraph_graph::attribute::{
    attribute_all, attributed, attribution_columns, attribution_frame, Attributed,
    EVENT_OUTPUT_COLUMNS,
};
use trailgraph_graph::graph::SessionGraph;
use trailgraph_graph::scan::Scan;
use trailgraph_log::escape::term;
use trailgraph_log::model::{parse_time, Millis};
use trailgraph_log::table::event;
use trailgraph_store::load::Loaded;
use trailgraph_store::Manifest;

/// A shipped query: its name (file stem) and SQL text (with its comment header).
pub struct Shipped {
    pub name: &'static str,
    pub sql: &'static str,
}

macro_rules! shipped {
    ($($name:literal),* $(,)?) => {
        &[$(Shipped { name: $name, sql: include_str!(concat!("../../../queries/", $name, ".sql")) }),*]
    };
}

/// The queries in `queries/`, embedded in the binary.
pub const QUERIES: &[Shipped] = shipped!(
    "chained_sessions_by_depth",
    "console_sessions",
    "cross_account_assumptions",
    "failed_assumptions_by_principal",
    "human_activity_through_roles",
    "key_first_last_use",
    "long_term_key_usage",
    "mutating_calls_by_origin",
    "roles_never_assumed_with_mfa",
    "service_keys_used_from_several_ips",
    "sessions_without_source_identity",
    "unknown_origin_activity",
);

/// The header of a query file: `-- title:`, `-- description:`, `-- columns:` lines
/// (a comment line indented by two or more spaces after `--` continues the previous field;
/// other comment lines are notes).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Header {
    pub title: String,
    pub description: String,
    pub columns: String,
}

/// Parses the leading comment block of a query.
pub fn header(sql: &str) -> Header {
    let mut h = Header::default();
    let mut last: Option<&str> = None;
    for line in sql.lines() {
        let Some(rest) = line.trim_start().strip_prefix("--") else {
            if line.trim().is_empty() {
                continue;
            }
            break;
        };
        let indented = rest.starts_with("  ");
        let rest = rest.trim();
        let field = ["title", "description", "columns"]
            .into_iter()
            .find(|f| rest.starts_with(&format!("{f}:")));
        let (key, text) = match field {
            Some(f) => (Some(f), rest[f.len() + 1..].trim()),
            None if indented => (last, rest),
            None => (None, rest),
        };
        let slot = match key {
            Some("title") => &mut h.title,
            Some("description") => &mut h.description,
            Some("columns") => &mut h.columns,
            _ => continue,
        };
        if !text.is_empty() {
            if !slot.is_empty() {
                slot.push(' ');
            }
            slot.push_str(text);
        }
        last = key;
    }
    h
}

/// The names of the tables a query can use.
pub(crate) const TABLES: [&str; 5] = [
    "events",
    "issuances",
    "sessions",
    "attribution",
    "anomalies",
];

/// The tables whose names occur as words in `sql` outside comments and string literals: a
/// cheap over-approximation of the tables the query reads.
pub fn referenced_tables(sql: &str) -> BTreeSet<&'static str> {
    let mut words = BTreeSet::new();
    let b = sql.as_bytes();
    let mut i = 0;
    let mut word = String::new();
    let flush = |w: &mut String, words: &mut BTreeSet<String>| {
        if !w.is_empty() {
            words.insert(w.to_ascii_lowercase());
            w.clear();
        }
    };
    while i < b.len() {
        let c = b[i];
        if c == b'-' && b.get(i + 1) == Some(&b'-') {
            flush(&mut word, &mut words);
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
            flush(&mut word, &mut words);
            i += 2;
            while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                i += 1;
            }
            i += 2;
        } else if c == b'\'' {
            flush(&mut word, &mut words);
            i += 1;
            while i < b.len() && b[i] != b'\'' {
                i += 1;
            }
            i += 1;
        } else if c.is_ascii_alphanumeric() || c == b'_' {
            word.push(c as char);
            i += 1;
        } else {
            flush(&mut word, &mut words);
            i += 1;
        }
    }
    flush(&mut word, &mut words);
    TABLES.into_iter().filter(|t| words.contains(*t)).collect()
}

/// Finds the SQL to run: `--sql`, or `--file` (a file on disk, else a shipped query by name,
/// `NAME`, `NAME.sql` or `queries/NAME.sql`).
pub fn resolve_sql(sql: Option<&str>, file: Option<&Path>) -> Result<String> {
    match (sql, file) {
        (Some(_), Some(_)) => bail!("query: give either --sql or --file, not both"),
        (None, None) => bail!(
            "query: give the SQL with --sql \"SELECT …\" or --file FILE.sql (shipped queries: trailgraph query --list)"
        ),
        (Some(s), None) => Ok(s.to_string()),
        (None, Some(p)) => {
            if p.is_file() {
                return std::fs::read_to_string(p)
                    .with_context(|| format!("query: {}: cannot read", p.display()));
            }
            if let Some(q) = shipped_by_path(p) {
                return Ok(q.sql.to_string());
            }
            bail!(
                "query: {}: no such file, and not the name of a shipped query (see trailgraph query --list)",
                term(&p.display().to_string())
            )
        }
    }
}

/// A shipped query named by `NAME`, `NAME.sql` or `queries/NAME.sql`.
fn shipped_by_path(p: &Path) -> Option<&'static Shipped> {
    let parent = p
        .parent()
        .map(|d| d.as_os_str().to_string_lossy().into_owned());
    if !matches!(parent.as_deref(), None | Some("") | Some("queries")) {
        return None;
    }
    let file = p.file_name()?.to_str()?;
    let name = file.strip_suffix(".sql").unwrap_or(file);
    QUERIES.iter().find(|q| q.name == name)
}

/// Writes the `--list` text: name, title, description of each shipped query.
pub fn write_list(out: &mut dyn Write) -> std::io::Result<()> {
    let w = QUERIES.iter().map(|q| q.name.len()).max().unwrap_or(0);
    for q in QUERIES {
        let h = header(q.sql);
        writeln!(out, "{:w$}  {}", q.name, h.title)?;
        writeln!(out, "{:w$}  {}", "", h.description)?;
    }
    writeln!(
        out,
        "\nRun one with: trailgraph query INPUT... --file NAME (SQL text: queries/NAME.sql in the source)"
    )?;
    Ok(())
}

/// Do these tables need the attribution (session graph)?
pub fn needs_attribution(tables: &BTreeSet<&str>) -> bool {
    ["sessions", "attribution", "anomalies"]
        .iter()
        .any(|t| tables.contains(t))
}

/// Runs `sql` over the tables of `loaded`, building only the tables it names. `at` is needed
/// for `sessions`, `attribution` and `anomalies` (see [`needs_attribution`]); it is computed
/// here when missing. Every table is in memory: see [`execute_case`] for a case on disk.
pub fn execute(loaded: &Loaded, at: Option<&Attributed>, sql: &str) -> Result<DataFrame> {
    let need = referenced_tables(sql);
    let ctx = SQLContext::new();
    let frames = &loaded.frames;
    if need.contains("events") {
        ctx.register("events", frames.events.clone().lazy());
    }
    if need.contains("issuances") {
        ctx.register("issuances", frames.issuances.clone().lazy());
    }
    let own;
    let at: Option<&Attributed> = match at {
        Some(at) => Some(at),
        None if needs_attribution(&need) => {
            own = attribute_all(frames)?;
            Some(&own)
        }
        None => None,
    };
    if let Some(at) = at {
        if need.contains("sessions") {
            let usage = crate::answer::usage_in_memory(frames, at)?;
            ctx.register("sessions", sessions_table(&at.graph, &usage)?.lazy());
        }
        if need.contains("attribution") {
            ctx.register("attribution", attribution_table(loaded, at)?.lazy());
        }
        if need.contains("anomalies") {
            let cfg = crate::anomalies::load_config(None)?;
            let found = crate::anomalies::detect_in_memory(frames, at, &cfg)?;
            ctx.register("anomalies", anomalies_table(&found)?.lazy());
        }
    }
    run_sql(ctx, sql)
}

/// Runs `sql` over the case (or scratch case) in `dir`, reading it lazily: `events` and
/// `issuances` are Parquet scans of its parts (the query reads the columns it names, and polars
/// pushes its filters into the scan); `sessions` comes from `scan` (per-session counts made a
/// slice at a time); `attribution` is written a slice at a time from `scan` into a temporary
/// Parquet file, then scanned like `events`; `anomalies` runs the detectors on `scan`. `scan`
/// (of the same case) is needed for `sessions`, `attribution` and `anomalies` (see
/// [`needs_attribution`]). The tables and their rows are those [`execute`] gives over the case
/// loaded into memory.
pub fn execute_case(
    dir: &Path,
    manifest: &Manifest,
    scan: Option<&Scan>,
    sql: &str,
) -> Result<DataFrame> {
    let need = referenced_tables(sql);
    let ctx = SQLContext::new();
    if need.contains("events") {
        let Some(lf) = trailgraph_store::lazy_case_events(dir, manifest)? else {
            bail!(
                "query: {}: a case without events files",
                term(&dir.display().to_string())
            );
        };
        ctx.register("events", lf);
    }
    if need.contains("issuances") {
        let lf = match trailgraph_store::lazy_case_issuances(dir, manifest)? {
            Some(lf) => lf,
            None => trailgraph_store::load_case_issuances(dir, manifest)?.lazy(),
        };
        ctx.register("issuances", lf);
    }
    // The spilled attribution, removed after the query ran.
    let mut spill = None;
    if needs_attribution(&need) {
        let Some(scan) = scan else {
            bail!("query: internal: the sessions, attribution and anomalies tables of a case need its scan");
        };
        if need.contains("sessions") {
            let usage = crate::answer::usage(scan)?;
            ctx.register("sessions", sessions_table(&scan.graph, &usage)?.lazy());
        }
        if need.contains("attribution") {
            let scratch = trailgraph_store::spill::ScratchDir::new()?;
            let parts = trailgraph_store::CaseEvents::open(dir, manifest, &[])?.parts();
            let lf =
                spill_attribution(scan, &scratch.path().join("attribution.parquet"), parts > 1)?;
            ctx.register("attribution", lf);
            spill = Some(scratch);
        }
        if need.contains("anomalies") {
            let cfg = crate::anomalies::load_config(None)?;
            let found = crate::anomalies::detect(scan, &cfg)?;
            ctx.register("anomalies", anomalies_table(&found)?.lazy());
        }
    }
    let df = run_sql(ctx, sql);
    drop(spill);
    df
}

/// The `anomalies` table: the findings' frame with `time` as a datetime.
fn anomalies_table(found: &[crate::anomalies::Finding]) -> Result<DataFrame> {
    let mut df = crate::anomalies::findings_frame(found)?;
    to_datetime(&mut df, &[crate::anomalies::finding_columns::time])?;
    Ok(df)
}

/// Executes the SQL and collects the result; polars errors become one `query: …` line.
fn run_sql(mut ctx: SQLContext, sql: &str) -> Result<DataFrame> {
    let lf = ctx.execute(sql).map_err(query_error)?;
    // polars' streaming engine: scans, filters, joins and aggregations work a morsel at a
    // time, so memory follows what the query keeps, not the rows it reads.
    // One plan collected into one frame (never `collect_all`'s several): a single result.
    Ok(lf
        .collect_with_engine(Engine::Streaming)
        .map_err(query_error)?
        .unwrap_single())
}

fn query_error(e: PolarsError) -> anyhow::Error {
    let msg = e.to_string();
    // Polars appends the plan after a blank line; the first paragraph is the message.
    let first = msg.split("\n\n").next().unwrap_or(&msg);
    let one: Vec<&str> = first
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    anyhow!("query: {}", term(&one.join("; ")))
}

trailgraph_log::column_names!(
    /// The columns the `sessions` table adds to `answer::sessions_frame`'s, in table order.
    pub mod sessions_extra {
        session_arn,
        caller_type,
        caller_arn,
        caller_account,
        parent_session_id,
        issuance_in_input,
        user_agent,
    }
);

use crate::answer::{session_columns, Usage};

/// The `sessions` table: `answer::sessions_frame` (unfiltered; `usage` counted over every
/// event) with typed times and more columns about the caller and the parent session.
pub(crate) fn sessions_table(graph: &SessionGraph, usage: &Usage) -> Result<DataFrame> {
    let mut df =
        crate::answer::sessions_frame(graph, usage, &crate::answer::SessionFilter::default())?;
    to_datetime(
        &mut df,
        &[
            session_columns::issued_at,
            session_columns::expires_at,
            session_columns::first_use,
            session_columns::last_use,
        ],
    )?;
    let ss = &graph.sessions;
    // The rows of `df` are sessions in another order: find each one by its id.
    let by_id: std::collections::HashMap<&str, &trailgraph_graph::graph::Session> =
        ss.iter().map(|s| (s.id.as_str(), s)).collect();
    let rows: Vec<Option<&trailgraph_graph::graph::Session>> = df
        .column(session_columns::session_id)?
        .str()?
        .iter()
        .map(|id| id.and_then(|id| by_id.get(id).copied()))
        .collect();
    let text = |name: &str, f: &dyn Fn(&trailgraph_graph::graph::Session) -> Option<String>| {
        Column::new(
            name.into(),
            rows.iter()
                .map(|s| s.and_then(f))
                .collect::<Vec<Option<String>>>(),
        )
    };
    let extra = [
        text(sessions_extra::session_arn, &|s| s.session_arn.clone()),
        text(sessions_extra::caller_type, &|s| {
            s.caller_identity.kind.clone()
        }),
        text(sessions_extra::caller_arn, &|s| {
            s.caller_identity.arn.clone()
        }),
        text(sessions_extra::caller_account, &|s| {
            s.caller_identity.account.clone().or_else(|| {
                s.caller_identity
                    .arn
                    .as_deref()
                    .and_then(trailgraph_log::model::arn_account)
                    .map(String::from)
            })
        }),
        text(sessions_extra::parent_session_id, &|s| {
            s.parent.map(|p| ss[p].id.clone())
        }),
        Column::new(
            sessions_extra::issuance_in_input.into(),
            rows.iter()
                .map(|s| s.map(|s| !s.orphan))
                .collect::<Vec<Option<bool>>>(),
        ),
        text(sessions_extra::user_agent, &|s| s.user_agent.clone()),
    ];
    for c in extra {
        df.with_column(c)?;
    }
    Ok(df)
}

/// The event columns added to the `attribute` frame in the `attribution` table.
pub(crate) const ATTRIBUTION_EXTRA: [&str; 14] = [
    event::event_type,
    event::event_category,
    event::read_only,
    event::management_event,
    event::error_code,
    event::error_message,
    event::identity_type,
    event::identity_arn,
    event::principal_id,
    event::user_agent,
    event::mfa_authenticated,
    event::shared_event_id,
    event::source_file,
    event::record_index,
];

/// The `attribution` table: `attribute::attribution_frame` plus event columns.
pub(crate) fn attribution_table(loaded: &Loaded, at: &Attributed) -> Result<DataFrame> {
    let mut df = attribution_frame(&loaded.frames, at)?;
    let have: BTreeSet<String> = df
        .get_column_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    for name in ATTRIBUTION_EXTRA {
        if !have.contains(name) {
            df.with_column(loaded.frames.events.column(name)?.clone())?;
        }
    }
    Ok(df)
}

/// The columns of the `attribution` table that come from the events (its other columns are
/// `attribute::attributed`).
fn attribution_event_columns() -> Vec<&'static str> {
    let mut cols: Vec<&'static str> = EVENT_OUTPUT_COLUMNS.to_vec();
    cols.extend(
        ATTRIBUTION_EXTRA
            .iter()
            .filter(|c| !EVENT_OUTPUT_COLUMNS.contains(c)),
    );
    cols
}

/// Column of the spilled attribution: the row's index into `Scan::table`.
const SPILL_ATTRIBUTION: &str = "__trailgraph_attribution";
/// Columns of the spilled attribution of a case of several parts: the row's place in the
/// canonical order (its file's rank among all, null first; its record index, null first).
const SPILL_FILE: &str = "__trailgraph_file";
const SPILL_RECORD: &str = "__trailgraph_record";

/// Writes the events' columns of the `attribution` table of `scan` into the Parquet file
/// `path` a slice at a time, each row with the index of its attribution, and returns the
/// `attribution` table as a lazy scan of it joined with the distinct attributions (a few
/// thousand rows): the columns and rows of [`attribution_table`], in the order it has over the
/// case loaded into memory (the slices' order for one part, else (`several_parts`) the
/// canonical order, a stable sort on two integers per row, see
/// `trailgraph_store::lazy_case_events`). The attribution's text (origin, chain, …) is never
/// written per event: what a query keeps of it are views of the distinct values.
fn spill_attribution(scan: &Scan, path: &Path, several_parts: bool) -> Result<LazyFrame> {
    let chains: Vec<String> = scan.table.iter().map(|a| a.chain_string()).collect();
    let columns = attribution_event_columns();
    let file = std::fs::File::create(path)
        .with_context(|| format!("{}: cannot create a temporary file", path.display()))?;
    let mut file = Some(file);
    let mut writer: Option<polars::io::parquet::write::BatchedWriter<std::fs::File>> = None;
    let mut empty: Option<DataFrame> = None;
    scan.for_each(&columns, |sl| {
        let n = sl.height();
        let mut cols: Vec<Column> = columns
            .iter()
            .map(|c| sl.events.column(c).cloned())
            .collect::<PolarsResult<_>>()?;
        cols.push(Column::new(
            SPILL_ATTRIBUTION.into(),
            (0..n).map(|i| sl.attribution(i)).collect::<Vec<u32>>(),
        ));
        if several_parts {
            let files = sl.events.column(event::source_file)?.str()?;
            let records = sl.events.column(event::record_index)?.u64()?;
            cols.push(Column::new(
                SPILL_FILE.into(),
                (0..n)
                    .map(|i| match files.get(i) {
                        None => 0,
                        Some(_) => sl.position(i).0.saturating_add(1),
                    })
                    .collect::<Vec<u64>>(),
            ));
            cols.push(Column::new(
                SPILL_RECORD.into(),
                records
                    .iter()
                    .map(|r| r.map_or(0, |r| r.saturating_add(1)))
                    .collect::<Vec<u64>>(),
            ));
        }
        let df = DataFrame::new(n, cols)?;
        if writer.is_none() {
            if df.height() == 0 {
                empty = Some(df);
                return Ok(());
            }
            let f = file.take().expect("the file is taken once");
            writer = Some(ParquetWriter::new(f).batched(df.schema())?);
        }
        if let Some(w) = writer.as_mut() {
            w.write_batch(&df)
                .map_err(|e| anyhow!("{}: cannot write: {e}", path.display()))?;
        }
        Ok(())
    })?;
    match (writer, empty) {
        (Some(w), _) => {
            w.finish()
                .map_err(|e| anyhow!("{}: cannot write: {e}", path.display()))?;
        }
        (None, Some(mut df)) => {
            let f = file.take().expect("no writer took the file");
            ParquetWriter::new(f)
                .finish(&mut df)
                .map_err(|e| anyhow!("{}: cannot write: {e}", path.display()))?;
        }
        (None, None) => bail!("query: internal: a case scan without any slice"),
    }
    let p = path.to_string_lossy().into_owned();
    let mut lf = LazyFrame::scan_parquet(PlRefPath::from(p.as_str()), ScanArgsParquet::default())
        .map_err(|e| anyhow!("{}: cannot scan Parquet: {e}", path.display()))?;
    if several_parts {
        lf = lf.sort(
            [SPILL_FILE, SPILL_RECORD],
            SortMultipleOptions::default().with_maintain_order(true),
        );
    }
    // The distinct attributions, by index: the `attribute` output's columns.
    let all: Vec<u32> = (0..scan.table.len() as u32).collect();
    let mut distinct = vec![Column::new(SPILL_ATTRIBUTION.into(), all.clone())];
    distinct.extend(attribution_columns(&scan.graph, &scan.table, &chains, &all));
    let distinct = DataFrame::new(all.len(), distinct)?;
    let mut order: Vec<Expr> = EVENT_OUTPUT_COLUMNS.iter().map(|c| col(*c)).collect();
    order.extend(attributed::ALL.iter().map(|c| col(*c)));
    order.extend(
        ATTRIBUTION_EXTRA
            .iter()
            .filter(|c| !EVENT_OUTPUT_COLUMNS.contains(c))
            .map(|c| col(*c)),
    );
    Ok(lf
        .join(
            distinct.lazy(),
            [col(SPILL_ATTRIBUTION)],
            [col(SPILL_ATTRIBUTION)],
            JoinArgs {
                maintain_order: MaintainOrderJoin::Left,
                ..JoinArgs::new(JoinType::Left)
            },
        )
        .select(order))
}

/// Turns ISO-8601 text columns into `Datetime(ms, UTC)` columns (others are left alone).
fn to_datetime(df: &mut DataFrame, names: &[&str]) -> Result<()> {
    for &name in names {
        let Ok(c) = df.column(name) else { continue };
        if c.dtype() != &DataType::String {
            continue;
        }
        let v: Vec<Option<Millis>> = c.str()?.iter().map(|s| s.and_then(parse_time)).collect();
        let t = Int64Chunked::from_iter_options(name.into(), v.into_iter())
            .into_datetime(TimeUnit::Milliseconds, Some(TimeZone::UTC))
            .into_column();
        df.with_column(t)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_named() {
        let t = referenced_tables("SELECT * FROM events e -- attribution\nJOIN Sessions s ON 1=1 WHERE x = 'anomalies' /* issuances */");
        assert_eq!(
            t.into_iter().collect::<Vec<_>>(),
            vec!["events", "sessions"]
        );
    }

    #[test]
    fn headers_parse() {
        for q in QUERIES {
            let h = header(q.sql);
            assert!(!h.title.is_empty(), "{}: no title", q.name);
            assert!(!h.description.is_empty(), "{}: no description", q.name);
            assert!(!h.columns.is_empty(), "{}: no columns", q.name);
        }
        let h = header("-- title: T\n-- description: a\n--   b\n-- columns: x, y\nSELECT 1");
        assert_eq!(h.description, "a b");
        assert_eq!(h.columns, "x, y");
    }

    #[test]
    fn shipped_names() {
        assert!(shipped_by_path(Path::new("cross_account_assumptions")).is_some());
        assert!(shipped_by_path(Path::new("queries/cross_account_assumptions.sql")).is_some());
        assert!(shipped_by_path(Path::new("/etc/cross_account_assumptions.sql")).is_none());
        assert!(shipped_by_path(Path::new("nope")).is_none());
    }
}
