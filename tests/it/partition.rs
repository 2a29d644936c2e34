//! Case format 3: the partitioned layout, several ingest runs into one case (disjoint and
//! overlapping inputs), files no manifest names, `--partition`, the open-file cap, and the
//! same bytes whatever the thread count.

use crate::util::{
    copy_tree, files_below, get_object_record, run, stdout_of, testdata, write_records,
};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs `trailgraph` with `envs` set; returns stdout, asserting the exit code.
fn run_env(args: &[&str], envs: &[(&str, &str)], code: i32) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_trailgraph"))
        .args(args)
        .envs(envs.iter().copied())
        .current_dir(crate::util::root())
        .output()
        .expect("run trailgraph");
    stdout_of(out, code)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Every file under `dir`, relative, sorted.
fn files_under(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = files_below(dir, |_| true)
        .iter()
        .map(|p| {
            p.strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/")
        })
        .collect();
    out.sort();
    out
}

/// The run manifests of a case, by run.
fn manifests(case: &Path) -> Vec<Value> {
    files_under(&case.join("manifests"))
        .iter()
        .map(|f| serde_json::from_slice(&std::fs::read(case.join("manifests").join(f)).unwrap()))
        .collect::<Result<_, _>>()
        .unwrap()
}

/// A record as CloudTrail writes it, with `pad` bytes of request parameters.
fn record(id: &str, account: Option<&str>, region: &str, time: &str, pad: usize) -> Value {
    let mut r = get_object_record(id, account, region, time);
    r["requestParameters"] = serde_json::json!({"pad": "x".repeat(pad)});
    r
}

/// The directories of events files: account, region and date (UTC, from event_time) with odd
/// values percent-encoded and null/empty ones as Hive's default partition; the columns stay in
/// the files unchanged; the manifest names every file with its rows.
#[test]
fn layout_and_escaping() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let case = dir.path().join("case");
    write_records(
        &logs.join("a.json"),
        vec![
            record(
                "e1",
                Some("111122223333"),
                "us-east-1",
                "2024-03-01T23:59:59Z",
                0,
            ),
            record(
                "e2",
                Some("111122223333"),
                "us-east-1",
                "2024-03-02T00:00:00Z",
                0,
            ),
            record(
                "e3",
                Some("../x"),
                "eu west/1",
                "2024-03-02T01:00:00+02:00",
                0,
            ),
            record("e4", None, "", "2024-03-02T00:00:01Z", 0),
            record("e5", Some(""), "us-east-1", "not a time", 0),
        ],
    );
    let run = "20250101T000000Z-0badcafe";
    run_env(
        &["ingest", "-q", s(&logs), "-o", s(&case)],
        &[("TRAILGRAPH_RUN", run)],
        0,
    );
    let part = format!("part-{run}-00000.parquet");
    let got = files_under(&case);
    let d = "__HIVE_DEFAULT_PARTITION__";
    let mut want: Vec<String> = [
        "account=111122223333/region=us-east-1/date=2024-03-01".to_string(),
        "account=111122223333/region=us-east-1/date=2024-03-02".to_string(),
        // +02:00: 2024-03-01T23:00:00Z.
        "account=..%2Fx/region=eu%20west%2F1/date=2024-03-01".to_string(),
        format!("account={d}/region={d}/date=2024-03-02"),
        format!("account={d}/region=us-east-1/date={d}"),
    ]
    .iter()
    .map(|p| format!("events/{p}/{part}"))
    .collect();
    want.push(format!("manifests/{run}.json"));
    want.sort();
    assert_eq!(got, want);
    let m = &manifests(&case)[0];
    assert_eq!(m["run"], run);
    assert_eq!(m["version"], 3);
    assert_eq!(
        m["partition"],
        serde_json::json!(["account", "region", "date"])
    );
    let listed: Vec<(String, u64)> = m["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().into(),
                f["rows"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(listed.len(), 5);
    assert!(listed
        .iter()
        .all(|(p, rows)| want.contains(p) && *rows == 1));
    // The event columns stay as they were: the query reads them back.
    let out = run_env(
        &[
            "query",
            s(&case),
            "--format",
            "csv",
            "--sql",
            "SELECT event_id, recipient_account, aws_region FROM events ORDER BY event_id",
        ],
        &[],
        0,
    );
    assert_eq!(
        out,
        "event_id,recipient_account,aws_region\ne1,111122223333,us-east-1\ne2,111122223333,us-east-1\ne3,../x,eu west/1\ne4,,\ne5,,us-east-1\n"
    );
}

/// The outputs compared between cases: attribution, `who` on an event and a key, summary and
/// the report's tables.
fn outputs(input: &Path, work: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let i = s(input);
    for args in [
        vec!["attribute", "-q", i, "--format", "csv"],
        vec!["who", "-q", i, "b379479b-05c9-4c3c-af4b-cbd43acf29e1"],
        vec!["who", "-q", i, "ASIAP5CT9NN8EYVU1FXV"],
        vec!["summary", "-q", i, "--format", "json"],
        vec!["sessions", "-q", i, "--format", "csv"],
    ] {
        let o = run(&args);
        out.push((
            args.join(" ").replace(i, "INPUT"),
            String::from_utf8_lossy(&o.stdout).into_owned(),
        ));
    }
    let report = work.join("report");
    let _ = std::fs::remove_dir_all(&report);
    run(["report", "-q", i, "-o", s(&report), "--no-rules"]);
    for f in files_under(&report) {
        if f.ends_with(".csv") {
            out.push((f.clone(), std::fs::read_to_string(report.join(&f)).unwrap()));
        }
    }
    out
}

fn assert_same(a: &[(String, String)], b: &[(String, String)], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}");
    for ((ka, va), (kb, vb)) in a.iter().zip(b) {
        assert_eq!(ka, kb, "{what}");
        assert!(va == vb, "{what}: {ka} differs");
    }
    assert!(a.iter().any(|(_, v)| !v.is_empty()), "{what}: no output");
}

