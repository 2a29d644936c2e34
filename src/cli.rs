//! The command-line surface: clap definitions, validation into settings, and one function per
//! command. Exit codes: 0 clean, 1 finished with skipped input, 2 fatal (or problems with
//! `--strict`).

use crate::answer::{self, SessionFilter};
use crate::escape::term;
use crate::render::{self, Format};
use crate::summary::Summary;
use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use polars::prelude::DataFrame;
use std::io::Write;
use std::path::{Path, PathBuf};
use trailgraph_graph::attribute::{attribute_all, Attributed};
use trailgraph_log::ingest::{IngestOptions, Problem};
use trailgraph_store::load::{load, Loaded};
use trailgraph_store::{self as store, Manifest};

const EXAMPLES: &str = "\
Examples:
  trailgraph ingest ./AWSLogs -o case/             parse every log once, write the case store
  trailgraph summary case/                         what is in it, and what is missing
  trailgraph attribute case/ --format csv -o a.csv one row per event: who is behind it
  trailgraph who case/ <event-id | key | session ARN | principalId>
  trailgraph trace case/ arn:aws:iam::111111111111:user/alice   everything done through any chain
  trailgraph anomalies case/                       role-chain abuse, stolen workload credentials, …
  trailgraph report case/ -o report/               HTML report + CSV/JSON tables

INPUT is any mix of log files (.json, .json.gz, NDJSON, .zip, EventBridge, LookupEvents and
CloudWatch exports), directories (searched recursively), and case directories made by ingest.

Exit codes: 0 clean; 1 finished, but some input was skipped (each problem is listed on stderr);
2 fatal error, or any problem with --strict.";

#[derive(Parser, Debug)]
#[command(
    name = "trailgraph",
    version,
    about = "Which real person or workload is behind this AWS API call? Session stitching over CloudTrail logs.",
    after_help = EXAMPLES
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Parse CloudTrail logs into a case store (Parquet tables + manifest)
    #[command(after_help = "Examples:
  trailgraph ingest ./AWSLogs -o case/
  trailgraph ingest more-logs/ -o case/          adds only files not yet in the case
  trailgraph ingest ./AWSLogs -o case/ --strict  fail (exit 2) on any unreadable input")]
    Ingest(IngestArgs),
    /// Show what is in the input: counts, time range, accounts, regions, principals, issuances
    #[command(after_help = "Examples:
  trailgraph summary case/
  trailgraph summary ./AWSLogs --format json")]
    Summary(SummaryArgs),
    /// One row per event: who is behind it (origin, role chain, depth, confidence)
    #[command(
        after_help = "Columns: event_id, event_time, event_name, event_source, recipient_account,
aws_region, source_ip, access_key_id, session_id, origin, chain, depth, confidence, source_identity

Examples:
  trailgraph attribute case/ --format csv -o attribution.csv
  trailgraph attribute ./AWSLogs --format parquet -o attribution.parquet
  trailgraph attribute case/ --format ndjson | jq 'select(.depth > 1)'"
    )]
    Attribute(AttributeArgs),
    /// Provenance of one event id, access key id, session ARN or principalId, as a tree
    #[command(after_help = "Examples:
  trailgraph who case/ 4839af5e-7b6a-4353-a5ef-41febc9a9fa8     an event
  trailgraph who case/ ASIAP5CT9NN8EYVU1FXV                     a temporary key
  trailgraph who case/ arn:aws:sts::111111111111:assumed-role/Admin/alice
  trailgraph who case/ AROALHCCSKSM395EGX3XN:i-0abc --format json")]
    Who(WhoArgs),
    /// Blast radius: every session descending from an identity or key, and what they did
    #[command(after_help = "Examples:
  trailgraph trace case/ arn:aws:iam::111111111111:user/alice
  trailgraph trace case/ AKIAIOSFODNN7EXAMPLE --since 2024-07-01
  trailgraph trace case/ service:ec2.amazonaws.com --format json")]
    Trace(TraceArgs),
    /// One row per issued session (temporary key), with origin, chain and use
    #[command(after_help = "Examples:
  trailgraph sessions case/ --min-depth 2
  trailgraph sessions case/ --cross-account --format csv -o cross.csv
  trailgraph sessions case/ --origin arn:aws:iam::111111111111:user/alice")]
    Sessions(ListArgs),
    /// One row per distinct role chain (origin → roles), with counts
    #[command(after_help = "Examples:
  trailgraph chains case/
  trailgraph chains case/ --min-depth 3 --format json")]
    Chains(ListArgs),
    /// Findings on sessions and chains: role-chain abuse, stolen workload credentials, …
    Anomalies(crate::anomalies::AnomaliesArgs),
    /// Write a self-contained HTML report (plus Markdown, CSV and JSON tables)
    Report(crate::report::ReportArgs),
    /// Run SQL over the tables events, issuances, sessions, attribution, anomalies
    Query(crate::query::QueryArgs),
    /// Export the identity/session graph (DOT, GraphML, JSON, Neo4j CSV)
    Graph(crate::export::GraphArgs),
    /// Write the attributed events as a Timesketch timeline (JSONL or CSV)
    Timeline(crate::timeline::TimelineArgs),
}

/// Output options of tabular commands.
#[derive(Args, Debug, Clone)]
pub struct OutputArgs {
    /// Output format (parquet needs -o)
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write to FILE instead of standard output
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct AttributeArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub out: OutputArgs,
    /// Hold log files in memory only up to about this many MB (estimated from their size: about
    /// 12× a gzip file, 1.5× a plain one); larger input goes through a scratch case in TMPDIR
    /// and is streamed, in memory that grows with sessions, not events, as a case directory made
    /// by one `ingest` always is. Default: 2048, or half the available memory if less
    #[arg(long, value_name = "MB")]
    pub in_memory_limit: Option<u64>,
}

