//! Ingest: discovery, every input shape and hazard, exact accounting, exit codes, case store.
//! Expected counts come from testdata/MANIFEST.json (written by hand, see testdata/README.md).

use crate::util::{files_below, gzip, run, run_ok, testdata};
use serde_json::Value;
use std::io::Write;

fn summary_json(args: &[&str]) -> (Value, i32) {
    let mut a = vec!["summary", "--format", "json", "-q"];
    a.extend_from_slice(args);
    let out = run(&a);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "summary JSON: {e}; stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (v, out.status.code().unwrap())
}

fn manifest() -> Value {
    serde_json::from_slice(&std::fs::read(testdata("MANIFEST.json")).unwrap()).unwrap()
}

fn assert_invariant(v: &Value) {
    let r = &v["records"];
    assert_eq!(
        r["read"].as_u64().unwrap(),
        r["events"].as_u64().unwrap()
            + r["duplicates"].as_u64().unwrap()
            + r["skipped"].as_u64().unwrap(),
        "records read = events + duplicates + skipped: {r}"
    );
}

/// Every directory of the manifest, read as one input, gives exactly the expected counts.
#[test]
fn manifest_directories_exact_counts() {
    let m = manifest();
    for (dir, exp) in m["directories"].as_object().unwrap() {
        let path = testdata(dir);
        let (v, _) = summary_json(&[path.to_str().unwrap()]);
        assert_invariant(&v);
        let r = &v["records"];
        for (mine, theirs) in [
            ("read", "records_read"),
            ("events", "events"),
            ("duplicates", "duplicates"),
            ("skipped", "records_skipped"),
        ] {
            assert_eq!(r[mine], exp[theirs], "{dir}: records.{mine}");
        }
        assert_eq!(
            r["skipped_by_reason"], exp["skip_reasons"],
            "{dir}: skip reasons"
        );
        // The manifest leaves README/LICENSE/NOTICE files out of its file-skip counts.
        let mut skipped = v["files"]["skipped_by_reason"].as_object().unwrap().clone();
        skipped.remove("not_a_log");
        assert_eq!(
            Value::Object(skipped),
            exp["files_skipped"],
            "{dir}: files skipped"
        );
    }
}

/// The four real datasets hold 3,518 records: 2,900 / 310 / 205 / 103.
#[test]
fn real_datasets_record_counts() {
    for (dir, n) in [
        ("real/invictus-aws-dataset", 2900),
        ("real/stratus-red-team-detonation-logs", 310),
        ("real/cribl-aws-cloudtrail-pack", 205),
        ("real/otrf-security-datasets", 103),
    ] {
        let (v, _) = summary_json(&[testdata(dir).to_str().unwrap()]);
        assert_eq!(v["records"]["read"], n, "{dir}");
        assert_eq!(v["records"]["events"], n, "{dir}");
    }
    let (v, _) = summary_json(&[testdata("real").to_str().unwrap()]);
    assert_eq!(v["records"]["events"], 3518);
    assert_eq!(v["issuances"]["AssumeRole"], 49 + 12 + 121 + 5);
    assert_eq!(v["issuances"]["AssumeRoleWithSAML"], 3);
    assert_eq!(v["issuances"]["GetFederationToken"], 1);
    // Cribl's collector metadata is counted, not silently dropped.
    assert_eq!(v["records"]["non_record_objects"], 50);
}