/// Two runs over disjoint prefixes into one case give what one run over both gives (and what
/// the logs give); a third run over the same inputs adds nothing; a file no manifest names
/// (an unfinished run's) is ignored.
#[test]
fn disjoint_runs_equal_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let real = testdata("real");
    let (one, two) = (dir.path().join("one"), dir.path().join("two"));
    let subdirs: Vec<PathBuf> = {
        let mut v: Vec<PathBuf> = std::fs::read_dir(&real)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_dir())
            .collect();
        v.sort();
        v
    };
    // (The README beside them is not a log: each run would count it as a skipped file.)
    let mut args = vec!["ingest", "-q", "-o", s(&one)];
    args.extend(subdirs.iter().map(|p| s(p)));
    run_env(&args, &[], 0);
    let (first, second) = subdirs.split_at(subdirs.len() / 2);
    for half in [second, first] {
        let mut args = vec!["ingest", "-q", "-o", s(&two)];
        args.extend(half.iter().map(|p| s(p)));
        run_env(&args, &[], 0);
    }
    assert_eq!(manifests(&two).len(), 2);
    let want = outputs(&one, dir.path());
    assert_same(&want, &outputs(&two, dir.path()), "two runs");
    let logs = dir.path().join("logs");
    for d in &subdirs {
        copy_tree(d, &logs.join(d.file_name().unwrap()));
    }
    let from_logs = outputs(&logs, dir.path());
    assert_eq!(from_logs[0], want[0], "the logs: attribute");
    assert_eq!(from_logs[4], want[4], "the logs: sessions");
    // Re-running over the same inputs adds nothing.
    let before = files_under(&two);
    let mut args = vec!["ingest", "-q", "-o", s(&two)];
    args.extend(subdirs.iter().map(|p| s(p)));
    let out = run_env(&args, &[], 0);
    assert!(out.contains("nothing new"), "{out}");
    assert_eq!(files_under(&two), before);
    // An unfinished run: its files, a manifest still under its temporary name.
    let m = &manifests(&one)[0];
    for f in m["files"].as_array().unwrap() {
        let from = one.join(f["path"].as_str().unwrap());
        let to = two.join(
            f["path"]
                .as_str()
                .unwrap()
                .replace(m["run"].as_str().unwrap(), "29990101T000000Z-00000000"),
        );
        std::fs::copy(from, to).unwrap();
    }
    std::fs::write(
        two.join("manifests/29990101T000000Z-00000000.json.tmp"),
        b"{",
    )
    .unwrap();
    assert_same(
        &want,
        &outputs(&two, dir.path()),
        "an unfinished run beside",
    );
}