/// The most memory `attribute` gives log files held as frames by default (2 GiB: a trail of
/// about 150 MB of gzip); past it they stream, whose memory does not grow with events.
const DEFAULT_IN_MEMORY_LIMIT: u64 = 2 << 30;

/// Whether log `files` fit in memory as frames: their estimated size against `limit_mb`, or
/// by default against half the available memory, at most `DEFAULT_IN_MEMORY_LIMIT`.
fn fits_in_memory(files: &[trailgraph_log::discover::InputFile], limit_mb: Option<u64>) -> bool {
    let estimate: u64 = files
        .iter()
        .map(|f| {
            let packed = f.display.ends_with(".gz") || f.display.ends_with(".zip");
            if packed {
                f.size.saturating_mul(12)
            } else {
                f.size.saturating_mul(3) / 2
            }
        })
        .sum();
    let limit = match limit_mb {
        Some(mb) => mb.saturating_mul(1 << 20),
        None => (available_memory().unwrap_or(4 << 30) / 2).min(DEFAULT_IN_MEMORY_LIMIT),
    };
    estimate <= limit
}

/// MemAvailable of /proc/meminfo (Linux), in bytes.
fn available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kb: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("MemAvailable:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TextFormat {
    Table,
    Json,
}

#[derive(Args, Debug)]
pub struct WhoArgs {
    /// Log files, directories, or case directories, then the id to explain (last argument):
    /// an eventID, an access key id, a session ARN or a principalId
    #[arg(required = true, num_args = 2.., value_name = "INPUT... ID")]
    pub args: Vec<String>,
    #[command(flatten)]
    pub opts: CommonOpts,
    /// Output format
    #[arg(long, value_enum, default_value_t = TextFormat::Table)]
    pub format: TextFormat,
    /// Write to FILE instead of standard output
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct TraceArgs {
    /// Log files, directories, or case directories, then the target (last argument): an
    /// origin string, an access key id, or an IAM user ARN
    #[arg(required = true, num_args = 2.., value_name = "INPUT... TARGET")]
    pub args: Vec<String>,
    #[command(flatten)]
    pub opts: CommonOpts,
    /// Only actions at or after T (2024-07-31 or 2024-07-31T19:52:33Z)
    #[arg(long, value_name = "T", value_parser = parse_when)]
    pub since: Option<i64>,
    /// Only actions at or before T
    #[arg(long, value_name = "T", value_parser = parse_when_end)]
    pub until: Option<i64>,
    /// Output format
    #[arg(long, value_enum, default_value_t = TextFormat::Table)]
    pub format: TextFormat,
    /// Write to FILE instead of standard output
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// The reading options without INPUT (for commands whose INPUT is followed by an id).
#[derive(Args, Debug, Clone)]
pub struct CommonOpts {
    /// Worker threads (default: all cores). Output does not depend on it.
    #[arg(short = 'j', long, value_name = "N")]
    pub threads: Option<usize>,
    /// Largest decompressed size accepted per file or archive member
    #[arg(long, value_name = "SIZE", default_value = "4GiB", value_parser = parse_size)]
    pub max_decompressed: u64,
    /// Treat any input problem as fatal (exit 2)
    #[arg(long)]
    pub strict: bool,
    /// No progress line, and only a one-line count of problems on stderr
    #[arg(short, long)]
    pub quiet: bool,
    /// Rows per Parquet row group written by `ingest` (and per chunk while reading logs)
    #[arg(long, value_name = "N", default_value_t = trailgraph_log::ingest::ROW_GROUP, hide = true,
          value_parser = parse_rows)]
    pub row_group_rows: usize,
}

fn parse_rows(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("{s:?} is not a positive number of rows")),
    }
}

impl CommonOpts {
    pub fn with_inputs(&self, inputs: Vec<PathBuf>) -> InputArgs {
        InputArgs {
            inputs,
            opts: self.clone(),
        }
    }
}

#[derive(Args, Debug)]
pub struct ListArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub out: OutputArgs,
    #[command(flatten)]
    pub filter: FilterArgs,
}

/// Session filters.
#[derive(Args, Debug, Clone, Default)]
pub struct FilterArgs {
    /// Only sessions whose origin is exactly this canonical origin string
    #[arg(long, value_name = "ORIGIN")]
    pub origin: Option<String>,
    /// Only sessions of this role (ARN or role name)
    #[arg(long, value_name = "ROLE")]
    pub role: Option<String>,
    /// Only sessions living in this account
    #[arg(long, value_name = "ACCOUNT")]
    pub account: Option<String>,
    /// Only sessions at chain depth N or deeper
    #[arg(long, value_name = "N")]
    pub min_depth: Option<usize>,
    /// Only sessions whose caller is in another account
    #[arg(long)]
    pub cross_account: bool,
    /// Only sessions issued at or after T
    #[arg(long, value_name = "T", value_parser = parse_when)]
    pub since: Option<i64>,
    /// Only sessions issued at or before T
    #[arg(long, value_name = "T", value_parser = parse_when_end)]
    pub until: Option<i64>,
}

impl FilterArgs {
    pub fn filter(&self) -> SessionFilter {
        SessionFilter {
            origin: self.origin.clone(),
            role: self.role.clone(),
            account: self.account.clone(),
            min_depth: self.min_depth,
            cross_account: self.cross_account,
            since: self.since,
            until: self.until,
        }
    }
}

/// Parses `--since`: a date (`2024-07-31`, start of day UTC) or a timestamp.
pub fn parse_when(s: &str) -> Result<i64, String> {
    if let Some(t) = trailgraph_log::model::parse_time(s) {
        return Ok(t);
    }
    trailgraph_log::model::parse_time(&format!("{s}T00:00:00Z"))
        .ok_or_else(|| format!("not a time: {s:?} (use 2024-07-31 or 2024-07-31T19:52:33Z)"))
}