/// Each hazard file alone: the expected per-file skip and problem, never a crash.
#[test]
fn hazards_per_file() {
    let cases: &[(&str, Option<&str>, u64, u64)] = &[
        // file, whole-file skip reason, records read, events
        ("truncated.json.gz", None, 3, 3),
        ("truncated_records.json", None, 3, 3),
        ("not_json.txt", Some("not_json"), 0, 0),
        ("empty.json", Some("empty"), 0, 0),
        ("whitespace_only.json", Some("empty"), 0, 0),
        ("not_cloudtrail_object.json", Some("not_cloudtrail"), 0, 0),
        ("not_cloudtrail_array.json", Some("not_cloudtrail"), 0, 0),
        ("broken_line.ndjson", None, 5, 4),
        ("invalid_utf8.ndjson", None, 3, 2),
        ("mixed_elements.json", None, 8, 4),
    ];
    for (f, skip, read, events) in cases {
        let p = testdata(&format!("hazards/{f}"));
        let (v, code) = summary_json(&[p.to_str().unwrap()]);
        assert_eq!(code, 1, "{f}: every hazard is a problem (exit 1)");
        assert_invariant(&v);
        assert_eq!(v["records"]["read"], *read, "{f}");
        assert_eq!(v["records"]["events"], *events, "{f}");
        match skip {
            Some(r) => assert_eq!(v["files"]["skipped_by_reason"][r], 1, "{f}"),
            None => assert_eq!(v["files"]["skipped"], 0, "{f}"),
        }
        let problems = v["problems"].as_array().unwrap();
        assert!(!problems.is_empty(), "{f}: a problem line is reported");
        for p in problems {
            assert!(
                p["file"].as_str().unwrap().ends_with(f),
                "{f}: problem names the file: {p}"
            );
            assert!(!p["reason"].as_str().unwrap().is_empty());
        }
    }
    // Positions say where.
    let (v, _) = summary_json(&[testdata("hazards/broken_line.ndjson").to_str().unwrap()]);
    assert_eq!(v["problems"][0]["position"], "line 3");
    let (v, _) = summary_json(&[testdata("hazards/mixed_elements.json").to_str().unwrap()]);
    assert_eq!(v["problems"][0]["position"], "record 2");
}

