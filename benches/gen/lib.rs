//! trailgraph-bench: `trailgraph-gen`, a deterministic, realistic CloudTrail corpus generator
//! with ground truth, for trailgraph's benchmarks and correctness checks.
//!
//! Same seed and arguments give byte-identical output. See benches/README.md.

mod api;
mod deliver;
mod ident;
mod json;
mod rng;
mod sim;
mod timefmt;
mod truth;
mod world;

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use chrono::NaiveDate;
use clap::Parser;
use serde::Serialize;

use crate::deliver::Delivery;
use crate::rng::Rng;
use crate::sim::inject::Injected;
use crate::sim::{Sim, Stats};
use crate::truth::TruthSink;
use crate::world::{World, REGIONS};

/// Generate a deterministic CloudTrail organisation-trail corpus with
/// ground-truth attribution.
#[derive(Parser, Debug)]
#[command(name = "trailgraph-gen", version)]
pub struct Args {
    /// Output directory (gets AWSLogs/o-…/… and MANIFEST.json).
    #[arg(long)]
    out: PathBuf,
    /// Records to deliver (duplicates included); generation stops at the
    /// first event boundary at or after this many.
    #[arg(long, default_value_t = 100_000)]
    records: u64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Member accounts in the organisation (1..=8).
    #[arg(long, default_value_t = 4)]
    accounts: usize,
    /// Write NDJSON ground truth here, one line per distinct event.
    #[arg(long)]
    truth: Option<PathBuf>,
    /// Delivery files per hour per account and region (12 = every 5 min).
    #[arg(long, default_value_t = 12)]
    files_per_hour: u32,
    /// Largest number of records in one delivery file; a delivery with more is
    /// split into files of about equal size (one name stamp, new random
    /// suffixes). Small values give the small-file layout of quiet real trails
    /// (about 20 records per file) with the same events.
    #[arg(long, default_value_t = deliver::MAX_PER_FILE)]
    max_records_per_file: usize,
    /// Simulated time span in hours [default: max(2, records/100000)].
    #[arg(long)]
    hours: Option<f64>,
    /// Replace an existing corpus in --out.
    #[arg(long)]
    force: bool,
    /// Anomaly mode: a background free of anomalies, then one injected case
    /// of each of the 15 `trailgraph anomalies` detectors; writes the
    /// expected findings here as NDJSON {"kind","subject","first_event_id"},
    /// and the detector config to OUT/anomalies.toml (with OUT/ip-ranges.json).
    /// Needs a span of at most 11 hours.
    #[arg(long, value_name = "FILE")]
    anomalies: Option<PathBuf>,
}

#[derive(Serialize)]
struct Manifest<'a> {
    generator: &'static str,
    seed: u64,
    records_requested: u64,
    accounts: Vec<&'a str>,
    organization: &'a str,
    regions: Vec<&'static str>,
    files_per_hour: u32,
    files: u64,
    records: u64,
    distinct_events: u64,
    duplicates: u64,
    raw_json_bytes: u64,
    gz_bytes: u64,
    min_records_per_file: usize,
    max_records_per_file: usize,
    /// `--max-records-per-file`, only when not the default (so existing
    /// invocations write the same manifest).
    #[serde(skip_serializing_if = "Option::is_none")]
    records_per_file_cap: Option<usize>,
    #[serde(flatten)]
    stats: Stats,
    truth_lines: u64,
    issuances_total: u64,
    notes: BTreeMap<&'static str, &'static str>,
}