/// Parses `--until`: a date means the end of that day.
pub fn parse_when_end(s: &str) -> Result<i64, String> {
    if let Some(t) = trailgraph_log::model::parse_time(s) {
        return Ok(t);
    }
    trailgraph_log::model::parse_time(&format!("{s}T23:59:59.999Z"))
        .ok_or_else(|| format!("not a time: {s:?} (use 2024-07-31 or 2024-07-31T19:52:33Z)"))
}

/// Options shared by every command that reads INPUT.
#[derive(Args, Debug, Clone)]
pub struct InputArgs {
    /// Log files, directories (recursive), or case directories made by `ingest`
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
    #[command(flatten)]
    pub opts: CommonOpts,
}

#[derive(Args, Debug)]
pub struct IngestArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Case directory to create or add to
    #[arg(short = 'o', long = "output", value_name = "DIR")]
    pub output: PathBuf,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SummaryFormat {
    Table,
    Json,
}

#[derive(Args, Debug)]
pub struct SummaryArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Output format
    #[arg(long, value_enum, default_value_t = SummaryFormat::Table)]
    pub format: SummaryFormat,
    /// Write to FILE instead of standard output
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Parses sizes like `4GiB`, `512MB`, `1000000`.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("not a size: {s:?} (try 512MiB or 4GiB)"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "kib" => 1 << 10,
        "m" | "mb" => 1_000_000,
        "mib" => 1 << 20,
        "g" | "gb" => 1_000_000_000,
        "gib" => 1 << 30,
        "t" | "tb" => 1_000_000_000_000,
        "tib" => 1 << 40,
        _ => return Err(format!("unknown size unit in {s:?} (use B, KiB, MiB, GiB)")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("size too large: {s:?}"))
}

impl InputArgs {
    pub fn ingest_options(&self) -> IngestOptions {
        IngestOptions {
            max_decompressed: self.opts.max_decompressed,
            progress: !self.opts.quiet,
            chunk_rows: self.opts.row_group_rows,
            event_columns: None,
        }
    }
}

/// Parses the process arguments and runs the command; returns the exit code.
pub fn main() -> Result<u8> {
    let cli = Cli::parse();
    run(cli)
}

pub fn run(cli: Cli) -> Result<u8> {
    let threads = match &cli.command {
        Command::Ingest(a) => a.input.opts.threads,
        Command::Summary(a) => a.input.opts.threads,
        Command::Attribute(a) => a.input.opts.threads,
        Command::Who(a) => a.opts.threads,
        Command::Trace(a) => a.opts.threads,
        Command::Sessions(a) | Command::Chains(a) => a.input.opts.threads,
        Command::Anomalies(a) => a.input.opts.threads,
        Command::Report(a) => a.input.opts.threads,
        Command::Query(a) => a.input.opts.threads,
        Command::Graph(a) => a.input.opts.threads,
        Command::Timeline(a) => a.input.opts.threads,
    };
    if let Some(n) = threads {
        if n == 0 {
            bail!("--threads must be at least 1");
        }
        // Ignore the error if a pool was already built (tests run many commands in-process).
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global();
    }
    match cli.command {
        Command::Ingest(a) => cmd_ingest(a),
        Command::Summary(a) => cmd_summary(a),
        Command::Attribute(a) => cmd_attribute(a),
        Command::Who(a) => cmd_who(a),
        Command::Trace(a) => cmd_trace(a),
        Command::Sessions(a) => cmd_list(a, false),
        Command::Chains(a) => cmd_list(a, true),
        Command::Anomalies(a) => crate::anomalies::run(a),
        Command::Report(a) => crate::report::run(a),
        Command::Query(a) => crate::query::run(a),
        Command::Graph(a) => crate::export::run(a),
        Command::Timeline(a) => crate::timeline::run(a),
    }
}

/// Writes a frame to `-o FILE` or stdout in the chosen format.
pub fn emit(df: &DataFrame, out: &OutputArgs) -> Result<()> {
    if out.format == Format::Parquet {
        let Some(p) = out.output.as_deref() else {
            bail!("--format parquet needs -o FILE");
        };
        return render::write_parquet(df, p);
    }
    let mut w = open_output(out.output.as_deref())?;
    render::write(df, out.format, &mut w)?;
    w.flush()?;
    Ok(())
}

/// Loads INPUT and attributes every event; prints problems. Returns None on --strict failure.
/// The events table has every column but `request_parameters` (the largest, and read by no
/// analysis: only `query` shows it, through `load_attributed_all`).
pub fn load_attributed(input: &InputArgs) -> Result<(Loaded, Attributed, u8)> {
    let columns: Vec<&str> = trailgraph_log::table::EventBatch::SCHEMA
        .iter()
        .map(|(n, _)| *n)
        .filter(|n| *n != "request_parameters")
        .collect();
    let loaded = trailgraph_store::load::load_columns(
        &input.inputs,
        &input.ingest_options(),
        Some(&columns),
    )?;
    attributed(loaded, input)
}

/// `load_attributed` with every events column.
pub fn load_attributed_all(input: &InputArgs) -> Result<(Loaded, Attributed, u8)> {
    attributed(load_input(input)?, input)
}

fn attributed(loaded: Loaded, input: &InputArgs) -> Result<(Loaded, Attributed, u8)> {
    let code = report_problems(&loaded.problems, input);
    let at = attribute_all(&loaded.frames)?;
    note_loops(&at.graph, input);
    Ok((loaded, at, code))
}

/// Tells (on stderr) about issuance loops the graph had to cut.
fn note_loops(graph: &trailgraph_graph::graph::SessionGraph, input: &InputArgs) {
    if !graph.loops.is_empty() && !input.opts.quiet {
        eprintln!(
            "trailgraph: note: {} issuance loop(s) in the data were cut (a session cannot be its own ancestor; recycled key ids?): {}",
            graph.loops.len(),
            term(&graph.loops.join(", "))
        );
    }
}