#[test]
fn exit_codes_and_strict() {
    // Clean input: 0.
    run_ok(["summary", "-q", testdata("shapes").to_str().unwrap()], 0);
    // Digest/Insight/Config objects are expected in a trail bucket: counted, not a problem.
    run_ok(["summary", "-q", testdata("layout").to_str().unwrap()], 0);
    // Problems: 1, and the summary is still printed.
    let out = run(["summary", testdata("hazards").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Records"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not_json.txt: not JSON"),
        "problem lines on stderr: {err}"
    );
    // --strict: 2.
    let out = run([
        "summary",
        "--strict",
        "-q",
        testdata("hazards").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    // A missing input is a fatal error with a one-line message naming it.
    let out = run(["summary", "no/such/dir"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no/such/dir") && err.lines().count() == 1,
        "{err}"
    );
}

/// Files are recognised by content: gzip without a .gz name, zip archives, gzip inside zip,
/// concatenated gzip members.
#[test]
fn recognised_by_content() {
    let dir = tempfile::tempdir().unwrap();
    let records = std::fs::read(testdata("hazards/duplicate_delivery_a.json")).unwrap();
    std::fs::write(dir.path().join("no-extension"), gzip(&records)).unwrap();
    let mut both = gzip(&records);
    both.extend(gzip(b"\n"));
    std::fs::write(dir.path().join("two-members.json.gz"), both).unwrap();
    let mut zip = zip::ZipWriter::new(std::fs::File::create(dir.path().join("logs.zip")).unwrap());
    let opts = zip::write::SimpleFileOptions::default();
    zip.start_file("a.json.gz", opts).unwrap();
    zip.write_all(&gzip(&records)).unwrap();
    zip.start_file("nested/b.json", opts).unwrap();
    zip.write_all(&records).unwrap();
    zip.finish().unwrap();
    let (v, code) = summary_json(&[dir.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["files"]["read"], 3);
    // Four copies of the same 3 records: 3 events, 9 duplicates.
    assert_eq!(v["records"]["read"], 12);
    assert_eq!(v["records"]["events"], 3);
    assert_eq!(v["records"]["duplicates"], 9);
}

/// A gzip bomb is stopped by the decompressed-size cap with a clear problem.
#[test]
fn gzip_bomb_is_capped() {
    let dir = tempfile::tempdir().unwrap();
    let mut big = b"{\"Records\":[".to_vec();
    big.extend(std::iter::repeat_n(b' ', 4 << 20));
    big.extend(b"]}");
    std::fs::write(dir.path().join("bomb.json.gz"), gzip(&big)).unwrap();
    std::fs::copy(
        testdata("hazards/duplicate_delivery_a.json"),
        dir.path().join("good.json"),
    )
    .unwrap();
    let out = run([
        "summary",
        "--format",
        "json",
        "--max-decompressed",
        "1MiB",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["files"]["skipped_by_reason"]["too_large"], 1);
    assert_eq!(v["records"]["events"], 3, "the good file is still read");
    let p = &v["problems"][0];
    assert!(p["file"].as_str().unwrap().ends_with("bomb.json.gz"));
    assert!(
        p["reason"].as_str().unwrap().contains("--max-decompressed"),
        "{p}"
    );
}

/// A 100 MB NDJSON line is a problem, not an event, and the lines around it are read.
#[test]
fn hundred_megabyte_line() {
    let dir = tempfile::tempdir().unwrap();
    let good = r#"{"eventVersion":"1.08","eventID":"e1","eventTime":"2024-01-01T00:00:00Z","eventName":"GetCallerIdentity","eventSource":"sts.amazonaws.com","recipientAccountId":"111111111111"}"#;
    let good2 = good.replace("\"e1\"", "\"e2\"");
    let mut f =
        std::io::BufWriter::new(std::fs::File::create(dir.path().join("big.ndjson")).unwrap());
    writeln!(f, "{good}").unwrap();
    write!(
        f,
        "{{\"eventID\":\"huge\",\"eventName\":\"X\",\"userAgent\":\""
    )
    .unwrap();
    let chunk = vec![b'a'; 1 << 20];
    for _ in 0..100 {
        f.write_all(&chunk).unwrap();
    }
    writeln!(f, "\"}}").unwrap();
    writeln!(f, "{good2}").unwrap();
    drop(f);
    let (v, code) = summary_json(&[dir.path().to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(v["records"]["read"], 3);
    assert_eq!(v["records"]["events"], 2);
    assert_eq!(v["records"]["skipped_by_reason"]["line too long"], 1);
    assert_eq!(v["problems"][0]["position"], "line 2");
}

/// ingest → case store → summary equals summary of the raw logs; ingesting more input adds
/// only new files, and duplicates across runs are counted.
#[test]
fn case_store_round_trip_and_incremental() {
    let dir = tempfile::tempdir().unwrap();
    let case = dir.path().join("case");
    let a = testdata("real/stratus-red-team-detonation-logs");
    let b = testdata("hazards/duplicate_delivery_a.json");
    let c = testdata("hazards/duplicate_delivery_b.json");
    let out = run_ok(
        [
            "ingest",
            "-q",
            a.to_str().unwrap(),
            b.to_str().unwrap(),
            "-o",
            case.to_str().unwrap(),
        ],
        0,
    );
    assert!(out.contains("313 records read = 313 events"), "{out}");
    let runs = || -> Vec<Value> {
        let mut names: Vec<_> = std::fs::read_dir(case.join("manifests"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        names.sort();
        names
            .iter()
            .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
            .collect()
    };
    let m = runs().pop().unwrap();
    for f in m["files"].as_array().unwrap() {
        assert!(case.join(f["path"].as_str().unwrap()).exists(), "{f}");
    }
    assert_eq!(m["format"], "trailgraph-case");
    // 35 logs + LICENSE + NOTICE (recorded as skipped documentation files) + one more file.
    assert_eq!(m["inputs"].as_array().unwrap().len(), 38);
    assert!(m["inputs"][0]["size"].as_u64().unwrap() > 0);
    assert!(m["schema"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["name"] == "access_key_id"));
    // Second run: a, b again (already known) plus c (new; shares records with b).
    let out = run_ok(
        [
            "ingest",
            "-q",
            a.to_str().unwrap(),
            b.to_str().unwrap(),
            c.to_str().unwrap(),
            "-o",
            case.to_str().unwrap(),
        ],
        0,
    );
    assert!(out.contains("38 already in the case"), "{out}");
    // c repeats one record internally (the run drops it) and shares two with a and b (dropped
    // when the case is read): 2 new events, 3 duplicates in the case.
    assert!(
        out.contains("5 records read = 4 events + 1 duplicates"),
        "{out}"
    );
    assert_eq!(runs().len(), 2);
    let (from_case, _) = summary_json(&[case.to_str().unwrap()]);
    assert_eq!(from_case["records"]["events"], 315, "{from_case}");
    assert_eq!(from_case["records"]["duplicates"], 3, "{from_case}");
    let (from_raw, _) = summary_json(&[
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        c.to_str().unwrap(),
    ]);
    for k in [
        "records",
        "issuances",
        "time_range",
        "accounts",
        "top_event_names",
        "top_principals",
    ] {
        assert_eq!(from_case[k], from_raw[k], "{k}");
    }
    // Nothing new: says so, writes no part.
    let out = run_ok(
        [
            "ingest",
            "-q",
            c.to_str().unwrap(),
            "-o",
            case.to_str().unwrap(),
        ],
        0,
    );
    assert!(out.contains("nothing new"), "{out}");
    assert_eq!(runs().len(), 2);
    // A non-empty directory that is not a case is refused.
    let out = run([
        "ingest",
        a.to_str().unwrap(),
        "-o",
        testdata("shapes").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
}

/// Attribution from a case store equals attribution from the raw logs.
#[test]
fn analysis_from_case_equals_raw() {
    let dir = tempfile::tempdir().unwrap();
    let case = dir.path().join("case");
    let src: Vec<String> = crate::util::all_scenario_inputs()
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let mut args = vec![
        "ingest".to_string(),
        "-q".into(),
        "-o".into(),
        case.to_string_lossy().into_owned(),
    ];
    args.extend(src.iter().cloned());
    run_ok(&args, 0);
    let mut args = vec![
        "attribute".to_string(),
        "-q".into(),
        "--format".into(),
        "csv".into(),
    ];
    args.extend(src.iter().cloned());
    let raw = run_ok(&args, 0);
    let cased = run_ok(
        ["attribute", "-q", "--format", "csv", case.to_str().unwrap()],
        0,
    );
    assert_eq!(raw, cased);
}

/// The write-only-trail warning appears when no role assumption exists at all.
#[test]
fn write_only_trail_warning() {
    let (v, _) = summary_json(&[testdata("hazards/duplicate_delivery_a.json")
        .to_str()
        .unwrap()]);
    let w = v["warnings"].to_string();
    assert!(w.contains("write events only"), "{w}");
    let (v, _) = summary_json(&[testdata(
        "scenarios/same_account/aws.discovery.ec2-download-user-data.subset.json",
    )
    .to_str()
    .unwrap()]);
    assert!(!v["warnings"].to_string().contains("write events only"));
}

/// `ingest --strict` with input problems fails (2) and leaves the case as it was: no case
/// directory when it was new, the same parts and manifest when it existed; without --strict
/// the same input is ingested (exit 1).
#[test]
fn ingest_strict_leaves_case_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let case = dir.path().join("case");
    let case_s = case.to_str().unwrap();
    let hazards = testdata("hazards");
    let good = testdata("real/stratus-red-team-detonation-logs");
    let out = run([
        "ingest",
        "-q",
        "--strict",
        hazards.to_str().unwrap(),
        "-o",
        case_s,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        !case.exists(),
        "a failed --strict ingest left {}",
        case.display()
    );
    run_ok(["ingest", "-q", good.to_str().unwrap(), "-o", case_s], 0);
    let listing = || -> Vec<(std::path::PathBuf, Vec<u8>)> {
        files_below(&case, |_| true)
            .into_iter()
            .map(|p| {
                let bytes = std::fs::read(&p).unwrap();
                (p, bytes)
            })
            .collect()
    };
    let before = listing();
    let out = run([
        "ingest",
        "-q",
        "--strict",
        hazards.to_str().unwrap(),
        "-o",
        case_s,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        listing() == before,
        "a failed --strict ingest changed the case"
    );
    let out = run(["ingest", "-q", hazards.to_str().unwrap(), "-o", case_s]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        std::fs::read_dir(case.join("manifests")).unwrap().count(),
        2
    );
}

/// Runs `trailgraph` with every unit read as a stream through tiny windows
/// (`TRAILGRAPH_STREAM_WINDOW`: every unit streamed, windows of 61 bytes at first, widened only
/// for a value that does not fit, the rows handed on every 3 rows).
fn run_streamed(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_trailgraph"))
        .args(args)
        .env("TRAILGRAPH_STREAM_WINDOW", "61")
        .current_dir(crate::util::root())
        .output()
        .expect("run trailgraph")
}

/// Every fixture read as a stream, in windows far smaller than its records, gives what reading
/// it whole gives: the same accounting and problems (positions included), and the same
/// attributed events. Covers every shape (gzip, multi-member gzip, zip, pretty and single-line
/// Records documents, NDJSON, envelopes), the hazards (cut files, broken lines, invalid UTF-8)
/// and the real datasets.
#[test]
fn streamed_in_tiny_windows_equals_whole() {
    for dir in [
        "testdata/shapes",
        "testdata/hazards",
        "testdata/real",
        "testdata/layout",
    ] {
        for args in [
            &["summary", "--format", "json", dir][..],
            &["attribute", "-q", "--format", "csv", dir][..],
        ] {
            let whole = run(args);
            let streamed = run_streamed(args);
            assert_eq!(whole.status.code(), streamed.status.code(), "{args:?}");
            assert!(!whole.stdout.is_empty(), "{args:?}");
            assert!(
                whole.stdout == streamed.stdout,
                "{args:?}: streamed output differs:\n{}",
                String::from_utf8_lossy(&streamed.stdout)
            );
        }
    }
}

/// A gzip bomb read as a stream costs one window: it is refused at its first bytes ("not
/// JSON"), or stopped at the cap, with one line naming the file.
#[test]
fn streamed_bomb_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("zeros.json.gz"), gzip(&vec![0u8; 8 << 20])).unwrap();
    let mut big = b"{\"Records\":[".to_vec();
    big.extend(std::iter::repeat_n(b' ', 4 << 20));
    big.extend(b"]}");
    std::fs::write(dir.path().join("spaces.json.gz"), gzip(&big)).unwrap();
    let d = dir.path().to_str().unwrap();
    let out = run_streamed(&[
        "summary",
        "--format",
        "json",
        "--max-decompressed",
        "1MiB",
        d,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["files"]["skipped_by_reason"]["not_json"], 1, "{v}");
    assert_eq!(v["files"]["skipped_by_reason"]["too_large"], 1, "{v}");
    let problems = v["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 2, "{v}");
    assert!(problems[0]["file"]
        .as_str()
        .unwrap()
        .ends_with("spaces.json.gz"));
    assert!(problems[0]["reason"]
        .as_str()
        .unwrap()
        .contains("--max-decompressed"));
    assert!(problems[1]["file"]
        .as_str()
        .unwrap()
        .ends_with("zeros.json.gz"));
    assert_eq!(problems[1]["reason"], "not JSON, gzip or zip");
}

/// A directory linked into the input is read like a copy of it; a directory that holds no file
/// is said so on stderr (once, though the command resolves its input more than once).
#[cfg(unix)]
#[test]
fn linked_and_empty_directories() {
    let t = tempfile::tempdir().unwrap();
    let linked = t.path().join("linked");
    std::fs::create_dir(&linked).unwrap();
    std::os::unix::fs::symlink(testdata("real"), linked.join("real")).unwrap();
    let via_link = run_ok(
        [
            "attribute",
            "-q",
            linked.to_str().unwrap(),
            "--format",
            "csv",
        ],
        0,
    );
    let direct = run_ok(
        [
            "attribute",
            "-q",
            testdata("real").to_str().unwrap(),
            "--format",
            "csv",
        ],
        0,
    );
    assert!(via_link.lines().count() > 3000);
    // The same events, attributed alike (source files are named through the link).
    let strip = |s: &str| -> Vec<String> {
        let mut v: Vec<String> = s.lines().map(String::from).collect();
        v.sort();
        v
    };
    assert_eq!(strip(&via_link), strip(&direct));
    let empty = t.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let out = run(["attribute", "-q", empty.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err.matches("no files in this directory or below it")
            .count(),
        1,
        "{err}"
    );
}