/// Runs over overlapping inputs: an event in several runs is kept once, the copy with the
/// smallest (source_file, record_index), as one run over all the inputs keeps it, and counted
/// as a duplicate of the other copies' files; the same file ingested by two runs counts once
/// per run, its records of the later run as duplicates.
#[test]
fn overlapping_runs_keep_the_first_copy() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let stratus = testdata("real/stratus-red-team-detonation-logs");
    copy_tree(&stratus, &logs.join("a"));
    copy_tree(&stratus, &logs.join("b"));
    let (one, two) = (dir.path().join("one"), dir.path().join("two"));
    run_env(&["ingest", "-q", s(&logs), "-o", s(&one)], &[], 0);
    // The later path first: the copies read-time de-duplication keeps are the second run's.
    run_env(&["ingest", "-q", s(&logs.join("b")), "-o", s(&two)], &[], 0);
    run_env(&["ingest", "-q", s(&logs.join("a")), "-o", s(&two)], &[], 0);
    let want = outputs(&one, dir.path());
    assert_same(&want, &outputs(&two, dir.path()), "overlapping runs");
    let summary: Value = serde_json::from_str(&want[3].1).unwrap();
    assert_eq!(summary["records"]["events"], 310, "{summary}");
    assert_eq!(summary["records"]["duplicates"], 310, "{summary}");
    let q = run_env(
        &[
            "query",
            s(&two),
            "--format",
            "csv",
            "--sql",
            "SELECT count(*) AS n, min(source_file) AS lo, max(source_file) AS hi FROM events",
        ],
        &[],
        0,
    );
    let a_dir = logs.join("a");
    let a = s(&a_dir);
    assert!(
        q.lines().nth(1).unwrap().starts_with("310,")
            && q.lines().nth(1).unwrap().matches(a).count() == 2,
        "{q}"
    );
    // The same files again in a third run (as a worker re-run elsewhere would): nothing changes
    // but the count of records read.
    let three = dir.path().join("three");
    copy_tree(&two, &three);
    let m = manifests(&three);
    for (k, run) in m.iter().enumerate() {
        // A copy of the first run under another run id (its inputs "not yet known").
        if k == 0 {
            let old = run["run"].as_str().unwrap();
            let new = "29990101T000000Z-0000000a";
            let mut copy = run.clone();
            copy["run"] = Value::String(new.into());
            for f in copy["files"].as_array_mut().unwrap() {
                let p = f["path"].as_str().unwrap().replace(old, new);
                std::fs::copy(three.join(f["path"].as_str().unwrap()), three.join(&p)).unwrap();
                f["path"] = Value::String(p);
            }
            std::fs::write(
                three.join(format!("manifests/{new}.json")),
                serde_json::to_vec(&copy).unwrap(),
            )
            .unwrap();
        }
    }
    let got = outputs(&three, dir.path());
    assert_eq!(got[0], want[0], "attribute");
    let summary: Value = serde_json::from_str(&got[3].1).unwrap();
    assert_eq!(summary["records"]["events"], 310, "{summary}");
    assert_eq!(summary["records"]["read"], 930, "{summary}");
    assert_eq!(summary["records"]["duplicates"], 620, "{summary}");
}

