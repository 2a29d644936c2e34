//! The command-line surface: clap definitions, validation into settings, and one function per
//! command. Exit codes: 0 clean, 1 finished with skipped input, 2 fatal (or problems with
//! `--strict`).

use crate::escape::term;
use crate::ingest::{ingest, IngestOptions, Problem};
use crate::load::{load, Loaded};
use crate::store::{self, Manifest};
use crate::summary::Summary;
use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::io::Write;
use std::path::{Path, PathBuf};

const EXAMPLES: &str = "\
Examples:
  trailgraph ingest ./AWSLogs -o case/          parse every log, write the case store
  trailgraph summary case/                      what is in it, and what is missing
  trailgraph summary ./AWSLogs --format json    the same, straight from raw logs

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
}

/// Options shared by every command that reads INPUT.
#[derive(Args, Debug, Clone)]
pub struct InputArgs {
    /// Log files, directories (recursive), or case directories made by `ingest`
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
    /// Worker threads (default: all cores). Output does not depend on it.
    #[arg(short = 'j', long, value_name = "N")]
    pub threads: Option<usize>,
    /// Largest decompressed size accepted per file or archive member (e.g. 512MiB, 4GiB)
    #[arg(long, value_name = "SIZE", default_value = "4GiB", value_parser = parse_size)]
    pub max_decompressed: u64,
    /// Treat any input problem as fatal (exit 2)
    #[arg(long)]
    pub strict: bool,
    /// No progress line, and only a one-line count of problems on stderr
    #[arg(short, long)]
    pub quiet: bool,
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
            max_decompressed: self.max_decompressed,
            progress: !self.quiet,
        }
    }
}

/// Parses the process arguments and runs the command; returns the exit code.
pub fn main() -> Result<u8> {
    let cli = Cli::parse();
    run(cli)
}

pub fn run(cli: Cli) -> Result<u8> {
    let input = match &cli.command {
        Command::Ingest(a) => &a.input,
        Command::Summary(a) => &a.input,
    };
    if let Some(n) = input.threads {
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
    }
}

/// Prints problems on stderr and returns the exit code they imply.
pub fn report_problems(problems: &[Problem], input: &InputArgs) -> u8 {
    if problems.is_empty() {
        return 0;
    }
    let mut err = std::io::stderr().lock();
    if input.quiet {
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
    if input.strict {
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
    let found = crate::discover::discover(&a.input.inputs)?;
    if !found.cases.is_empty() {
        bail!(
            "{}: is a case directory; ingest reads log files (to combine cases, pass them to the analysis commands)",
            found.cases[0].display()
        );
    }
    let (mut manifest, mut seen) = if dir.join(crate::discover::CASE_MANIFEST).exists() {
        let m = store::read_manifest(dir)?;
        let (frames, _) = store::load_case(dir)?;
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
    let ing = ingest(&files, &a.input.ingest_options(), &mut seen);
    let code = report_problems(&ing.problems, &a.input);
    if code == 2 {
        return Ok(2);
    }
    let part = manifest.parts;
    if files.is_empty() {
        println!(
            "nothing new to ingest: all {already} input file(s) are already in {}",
            dir.display()
        );
        return Ok(code);
    }
    manifest.add_run(&ing, part);
    let mut frames = store::frames_from(&ing.files)?;
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    store::write_part(dir, &manifest, part, &mut frames)?;
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
        frames.issuances.height()
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
