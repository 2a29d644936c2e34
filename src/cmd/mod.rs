//! One module per subcommand, each `pub fn run(settings) -> Result<ExitCode>` over the plain
//! settings `cli` builds; and what they share: reading INPUT with its accounting, telling
//! about input problems on stderr, and the exit-code policy.

pub mod anomalies;
pub mod attribute;
pub mod graph;
pub mod hunt;
pub mod ingest;
pub mod list;
pub mod query;
pub mod report;
pub mod resolve;
pub mod summary;
pub mod timeline;
pub mod trace;
pub mod trust;
pub mod whatif;
pub mod who;

use anyhow::Result;
use std::io::Write;
use std::path::{Path, PathBuf};
use trailgraph_graph::attribute::{attribute_all, Attributed};
use trailgraph_graph::graph::SessionGraph;
use trailgraph_graph::scan::Scan;
use trailgraph_log::escape::term;
use trailgraph_log::ingest::{IngestOptions, Problem, Stats};
use trailgraph_output::render::Format;
use trailgraph_store::load::{load, load_columns, Loaded};

/// How a run ended, as the process reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ExitCode {
    /// 0: every input was read.
    Clean = 0,
    /// 1: the command finished, but some input was skipped (each problem is on stderr), or
    /// `who`/`trace` found nothing for the id.
    Skipped = 1,
    /// 2: a fatal error, or any input problem with `--strict`.
    Fatal = 2,
}

/// A command.
pub enum Command {
    Ingest(ingest::Settings),
    Summary(summary::Settings),
    Attribute(attribute::Settings),
    Resolve(resolve::Settings),
    Who(who::Settings),
    Trace(trace::Settings),
    /// `sessions` and `chains`.
    List(list::Settings),
    Anomalies(anomalies::Settings),
    Hunt(hunt::Settings),
    Trust(trust::Settings),
    Whatif(whatif::Settings),
    Report(report::Settings),
    Query(query::Settings),
    Graph(graph::Settings),
    Timeline(timeline::Settings),
}

impl Command {
    fn input(&self) -> &Input {
        match self {
            Command::Ingest(s) => &s.input,
            Command::Summary(s) => &s.input,
            Command::Attribute(s) => &s.input,
            Command::Resolve(s) => &s.input,
            Command::Who(s) => &s.input,
            Command::Trace(s) => &s.input,
            Command::List(s) => &s.input,
            Command::Anomalies(s) => &s.input,
            Command::Hunt(s) => &s.input,
            Command::Trust(s) => &s.input,
            Command::Whatif(s) => &s.input,
            Command::Report(s) => &s.input,
            Command::Query(s) => &s.input,
            Command::Graph(s) => &s.input,
            Command::Timeline(s) => &s.input,
        }
    }
}

/// Runs a command on the global thread pool sized by `--threads`.
pub fn run(command: Command) -> Result<ExitCode> {
    if let Some(n) = command.input().threads {
        anyhow::ensure!(n > 0, "--threads must be at least 1");
        // Ignore the error if a pool was already built.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global();
    }
    // s3:// INPUT and outputs; local copies of S3 cases are removed when `_s3` drops.
    let _s3 = trailgraph_s3::install(trailgraph_s3::Options {
        no_sign_request: command.input().no_sign_request,
    });
    match command {
        Command::Ingest(s) => ingest::run(s),
        Command::Summary(s) => summary::run(s),
        Command::Attribute(s) => attribute::run(s),
        Command::Resolve(s) => resolve::run(s),
        Command::Who(s) => who::run(s),
        Command::Trace(s) => trace::run(s),
        Command::List(s) => list::run(s),
        Command::Anomalies(s) => anomalies::run(s),
        Command::Hunt(s) => hunt::run(s),
        Command::Trust(s) => trust::run(s),
        Command::Whatif(s) => whatif::run(s),
        Command::Report(s) => report::run(s),
        Command::Query(s) => query::run(s),
        Command::Graph(s) => graph::run(s),
        Command::Timeline(s) => timeline::run(s),
    }
}