/// `--partition` takes a subset in any order, or `none`; every layout reads back the same;
/// a bad key is refused.
#[test]
fn partition_choices() {
    let dir = tempfile::tempdir().unwrap();
    let real = testdata("real");
    let run_id = "20250101T000000Z-00000001";
    let env = [("TRAILGRAPH_RUN", run_id)];
    let base = dir.path().join("base");
    run_env(&["ingest", "-q", s(&real), "-o", s(&base)], &env, 0);
    let want = outputs(&base, dir.path());
    for (flag, first) in [
        ("none", format!("events/part-{run_id}-00000.parquet")),
        ("date,account", "events/date=".to_string()),
        ("region", "events/region=".to_string()),
    ] {
        let case = dir.path().join(flag.replace(',', "_"));
        run_env(
            &[
                "ingest",
                "-q",
                s(&real),
                "-o",
                s(&case),
                "--partition",
                flag,
            ],
            &env,
            0,
        );
        let files = files_under(&case);
        assert!(
            files.iter().any(|f| f.starts_with(&first)),
            "{flag}: {files:?}"
        );
        if flag == "date,account" {
            assert!(files.iter().filter(|f| f.starts_with("events/")).all(|f| f
                .split('/')
                .nth(2)
                .unwrap()
                .starts_with("account=")));
        }
        assert_same(&want, &outputs(&case, dir.path()), flag);
    }
    for bad in ["account,account", "day", "none,date"] {
        let out = run([
            "ingest",
            s(&real),
            "-o",
            s(&dir.path().join("bad")),
            "--partition",
            bad,
        ]);
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(!dir.path().join("bad").exists());
    }
}

/// With at most one partition file open, a partition met again after its file was closed
/// starts a new file (`<SEQ>` 00001); the case reads back the same; the data files are the
/// same bytes with one thread or four.
#[test]
fn open_file_cap_and_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    // Files over 256 KiB (each its own batch, so its own chunk), each with two regions.
    for f in 0..4 {
        let records = (0..300)
            .map(|i| {
                record(
                    &format!("f{f}-{i}"),
                    Some("111122223333"),
                    if i % 2 == 0 { "us-east-1" } else { "eu-west-1" },
                    "2024-03-01T10:00:00Z",
                    1000,
                )
            })
            .collect();
        write_records(&logs.join(format!("f{f}.json")), records);
    }
    let run = "20250101T000000Z-00000002";
    let mut cases = Vec::new();
    for (name, env) in [
        (
            "capped",
            vec![
                ("TRAILGRAPH_RUN", run),
                ("TRAILGRAPH_PARTITION_OPEN_FILES", "1"),
            ],
        ),
        (
            "capped4",
            vec![
                ("TRAILGRAPH_RUN", run),
                ("TRAILGRAPH_PARTITION_OPEN_FILES", "1"),
            ],
        ),
        ("free", vec![("TRAILGRAPH_RUN", run)]),
    ] {
        let case = dir.path().join(name);
        let threads = if name == "capped4" { "4" } else { "1" };
        run_env(
            &[
                "ingest",
                "-q",
                "-j",
                threads,
                "--row-group-rows",
                "100",
                "--partition",
                "region",
                s(&logs),
                "-o",
                s(&case),
            ],
            &env,
            0,
        );
        cases.push(case);
    }
    let capped = files_under(&cases[0]);
    assert!(
        capped
            .iter()
            .any(|f| f == &format!("events/region=us-east-1/part-{run}-00001.parquet")),
        "{capped:?}"
    );
    let free = files_under(&cases[2]);
    assert_eq!(
        free.iter().filter(|f| f.starts_with("events/")).count(),
        2,
        "{free:?}"
    );
    // Same bytes whatever the thread count.
    assert_eq!(capped, files_under(&cases[1]));
    for f in &capped {
        assert!(
            std::fs::read(cases[0].join(f)).unwrap() == std::fs::read(cases[1].join(f)).unwrap(),
            "{f} differs between -j1 and -j4"
        );
    }
    let want = outputs(&cases[2], dir.path());
    assert_same(&want, &outputs(&cases[0], dir.path()), "capped");
    assert_same(&want, &outputs(&logs, dir.path()), "logs");
}