fn cmd_attribute(a: AttributeArgs) -> Result<u8> {
    // Only the columns attribution and its output need: less to build and hold.
    let columns: Vec<&str> = trailgraph_graph::attribute::ATTRIBUTION_COLUMNS
        .iter()
        .chain(&["event_name", "event_source", "aws_region", "source_ip"])
        .copied()
        .collect();
    if a.out.format == Format::Parquet && a.out.output.is_none() {
        bail!("--format parquet needs -o FILE");
    }
    {
        if let Some(code) = attribute_streaming(&a, &columns)? {
            return Ok(code);
        }
    }
    let loaded = trailgraph_store::load::load_chunked(
        &a.input.inputs,
        &a.input.ingest_options(),
        Some(&columns),
    )?;
    let code = report_problems(&loaded.problems, &a.input);
    if code == 2 {
        return Ok(2);
    }
    // Rows by event time (stable: ties keep the canonical order), sorted while the events are
    // attributed (mostly serial work).
    let (at, order) = rayon::join(
        || trailgraph_graph::attribute::attribute_chunked(&loaded.frames),
        || store::event_time_order(&loaded.frames.events),
    );
    let (at, order) = (at?, order?);
    note_loops(&at.graph, &a.input);
    let t0 = std::time::Instant::now();
    let df =
        trailgraph_graph::attribute::attribution_frame_ordered(&loaded.frames, &at, Some(&order))?;
    trailgraph_log::ingest::profile("attribution frame", t0);
    let t0 = std::time::Instant::now();
    emit(&df, &a.out)?;
    trailgraph_log::ingest::profile("write output", t0);
    // The process ends after the command: its memory goes back to the system at once, instead
    // of millions of frees (a tenth of a second on the bench) first.
    std::mem::forget((df, at, loaded));
    Ok(code)
}

/// `attribute` of a single case (any output format), in bounded memory: the
/// events are read a slice at a time and attributed against one session graph (built from the
/// issuances, plus the few rows attribution looks up across slices: see
/// `Attributor::context`); each slice's output rows, sorted by time, are spilled as a run, and a
/// merge of the runs writes the output. Same bytes as the in-memory path. Log files over
/// `--in-memory-limit` go through a scratch case. None when INPUT is something else (the
/// in-memory path handles it).
fn attribute_streaming(a: &AttributeArgs, columns: &[&str]) -> Result<Option<u8>> {
    use trailgraph_graph::attribute::{
        cross_rows_filter, graph_and_context, output_frame, AttributionState, Attributor,
    };
    let found = trailgraph_log::discover::discover(&a.input.inputs)?;
    // Log files go through a scratch case first: all must be read before the first event can
    // be attributed (a use may precede its issuance), and held in memory they would make
    // memory grow with events.
    let scratch: trailgraph_store::spill::ScratchDir;
    let (dir, manifest, events, code) = match (&found.cases[..], found.files.is_empty()) {
        ([dir], true) => {
            let manifest = store::read_manifest(dir)?;
            let events = store::CaseEvents::open(dir, &manifest, columns)?;
            if events.parts() == 0 {
                return Ok(None); // no events file at all: the in-memory path says what it has
            }
            let code = report_problems(&manifest.problems(), &a.input);
            (dir.clone(), manifest, events, code)
        }
        ([], false) if !fits_in_memory(&found.files, a.in_memory_limit) => {
            scratch = trailgraph_store::spill::ScratchDir::new()?;
            let dir = scratch.path().to_path_buf();
            let t0 = std::time::Instant::now();
            let ing = store::scratch_case(&dir, &found.files, &a.input.ingest_options(), columns)?;
            trailgraph_log::ingest::profile("read logs into a scratch case", t0);
            let code = report_problems(&ing.problems, &a.input);
            let mut manifest = Manifest::new();
            manifest.parts = 1;
            let events = store::CaseEvents::open_part(&dir, columns)?;
            (dir, manifest, events, code)
        }
        _ => return Ok(None),
    };
    let dir = &dir;
    if code == 2 {
        return Ok(Some(2));
    }
    let t0 = std::time::Instant::now();
    let issuances = store::load_case_issuances(dir, &manifest)?;
    trailgraph_log::ingest::profile("load issuances", t0);
    let (graph, cross) = graph_and_context(&issuances, || events.filtered(cross_rows_filter()))?;
    drop(issuances);
    let mut state = AttributionState::new(graph);
    trailgraph_log::ingest::profile("build session graph", t0);
    let mut chains: Vec<String> = Vec::new();
    let mut spill = trailgraph_store::spill::Spill::new()?;
    // One slice per row group of the case (what a slice holds is about 1 KB a row); runs
    // larger (a rendered row is a tenth of that, and fewer runs make a cheaper merge).
    let run_rows = a.input.opts.row_group_rows.saturating_mul(4);
    let mut run = Run::default();
    let mut header: Option<Vec<u8>> = None;
    // Parquet and the aligned table are built from frames after the merge; text is rendered
    // before it.
    let framed = matches!(a.out.format, Format::Parquet | Format::Table);
    let mut time_dtype: Option<polars::prelude::DataType> = None;
    let (mut t_attr, mut t_out) = (std::time::Duration::ZERO, std::time::Duration::ZERO);
    // Rows merge by (time, position). In a one-part case a row's position is its row number;
    // the parts of a case are each in canonical order but interleave, so there it is (the rank
    // of its file among all, its record index), as `store::canonical_order` orders them.
    let file_rank: Option<rustc_hash::FxHashMap<String, u64>> = if events.parts() > 1 {
        Some(events.source_files()?.into_iter().zip(0..).collect())
    } else {
        None
    };
    let mut slices = events.row_groups();
    if slices.is_empty() {
        // The header still comes from an (empty) frame.
        slices.push(store::RowGroup {
            part: 0,
            first: 0,
            rows: 0,
        });
    }
    let mut offset = 0u64;
    for g in slices {
        let t0 = std::time::Instant::now();
        let df = events.slice(g)?;
        let n = df.height();
        let mut at = Attributor::with_state(&df, state, Some(&cross))?.with_signatures();
        let per_event: Vec<u32> = (0..n).map(|i| at.row(i)).collect();
        state = at.into_state();
        chains.extend(
            state.table()[chains.len()..]
                .iter()
                .map(|t| t.chain_string()),
        );
        t_attr += t0.elapsed();
        let t0 = std::time::Instant::now();
        // Rows rendered (text formats) or encoded (Parquet: the columns are built after the
        // merge) in blocks on the pool, keyed by (time, position in the case).
        let blocks = if framed {
            if time_dtype.is_none() {
                time_dtype = Some(df.column("event_time")?.dtype().clone());
            }
            let rows = EventRows::new(&df)?;
            row_blocks(n, |j, buf| rows.encode(j, per_event[j], buf))
        } else {
            let out = output_frame(&df, &state.graph, state.table(), &chains, &per_event, None)?;
            let text = render::RowText::new(&out, a.out.format)?;
            if header.is_none() {
                header = Some(text.header());
            }
            row_blocks(n, |j, buf| text.row(j, buf))
        };
        let times = df.column("event_time")?.datetime()?.physical();
        let (files, records) = (
            df.column("source_file")?.str()?,
            df.column("record_index")?.u64()?,
        );
        let mut i = 0;
        for (buf, ends) in &blocks {
            let mut start = 0;
            for &end in ends {
                let t = times.get(i);
                let position = match &file_rank {
                    None => (0, offset + i as u64),
                    Some(rank) => (
                        files
                            .get(i)
                            .and_then(|f| rank.get(f))
                            .copied()
                            .unwrap_or(u64::MAX),
                        records.get(i).unwrap_or(0),
                    ),
                };
                run.push(
                    (t.is_none(), t.unwrap_or(0), position.0, position.1),
                    &buf[start..end],
                );
                start = end;
                i += 1;
            }
        }
        if run.len() >= run_rows {
            run.spill(&mut spill)?;
        }
        t_out += t0.elapsed();
        offset += n as u64;
    }
    run.spill(&mut spill)?;
    trailgraph_log::ingest::profile_took("attribute events (streamed)", t_attr);
    trailgraph_log::ingest::profile_took("render and spill", t_out);
    state.graph.settle();
    note_loops(&state.graph, &a.input);
    let t0 = std::time::Instant::now();
    if framed {
        let to = match a.out.format {
            Format::Parquet => FrameOut::Parquet {
                path: a.out.output.as_deref().expect("checked before"),
                writer: None,
            },
            _ => FrameOut::Table {
                out: open_output(a.out.output.as_deref())?,
                table: render::TableWriter::default(),
            },
        };
        let mut sink = FrameSink::new(
            to,
            a.input.opts.row_group_rows,
            time_dtype.expect("one slice at least"),
            &state.graph,
            state.table(),
            &chains,
        );
        spill.merge(|row| sink.push(row))?;
        sink.finish()?;
        trailgraph_log::ingest::profile("merge and write output", t0);
        return Ok(Some(code));
    }
    let format = a.out.format;
    let total = spill.rows();
    let mut w = open_output(a.out.output.as_deref())?;
    w.write_all(&header.expect("one slice at least"))?;
    let mut k = 0u64;
    spill.merge(|row| {
        w.write_all(render::separator(format, k == 0))?;
        w.write_all(row)?;
        k += 1;
        Ok(())
    })?;
    debug_assert_eq!(k, total);
    w.write_all(render::footer(format, total as usize))?;
    w.flush()?;
    trailgraph_log::ingest::profile("merge and write output", t0);
    Ok(Some(code))
}

