//! `trailgraph ingest`: parse logs once into a case store, or add new files to one.

use super::{ExitCode, Input};
use anyhow::{bail, Context, Result};
use std::io::Write;
use std::path::PathBuf;
use trailgraph_store::{self as store, Manifest, PartitionKey};

pub struct Settings {
    pub input: Input,
    /// The case directory to create or add to.
    pub output: PathBuf,
    /// IAM configuration files or directories to keep in the case.
    pub iam: Vec<PathBuf>,
    /// The partition directories of the events files (empty: none).
    pub partition: Vec<PartitionKey>,
}

pub fn run(a: Settings) -> Result<ExitCode> {
    if trailgraph_s3::is_s3(&a.output) {
        // Written into a local copy of the case, then uploaded (the manifest last).
        let url = a.output.to_string_lossy().into_owned();
        return trailgraph_s3::with_case(&url, |dir| {
            let code = run_in(&a, dir, &url)?;
            Ok((code, code != ExitCode::Fatal))
        });
    }
    run_in(&a, &a.output, &a.output.display().to_string())
}

/// Ingests into the case directory `dir`, shown as `shown`.
fn run_in(a: &Settings, dir: &std::path::Path, shown: &str) -> Result<ExitCode> {
    let found = trailgraph_log::discover::discover(&a.input.inputs)?;
    if !found.cases.is_empty() {
        bail!(
            "{}: is a case directory; ingest reads log files (to combine cases, pass them to the analysis commands)",
            found.cases[0].display()
        );
    }
    // The case as the runs that finished so far left it: its files are what they list (the
    // runs' duplicates of each other are dropped when the case is read, not here).
    let known_runs = if trailgraph_log::discover::is_case_dir(dir) {
        Some(store::read_manifest_inputs(dir)?)
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
        None
    };
    let known: std::collections::HashSet<(String, u64, i64)> = known_runs
        .iter()
        .flat_map(|m| &m.inputs)
        .map(|i| (i.path.clone(), i.size, i.mtime))
        .collect();
    let total = found.files.len();
    let files: Vec<_> = found
        .files
        .into_iter()
        .filter(|f| !known.contains(&(f.display.clone(), f.size, f.mtime)))
        .collect();
    let already = total - files.len();
    let mut manifest = Manifest::new();
    manifest.run = store::new_run_id()?;
    manifest.partition = a.partition.iter().map(|k| k.name().to_string()).collect();
    if files.is_empty() {
        let code = keep_iam(dir, &mut manifest, a)?;
        if !a.iam.is_empty() {
            store::write_manifest(dir, &manifest)?;
        }
        println!("nothing new to ingest: all {already} input file(s) are already in {shown}");
        return Ok(code);
    }
    // The runs' directory first: it marks the directory as a case for the runs that start
    // while this one writes.
    let runs_dir = dir.join(trailgraph_log::discover::CASE_RUNS);
    std::fs::create_dir_all(&runs_dir)
        .with_context(|| format!("{}: cannot create", runs_dir.display()))?;
    let written = store::ingest_run(
        dir,
        &manifest.run,
        &a.partition,
        &files,
        &a.input.ingest_options(),
    )?;
    let (ing, issuances) = (&written.ingested, written.issuances);
    let code = a.input.report_problems(&ing.problems);
    if code == ExitCode::Fatal {
        // --strict: the case is left as it was.
        store::discard_run(dir, &written.files);
        return Ok(ExitCode::Fatal);
    }
    manifest.add_run(ing);
    manifest.files = written.files.clone();
    let code = code.max(keep_iam(dir, &mut manifest, a)?);
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
    writeln!(
        out,
        "case store: {shown} (run {}: {} file(s))",
        manifest.run,
        manifest.files.len()
    )?;
    Ok(code)
}

/// Copies the `--iam` files into `DIR/iam/` (a file read again from the same path replaces its
/// copy) and lists them in the manifest; tells what they hold and what could not be read.
fn keep_iam(dir: &std::path::Path, manifest: &mut Manifest, a: &Settings) -> Result<ExitCode> {
    if a.iam.is_empty() {
        return Ok(ExitCode::Clean);
    }
    let iam = trailgraph_analysis::trust::Iam::read(&a.iam);
    let code = super::trust::report_iam(&a.input, &iam);
    if code == ExitCode::Fatal {
        return Ok(code);
    }
    let into = dir.join("iam");
    std::fs::create_dir_all(&into).with_context(|| format!("{}: cannot create", into.display()))?;
    for source in &iam.files {
        let name: String = source
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let stored = format!("iam/{name}");
        let bytes = std::fs::copy(source, dir.join(&stored))
            .with_context(|| format!("{source}: cannot copy into {}", into.display()))?;
        manifest.iam.retain(|m| m.stored != stored);
        manifest.iam.push(store::ManifestIam {
            stored,
            source: source.clone(),
            bytes,
        });
    }
    manifest.iam.sort_by(|x, y| x.stored.cmp(&y.stored));
    Ok(code)
}
