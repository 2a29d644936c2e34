//! `trailgraph ingest`: parse logs once into a case store, or add new files to one.

use super::{ExitCode, Input};
use anyhow::{bail, Context, Result};
use std::io::Write;
use std::path::PathBuf;
use trailgraph_log::table::event;
use trailgraph_store::{self as store, Manifest};

pub struct Settings {
    pub input: Input,
    /// The case directory to create or add to.
    pub output: PathBuf,
    /// IAM configuration files or directories to keep in the case.
    pub iam: Vec<PathBuf>,
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
    let (mut manifest, mut seen) = if dir.join(trailgraph_log::discover::CASE_MANIFEST).exists() {
        let m = store::read_manifest(dir)?;
        let (frames, _) = store::load_case_columns(
            dir,
            Some(&[
                event::event_id,
                event::recipient_account,
                event::source_file,
                event::record_index,
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
        let code = keep_iam(dir, &mut manifest, a)?;
        if !a.iam.is_empty() {
            store::write_manifest(dir, &manifest)?;
        }
        println!("nothing new to ingest: all {already} input file(s) are already in {shown}");
        return Ok(code);
    }
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    let (ing, issuances) =
        store::ingest_part(dir, part, &files, &a.input.ingest_options(), &mut seen)?;
    let code = a.input.report_problems(&ing.problems);
    if code == ExitCode::Fatal {
        // --strict: the case is left as it was.
        store::discard_part(dir, part);
        return Ok(ExitCode::Fatal);
    }
    manifest.add_run(&ing, part);
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
    writeln!(out, "case store: {shown} (part {part})")?;
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