use trailgraph_graph::attribute::EVENT_OUTPUT_COLUMNS as EVENT_OUTPUT;

/// Rows of a slice as bytes for the spill when the output is built from frames (Parquet, table):
/// the event output columns and the attribution index, so that the merge can build the output
/// frame a batch at a time.
/// Per string: length (u32; `u32::MAX` for null) and bytes; the time: flag and i64 (ms); the
/// attribution: u32.
struct EventRows<'a> {
    strings: Vec<&'a polars::prelude::StringChunked>,
    times: &'a polars::prelude::Int64Chunked,
}

impl<'a> EventRows<'a> {
    fn new(df: &'a DataFrame) -> Result<EventRows<'a>> {
        let mut strings = Vec::new();
        for name in EVENT_OUTPUT.iter().filter(|n| **n != "event_time") {
            strings.push(df.column(name)?.str()?);
        }
        let times = df.column("event_time")?.datetime()?.physical();
        Ok(EventRows { strings, times })
    }

    fn encode(&self, i: usize, attribution: u32, buf: &mut Vec<u8>) {
        for c in &self.strings {
            match c.get(i) {
                Some(s) => {
                    buf.extend_from_slice(&(s.len() as u32).to_le_bytes());
                    buf.extend_from_slice(s.as_bytes());
                }
                None => buf.extend_from_slice(&u32::MAX.to_le_bytes()),
            }
        }
        let t = self.times.get(i);
        buf.push(t.is_some() as u8);
        buf.extend_from_slice(&t.unwrap_or(0).to_le_bytes());
        buf.extend_from_slice(&attribution.to_le_bytes());
    }
}

/// Where `FrameSink` writes each batch.
enum FrameOut<'a> {
    /// One row group per batch.
    Parquet {
        path: &'a Path,
        writer: Option<Box<polars::io::parquet::write::BatchedWriter<std::fs::File>>>,
    },
    Table {
        out: Box<dyn Write>,
        table: render::TableWriter,
    },
}