fn prepare_out(args: &Args) -> Result<()> {
    let logs = args.out.join("AWSLogs");
    let manifest = args.out.join("MANIFEST.json");
    if logs.exists() || manifest.exists() {
        if !args.force {
            bail!(
                "{} already holds a corpus; pass --force to replace it",
                args.out.display()
            );
        }
        if logs.exists() {
            std::fs::remove_dir_all(&logs)
                .with_context(|| format!("removing {}", logs.display()))?;
        }
        if manifest.exists() {
            std::fs::remove_file(&manifest)?;
        }
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    Ok(())
}

/// The expected findings (NDJSON, in injection order), the detector config
/// and the AWS ranges file it names.
fn write_anomalies(out: &std::path::Path, path: &std::path::Path, inj: &Injected) -> Result<()> {
    let mut text = String::new();
    for f in &inj.findings {
        text += &serde_json::to_string(f)?;
        text.push('\n');
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    let prefixes: Vec<serde_json::Value> = inj
        .aws_prefixes
        .iter()
        .map(|p| {
            serde_json::json!({
                "ip_prefix": p,
                "region": "us-east-1",
                "service": "EC2",
                "network_border_group": "us-east-1"
            })
        })
        .collect();
    let ranges = serde_json::json!({
        "syncToken": "1748851200",
        "createDate": "2025-06-02-08-00-00",
        "prefixes": prefixes,
        "ipv6_prefixes": []
    });
    std::fs::write(
        out.join("ip-ranges.json"),
        serde_json::to_string_pretty(&ranges)? + "\n",
    )?;
    let config = format!(
        "# trailgraph anomalies config for this trailgraph-gen corpus (--anomalies).\n\
         # The learning period ends after the clean background and the first injected cases.\n\
         baseline_until = \"{}\"\n\n\
         [workload_credential_exfiltration]\n\
         # The workload addresses of the corpus (a stand-in for AWS's ip-ranges.json).\n\
         aws_ip_ranges = \"ip-ranges.json\"\n",
        inj.baseline_until
    );
    std::fs::write(out.join("anomalies.toml"), config)?;
    Ok(())
}

/// Runs the generator with command-line arguments (`args[0]` is the program name, as in
/// `std::env::args_os`): what the `trailgraph-gen` binary does, and what the tests call to
/// make a corpus in-process. Returns the one-line summary.
pub fn run<I, T>(args: I) -> Result<String>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let args = Args::try_parse_from(args).map_err(|e| anyhow::anyhow!("{e}"))?;
    generate(&args)
}

/// Writes the corpus (and truth) described by `args`; returns a one-line
/// summary.
pub fn generate(args: &Args) -> Result<String> {
    if !(1..=8).contains(&args.accounts) {
        bail!("--accounts must be between 1 and 8");
    }
    if args.records == 0 {
        bail!("--records must be positive");
    }
    if args.max_records_per_file == 0 {
        bail!("--max-records-per-file must be positive");
    }
    prepare_out(args)?;
    let hours = args
        .hours
        .unwrap_or_else(|| (args.records as f64 / 100_000.0).clamp(2.0, 72.0));
    let span = (hours * 3600.0).max(600.0) as i64;
    let t0 = NaiveDate::from_ymd_opt(2025, 6, 2)
        .and_then(|d| d.and_hms_opt(8, 0, 0))
        .expect("valid start")
        .and_utc()
        .timestamp();

    let mut rng = Rng::new(args.seed);
    let world = World::build(&mut rng, args.accounts);
    let dl = Delivery::new(
        &args.out,
        args.files_per_hour,
        args.max_records_per_file,
        &world,
        &mut rng,
    );
    let truth = TruthSink::new(args.truth.as_deref())?;
    if args.anomalies.is_some() && span > 11 * 3600 {
        bail!("--anomalies needs a span of at most 11 hours (office hours from 08:00 UTC)");
    }
    let mut sim = Sim::new(&world, rng.fork(), t0, span, args.records, dl, truth);
    if args.anomalies.is_some() {
        sim = sim.with_anomalies();
    }
    let (stats, dl, truth, injected) = sim.run()?;
    if let (Some(path), Some(inj)) = (&args.anomalies, &injected) {
        write_anomalies(&args.out, path, inj)?;
    }
    let truth_lines = truth.lines;
    truth.finish()?;
    let (dl, totals) = dl.finish(&world)?;

    let mut notes = BTreeMap::new();
    notes.insert(
        "records",
        "delivered records, duplicate deliveries included; distinct_events counts each (eventID, recipient) once",
    );
    notes.insert(
        "issuances",
        "successful issuance calls, one per action (a cross-account pair counts once)",
    );
    notes.insert(
        "orphan_sessions",
        "sessions whose issuance is not in the corpus (truth origin unknown:<key>)",
    );
    let manifest = Manifest {
        generator: concat!("trailgraph-gen ", env!("CARGO_PKG_VERSION")),
        seed: args.seed,
        records_requested: args.records,
        accounts: world.accounts.iter().map(|a| a.id.as_str()).collect(),
        organization: &world.org,
        regions: REGIONS.to_vec(),
        files_per_hour: args.files_per_hour,
        files: dl.files,
        records: stats.records_delivered,
        distinct_events: stats.distinct_events,
        duplicates: stats.duplicates,
        raw_json_bytes: dl.raw_bytes,
        gz_bytes: totals.gz_bytes,
        min_records_per_file: if dl.files == 0 {
            0
        } else {
            dl.min_records_in_file
        },
        max_records_per_file: dl.max_records_in_file,
        records_per_file_cap: (args.max_records_per_file != deliver::MAX_PER_FILE)
            .then_some(args.max_records_per_file),
        issuances_total: stats.issuances.values().sum(),
        stats,
        truth_lines,
        notes,
    };
    let text = serde_json::to_string_pretty(&manifest)? + "\n";
    std::fs::write(args.out.join("MANIFEST.json"), text)?;
    Ok(format!(
        "{} files, {} records ({} distinct, {} duplicates), {:.1} MB raw, {:.1} MB gz",
        manifest.files,
        manifest.records,
        manifest.distinct_events,
        manifest.duplicates,
        manifest.raw_json_bytes as f64 / 1e6,
        manifest.gz_bytes as f64 / 1e6
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn tree(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
        let mut out = BTreeMap::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(&dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    let rel = p.strip_prefix(root).unwrap().to_path_buf();
                    out.insert(rel, std::fs::read(&p).unwrap());
                }
            }
        }
        out
    }

    fn run(dir: &Path, seed: &str) -> BTreeMap<PathBuf, Vec<u8>> {
        run_with(dir, seed, &[])
    }

    fn run_with(dir: &Path, seed: &str, extra: &[&str]) -> BTreeMap<PathBuf, Vec<u8>> {
        let out = dir.join("corpus");
        let truth = dir.join("truth.ndjson");
        let mut argv = vec![
            "trailgraph-gen",
            "--records",
            "3000",
            "--seed",
            seed,
            "--out",
            out.to_str().unwrap(),
            "--truth",
            truth.to_str().unwrap(),
        ];
        argv.extend_from_slice(extra);
        let args = Args::try_parse_from(argv).unwrap();
        generate(&args).unwrap();
        tree(dir)
    }

    /// The records of every `.json.gz` of a tree, sorted, and the largest file's count.
    fn records_of(t: &BTreeMap<PathBuf, Vec<u8>>) -> (Vec<String>, usize, usize) {
        use std::io::Read;
        let (mut all, mut files, mut largest) = (Vec::new(), 0, 0);
        for (path, bytes) in t {
            if !path.to_string_lossy().ends_with(".json.gz") {
                continue;
            }
            let mut text = String::new();
            flate2::read::GzDecoder::new(&bytes[..])
                .read_to_string(&mut text)
                .unwrap();
            let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
            let records = doc["Records"].as_array().unwrap();
            files += 1;
            largest = largest.max(records.len());
            all.extend(records.iter().map(|r| r.to_string()));
        }
        all.sort();
        (all, files, largest)
    }

    #[test]
    fn max_records_per_file_splits_the_same_records_into_small_files() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let ta = run(a.path(), "3");
        let tb = run_with(b.path(), "3", &["--max-records-per-file", "20"]);
        let (ra, fa, la) = records_of(&ta);
        let (rb, fb, lb) = records_of(&tb);
        assert!(
            la > 20,
            "the default layout has files over 20 records ({la})"
        );
        assert!(lb <= 20, "largest file {lb}");
        assert!(fb > fa, "{fb} files vs {fa}");
        assert_eq!(ra, rb, "the same records");
        assert_eq!(
            ta.get(Path::new("truth.ndjson")),
            tb.get(Path::new("truth.ndjson"))
        );
        let manifest = |t: &BTreeMap<PathBuf, Vec<u8>>| -> serde_json::Value {
            serde_json::from_slice(&t[Path::new("corpus/MANIFEST.json")]).unwrap()
        };
        assert!(manifest(&ta).get("records_per_file_cap").is_none());
        assert_eq!(manifest(&tb)["records_per_file_cap"], 20);
        assert_eq!(manifest(&tb)["files"], fb);
    }

    #[test]
    fn same_seed_same_bytes() {
        let (a, b, c) = (
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
        );
        let ta = run(a.path(), "5");
        let tb = run(b.path(), "5");
        assert!(ta.len() > 10, "{} files", ta.len());
        assert_eq!(ta.keys().collect::<Vec<_>>(), tb.keys().collect::<Vec<_>>());
        for (k, v) in &ta {
            assert!(tb[k] == *v, "{} differs", k.display());
        }
        let tc = run(c.path(), "6");
        assert_ne!(
            ta.get(Path::new("truth.ndjson")),
            tc.get(Path::new("truth.ndjson"))
        );
    }

    #[test]
    fn truth_has_one_line_per_distinct_event_in_time_order() {
        let d = tempfile::tempdir().unwrap();
        let t = run(d.path(), "2");
        let manifest: serde_json::Value =
            serde_json::from_slice(&t[Path::new("corpus/MANIFEST.json")]).unwrap();
        let text = String::from_utf8(t[Path::new("truth.ndjson")].clone()).unwrap();
        let keys: Vec<(String, String, String)> = text
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                let s = |k: &str| v[k].as_str().unwrap().to_owned();
                (s("event_time"), s("event_id"), s("recipient_account"))
            })
            .collect();
        assert_eq!(
            keys.len() as u64,
            manifest["distinct_events"].as_u64().unwrap()
        );
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "sorted and unique");
        assert!(manifest["duplicates"].as_u64().unwrap() > 0);
    }
}
