//! The engine's part (scale/, README "Beyond one machine") is exactly as correct as
//! `trailgraph attribute`: `scale/selftest.py` runs the Spark driver (local mode, one session
//! for every case) and the DuckDB driver on the same SQL over partitioned cases, and compares
//! every event's attribution (session_id, origin, chain, depth, confidence, source_identity and
//! the event's own columns) with `trailgraph attribute`, and the engine-side detectors' findings
//! with `trailgraph anomalies`. The cases: a generated multi-account corpus ingested in two runs
//! over overlapping inputs (events delivered to both runs' files), with some identities
//! stripped of their creationDate; the bundled real logs; and the generated case read from S3
//! (moto) without a map, so the driver stages it and runs `trailgraph resolve`.
//!
//! Needs Python with pyspark, duckdb and pyarrow (`scale/requirements.txt`; `.ci/run` installs
//! them into target/scale-venv) and Java; without them the test says it was skipped, except with
//! `CI=true`, where it fails.

use crate::s3::{aws_free, Moto};
use crate::util::{files_below, generate, gzip, in_ci, on_path, root, run_ok, testdata};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A Python with pyspark, duckdb and pyarrow: $TRAILGRAPH_SCALE_PYTHON, the venv of `.ci/run`,
/// or python3.
fn python() -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(p) = std::env::var_os("TRAILGRAPH_SCALE_PYTHON") {
        candidates.push(p.into());
    }
    candidates.push(root().join("target/scale-venv/bin/python3"));
    candidates.push("python3".into());
    candidates.into_iter().find(|p| {
        Command::new(p)
            .args(["-c", "import pyspark, duckdb, pyarrow"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// The Python to run scale/ with, or None (skipped; a failure under CI=true).
fn require_engines(test: &str) -> Option<PathBuf> {
    let py = python();
    let java = on_path("java");
    if let (Some(py), true) = (&py, java) {
        return Some(py.clone());
    }
    let what = if py.is_none() {
        "pyspark/duckdb/pyarrow are not installed (python3 -m pip install -r scale/requirements.txt)"
    } else {
        "`java` is not on PATH (apt-get install openjdk-17-jre-headless)"
    };
    assert!(
        !in_ci(),
        "{test}: {what}, and CI=true requires it (.ci/run installs them)"
    );
    eprintln!("{test}: skipped: {what}");
    None
}

/// Removes `"creationDate":"…",` from every record of the gzip'd trail file `f` (its
/// identities then depend on time: matched within a credential lifetime).
fn strip_creation_dates(f: &Path) -> usize {
    let mut text = String::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(f).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    let mut out = String::with_capacity(text.len());
    let mut n = 0;
    let mut rest = text.as_str();
    const KEY: &str = "\"creationDate\":\"";
    while let Some(i) = rest.find(KEY) {
        let after = &rest[i + KEY.len()..];
        let end = after.find('"').unwrap();
        let mut cut = &after[end + 1..];
        cut = cut.strip_prefix(',').unwrap_or(cut);
        out.push_str(&rest[..i]);
        rest = cut;
        n += 1;
    }
    out.push_str(rest);
    std::fs::write(f, gzip(out.as_bytes())).unwrap();
    n
}

/// The trail files under `dir`, sorted.
fn files(dir: &Path) -> Vec<PathBuf> {
    files_below(dir, |p| p.to_string_lossy().ends_with(".json.gz"))
}

/// Ingests `inputs` into `case` (one run).
fn ingest(case: &Path, inputs: &[PathBuf]) {
    let mut args: Vec<std::ffi::OsString> = vec!["ingest".into(), "-q".into()];
    args.extend(inputs.iter().map(|p| p.as_os_str().to_owned()));
    args.extend(["-o".into(), case.as_os_str().to_owned()]);
    run_ok(args, 0);
    assert!(
        case.join("manifests").is_dir(),
        "{}: ingest did not write a partitioned case (manifests/)",
        case.display()
    );
}

/// The generated case: a 3-account corpus (cross-account pairs, Identity Center, chains), some
/// files' identities without creationDate, ingested in two runs whose inputs overlap: the
/// second run reads a copy of a third of the files (under a path that sorts first, so the
/// de-duplication rule, not the run order, picks the copy) and the rest.
fn generated_case(dir: &Path) -> PathBuf {
    let corpus = dir.join("corpus");
    generate(
        &corpus,
        &[
            "--records".as_ref(),
            "6000".as_ref(),
            "--seed".as_ref(),
            "23".as_ref(),
            "--accounts".as_ref(),
            "3".as_ref(),
        ],
    );
    let all = files(&corpus.join("AWSLogs"));
    assert!(all.len() > 30, "{} files", all.len());
    let mut stripped = 0;
    for f in all.iter().step_by(5) {
        stripped += strip_creation_dates(f);
    }
    assert!(stripped > 0, "some identities lose their creationDate");
    let (third, two_thirds) = (all.len() / 3, 2 * all.len() / 3);
    // Run 1: the first two thirds. Run 2: a copy of the middle third (under "a-copy/", which
    // sorts before "corpus/") and the last third.
    let copy = dir.join("a-copy");
    let mut run2: Vec<PathBuf> = Vec::new();
    for f in &all[third..two_thirds] {
        let to = copy.join(f.strip_prefix(&corpus).unwrap());
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(f, &to).unwrap();
        run2.push(to);
    }
    run2.extend(all[two_thirds..].iter().cloned());
    let case = dir.join("gen-case");
    ingest(&case, &all[..two_thirds]);
    ingest(&case, &run2);
    case
}

/// The JSON lines selftest printed.
fn lines(stdout: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn engine_attribution_equals_trailgraph_attribute_for_every_event() {
    let test = "engine_attribution_equals_trailgraph_attribute_for_every_event";
    let Some(py) = require_engines(test) else {
        return;
    };
    let Some(moto) = Moto::start(test, &[]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let gen = generated_case(dir.path());
    let real = dir.path().join("real-case");
    ingest(&real, &[testdata("real")]);
    // The generated case on S3, without a map (the driver stages it and runs resolve).
    moto.upload("scale", &gen, "cases/gen/");
    let work = dir.path().join("work");
    let mut cmd = aws_free(Command::new(&py));
    cmd.arg(root().join("scale/selftest.py"))
        .args(["--trailgraph", env!("CARGO_BIN_EXE_trailgraph")])
        .arg("--work")
        .arg(&work)
        .args(["--master", "local[2]"])
        .arg(format!("--case=gen={}", gen.display()))
        .arg(format!("--case=real={}", real.display()))
        .arg("--case=s3=s3://scale/cases/gen")
        .arg("--same-as=s3=gen")
        .env("AWS_ENDPOINT_URL", &moto.endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .current_dir(root());
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let results = lines(&stdout);
    let report = format!("stdout:\n{stdout}\nstderr (tail):\n{}", {
        let s: Vec<&str> = stderr.lines().collect();
        s[s.len().saturating_sub(40)..].join("\n")
    });
    assert!(out.status.success(), "selftest failed\n{report}");
    eprintln!("{test}: selftest:\n{stdout}");
    // Every case, both engines, every event equal; the findings equal.
    for case in ["gen", "real", "s3"] {
        for engine in ["duckdb", "spark"] {
            let r = results
                .iter()
                .find(|r| r["case"] == case && r["engine"] == engine)
                .unwrap_or_else(|| panic!("no result for {case}/{engine}\n{report}"));
            assert_eq!(r["ok"], true, "{case}/{engine}: {r}\n{report}");
            assert_eq!(r["mismatches"], 0, "{case}/{engine}: {r}");
            assert!(r["expected"].as_u64().unwrap() > 0, "{case}/{engine}: {r}");
            assert_eq!(r["expected"], r["got"], "{case}/{engine}: {r}");
            assert!(
                r["findings_expected"].as_u64().unwrap() > 0,
                "{case}/{engine}: the detectors fire on the case: {r}"
            );
        }
    }
    // What the generated case covers: events in two runs' files, cross-account copies,
    // Identity Center, identities without creationDate answered by time-dependent map rows,
    // per-event map rows.
    let cov = |case: &str| {
        results
            .iter()
            .find(|r| r["case"] == case && r.get("coverage").is_some())
            .unwrap_or_else(|| panic!("no coverage for {case}\n{report}"))["coverage"]
            .clone()
    };
    let g = cov("gen");
    for k in [
        "duplicates_across_runs",
        "cross_account_copies",
        "identity_center_events",
        "role_events_without_creation_date",
        "time_dependent_rows_used",
        "per_event_rows_used",
    ] {
        assert!(g[k].as_u64().unwrap() > 0, "gen covers {k}: {g}");
    }
    assert!(g["accounts"].as_u64().unwrap() >= 3, "{g}");
    // Every event is answered by a row of the map (none falls through to nulls).
    for case in ["gen", "real"] {
        assert_eq!(cov(case)["matched_no_map_row"], 0, "{}", cov(case));
    }
    assert!(
        cov("real")["events"].as_u64().unwrap() > 3000,
        "{}",
        cov("real")
    );
    // The comparison can fail: an altered answer and a missing event are caught.
    let neg = results
        .iter()
        .find(|r| r.get("negative_controls").is_some())
        .unwrap_or_else(|| panic!("no negative controls\n{report}"));
    assert_eq!(neg["negative_controls"]["caught"], true, "{neg}");
}