/// Builds `attribute`'s output frame from merged `EventRows` a batch at a time.
struct FrameSink<'a> {
    to: FrameOut<'a>,
    time_dtype: polars::prelude::DataType,
    graph: &'a trailgraph_graph::graph::SessionGraph,
    table: &'a [trailgraph_graph::graph::Attribution],
    chains: &'a [String],
    strings: Vec<Vec<Option<String>>>,
    times: Vec<Option<i64>>,
    attributions: Vec<u32>,
    /// Batches written.
    batches: usize,
    /// Rows per batch (the first batch of a table has at least the 1,000 rows its column
    /// widths come from).
    batch_rows: usize,
}

impl<'a> FrameSink<'a> {
    fn new(
        to: FrameOut<'a>,
        batch_rows: usize,
        time_dtype: polars::prelude::DataType,
        graph: &'a trailgraph_graph::graph::SessionGraph,
        table: &'a [trailgraph_graph::graph::Attribution],
        chains: &'a [String],
    ) -> FrameSink<'a> {
        FrameSink {
            to,
            time_dtype,
            graph,
            table,
            chains,
            strings: vec![Vec::new(); EVENT_OUTPUT.len() - 1],
            times: Vec::new(),
            attributions: Vec::new(),
            batches: 0,
            batch_rows: batch_rows.max(1),
        }
    }

    fn push(&mut self, mut row: &[u8]) -> Result<()> {
        fn take<'r>(row: &mut &'r [u8], n: usize) -> Result<&'r [u8]> {
            anyhow::ensure!(row.len() >= n, "a spilled row is cut short");
            let (head, rest) = row.split_at(n);
            *row = rest;
            Ok(head)
        }
        for col in &mut self.strings {
            let len = u32::from_le_bytes(take(&mut row, 4)?.try_into()?);
            col.push(if len == u32::MAX {
                None
            } else {
                Some(String::from_utf8(take(&mut row, len as usize)?.to_vec())?)
            });
        }
        let set = take(&mut row, 1)?[0] != 0;
        let t = i64::from_le_bytes(take(&mut row, 8)?.try_into()?);
        self.times.push(set.then_some(t));
        self.attributions
            .push(u32::from_le_bytes(take(&mut row, 4)?.try_into()?));
        let first_table = self.batches == 0 && matches!(self.to, FrameOut::Table { .. });
        if self.times.len() >= self.batch_rows && !(first_table && self.times.len() < 1000) {
            self.flush()?;
        }
        Ok(())
    }

    /// The output frame of the rows gathered so far (emptied).
    fn batch(&mut self) -> Result<DataFrame> {
        use polars::prelude::*;
        let n = self.times.len();
        let mut strings = self.strings.iter_mut();
        let mut cols: Vec<Column> = Vec::new();
        for name in EVENT_OUTPUT {
            if name == "event_time" {
                let t = Int64Chunked::from_iter_options(name.into(), self.times.drain(..));
                cols.push(t.into_column().cast(&self.time_dtype)?);
            } else {
                let values = std::mem::take(strings.next().expect("one per string column"));
                cols.push(
                    StringChunked::from_iter_options(name.into(), values.into_iter()).into_column(),
                );
            }
        }
        let events = DataFrame::new(n, cols)?;
        let atts = std::mem::take(&mut self.attributions);
        trailgraph_graph::attribute::output_frame(
            &events,
            self.graph,
            self.table,
            self.chains,
            &atts,
            None,
        )
    }

    fn flush(&mut self) -> Result<()> {
        let df = self.batch()?;
        self.batches += 1;
        match &mut self.to {
            FrameOut::Parquet { path, writer } => {
                let path: &Path = path;
                let err = |e: polars::prelude::PolarsError| {
                    anyhow::anyhow!("{}: cannot write Parquet: {e}", path.display())
                };
                if writer.is_none() {
                    let f = std::fs::File::create(path)
                        .with_context(|| format!("{}: cannot create", path.display()))?;
                    *writer = Some(Box::new(
                        polars::prelude::ParquetWriter::new(f)
                            .with_compression(polars::prelude::ParquetCompression::Zstd(None))
                            .batched(df.schema())
                            .map_err(err)?,
                    ));
                }
                writer
                    .as_mut()
                    .expect("just set")
                    .write_batch(&df)
                    .map_err(err)
            }
            FrameOut::Table { out, table } => table.write(&df, out.as_mut()),
        }
    }

    fn finish(mut self) -> Result<()> {
        // With no rows at all, one empty batch: the table's header, the Parquet schema.
        if !self.times.is_empty() || self.batches == 0 {
            self.flush()?;
        }
        match self.to {
            FrameOut::Parquet { path, writer } => {
                writer.expect("written").finish().map_err(|e| {
                    anyhow::anyhow!("{}: cannot write Parquet: {e}", path.display())
                })?;
            }
            FrameOut::Table { mut out, .. } => out.flush()?,
        }
        Ok(())
    }
}

/// Rows `0..n` written by `row` in blocks on the rayon pool: per block, the bytes and the end
/// of each row in them, blocks in row order.
fn row_blocks(n: usize, row: impl Fn(usize, &mut Vec<u8>) + Sync) -> Vec<(Vec<u8>, Vec<usize>)> {
    use rayon::prelude::*;
    const BLOCK: usize = 4096;
    (0..n)
        .step_by(BLOCK)
        .collect::<Vec<_>>()
        .into_par_iter()
        .map(|b| {
            let (mut buf, mut ends) = (Vec::new(), Vec::new());
            for j in b..(b + BLOCK).min(n) {
                row(j, &mut buf);
                ends.push(buf.len());
            }
            (buf, ends)
        })
        .collect()
}

/// Rendered output rows with their merge keys, gathered until they are spilled as one run.
#[derive(Default)]
struct Run {
    text: Vec<u8>,
    rows: Vec<(trailgraph_store::spill::Key, usize, usize)>,
}

impl Run {
    fn push(&mut self, key: trailgraph_store::spill::Key, row: &[u8]) {
        let start = self.text.len();
        self.text.extend_from_slice(row);
        self.rows.push((key, start, self.text.len()));
    }

    fn len(&self) -> usize {
        self.rows.len()
    }