/// One chunk of small files over several partitions, one file across midnight UTC among them:
/// each partition's file holds its rows in input order, the files of one partition written
/// straight from their columns and the file across partitions split (a row group each), and the case reads as the
/// unpartitioned one does.
#[test]
fn chunk_across_partitions_keeps_input_order() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    /// (event id, region, time) of a file's records.
    type Recs<'a> = &'a [(&'a str, &'a str, &'a str)];
    let files: [(&str, Recs); 5] = [
        (
            "f1",
            &[
                ("a1", "us-east-1", "2024-03-01T10:00:00Z"),
                ("a2", "us-east-1", "2024-03-01T10:00:01Z"),
                ("a3", "us-east-1", "2024-03-01T10:00:02Z"),
            ],
        ),
        (
            "f2",
            &[
                ("b1", "us-east-1", "2024-03-01T23:59:00Z"),
                ("b2", "us-east-1", "2024-03-02T00:01:00Z"),
                ("b3", "us-east-1", "2024-03-01T23:59:30Z"),
            ],
        ),
        (
            "f3",
            &[
                ("c1", "us-east-1", "2024-03-01T11:00:00Z"),
                ("c2", "us-east-1", "2024-03-01T09:00:00Z"),
            ],
        ),
        ("f4", &[("d1", "eu-west-1", "2024-03-01T12:00:00Z")]),
        ("f5", &[("e1", "us-east-1", "2024-03-02T01:00:00Z")]),
    ];
    // Each file over 256 KiB: a batch of its own (smaller files are read together).
    for (name, recs) in files {
        let records = recs
            .iter()
            .map(|(id, region, time)| record(id, Some("111122223333"), region, time, 100_000))
            .collect();
        write_records(&logs.join(format!("{name}.json")), records);
    }
    let (case, flat) = (dir.path().join("case"), dir.path().join("flat"));
    run_env(
        &[
            "ingest",
            "-q",
            "--partition",
            "region,date",
            s(&logs),
            "-o",
            s(&case),
        ],
        &[],
        0,
    );
    run_env(
        &[
            "ingest",
            "-q",
            "--partition",
            "none",
            s(&logs),
            "-o",
            s(&flat),
        ],
        &[],
        0,
    );
    let events: Vec<String> = files_under(&case)
        .into_iter()
        .filter(|f| f.starts_with("events/"))
        .collect();
    assert_eq!(events.len(), 3, "{events:?}");
    // Each partition file's rows as stored.
    let ids_in = |f: &str| -> Vec<String> {
        use polars::prelude::*;
        let df = ParquetReader::new(std::fs::File::open(case.join(f)).unwrap())
            .finish()
            .unwrap();
        let c = df.column("event_id").unwrap().str().unwrap();
        c.iter().map(|v| v.unwrap().to_string()).collect()
    };
    let stored: Vec<(String, Vec<String>)> = events
        .iter()
        .map(|f| (f.split("/part-").next().unwrap().to_string(), ids_in(f)))
        .collect();
    let want: Vec<(String, Vec<String>)> = [
        ("events/region=eu-west-1/date=2024-03-01", vec!["d1"]),
        (
            "events/region=us-east-1/date=2024-03-01",
            vec!["a1", "a2", "a3", "b1", "b3", "c1", "c2"],
        ),
        ("events/region=us-east-1/date=2024-03-02", vec!["b2", "e1"]),
    ]
    .into_iter()
    .map(|(d, v)| (d.to_string(), v.into_iter().map(String::from).collect()))
    .collect();
    let mut stored = stored;
    stored.sort();
    assert_eq!(stored, want);
    // The chunk was written file by file: in us-east-1/2024-03-01, f1's rows make a row group,
    // the split file's rows of that day another, f3's a third (not one built from the chunk).
    let groups = |f: &str| -> usize {
        use polars::prelude::*;
        ParquetReader::new(std::fs::File::open(case.join(f)).unwrap())
            .get_metadata()
            .unwrap()
            .row_groups
            .len()
    };
    let day = events
        .iter()
        .find(|f| f.starts_with("events/region=us-east-1/date=2024-03-01/"))
        .unwrap();
    assert_eq!(groups(day), 3, "{day}");
    assert_same(
        &outputs(&flat, dir.path()),
        &outputs(&case, dir.path()),
        "partitioned",
    );
}