/// INPUT and the options for reading it, shared by every command.
#[derive(Debug, Clone)]
pub struct Input {
    /// Log files, directories, case directories.
    pub inputs: Vec<PathBuf>,
    /// Worker threads (None: all cores).
    pub threads: Option<usize>,
    /// Largest decompressed size accepted per file or archive member.
    pub max_decompressed: u64,
    /// Any input problem is fatal.
    pub strict: bool,
    /// No progress line, and problems only counted.
    pub quiet: bool,
    /// Rows per Parquet row group written (and per chunk while reading logs).
    pub row_group_rows: usize,
    /// Log files estimated larger than this (MB) stream through a scratch case (None: the
    /// default, see `fits_in_memory`).
    pub in_memory_limit: Option<u64>,
    /// Anonymous requests to S3.
    pub no_sign_request: bool,
}

impl Input {
    pub fn ingest_options(&self) -> IngestOptions {
        IngestOptions {
            max_decompressed: self.max_decompressed,
            progress: !self.quiet,
            chunk_rows: self.row_group_rows,
            ..IngestOptions::default()
        }
    }

    /// Prints `problems` on stderr and returns the exit code they imply.
    pub fn report_problems(&self, problems: &[Problem]) -> ExitCode {
        if problems.is_empty() {
            return ExitCode::Clean;
        }
        let mut err = std::io::stderr().lock();
        if self.quiet {
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
        if self.strict {
            let _ = writeln!(
                err,
                "trailgraph: --strict: failing because of input problems"
            );
            ExitCode::Fatal
        } else {
            ExitCode::Skipped
        }
    }

    /// The IAM configuration to read: `given` (`--iam`), or else the files `ingest --iam` kept
    /// in the case when INPUT is one case directory.
    pub fn iam_paths(&self, given: &[PathBuf]) -> Result<Vec<PathBuf>> {
        if !given.is_empty() {
            return Ok(given.to_vec());
        }
        let found = trailgraph_log::discover::discover(&self.inputs)?;
        Ok(match (&found.cases[..], found.files.is_empty()) {
            ([dir], true) => trailgraph_store::read_manifest(dir)?
                .iam
                .iter()
                .map(|m| dir.join(&m.stored))
                .collect(),
            _ => Vec::new(),
        })
    }

    /// Tells (on stderr) about issuance loops the graph had to cut.
    pub fn note_loops(&self, graph: &SessionGraph) {
        if !graph.loops.is_empty() && !self.quiet {
            eprintln!(
                "trailgraph: note: {} issuance loop(s) in the data were cut (a session cannot be its own ancestor; recycled key ids?): {}",
                graph.loops.len(),
                term(&graph.loops.join(", "))
            );
        }
    }

    /// Loads INPUT (every column).
    pub fn load(&self) -> Result<Loaded> {
        load(&self.inputs, &self.ingest_options())
    }

    /// Loads INPUT with every events column and attributes every event; prints problems
    /// (`query`, which shows every column; the analyses use `scan`).
    pub fn load_attributed_all(&self) -> Result<(Loaded, Attributed, ExitCode)> {
        self.attributed(self.load()?)
    }

    /// Opens INPUT for the analyses: every event with its attribution, a slice at a time (see
    /// `trailgraph_graph::scan`). A single case is read from disk a row group at a time; log
    /// files over the in-memory limit go through a scratch case first; anything else (small
    /// log files, several inputs to combine) is loaded into memory. Problems are printed.
    pub fn scan(&self) -> Result<Opened> {
        self.scan_with(&[])
    }

    /// `scan`, keeping also the events columns `extra` of log files (the analyses' columns
    /// leave out the raw JSON payloads; a case is read by the columns each pass asks for).
    pub fn scan_with(&self, extra: &[&'static str]) -> Result<Opened> {
        self.scan_found(trailgraph_log::discover::discover(&self.inputs)?, extra)
    }

    /// `scan_with` of INPUT as already discovered.
    pub fn scan_found(
        &self,
        found: trailgraph_log::discover::Inputs,
        extra: &[&'static str],
    ) -> Result<Opened> {
        let mut columns = analysis_columns();
        for c in extra {
            if !columns.contains(c) {
                columns.push(c);
            }
        }
        let (scan, stats, problems) =
            match (one_case(&found)?, &found.cases[..], found.files.is_empty()) {
                (Some((dir, manifest)), _, _) => {
                    let (stats, problems) = (manifest.stats(), manifest.problems());
                    (Scan::case(&dir, manifest, None)?, stats, problems)
                }
                (None, [], false)
                    if !fits_in_memory(
                        &found.files,
                        self.in_memory_limit,
                        ANALYSIS_IN_MEMORY_LIMIT,
                    ) =>
                {
                    let scratch = trailgraph_store::spill::ScratchDir::new()?;
                    let dir = scratch.path().to_path_buf();
                    let ing = trailgraph_store::scratch_case(
                        &dir,
                        &found.files,
                        &self.ingest_options(),
                        &columns,
                    )?;
                    let manifest = trailgraph_store::Manifest::scratch();
                    (
                        Scan::case(&dir, manifest, Some(scratch))?,
                        ing.stats,
                        ing.problems,
                    )
                }
                _ => {
                    let loaded =
                        load_columns(&self.inputs, &self.ingest_options(), Some(&columns))?;
                    (Scan::memory(loaded.frames)?, loaded.stats, loaded.problems)
                }
            };
        let code = self.report_problems(&problems);
        self.note_loops(&scan.graph);
        Ok(Opened {
            scan,
            stats,
            problems,
            code,
        })
    }

    fn attributed(&self, loaded: Loaded) -> Result<(Loaded, Attributed, ExitCode)> {
        let code = self.report_problems(&loaded.problems);
        let at = attribute_all(&loaded.frames)?;
        self.note_loops(&at.graph);
        Ok((loaded, at, code))
    }
}

/// INPUT when it is one case directory with events, and its manifest (a case without any
/// events file is read by the in-memory path, which says what it has).
pub(crate) fn one_case(
    found: &trailgraph_log::discover::Inputs,
) -> Result<Option<(PathBuf, trailgraph_store::Manifest)>> {
    Ok(match (&found.cases[..], found.files.is_empty()) {
        ([dir], true) => {
            let manifest = trailgraph_store::read_manifest(dir)?;
            let parts = trailgraph_store::CaseEvents::open(dir, &manifest, &[])?.parts();
            (parts > 0).then(|| (dir.clone(), manifest))
        }
        _ => None,
    })
}

/// INPUT opened for the analyses (`Input::scan`).
pub struct Opened {
    pub scan: Scan,
    /// How the input was read.
    pub stats: Stats,
    pub problems: Vec<Problem>,
    /// What the problems mean for the exit code.
    pub code: ExitCode,
}

/// The events columns the analyses read: all but the raw JSON payloads (the largest, read by
/// no analysis: only `query` shows them and `hunt` evaluates rules on them).
fn analysis_columns() -> Vec<&'static str> {
    trailgraph_log::table::EventBatch::SCHEMA
        .iter()
        .map(|(n, _)| *n)
        .filter(|n| !trailgraph_log::table::RAW_JSON_COLUMNS.contains(n))
        .collect()
}

/// Where a tabular command writes, and in which format.
#[derive(Debug, Clone)]
pub struct Output {
    pub format: Format,
    /// None or `-`: standard output.
    pub path: Option<PathBuf>,
}

impl Output {
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Writes a frame in the chosen format.
    pub fn emit(&self, df: &polars::prelude::DataFrame) -> Result<()> {
        trailgraph_output::render::emit(df, self.format, self.path())
    }
}

/// The most memory `attribute` gives log files held as frames by default (2 GiB: a trail of
/// about 150 MB of gzip); past it they stream, whose memory does not grow with events. Held in
/// memory, `attribute` is faster than through a scratch case (see README).
pub(crate) const ATTRIBUTE_IN_MEMORY_LIMIT: u64 = 2 << 30;

/// The same for the other analyses (256 MiB: about 20 MB of gzip). They read every event twice
/// (attribution, then the analysis), which costs about as much as writing and reading a scratch
/// case: above small input, streaming is as fast and holds far less.
pub(crate) const ANALYSIS_IN_MEMORY_LIMIT: u64 = 256 << 20;

/// Whether log `files` fit in memory as frames: their estimated size against `limit_mb`, or
/// by default against half the available memory, at most `default`.
pub(crate) fn fits_in_memory(
    files: &[trailgraph_log::discover::InputFile],
    limit_mb: Option<u64>,
    default: u64,
) -> bool {
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
        None => (available_memory().unwrap_or(4 << 30) / 2).min(default),
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