    /// Writes the rows, sorted by key, as one run of `spill`, and empties the run.
    fn spill(&mut self, spill: &mut trailgraph_store::spill::Spill) -> Result<()> {
        self.rows.sort_unstable_by_key(|r| r.0);
        let text = &self.text;
        spill.run(self.rows.iter().map(|&(k, s, e)| (k, &text[s..e])))?;
        self.rows.clear();
        self.text.clear();
        Ok(())
    }
}

fn split_id(args: &[String]) -> (Vec<PathBuf>, String) {
    let (id, inputs) = args.split_last().expect("clap requires two arguments");
    (inputs.iter().map(PathBuf::from).collect(), id.clone())
}

fn cmd_who(a: WhoArgs) -> Result<u8> {
    let (inputs, id) = split_id(&a.args);
    let input = a.opts.with_inputs(inputs);
    let columns: Vec<&str> = trailgraph_graph::attribute::ATTRIBUTION_COLUMNS
        .iter()
        .chain(answer::WHO_COLUMNS)
        .copied()
        .collect();
    let t0 = std::time::Instant::now();
    let (mut loaded, fast) = match who_fast_load(&input, &id, &columns)? {
        Some(l) => (l, true),
        None => (
            trailgraph_store::load::load_columns(
                &input.inputs,
                &input.ingest_options(),
                Some(&columns),
            )?,
            false,
        ),
    };
    trailgraph_log::ingest::profile("load", t0);
    let code = report_problems(&loaded.problems, &input);
    if code == 2 {
        return Ok(2);
    }
    loaded.frames.events = trailgraph_graph::attribute::single_chunk(&loaded.frames.events);
    // Attribute only the rows that can answer: `who` on a large case stays fast.
    let t0 = std::time::Instant::now();
    let rows = answer::who_rows(&loaded.frames, &id)?;
    trailgraph_log::ingest::profile("find rows", t0);
    let t0 = std::time::Instant::now();
    let at = if fast {
        // Only the issuances on the matched events' chains: the graph stays tiny.
        let iss = trailgraph_graph::attribute::ancestry_issuances(
            &loaded.frames.issuances,
            &loaded.frames.events,
            &id,
        )?;
        let mut a =
            trailgraph_graph::attribute::Attributor::with_issuances(&loaded.frames.events, iss)?;
        let mut per_event = vec![u32::MAX; loaded.frames.events.height()];
        for &r in &rows {
            per_event[r] = a.row(r);
        }
        a.finish(per_event)
    } else {
        trailgraph_graph::attribute::attribute_rows(&loaded.frames, &rows)?
    };
    trailgraph_log::ingest::profile("graph + attribute rows", t0);
    let ans = answer::who(&loaded.frames, &at, &id)?;
    if ans.matches.is_empty() {
        eprintln!(
            "trailgraph: no event id, access key id, session ARN, session id or principalId {:?} in the input",
            term(&id)
        );
        return Ok(1);
    }
    let mut out = open_output(a.output.as_deref())?;
    match a.format {
        TextFormat::Table => answer::write_who_text(&ans, &mut out)?,
        TextFormat::Json => {
            serde_json::to_writer_pretty(
                &mut out,
                &serde_json::json!({"query": ans.query, "matches": ans.matches}),
            )?;
            writeln!(out)?;
        }
    }
    out.flush()?;
    Ok(code)
}

/// `who` on one case directory: scan only the events that can matter (those carrying the id,
/// the other copies of cross-account ones, and Identity Center portal calls) instead of loading
/// every event. None when INPUT is not a single case directory.
fn who_fast_load(input: &InputArgs, id: &str, columns: &[&str]) -> Result<Option<Loaded>> {
    use polars::prelude::{col, lit};
    let [dir] = &input.inputs[..] else {
        return Ok(None);
    };
    if !dir.is_dir() || !trailgraph_log::discover::is_case_dir(dir) {
        return Ok(None);
    }
    let manifest = store::read_manifest(dir)?;
    let (issuances, events) = rayon::join(
        || store::load_case_issuances(dir, &manifest),
        || {
            let hit = col("event_id")
                .eq(lit(id))
                .or(col("principal_id").eq(lit(id)))
                .or(col("access_key_id").eq(lit(id)));
            store::scan_case_events(dir, &manifest, columns, hit)
        },
    );
    let (issuances, mut events) = (issuances?, events?);
    // The other copy of a cross-account action attributes the resource-account copy.
    let kinds = events.column("identity_type")?.str()?.clone();
    let shared: Vec<String> = kinds
        .iter()
        .zip(events.column("shared_event_id")?.str()?.iter())
        .filter(|(k, _)| *k == Some("AWSAccount"))
        .filter_map(|(_, s)| s.map(String::from))
        .collect();
    let mut extra = Vec::new();
    for s in shared {
        extra.push(store::scan_case_events(
            dir,
            &manifest,
            columns,
            col("shared_event_id").eq(lit(s)),
        )?);
    }
    if kinds.iter().any(|k| k == Some("IdentityCenterUser")) {
        extra.push(store::scan_case_events(
            dir,
            &manifest,
            columns,
            col("identity_type").eq(lit("IdentityCenterUser")),
        )?);
    }
    for e in extra {
        events.vstack_mut_owned(e)?;
    }
    let events = store::canonical_order(&events)?;
    // Rows pulled in twice (a hit that is also a partner) are one event.
    let events = events.unique_stable(
        Some(&["source_file".to_string(), "record_index".to_string()]),
        polars::prelude::UniqueKeepStrategy::First,
        None,
    )?;
    Ok(Some(Loaded {
        frames: store::Frames { events, issuances },
        stats: manifest.stats(),
        problems: manifest.problems(),
    }))
}

fn cmd_trace(a: TraceArgs) -> Result<u8> {
    let (inputs, target) = split_id(&a.args);
    let input = a.opts.with_inputs(inputs);
    let (loaded, at, code) = load_attributed(&input)?;
    if code == 2 {
        return Ok(2);
    }
    let Some(t) = answer::trace_target(&loaded.frames, &at, &target)? else {
        eprintln!(
            "trailgraph: {:?} is not an origin, access key id or IAM user ARN seen in the input (try `trailgraph sessions` to list origins)",
            term(&target)
        );
        return Ok(1);
    };
    let v = answer::trace_json(&loaded.frames, &at, &t, a.since, a.until)?;
    let mut out = open_output(a.output.as_deref())?;
    match a.format {
        TextFormat::Table => answer::write_trace_text(&v, &mut out)?,
        TextFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &v)?;
            writeln!(out)?;
        }
    }
    out.flush()?;
    Ok(code)
}

fn cmd_list(a: ListArgs, chains: bool) -> Result<u8> {
    let (loaded, at, code) = load_attributed(&a.input)?;
    if code == 2 {
        return Ok(2);
    }
    let f = a.filter.filter();
    let df = if chains {
        answer::chains_frame(&loaded.frames, &at, &f)?
    } else {
        answer::sessions_frame(&loaded.frames, &at, &f)?
    };
    emit(&df, &a.out)?;
    Ok(code)
}

/// Prints problems on stderr and returns the exit code they imply.
pub fn report_problems(problems: &[Problem], input: &InputArgs) -> u8 {
    if problems.is_empty() {
        return 0;
    }
    let mut err = std::io::stderr().lock();
    if input.opts.quiet {
        let _ = writeln!(
            err,
            "trailgraph: {} input problem(s); rerun without -q to list them",
            problems.len()
        );
    } else {
        let _ = writeln!(err, "trailgraph: {} input problem(s):", problems.len());
        const SHOW: usize = 20;
        for p in problems.iter().take(SHOW) {
            let _ = writeln!(err, "  {}", term(&p.to_string()));
        }
        if problems.len() > SHOW {
            let _ = writeln!(
                err,
                "  … and {} more (all are listed by `trailgraph summary --format json`)",
                problems.len() - SHOW
            );
        }
    }
    if input.opts.strict {
        let _ = writeln!(
            err,
            "trailgraph: --strict: failing because of input problems"
        );
        2
    } else {
        1
    }
}

/// Opens `-o FILE` or standard output.
pub fn open_output(path: Option<&Path>) -> Result<Box<dyn Write>> {
    Ok(match path {
        Some(p) if p != Path::new("-") => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p)
                .with_context(|| format!("{}: cannot create output file", p.display()))?,
        )),
        _ => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    })
}

/// Loads INPUT with the shared options.
pub fn load_input(input: &InputArgs) -> Result<Loaded> {
    load(&input.inputs, &input.ingest_options())
}

fn cmd_ingest(a: IngestArgs) -> Result<u8> {
    let dir = &a.output;
    let found = trailgraph_log::discover::discover(&a.input.inputs)?;
    if !found.cases.is_empty() {
        bail!(
            "{}: is a case directory; ingest reads log files (to combine cases, pass them to the analysis commands)",
            found.cases[0].display()
        );
    }
    let (mut manifest, mut seen) = if dir.join(trailgraph_log::discover::CASE_MANIFEST).exists() {
        let m = store::read_manifest(dir)?;
        let (frames, _) = store::load_case_columns(
            dir,
            Some(&[
                "event_id",
                "recipient_account",
                "source_file",
                "record_index",
            ]),
        )?;
        (m, store::event_keys(&frames.events)?)
    } else {
        if dir.exists()
            && std::fs::read_dir(dir)
                .map(|mut d| d.next().is_some())
                .unwrap_or(false)
        {
            bail!(
                "{}: exists and is not a trailgraph case directory; choose an empty or new directory",
                dir.display()
            );
        }
        (Manifest::new(), Default::default())
    };
    let known: std::collections::HashSet<(String, u64, i64)> = manifest
        .inputs
        .iter()
        .map(|i| (i.path.clone(), i.size, i.mtime))
        .collect();
    let total = found.files.len();
    let files: Vec<_> = found
        .files
        .into_iter()
        .filter(|f| !known.contains(&(f.display.clone(), f.size, f.mtime)))
        .collect();
    let already = total - files.len();
    let part = manifest.parts;
    if files.is_empty() {
        println!(
            "nothing new to ingest: all {already} input file(s) are already in {}",
            dir.display()
        );
        return Ok(0);
    }
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    let (ing, issuances) =
        store::ingest_part(dir, part, &files, &a.input.ingest_options(), &mut seen)?;
    let code = report_problems(&ing.problems, &a.input);
    if code == 2 {
        // --strict: the case is left as it was.
        store::discard_part(dir, part);
        return Ok(2);
    }
    manifest.add_run(&ing, part);
    store::write_manifest(dir, &manifest)?;
    let s = &ing.stats;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "ingested {} file(s) ({} skipped{}): {} records read = {} events + {} duplicates + {} skipped; {} issuances",
        s.files_seen,
        s.files_skipped,
        if already > 0 { format!(", {already} already in the case") } else { String::new() },
        s.records_read,
        s.events,
        s.duplicates,
        s.records_skipped,
        issuances
    )?;
    writeln!(out, "case store: {} (part {part})", dir.display())?;
    Ok(code)
}

fn cmd_summary(a: SummaryArgs) -> Result<u8> {
    let loaded = load_input(&a.input)?;
    let code = report_problems(&loaded.problems, &a.input);
    if code == 2 {
        return Ok(2);
    }
    let s = Summary::compute(&loaded.frames, &loaded.stats, &loaded.problems)?;
    let mut out = open_output(a.output.as_deref())?;
    match a.format {
        SummaryFormat::Table => s.write_table(&mut out)?,
        SummaryFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &s.to_json())?;
            writeln!(out)?;
        }
    }
    out.flush()?;
    Ok(code)
}
